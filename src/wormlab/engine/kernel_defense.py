"""Defences on the path of a probe, as a thinning of sampled hits, and the defence triggers.

``DefenseArrays`` carries everything the compiled kernels need to know about the defences of a
run, as NumPy arrays in a namedtuple (Numba compiles one version of the kernel for its field
types; ``no_defense`` has the same types, so a run without defences reuses that compilation and
skips every hook on ``active``). ``accept_hit`` is called for every hit on a susceptible host when
``active`` is true (only when a path or organisation filter is set: the call reads the target's
host index, a cache miss per hit); ``host_active`` switches on the per-step hooks. The arrays are filled by ``wormlab.defenses.plan``; their layout:

- triggers, one slot per defence: ``trig_start[d]`` is the first step at which defence d acts
  (``NEVER`` until a condition fires), ``trig_cond[d]`` an infected-count threshold (-1: none),
  ``trig_delay[d]`` the reaction time in steps added when the condition fires.
- hosts: ``host_as``, ``host_org``, ``host_type``, ``web_server`` (empty without a network).
- path filters p: ``path_slot[p]`` its trigger slot, ``path_kind[p]`` (CONTENT or BLACKLIST),
  ``path_reaction[p]`` steps from a source's infection to its blacklisting, ``crosses[p, a, b]``
  1 when the route from AS a to AS b enters or leaves a deploying AS.
- organisations: ``org_ingress[o]``, ``org_egress[o]`` trigger slot of its filter or -1.
- host-level actions (``kernel_hosts``): ``slots[S_*]`` trigger slot of each kind or -1,
  ``params[P_*]`` their numbers, ``patch_h_type`` patch hazard per step by organisation type,
  ``shut_mark`` / ``throttled`` per host, ``status`` what has happened so far.
- ``infection`` and ``ever`` are the run's own arrays (shared, not copies).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

NEVER = np.int64(2**62)
CONTENT, BLACKLIST = 0, 1
# slots[...] and params[...] of the host-level actions
S_PATCH, S_REBOOT, S_SHUTDOWN, S_THROTTLE = 0, 1, 2, 3
P_AWARE_H, P_REBOOT_P, P_COMPLIANCE, P_SHUT_STEPS, P_THROTTLE_RATE = 0, 1, 2, 3, 4
# status[...]
ST_SHUT_PHASE, ST_SHUT_END, ST_THROTTLED, ST_PENDING = 0, 1, 2, 3  # PENDING: condition triggers not yet fired

FIELDS = ("active", "host_active", "host_block_p", "trig_start", "trig_cond", "trig_delay", "host_as", "host_org",
          "host_type", "web_server", "path_slot", "path_kind", "path_reaction", "crosses", "org_ingress",
          "org_egress", "slots", "params", "patch_h_type", "shut_mark", "throttled", "status",
          "infection", "ever")
DefenseArrays = namedtuple("DefenseArrays", FIELDS)


def empty_arrays(**given) -> DefenseArrays:
    """All fields with their kernel dtypes, empty unless ``given``."""
    i64 = lambda n=0: np.zeros(n, dtype=np.int64)  # noqa: E731
    base = dict(
        active=False, host_active=False, host_block_p=np.zeros(0), trig_start=i64(), trig_cond=i64(), trig_delay=i64(),
        host_as=np.zeros(0, np.int32), host_org=np.zeros(0, np.int32), host_type=np.zeros(0, np.int8),
        web_server=np.zeros(0, np.uint8), path_slot=i64(), path_kind=i64(), path_reaction=i64(),
        crosses=np.zeros((0, 0, 0), np.uint8), org_ingress=i64(), org_egress=i64(),
        slots=np.full(4, -1, np.int64), params=np.zeros(8), patch_h_type=np.zeros(0),
        shut_mark=np.zeros(0, np.uint8), throttled=np.zeros(0, np.uint8), status=i64(4),
        infection=np.zeros((0, 3), np.int32), ever=i64(1),
    )
    base.update(given)
    return DefenseArrays(**base)


def no_defense() -> DefenseArrays:
    """The defences of a run without any: the kernels skip every hook."""
    return empty_arrays()


# Inlined (here and for the per-step hooks): a call per hit or per step would copy and
# reference-count every array of the namedtuple, which costs as much as the work itself.
@njit(cache=True, inline="always")
def accept_hit(rng, k, src, dst, defense):
    """True when a probe from host ``src`` to host ``dst`` in step ``k`` gets through."""
    d = defense
    if d.path_slot.shape[0] > 0:
        a, b = d.host_as[src], d.host_as[dst]
        for p in range(d.path_slot.shape[0]):
            start = d.trig_start[d.path_slot[p]]
            if k >= start and d.crosses[p, a, b]:
                if d.path_kind[p] == CONTENT:
                    return False
                t_inf = d.infection[src, 0]
                if t_inf >= 0 and k >= t_inf + d.path_reaction[p]:
                    return False
    if d.org_ingress.shape[0] > 0:
        o_s, o_d = d.host_org[src], d.host_org[dst]
        if o_s != o_d:
            e = d.org_egress[o_s]
            if e >= 0 and k >= d.trig_start[e]:
                return False
            g = d.org_ingress[o_d]
            if g >= 0 and k >= d.trig_start[g] and d.web_server[dst] == 0:
                return False
    p = d.host_block_p[dst] if d.host_block_p.shape[0] > 0 else 0.0
    return p <= 0.0 or rng.random() >= p


@njit(cache=True, inline="always")
def update_triggers(k, n_infected, defense):
    """Fire condition triggers: more than ``trig_cond`` hosts infected at the end of step ``k``."""
    for d in range(defense.trig_cond.shape[0]):
        c = defense.trig_cond[d]
        if c >= 0 and defense.trig_start[d] == NEVER and n_infected > c:
            defense.trig_start[d] = k + 1 + defense.trig_delay[d]
            defense.status[ST_PENDING] -= 1
