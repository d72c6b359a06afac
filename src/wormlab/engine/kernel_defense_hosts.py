"""Host-level defences in the compiled kernel: global shutdown, throttling, reboot and patch
campaigns.

Each is exact in the same sense as the host transitions: a count of Bernoulli trials drawn as one
binomial, the hosts concerned picked uniformly without replacement by position; where hosts have
different probabilities (patching by organisation type), a binomial at the largest probability
thinned by p_h / p_max. ``engine/reference.py`` flips one coin per host for each.

Two entry points share the same helpers, which take a few arrays only (a tuple of arrays, or
many arrays, handed to code that runs every step costs an atomic reference count per array):
``host_step`` is the whole host step of runs that keep no per-host index (uniform scanning,
the common case), given the packed ``ctl``, ``fpar`` and ``marks`` of ``kernel_defense``;
``before_transitions`` and ``patch_campaign`` are called by ``kernel_hosts.host_transitions`` for
the others. The helpers pick the hosts and do the book-keeping; each entry point moves them with
its own ``move``.
"""

import numpy as np
from numba import njit

from wormlab.engine import kernel_defense as kd
from wormlab.engine.draws import below
from wormlab.engine.fenwick import fen_add
from wormlab.engine.kernel_defense import C_NTRIG, C_SLOTS, C_STATUS, C_TRIG, F_HTYPE
from wormlab.engine.kernel_hosts import (
    _leave_infected,
    host_counts,
    host_moves,
    move_at,
    move_plain,
)
from wormlab.engine.records import (
    INFECTED,
    OFFLINE,
    PATCHED,
    R_PATCHES,
    R_REBOOTS,
    STATE_MASK,
    SUSCEPTIBLE,
)


@njit(cache=True, inline="always")
def host_step(rng, k, row, reboot_p, patch_p, offline_p, uniform_rate, order, bnd, state, infection, rate,
              fen, rec, ctl, fpar, ever, host_type, marks):
    """Steps 2-4 with host defences, for runs without a per-host index, in the order of
    ``kernel_hosts.host_transitions``: triggers, shutdown, throttling (``_rare_plain``, called only
    in the steps where one may act: a call with a dozen arrays costs about 200 ns), reboots
    (natural and campaign), scheduled patching, the patch campaign, going offline."""
    if k >= ctl[kd.C_NEXT] or bnd[2] - bnd[1] > ctl[kd.C_MINCOND]:
        _rare_plain(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, ctl, fpar, marks)
    reboot_k = _reboot_p(k, reboot_p, ctl, fpar)
    s = ctl[C_SLOTS + kd.S_PATCH]
    campaign = s >= 0 and k >= ctl[C_TRIG + s] and bnd[2] > 0
    scheduled = 0.0 if campaign else patch_p  # once the campaign runs, one draw serves both
    n_reboot, n_patch, _ = host_counts(rng, reboot_k, scheduled, 0.0, bnd)
    if n_reboot + n_patch > 0:  # the moves' call (arrays counted) only in steps with moves
        host_moves(rng, n_reboot, n_patch, 0, k, uniform_rate, order, bnd, state, infection, rate, fen)
        rec[row, R_REBOOTS] += n_reboot
        rec[row, R_PATCHES] += n_patch
    if campaign:
        rec[row, R_PATCHES] += _patch_campaign_plain(rng, k, uniform_rate, order, bnd, state, infection,
                                                     rate, fen, fpar, ever, host_type, ctl, patch_p)
    _, _, n_off = host_counts(rng, 0.0, 0.0, offline_p, bnd)
    if n_off > 0:
        host_moves(rng, 0, 0, n_off, k, uniform_rate, order, bnd, state, infection, rate, fen)


@njit(cache=True)
def _rare_plain(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, ctl, fpar, marks):
    """Triggers, the shutdown's start or end, the start of throttling (for ``host_step``)."""
    if _triggers_and_throttle(k, bnd, uniform_rate, state, rate, fen, ctl, fpar, marks):
        pos, to = _shutdown_moves(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, ctl, fpar, marks)
        for i in range(pos.shape[0]):
            move_plain(pos[i], to[i], order, bnd, state)
    kd._due(ctl)


@njit(cache=True)
def _patch_campaign_plain(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, fpar, ever,
                          host_type, ctl, patch_p):
    """The patch campaign's step with the scheduled patching's ``patch_p`` folded in (for
    ``host_step``); returns the number patched."""
    kept, at, m = _patch_picks(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, fpar, ever,
                               host_type, ctl, patch_p)
    for i in range(m):
        move_plain(kept[at + i], PATCHED, order, bnd, state)
    return m


