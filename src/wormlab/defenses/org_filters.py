"""Which organisations deploy an ingress or egress filter: named ones, or a ``fraction`` of the
organisations of some types (chosen at random, fixed by the network seed)."""

from __future__ import annotations

from pydantic import Field, field_validator

from wormlab.defenses.base import DefenseBase


class OrgDefense(DefenseBase):
    needs_network = True

    organisations: list[str] = Field(default_factory=list, description="organisation names")
    org_types: list[str] = Field(default_factory=list, description="organisation types")
    fraction: float = Field(1.0, ge=0, le=1, description="share of the organisations of org_types")

    @field_validator("org_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        from wormlab.internet.organisations import ORG_TYPES

        for t in value:
            if t not in ORG_TYPES:
                raise ValueError(f"unknown organisation type {t!r}; types are {', '.join(ORG_TYPES)}")
        return value

    def chosen(self, plan, salt: int) -> list[int]:
        from wormlab.internet.organisations import ORG_TYPES

        net = plan.network
        out = []
        for name in self.organisations:
            try:
                out.append(net.org_index(name))
            except KeyError:
                raise KeyError(("organisations", f"no organisation named {name!r}")) from None
        for t in self.org_types:
            of_type = [i for i, c in enumerate(net.org_type) if c == ORG_TYPES.index(t)]
            picked = plan.rng(salt).permutation(of_type)[: round(self.fraction * len(of_type))]
            out.extend(int(i) for i in picked)
        return out
