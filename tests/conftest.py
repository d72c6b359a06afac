"""Shared fixtures: small scenarios that run in milliseconds."""

from __future__ import annotations

import pytest

TINY_TOML = """
name = "tiny"
description = "A small random-scanning outbreak for tests."
[time]
start = 2001-07-19T10:00:00Z
end = 2001-07-19T11:00:00Z
step_s = 1.0
record_every_s = 60.0
[internet]
vulnerable_hosts = 3000
address_bits = 20
[worm]
probe_rate_per_s = 2.0
initial_infected = 5
flood_packets_per_s = 1.0
"""


@pytest.fixture
def tiny_toml(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    return path


def tiny_dict(**sections) -> dict:
    """The tiny scenario as a mapping, with whole sections replaced or updated."""
    import tomllib

    raw = tomllib.loads(TINY_TOML)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return raw
