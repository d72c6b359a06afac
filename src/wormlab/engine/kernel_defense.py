"""Defences on the path of a probe, as a thinning of sampled hits, and the defence triggers.

``DefenseArrays`` carries everything the compiled kernels need to know about the defences of a
run, as NumPy arrays in a namedtuple (Numba compiles one version of the kernel for its field
types; ``no_defense`` has the same types, so a run without defences reuses that compilation and
skips every hook on ``active``). With ``active`` (a path or organisation filter is set) hits on
susceptible hosts go through ``accept_hit`` (``path_ok``, ``org_ok``; ``kernel._infect_batch``
calls the parts itself, only for hits a filter could stop); ``host_active`` (a host-level
defence or a condition trigger) switches on the per-step hooks of ``kernel_defense_hosts``. The
arrays are filled by ``wormlab.defenses.plan``; their layout:

- triggers, one slot per defence: ``trig_start[d]`` is the first step at which defence d acts
  (``NEVER`` until a condition fires), ``trig_cond[d]`` an infected-count threshold (-1: none),
  ``trig_delay[d]`` the reaction time in steps added when the condition fires.
- hosts: ``host_as``, ``host_org``, ``host_type``, ``web_server`` (empty without a network).
- path filters p: ``path_slot[p]`` its trigger slot, ``path_kind[p]`` (CONTENT or BLACKLIST),
  ``path_reaction[p]`` steps from a source's infection to its blacklisting, ``crosses[p, a, b]``
  1 when the route from AS a to AS b enters or leaves a deploying AS.
- organisations: ``org_ingress[o]``, ``org_egress[o]`` trigger slot of its filter or -1;
  ``host_guard`` two bitsets (rows ``GUARD_IN``, ``GUARD_OUT``; bit h of row r is bit h % 64 of
  word h // 64) saying which filters can ever block a hit of host h (in: its organisation
  filters inbound and h serves no web; out: its organisation filters outbound), so a hit between
  unguarded hosts costs two bit reads in 100 KB (for 400,000 hosts) that stay in cache;
  ``org_span[o]`` the index range of organisation o's hosts (each owns one block of addresses).
- host-level actions (``kernel_hosts``): ``slots[S_*]`` trigger slot of each kind or -1,
  ``params[P_*]`` their numbers, ``patch_h_type`` patch hazard per step by organisation type,
  ``shut_mark`` / ``throttled`` per host, ``status`` what has happened so far, ``scratch`` room
  for a step's candidate positions (no allocation per step). These are views of three packed
  arrays, ``ctl`` (ints), ``fpar`` (floats) and ``marks`` (per-host bytes), that per-step code
  takes instead (layout: ``C_*``, ``F_HTYPE`` below).
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
P_AWARE_H, P_REBOOT_P, P_COMPLIANCE, P_SHUT_STEPS, P_THROTTLE_RATE, P_PATCH_H_MAX, P_PATCH_H_MIN = range(7)
GUARD_IN, GUARD_OUT = 0, 1  # host_guard rows
# status[...]
ST_SHUT_PHASE, ST_SHUT_END, ST_THROTTLED, ST_PENDING = 0, 1, 2, 3  # PENDING: condition triggers not yet fired

FIELDS = ("active", "host_active", "trig_start", "trig_cond", "trig_delay", "host_as", "host_org",
          "host_type", "web_server", "path_slot", "path_kind", "path_reaction", "crosses", "org_ingress",
          "org_egress", "host_guard", "slots", "params", "patch_h_type", "shut_mark", "throttled",
          "status", "scratch", "infection", "ever", "ctl", "fpar", "marks", "org_span")
DefenseArrays = namedtuple("DefenseArrays", FIELDS)

# ``ctl`` holds status, slots, the trigger arrays and the scratch room back to back; ``fpar``
# params and patch_h_type; ``marks`` shut_mark then throttled. The named fields are views of them,
# so code that runs every step can take three arrays instead of eleven (see the note below).
C_STATUS, C_SLOTS, C_NTRIG, C_TRIG = 0, 4, 8, 16  # trig_start, trig_cond, trig_delay, scratch follow
# ctl[C_NEXT]: the next step at which the shutdown starts or ends or throttling starts (NEVER while
# none is due); ctl[C_MINCOND]: the lowest infected count that fires a pending condition trigger.
C_NEXT, C_MINCOND = 9, 10
F_HTYPE = 8  # fpar: params[0:8], patch_h_type, e^-patch_h_type, e^-P_PATCH_H_MAX, e^-P_PATCH_H_MIN
N_SCRATCH = 256


def empty_arrays(**given) -> DefenseArrays:
    """All fields with their kernel dtypes, empty unless ``given`` (``ctl``, ``fpar`` and
    ``marks`` are built from the others)."""
    i64 = lambda n=0: np.zeros(n, dtype=np.int64)  # noqa: E731
    base = dict(
        active=False, host_active=False, trig_start=i64(), trig_cond=i64(), trig_delay=i64(),
        host_as=np.zeros(0, np.int32), host_org=np.zeros(0, np.int32), host_type=np.zeros(0, np.int8),
        web_server=np.zeros(0, np.uint8), path_slot=i64(), path_kind=i64(), path_reaction=i64(),
        crosses=np.zeros((0, 0, 0), np.uint8), org_ingress=i64(), org_egress=i64(),
        host_guard=np.zeros((2, 0), np.uint64), slots=np.full(4, -1, np.int64), params=np.zeros(8),
        patch_h_type=np.zeros(0), shut_mark=np.zeros(0, np.uint8), throttled=np.zeros(0, np.uint8),
        status=i64(4), infection=np.zeros((0, 3), np.int32), ever=i64(1),
        org_span=np.zeros((0, 2), np.int64),
    )
    base.update(given)
    nt = len(base["trig_start"])
    ctl = np.zeros(C_TRIG + 3 * nt + N_SCRATCH, dtype=np.int64)
    ctl[C_NTRIG] = nt
    parts = {"status": (C_STATUS, 4), "slots": (C_SLOTS, 4), "trig_start": (C_TRIG, nt),
             "trig_cond": (C_TRIG + nt, nt), "trig_delay": (C_TRIG + 2 * nt, nt),
             "scratch": (C_TRIG + 3 * nt, N_SCRATCH)}
    for name, (at, size) in parts.items():
        if name != "scratch":
            ctl[at:at + size] = base[name]
        base[name] = ctl[at:at + size]
    _due(ctl)
    n_h = len(base["patch_h_type"])
    fpar = np.zeros(F_HTYPE + 2 * n_h + 2)
    fpar[:F_HTYPE], fpar[F_HTYPE:F_HTYPE + n_h] = base["params"], base["patch_h_type"]
    # e^-h per type, then for the largest and the smallest hazard: the patch campaign's
    # probabilities are then products with this step's e^-awareness, one exp a step
    fpar[F_HTYPE + n_h:F_HTYPE + 2 * n_h] = np.exp(-fpar[F_HTYPE:F_HTYPE + n_h])
    fpar[-2:] = np.exp(-fpar[[P_PATCH_H_MAX, P_PATCH_H_MIN]])
    base["params"], base["patch_h_type"] = fpar[:F_HTYPE], fpar[F_HTYPE:F_HTYPE + n_h]
    n = max(len(base["shut_mark"]), len(base["throttled"]))
    marks = np.zeros(2 * n, dtype=np.uint8)
    for i, name in enumerate(("shut_mark", "throttled")):
        if len(base[name]):
            marks[i * n:(i + 1) * n] = base[name]
        base[name] = marks[i * n:(i + 1) * n]
    return DefenseArrays(ctl=ctl, fpar=fpar, marks=marks, **base)


@njit(cache=True)
def _due(ctl):
    """Set ``ctl[C_NEXT]`` and ``ctl[C_MINCOND]`` from the slots, triggers and status."""
    nt = ctl[C_NTRIG]
    nxt = NEVER
    s = ctl[C_SLOTS + S_SHUTDOWN]
    if s >= 0 and ctl[C_STATUS + ST_SHUT_PHASE] == 0:
        nxt = ctl[C_TRIG + s]
    elif s >= 0 and ctl[C_STATUS + ST_SHUT_PHASE] == 1:
        nxt = ctl[C_STATUS + ST_SHUT_END]
    s = ctl[C_SLOTS + S_THROTTLE]
    if s >= 0 and ctl[C_STATUS + ST_THROTTLED] == 0:
        nxt = min(nxt, ctl[C_TRIG + s])
    low = NEVER
    for d in range(nt):
        c = ctl[C_TRIG + nt + d]
        if c >= 0 and ctl[C_TRIG + d] == NEVER:
            low = min(low, c)
    ctl[C_NEXT] = nxt
    ctl[C_MINCOND] = low


def no_defense() -> DefenseArrays:
    """The defences of a run without any: the kernels skip every hook."""
    return empty_arrays()


# Inlined functions given a namedtuple of arrays read its fields in their first block and hand
# on arrays only: a tuple used after a branch costs an atomic reference count per array each time
# (about 150 ns per hit or per step, as much as the work itself); a plain call costs more.
@njit(cache=True, inline="always")
def accept_hit(rng, k, src, dst, defense):
    """True when a probe from host ``src`` to host ``dst`` in step ``k`` gets through."""
    d = defense
    return accept(k, src, dst, d.trig_start, d.path_slot, d.path_kind, d.path_reaction, d.crosses,
                  d.host_as, d.infection, d.org_ingress, d.org_egress, d.host_org, d.host_guard, d.org_span)


@njit(cache=True, inline="always")
def accept(k, src, dst, trig_start, path_slot, path_kind, path_reaction, crosses, host_as, infection,
           org_ingress, org_egress, host_org, host_guard, org_span):
    """``accept_hit`` on the defence arrays themselves. A loop over many hits should test
    ``path_slot.shape[0]`` and ``org_ingress.shape[0]`` once and call ``path_ok`` / ``org_ok`` only
    for the filters present (every array handed to inlined code costs a little per call)."""
    ok = True
    if path_slot.shape[0] > 0:
        ok = path_ok(k, src, dst, trig_start, path_slot, path_kind, path_reaction, crosses, host_as, infection)
    if ok and org_ingress.shape[0] > 0:
        ok = org_ok(k, src, dst, trig_start, org_ingress, org_egress, host_org, host_guard, org_span)
    return ok


@njit(cache=True, inline="always")
def path_ok(k, src, dst, trig_start, path_slot, path_kind, path_reaction, crosses, host_as, infection):
    """No content filter or blacklist on the route from ``src``'s AS to ``dst``'s drops the hit."""
    ok = True
    a, b = host_as[src], host_as[dst]
    for p in range(path_slot.shape[0]):
        if k >= trig_start[path_slot[p]] and crosses[p, a, b]:
            if path_kind[p] == CONTENT:
                ok = False
            else:
                t_inf = infection[src, 0]
                if t_inf >= 0 and k >= t_inf + path_reaction[p]:
                    ok = False
    return ok


@njit(cache=True, inline="always")
def org_ok(k, src, dst, trig_start, org_ingress, org_egress, host_org, host_guard, org_span):
    """No egress filter of ``src``'s organisation nor ingress filter of ``dst``'s drops the hit
    (hits inside an organisation always pass; web servers accept inbound port 80)."""
    ok = True
    if (host_guard[GUARD_IN, dst >> 6] >> np.uint64(dst & 63)) & np.uint64(1):
        ok = not ingress_blocks(k, src, host_org[dst], trig_start, org_ingress, org_span)
    if ok and org_egress.shape[0] > 0:
        ok = egress_ok(k, src, dst, trig_start, org_egress, host_org, host_guard, org_span)
    return ok


@njit(cache=True, inline="always")
def ingress_blocks(k, src, o_d, trig_start, org_ingress, org_span):
    """The ingress filter of organisation ``o_d`` (guarding the target) stops a hit from ``src``:
    it is on and ``src`` is outside (an organisation's hosts are the index range ``org_span[o]``,
    so this needs no read of the source's ``host_org``)."""
    return k >= trig_start[org_ingress[o_d]] and (src < org_span[o_d, 0] or src >= org_span[o_d, 1])


@njit(cache=True, inline="always")
def egress_ok(k, src, dst, trig_start, org_egress, host_org, host_guard, org_span):
    """No egress filter of ``src``'s organisation stops its hit on ``dst`` outside it."""
    ok = True
    if (host_guard[GUARD_OUT, src >> 6] >> np.uint64(src & 63)) & np.uint64(1):
        o_s = host_org[src]
        if (dst < org_span[o_s, 0] or dst >= org_span[o_s, 1]) and k >= trig_start[org_egress[o_s]]:
            ok = False
    return ok


@njit(cache=True, inline="always")
def update_triggers(k, n_infected, ctl):
    """Fire condition triggers: more than ``trig_cond`` hosts infected at the end of step ``k``."""
    if n_infected <= ctl[C_MINCOND]:
        return
    nt = ctl[C_NTRIG]
    for d in range(nt):
        c = ctl[C_TRIG + nt + d]
        if c >= 0 and ctl[C_TRIG + d] == NEVER and n_infected > c:
            ctl[C_TRIG + d] = k + 1 + ctl[C_TRIG + 2 * nt + d]
            ctl[C_STATUS + ST_PENDING] -= 1
    _due(ctl)
