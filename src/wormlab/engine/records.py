"""Codes shared by the kernels: host states, calendar phases and the columns of the record rows."""

from __future__ import annotations

SUSCEPTIBLE, INFECTED, PATCHED, OFFLINE = 0, 1, 2, 3
STATE_MASK = 3  # low bits of ``state``: the segment; EVER_BIT marks hosts infected at least once
EVER_BIT = 4
STATE_NAMES = ("susceptible", "infected", "patched", "offline")
PHASE_SLEEP, PHASE_SPREAD, PHASE_FLOOD = 0, 1, 2

# Columns of the per-row record array filled by the kernel.
REC_FIELDS = (
    "susceptible",
    "infected",
    "patched",
    "offline",
    "ever_infected",
    "new_infections",
    "probes_sent",
    "hits_on_vulnerable",
    "flood_packets_to_target",
    "reboots",
    "patches",
    "hits_blocked",
)
R_S, R_I, R_P, R_O, R_EVER, R_NEW, R_PROBES, R_HITS, R_FLOOD, R_REBOOTS, R_PATCHES, R_BLOCKED = range(12)

# Pooled Poisson means of one record row (probes that change nothing, and flood packets).
LAM_DEAD, LAM_BUSY, LAM_FLOOD = 0, 1, 2