@njit(cache=True, inline="always")
def before_transitions(rng, k, reboot_p, uniform_rate, order, bnd, state, infection, rate, fen, defense,
                       local):
    """Triggers, the shutdown, throttling; returns the reboot probability of this step."""
    d = defense  # every field read before any branch (see the module's docstring)
    ctl, fpar, marks = d.ctl, d.fpar, d.marks
    if _triggers_and_throttle(k, bnd, uniform_rate, state, rate, fen, ctl, fpar, marks):
        pos, to = _shutdown_moves(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, ctl, fpar, marks)
        for i in range(pos.shape[0]):
            move_at(pos[i], to[i], order, bnd, state, local, rate)
    return _reboot_p(k, reboot_p, ctl, fpar)


@njit(cache=True, inline="always")
def patch_campaign(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, defense, local):
    """The patch campaign's step (``_patch_picks``); returns the number patched."""
    d = defense  # every field read before any branch
    ctl, fpar, ever, host_type = d.ctl, d.fpar, d.ever, d.host_type
    s = ctl[C_SLOTS + kd.S_PATCH]
    if s < 0 or k < ctl[C_TRIG + s] or bnd[2] == 0:
        return 0
    # (the scheduled patching has had its own draw before)
    kept, at, m = _patch_picks(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, fpar, ever,
                               host_type, ctl, 0.0)
    for i in range(m):
        move_at(kept[at + i], PATCHED, order, bnd, state, local, rate)
    return m


@njit(cache=True, inline="always")
def _reboot_p(k, reboot_p, ctl, fpar):
    """This step's reboot probability: the campaign's coin, once started, with the natural one."""
    s = ctl[C_SLOTS + kd.S_REBOOT]
    out = reboot_p
    if s >= 0 and k >= ctl[C_TRIG + s]:
        out = 1.0 - (1.0 - reboot_p) * (1.0 - fpar[kd.P_REBOOT_P])
    return out


@njit(cache=True, inline="always")
def _triggers_and_throttle(k, bnd, uniform_rate, state, rate, fen, ctl, fpar, marks):
    """Fire condition triggers and start throttling when due; True when the shutdown starts or
    ends in this step."""
    if ctl[C_STATUS + kd.ST_PENDING] > 0:
        kd.update_triggers(k, bnd[2] - bnd[1], ctl)
    s = ctl[C_SLOTS + kd.S_THROTTLE]
    if s >= 0 and ctl[C_STATUS + kd.ST_THROTTLED] == 0 and k >= ctl[C_TRIG + s]:
        ctl[C_STATUS + kd.ST_THROTTLED] = 1
        _throttle(uniform_rate, state, rate, fen, fpar[kd.P_THROTTLE_RATE], marks)
    s = ctl[C_SLOTS + kd.S_SHUTDOWN]
    shut = False
    if s >= 0:
        phase = ctl[C_STATUS + kd.ST_SHUT_PHASE]
        shut = (phase == 0 and k >= ctl[C_TRIG + s]) or (phase == 1 and k >= ctl[C_STATUS + kd.ST_SHUT_END])
    return shut


@njit(cache=True)
def _shutdown_moves(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, ctl, fpar, marks):
    """Global shutdown: each online host complies with probability c and is off for a duration;
    it comes back cured (memory-only worm), patched if it was patched. Returns the positions to
    move and their new states, in the order to move them (each move keeps the positions still to
    come where they are). ``marks[h]`` (the first half: ``shut_mark``) remembers who was shut."""
    st = C_STATUS
    if ctl[st + kd.ST_SHUT_PHASE] == 0:
        ctl[st + kd.ST_SHUT_PHASE] = 1
        ctl[st + kd.ST_SHUT_END] = k + np.int64(fpar[kd.P_SHUT_STEPS])
        n_on = bnd[3]
        n = rng.binomial(n_on, fpar[kd.P_COMPLIANCE])
        idx = np.arange(n_on)
        for i in range(n):  # a uniform n-subset: the first n of a partial shuffle
            r = i + rng.integers(0, n_on - i)
            idx[i], idx[r] = idx[r], idx[i]
        pos = np.sort(idx[:n])[::-1].copy()  # highest first
        for j in pos:
            h = order[j]
            marks[h] = 2 if state[h] & STATE_MASK == PATCHED else 1
            _leave_infected(h, k, uniform_rate, state, infection, rate, fen)
        return pos, np.full(n, OFFLINE, dtype=np.int64)
    ctl[st + kd.ST_SHUT_PHASE] = 2
    n_off = bnd[4] - bnd[3]
    pos = np.empty(n_off, dtype=np.int64)
    to = np.empty(n_off, dtype=np.int64)
    m = 0
    for j in range(bnd[3], bnd[4]):  # lowest first: a host moved out swaps with one already passed
        h = order[j]
        if marks[h] > 0:
            pos[m] = j
            to[m] = PATCHED if marks[h] == 2 else SUSCEPTIBLE
            marks[h] = 0
            m += 1
    return pos[:m], to[:m]


