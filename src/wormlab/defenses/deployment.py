"""Where a path defence is deployed (Moore et al.'s Internet Quarantine design space).

``deploy = "customers"``: at the border of customer (stub) networks, a ``fraction`` of them chosen
at random (fixed by the network seed); ``"top"``: the ``top_n`` ASes with the most neighbours;
``"list"``: the AS numbers in ``ases``. A probe is filtered when its AS route enters or leaves a
deploying AS; probes inside one AS are never seen.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from wormlab.defenses.base import DefenseBase


class PathDefense(DefenseBase):
    needs_network = True

    deploy: Literal["customers", "top", "list"] = "top"
    top_n: int = Field(10, ge=1, description="deploy = top: how many of the best-connected ASes")
    fraction: float = Field(1.0, ge=0, le=1, description="deploy = customers: share of stub networks")
    ases: list[int] = Field(default_factory=list, description="deploy = list: AS numbers")

    @model_validator(mode="after")
    def _list_given(self):
        if self.deploy == "list" and not self.ases:
            raise ValueError("deploy = \"list\" needs ases = [AS numbers]")
        return self

    def deploy_mask(self, plan) -> np.ndarray:
        from wormlab.internet.topology import STUB

        topo = plan.network.topology
        mask = np.zeros(topo.n_as, dtype=bool)
        if self.deploy == "top":
            mask[np.argsort(-topo.degree(), kind="stable")[: self.top_n]] = True
        elif self.deploy == "customers":
            stubs = np.flatnonzero(topo.tier == STUB)
            chosen = plan.rng(len(plan.path) + 17).permutation(stubs)[: round(self.fraction * stubs.size)]
            mask[chosen] = True
        else:
            for asn in self.ases:
                try:
                    mask[topo.index_of(asn)] = True
                except KeyError:
                    raise KeyError(("ases", f"AS {asn} is not in the topology")) from None
        return mask
