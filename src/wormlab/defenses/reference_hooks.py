"""The defences for the per-probe reference engine: one coin per probe, one coin per host.

Same arrays and the same order as the compiled kernel (``engine/kernel_defense.py``,
``engine/kernel_defense_hosts.py``), written the plain way, so the equivalence tests can show the
kernel's binomial-and-thinning sampling gives the same distribution.
"""

from __future__ import annotations

import numpy as np

from wormlab.engine import kernel_defense as kd
from wormlab.engine import records

S, I, P, O = records.SUSCEPTIBLE, records.INFECTED, records.PATCHED, records.OFFLINE


def arrays(sc, pop) -> kd.DefenseArrays:
    """The run's defence arrays (the reference keeps no Fenwick tree)."""
    from wormlab.defenses.plan import plan_defenses

    dz, _, _ = plan_defenses(sc, pop.infection, np.zeros(1, np.int64), 0.0, np.zeros(1),
                             pop.probe_rate_per_s, pop.state)
    return dz


def thin(k: int, sources: np.ndarray, targets: np.ndarray, victim: np.ndarray, dz, row) -> np.ndarray:
    """Drop blocked probes among those aimed at susceptible hosts; counts them in ``row``."""
    if not dz.active:
        return victim
    idx = np.flatnonzero(victim)
    src, dst = sources[idx], targets[idx]
    blocked = np.zeros(idx.size, dtype=bool)
    if dz.path_slot.size:
        a, b = dz.host_as[src], dz.host_as[dst]
        for p in range(dz.path_slot.size):
            if k < dz.trig_start[dz.path_slot[p]]:
                continue
            crosses = dz.crosses[p, a, b].astype(bool)
            if dz.path_kind[p] == kd.CONTENT:
                blocked |= crosses
            else:
                t_inf = dz.infection[src, 0].astype(np.int64)
                blocked |= crosses & (t_inf >= 0) & (k >= t_inf + dz.path_reaction[p])
    if dz.org_ingress.size:
        o_s, o_d = dz.host_org[src], dz.host_org[dst]
        outside = o_s != o_d
        g = dz.org_ingress[o_d]
        if dz.org_egress.size:  # (empty when no organisation filters outbound)
            e = dz.org_egress[o_s]
            blocked |= outside & (e >= 0) & (k >= dz.trig_start[np.maximum(e, 0)])
        blocked |= outside & (g >= 0) & (k >= dz.trig_start[np.maximum(g, 0)]) & (dz.web_server[dst] == 0)
    row[records.R_BLOCKED] += int(blocked.sum())
    out = victim.copy()
    out[idx[blocked]] = False
    return out


def _leave(hosts: np.ndarray, k: int, state: np.ndarray, infection: np.ndarray) -> None:
    infection[hosts[state[hosts] == I], 2] = k + 1


def before_transitions(k: int, rng, state, infection, rate, dz, reboot_p: float) -> float:
    """Triggers, shutdown, throttling; returns this step's reboot probability."""
    if not dz.host_active:
        return reboot_p
    n_inf = int((state == I).sum())
    for d in range(dz.trig_cond.size):
        if dz.trig_cond[d] >= 0 and dz.trig_start[d] == kd.NEVER and n_inf > dz.trig_cond[d]:
            dz.trig_start[d] = k + 1 + dz.trig_delay[d]
            dz.status[kd.ST_PENDING] -= 1
    st = dz.status
    s = dz.slots[kd.S_SHUTDOWN]
    if s >= 0 and st[kd.ST_SHUT_PHASE] == 0 and k >= dz.trig_start[s]:
        st[kd.ST_SHUT_PHASE], st[kd.ST_SHUT_END] = 1, k + int(dz.params[kd.P_SHUT_STEPS])
        online = np.flatnonzero(state != O)
        off = online[rng.random(online.size) < dz.params[kd.P_COMPLIANCE]]
        dz.shut_mark[off] = np.where(state[off] == P, 2, 1)
        _leave(off, k, state, infection)
        state[off] = O
    elif s >= 0 and st[kd.ST_SHUT_PHASE] == 1 and k >= st[kd.ST_SHUT_END]:
        st[kd.ST_SHUT_PHASE] = 2
        back = np.flatnonzero(dz.shut_mark)
        state[back] = np.where(dz.shut_mark[back] == 2, P, S)
        dz.shut_mark[back] = 0
    s = dz.slots[kd.S_THROTTLE]
    if s >= 0 and not st[kd.ST_THROTTLED] and k >= dz.trig_start[s]:
        st[kd.ST_THROTTLED] = 1
        cap = dz.params[kd.P_THROTTLE_RATE]
        rate[(dz.throttled == 1) & (rate > cap)] = cap
    s = dz.slots[kd.S_REBOOT]
    if s >= 0 and k >= dz.trig_start[s]:
        return 1.0 - (1.0 - reboot_p) * (1.0 - dz.params[kd.P_REBOOT_P])
    return reboot_p


def patch_campaign(k: int, rng, state, infection, dz) -> int:
    """Each susceptible or infected host is patched with its own probability; returns the count."""
    s = dz.slots[kd.S_PATCH] if dz.host_active else -1
    if s < 0 or k < dz.trig_start[s]:
        return 0
    cand = np.flatnonzero((state == S) | (state == I))
    aware = dz.params[kd.P_AWARE_H] * int((infection[:, 0] >= 0).sum()) / state.size
    p = -np.expm1(-(aware + dz.patch_h_type[dz.host_type[cand]]))
    done = cand[rng.random(cand.size) < p]
    _leave(done, k, state, infection)
    state[done] = P
    return int(done.size)
