"""The scenario keys of this package: ``[network]`` and the ``[[defenses]]`` tables.

``DefenseSpec`` is the union of every registered defence model, told apart by ``kind``; importing
this module imports every defence module, which registers it. ``check_defenses`` runs the checks
that need the whole scenario (times inside the window, names that exist in the network).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, field_validator

from wormlab.defenses import (  # noqa: F401 - importing registers each kind
    address_blacklist,
    content_filter,
    egress_filter,
    ingress_filter,
    patch_campaign,
    reboot_campaign,
    renumber,
    shutdown,
    throttle,
)
from wormlab.defenses.base import REGISTRY, Strict
from wormlab.errors import ScenarioError

ORG_TYPE_NAMES = ("isp_customer", "enterprise", "university", "government", "bank")

DefenseSpec = Annotated[Union[tuple(REGISTRY.values())], Field(discriminator="kind")]  # noqa: UP007


class OrganisationSpec(Strict):
    """A named organisation added to the synthetic ones (e.g. a provider's customer base)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    type: Literal["isp_customer", "enterprise", "university", "government", "bank"]
    host_share: float = Field(gt=0, lt=0.5, description="share of all vulnerable hosts")


class NetworkSpec(Strict):
    """The AS topology and the organisations; without it, the synthetic default below."""

    seed: int = Field(2001, ge=0, description="fixes the synthetic topology and organisations")
    tier1_ases: int = Field(8, ge=1, le=100)
    transit_ases: int = Field(40, ge=0, le=2000)
    stub_ases: int = Field(300, ge=1, le=5000)
    as_relationships: str | None = Field(None, description="path of a CAIDA-style a|b|rel file")
    host_share: dict[str, float] = Field(default_factory=dict, description="share of hosts by organisation type")
    organisations: list[OrganisationSpec] = Field(default_factory=list)

    @field_validator("host_share")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        for t, s in value.items():
            if t not in ORG_TYPE_NAMES:
                raise ValueError(f"unknown organisation type {t!r}; types are {', '.join(ORG_TYPE_NAMES)}")
            if s < 0:
                raise ValueError(f"share of {t} must be >= 0, got {s}")
        return value


def check_defenses(sc) -> None:
    """Whole-scenario checks; raises ScenarioError naming the key."""
    for i, d in enumerate(sc.defenses):
        if d.at is not None and not sc.time.start <= d.at <= sc.time.end:
            raise ScenarioError(f"{sc.name}: defenses[{i}].at: {d.at:%Y-%m-%dT%H:%M:%SZ} is outside the "
                                f"scenario's window {sc.time.start:%Y-%m-%dT%H:%M:%SZ} .. {sc.time.end:%Y-%m-%dT%H:%M:%SZ}")
        scan = getattr(sc.worm.scan, "kind", sc.worm.scan)
        if d.needs_host_rates and scan != "uniform":
            raise ScenarioError(f"{sc.name}: defenses[{i}].kind: {d.kind} works with worm.scan = \"uniform\" only")
    named = [d for d in sc.defenses if getattr(d, "organisations", None) or getattr(d, "ases", None)]
    if named or (sc.network is not None and sc.network.as_relationships):
        from wormlab.defenses.plan import make_plan

        make_plan(sc, 1000)  # raises ScenarioError on an unknown AS or organisation
