"""Local-preference scanning (Code Red II): most probes stay in the infected host's own /8 and /16.

Code Red II sent about 1/2 of its probes into its own /8, 3/8 into its own /16 and 1/8 anywhere,
skipping 127/8 and 224/8 (CERT/CC IN-2001-09; see docs/worms.md). The engine samples each class
exactly from the number of susceptible hosts in the source's /8 and /16 (engine/scan_local.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCAN_CODE = 1


class LocalPreferenceScan(BaseModel):
    """Shares of probes sent to the same /8, the same /16 and anywhere (they must sum to 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["local-preference"] = "local-preference"
    same_slash8: float = Field(0.5, ge=0, le=1)
    same_slash16: float = Field(0.375, ge=0, le=1)
    anywhere: float = Field(0.125, ge=0, le=1)
    skip_slash8s: list[int] = Field(default_factory=lambda: [127, 224], description="never probed")

    @model_validator(mode="after")
    def _sums_to_one(self) -> LocalPreferenceScan:
        total = self.same_slash8 + self.same_slash16 + self.anywhere
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                f"same_slash8 + same_slash16 + anywhere must sum to 1, got {total:g}"
            )
        for p in self.skip_slash8s:
            if not 0 <= p <= 255:
                raise ValueError(f"skip_slash8s: {p} is not a /8 (0..255)")
        return self
