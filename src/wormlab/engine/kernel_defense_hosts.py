"""Host-level defences in the compiled kernel: global shutdown, throttling, reboot and patch
campaigns (called from ``kernel_hosts.host_transitions`` when ``defense.active``).

Each is exact in the same sense as the host transitions: a count of Bernoulli trials drawn as one
binomial, the hosts concerned picked uniformly without replacement by position; where hosts have
different probabilities (patching by organisation type), a binomial at the largest probability
thinned by p_h / p_max. ``engine/reference.py`` flips one coin per host for each.
"""



import numpy as np
from numba import njit

from wormlab.engine import kernel_defense as kd
from wormlab.engine.fenwick import fen_add
from wormlab.engine.kernel_hosts import _leave_infected, move_at
from wormlab.engine.records import INFECTED, OFFLINE, PATCHED, STATE_MASK, SUSCEPTIBLE


@njit(cache=True, inline="always")
def _move(j, to_state, order, bnd, state, local, rate):
    return move_at(j, to_state, order, bnd, state, local, rate)


@njit(cache=True, inline="always")
def before_transitions(rng, k, reboot_p, uniform_rate, order, bnd, state, infection, rate, fen, defense,
                       local):
    """Triggers, the shutdown, throttling; returns the reboot probability of this step."""
    # Calls only when something may be due: each call copies the arrays' descriptors.
    if defense.status[kd.ST_PENDING] > 0:
        kd.update_triggers(k, bnd[2] - bnd[1], defense)
    if defense.slots[kd.S_SHUTDOWN] >= 0 and defense.status[kd.ST_SHUT_PHASE] < 2:
        _shutdown(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, defense, local)
    if defense.slots[kd.S_THROTTLE] >= 0 and defense.status[kd.ST_THROTTLED] == 0:
        _throttle(k, uniform_rate, state, rate, fen, defense)
    s = defense.slots[kd.S_REBOOT]
    if s >= 0 and k >= defense.trig_start[s]:
        return 1.0 - (1.0 - reboot_p) * (1.0 - defense.params[kd.P_REBOOT_P])
    return reboot_p


@njit(cache=True, inline="always")
def patch_campaign(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, defense, local):
    """Each susceptible or infected host is patched with 1 - exp(-h), h = its type's hazard plus
    the awareness hazard times the share of hosts ever infected (two-factor model). Drawn as
    Binomial(S+I, p_max) distinct hosts, each kept with p_h / p_max: exact thinning."""
    s = defense.slots[kd.S_PATCH]
    if s < 0 or k < defense.trig_start[s] or bnd[2] == 0:
        return 0
    aware = defense.params[kd.P_AWARE_H] * defense.ever[0] / state.shape[0]
    h_max = aware + defense.patch_h_type.max()
    p_max = -np.expm1(-h_max)
    if p_max <= 0.0:
        return 0
    n_all = bnd[2]
    n = rng.binomial(n_all, p_max)
    if n == 0:
        return 0
    picks = _distinct(rng, n_all, n)
    keep = np.empty(n, dtype=np.int64)
    m = 0
    for j in picks:
        p_h = -np.expm1(-(aware + defense.patch_h_type[defense.host_type[order[j]]]))
        if rng.random() * p_max < p_h:
            keep[m] = j
            m += 1
    kept = np.sort(keep[:m])
    for i in range(m - 1, -1, -1):  # highest position first: lower positions stay valid
        j = kept[i]
        _leave_infected(order[j], k, uniform_rate, state, infection, rate, fen)
        _move(j, PATCHED, order, bnd, state, local, rate)
    return m


@njit(cache=True)
def _distinct(rng, n_all, n):
    """``n`` distinct integers drawn uniformly from 0 .. n_all-1 (Floyd's algorithm)."""
    seen = set()
    out = np.empty(n, dtype=np.int64)
    for i, j in enumerate(range(n_all - n, n_all)):
        t = rng.integers(0, j + 1)
        if t in seen:
            t = j
        seen.add(t)
        out[i] = t
    return out


@njit(cache=True)
def _shutdown(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, defense, local):
    """Global shutdown: each online host complies with probability c and is off for a duration;
    it comes back cured (memory-only worm), patched if it was patched."""
    s = defense.slots[kd.S_SHUTDOWN]
    if s < 0:
        return
    st = defense.status
    if st[kd.ST_SHUT_PHASE] == 0 and k >= defense.trig_start[s]:
        st[kd.ST_SHUT_PHASE] = 1
        st[kd.ST_SHUT_END] = k + np.int64(defense.params[kd.P_SHUT_STEPS])
        n = rng.binomial(bnd[3], defense.params[kd.P_COMPLIANCE])
        for _ in range(n):
            j = rng.integers(0, bnd[3])
            h = order[j]
            defense.shut_mark[h] = 2 if state[h] & STATE_MASK == PATCHED else 1
            _leave_infected(h, k, uniform_rate, state, infection, rate, fen)
            _move(j, OFFLINE, order, bnd, state, local, rate)
    elif st[kd.ST_SHUT_PHASE] == 1 and k >= st[kd.ST_SHUT_END]:
        st[kd.ST_SHUT_PHASE] = 2
        j = bnd[3]
        while j < bnd[4]:  # low to high: a host moved out swaps with one already looked at
            h = order[j]
            mark = defense.shut_mark[h]
            if mark > 0:
                defense.shut_mark[h] = 0
                _move(j, PATCHED if mark == 2 else SUSCEPTIBLE, order, bnd, state, local, rate)
            j += 1


@njit(cache=True)
def _throttle(k, uniform_rate, state, rate, fen, defense):
    """Williamson throttling: from its start, throttled hosts probe at most at the cap."""
    s = defense.slots[kd.S_THROTTLE]
    if s < 0 or defense.status[kd.ST_THROTTLED] or k < defense.trig_start[s]:
        return
    defense.status[kd.ST_THROTTLED] = 1
    cap = defense.params[kd.P_THROTTLE_RATE]
    for h in range(state.shape[0]):
        if defense.throttled[h] and rate[h] > cap:
            if state[h] & STATE_MASK == INFECTED and uniform_rate <= 0.0:
                fen_add(fen, h, cap - rate[h])
            rate[h] = cap
