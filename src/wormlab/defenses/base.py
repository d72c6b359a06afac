"""What every countermeasure shares: its trigger, and the registry that finds it by ``kind``.

A countermeasure is a small pydantic model (its scenario keys) with one method,
``install(plan, slot)``, that writes what it does into the kernel's arrays (see
``defenses/plan.py``). ``@register`` files it under its ``kind``; ``defenses/schema.py`` makes the
scenario's ``[[defenses]]`` tables a union of every registered model, so adding one touches one file.

Trigger: a defence acts from ``at`` (an absolute UTC time), or from the first step at whose end more
than ``when_infected_above`` hosts are infected (checked in the kernel every step), or from the
start of the scenario when neither is given; in each case ``reaction_s`` later.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

REGISTRY: dict[str, type[DefenseBase]] = {}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefenseBase(Strict):
    """Keys every ``[[defenses]]`` table may carry."""

    at: dt.datetime | None = Field(None, description="absolute trigger time (UTC)")
    when_infected_above: int | None = Field(None, ge=0, description="trigger when more hosts than this are infected")
    reaction_s: float = Field(0.0, ge=0, description="delay from the trigger (or detection) to action")
    label: str = Field("", description="name in comparison tables [default: kind]")

    needs_network: ClassVar[bool] = False  # needs organisations and ASes
    needs_host_rates: ClassVar[bool] = False  # changes per-host probe rates
    in_kernel: ClassVar[bool] = True  # False: acts on the results only (renumbering)

    def wants_network(self) -> bool:
        return self.needs_network

    @field_validator("at")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _one_trigger(self):
        if self.at is not None and self.when_infected_above is not None:
            raise ValueError("give either at or when_infected_above, not both")
        return self

    @property
    def name(self) -> str:
        return self.label or self.kind  # type: ignore[attr-defined]

    def install(self, plan, slot: int) -> None:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


def register(cls: type[DefenseBase]) -> type[DefenseBase]:
    """Class decorator: file a defence model under the value of its ``kind`` literal."""
    kind = cls.model_fields["kind"].annotation.__args__[0]
    if kind in REGISTRY:
        raise ValueError(f"defence kind {kind!r} registered twice")
    REGISTRY[kind] = cls
    return cls
