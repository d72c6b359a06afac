"""Hit-list plus permutation scanning (Warhol worm), and the flash worm (a hit-list of everyone).

Staniford, Paxson and Weaver ("How to 0wn the Internet in Your Spare Time", USENIX Security 2002)
proposed a worm that carries a list of likely-vulnerable hosts: the first hosts work through the
list, each newly infected host taking half of its infector's remaining share, and then every host
scans a permutation of the address space shared by all copies, so no address is probed twice.
The idealised permutation is sampling addresses without replacement across all hosts. A flash
worm's list holds every vulnerable host (``hitlist_size = "all"``). Engine:
``engine/scan_hitlist.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SCAN_CODE = 4


class HitlistScan(BaseModel):
    """A hit-list of ``hitlist_size`` vulnerable hosts, then permutation (or uniform) scanning."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["hitlist"] = "hitlist"
    hitlist_size: Annotated[int, Field(ge=0)] | Literal["all"] = Field(
        10_000, description="vulnerable hosts on the list, or \"all\" (a flash worm)")
    then: Literal["permutation"] = Field(
        "permutation", description="what hosts do once their share of the list is done")

    def size_for(self, vulnerable_hosts: int) -> int:
        return vulnerable_hosts if self.hitlist_size == "all" else int(self.hitlist_size)
