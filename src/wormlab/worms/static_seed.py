"""Static-seed scanning (Code Red v1, 12 July 2001): every host walks the same address sequence.

v1 seeded its random number generator with a constant, so every infected host probed the same
pseudo-random list of addresses, each from the beginning of the list at its own infection time.
Only the host furthest along the list (the frontier) finds new victims; hosts behind it re-probe
addresses already probed, which matters only for hosts cured (rebooted) since then. Growth is
near-linear: about rate * V / 2^bits new hosts per second. Engine: ``engine/scan_walk.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

SCAN_CODE = 2


class StaticSeedScan(BaseModel):
    """One shared pseudo-random sequence of all 2^bits addresses, walked by every infected host."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["static-seed"] = "static-seed"
