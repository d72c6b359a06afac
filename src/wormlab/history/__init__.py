"""The published record of real outbreaks, as data with sources, and validation against it.

``observations.toml`` (shipped in the package) holds every number wormlab is checked
against — Code Red 19 July and 1 August 2001, Slammer 2003, Staniford's Warhol point, the
Zou–Gong–Towsley parameters — each with its source and a confidence (firm or soft).
"""

from __future__ import annotations

from wormlab.history.observations import (
    Observation,
    for_event,
    load_observations,
    observation,
    observations_frame,
)

__all__ = ["Observation", "for_event", "load_observations", "observation", "observations_frame"]