@njit(cache=True)
def _throttle(uniform_rate, state, rate, fen, cap, marks):
    """Williamson throttling from its start: throttled hosts (the second half of ``marks``) probe
    at most at the cap."""
    n = state.shape[0]
    for h in range(n):
        if marks[n + h] and rate[h] > cap:
            if state[h] & STATE_MASK == INFECTED and uniform_rate <= 0.0:
                fen_add(fen, h, cap - rate[h])
            rate[h] = cap


@njit(cache=True, inline="always")
def _patch_picks(rng, k, uniform_rate, order, bnd, state, infection, rate, fen, fpar, ever, host_type, ctl,
                 patch_p):
    """The patch campaign: each susceptible or infected host is patched with 1 - exp(-h), h = its
    type's hazard plus the awareness hazard times the share of hosts ever infected (two-factor
    model); ``patch_p`` > 0 folds in the scheduled patching of the step (an independent coin, so
    a host escapes both with (1 - patch_p) e^-h). Drawn as Binomial(S+I, p_max) distinct positions,
    each kept with p_h / p_max (exact thinning); returns (array, at, m): positions array[at:at+m],
    highest first, are to be patched. Called once the campaign has started.

    The candidates go to the scratch room of ``ctl`` (Floyd's algorithm with a linear check for
    repeats: a handful a step, so no set and no allocation); only an unusually large draw
    allocates."""
    aware = fpar[kd.P_AWARE_H] * ever[0] / state.shape[0]
    # a host of type t escapes with (1 - patch_p) e^-aware e^-h_t: one exp a step (e^-h from the plan)
    escape = (1.0 - patch_p) * np.exp(-aware)
    n_t = (fpar.shape[0] - F_HTYPE - 2) // 2
    p_max = 1.0 - escape * fpar[-2]
    n_all = bnd[2]
    n = _binomial(rng, n_all, p_max) if p_max > 0.0 else 0
    picks = ctl
    at = C_TRIG + 3 * ctl[C_NTRIG]  # the scratch room
    if n == 0:
        return picks, at, 0
    if n <= kd.N_SCRATCH:
        for i in range(n):
            top = n_all - n + i
            t = below(rng, top + 1)
            for q in range(i):
                if picks[at + q] == t:
                    t = top  # Floyd: top could not be drawn before, so it is new
                    break
            picks[at + i] = t
    else:
        picks = _distinct(rng, n_all, n)
        at = 0
    p_min = 1.0 - escape * fpar[-1]
    half = kd.N_SCRATCH // 2
    if at > 0 and n <= half:
        # the candidates' types first, in a loop of independent loads (their cache misses overlap)
        for i in range(n):
            picks[at + half + i] = host_type[order[picks[at + i]]]
    m = 0
    for i in range(n):
        j = picks[at + i]
        u = rng.random() * p_max
        # below every type's probability: kept whatever its type
        if u < p_min:
            kept = True
        else:
            t = picks[at + half + i] if at > 0 and n <= half else host_type[order[j]]
            kept = u < 1.0 - escape * fpar[F_HTYPE + n_t + t]
        if kept:
            picks[at + m] = j
            m += 1
    for i in range(1, m):  # insertion sort, highest position first: lower positions stay valid
        j = picks[at + i]
        q = i
        while q > 0 and picks[at + q - 1] < j:
            picks[at + q] = picks[at + q - 1]
            q -= 1
        picks[at + q] = j
    for i in range(m):
        _leave_infected(order[picks[at + i]], k, uniform_rate, state, infection, rate, fen)
    return picks, at, m


@njit(cache=True, inline="always")
def _binomial(rng, n, p):
    """Binomial(n, p) by inversion when the mean is small (a handful of candidates a step): one
    uniform and a walk up the distribution, half the cost of the generic draw; otherwise that."""
    if n * p > 20.0 or p > 0.5:
        return rng.binomial(n, p)
    q = 1.0 - p
    r = p / q
    prob = np.exp(n * np.log1p(-p))  # P(0)
    u = rng.random()
    x = 0
    while u > prob and x < n:
        u -= prob
        x += 1
        prob *= r * (n - x + 1) / x
    return x


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
