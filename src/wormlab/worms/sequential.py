"""Sequential scanning from a random start (Blaster, August 2003): each host probes upward.

An infected host picks a start address and probes it and the addresses above it one by one
(wrapping at the top of the space). Blaster started 40% of the time near its own address (its own
/24 less 0..20 /24s) and 60% of the time at a random address. Engine: ``engine/scan_walk.py``,
where the next vulnerable address above a host's position is a binary search in the sorted
address array.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCAN_CODE = 3


class SequentialScan(BaseModel):
    """Upward scanning from a start chosen at infection: local with ``local_start_share``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["sequential"] = "sequential"
    local_start_share: float = Field(
        0.4, ge=0, le=1, description="share of hosts that start near their own address (Blaster: 0.4)")
    local_back_slash24s: int = Field(
        20, ge=0, le=65535, description="a local start is the host's /24 less 0..this many /24s")
