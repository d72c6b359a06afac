"""Uniform random scanning (Code Red v2, Slammer): every probe goes to a uniformly random address."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

SCAN_CODE = 0


class UniformScan(BaseModel):
    """Every probe picks one of the 2^bits addresses uniformly at random."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["uniform"] = "uniform"
