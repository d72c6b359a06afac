"""What hosts and their administrators do in a step: reboot, patch, go offline; and the flood.

Each is a count of Bernoulli trials drawn as one binomial, with the hosts concerned picked
uniformly without replacement by position in the state-segmented permutation ``order``, which is
the same distribution as one coin per host. Moving a host between states is a swap per segment
boundary crossed, so its position is always known and no inverse index is needed.
Defences that act on hosts (``defense``, see ``kernel_defense``) hook in here, in this order
after the worm's step: triggers, global shutdown (start or end), throttling, reboots (the
campaign's extra rate combined with the natural one as two independent coins), the scheduled
patching, the patch campaign, going offline. ``engine/reference.py`` follows the same order.
"""

from __future__ import annotations

from numba import njit

from wormlab.engine import scan_local
from wormlab.engine.draws import below
from wormlab.engine.fenwick import fen_add
from wormlab.engine.records import (
    EVER_BIT,
    INFECTED,
    OFFLINE,
    PATCHED,
    R_PATCHES,
    R_REBOOTS,
    STATE_MASK,
    SUSCEPTIBLE,
)


@njit(cache=True, inline="always")  # inlined: a call would count references to every array of ``local``
def move_at(j, to_state, order, bnd, state, local, rate):
    """Move the host at position ``j`` of ``order`` into segment ``to_state``; returns the host.

    Each crossing of a segment boundary is one swap with the boundary element, so a host's
    position is always known from the sampling. Runs whose ``local.pos`` has one entry per host
    (local preference, and the event-driven strategies of ``scan_events``) keep that inverse index
    up to date (``scan_local.moves``, which also keeps the per-block index of local preference).
    Hot loops of those runs hand ``scan_local.moves`` a whole batch of moves instead.
    """
    if local.pos.shape[0] != state.shape[0]:  # no inverse index (uniform scanning)
        return move_plain(j, to_state, order, bnd, state)
    h = order[j]
    nb = local.nblk  # (stand-ins of the right types for the arrays that only batches of moves use)
    scan_local.moves(0, 0, 0, nb, 0, 0, 0, nb, j, to_state, 1.0, order, bnd, state, local.blk,
                     rate, rate, local.pos, local.active, local.strains, local.grp, local.csh, local.locg,
                     local.lsh, local.wcount, local.arate, local.wrates, local.wrec, local.blk, local.lp,
                     local.li, local.lo, local.e1, local.e2, local.scnt, local.rsum, local.weight, local.fen,
                     local.nblk)
    return h


@njit(cache=True, inline="always")
def _leave_infected(h, k, uniform_rate, state, infection, rate, fen):
    """Book-keeping when host ``h`` stops being infected at the end of step ``k``."""
    if state[h] & STATE_MASK == INFECTED:
        infection[h, 2] = k + 1
        if uniform_rate <= 0.0:
            fen_add(fen, h, -rate[h])


@njit(cache=True, inline="always")
def move_plain(j, to_state, order, bnd, state):
    """``move_at`` for runs that keep no per-host index: it takes no tuple of arrays."""
    h = order[j]
    s = state[h] & STATE_MASK
    while s < to_state:
        last = bnd[s + 1] - 1
        order[j] = order[last]
        order[last] = h
        j = last
        bnd[s + 1] -= 1
        s += 1
    while s > to_state:
        first = bnd[s]
        order[j] = order[first]
        order[first] = h
        j = first
        bnd[s] += 1
        s -= 1
    state[h] = (state[h] & EVER_BIT) | to_state
    return h


@njit(cache=True)
def host_moves(rng, n_reboot, n_patch, n_offline, k, uniform_rate, order, bnd, state, infection, rate,
               fen):
    """Apply a step's reboots, patches and hosts going offline, in that order, counts given.

    Each is a host drawn uniformly from the segments it may leave (reboots: infected; patches:
    susceptible or infected; offline: any online host). One call per step with moves (not one per
    move, nor one per step): Numba reference-counts the arrays handed to a function.
    """
    for i in range(n_reboot + n_patch + n_offline):
        if i < n_reboot:
            lo = bnd[1]
            j = lo + below(rng, bnd[2] - lo)
            to_state = SUSCEPTIBLE
        elif i < n_reboot + n_patch:
            j = below(rng, bnd[2])
            to_state = PATCHED
        else:
            j = below(rng, bnd[3])
            to_state = OFFLINE
        _leave_infected(order[j], k, uniform_rate, state, infection, rate, fen)
        move_plain(j, to_state, order, bnd, state)


@njit(cache=True, inline="always")
def host_counts(rng, reboot_p, patch_p, offline_p, bnd):
    """The step's numbers of reboots, patches and hosts going offline (binomial draws).

    All three are drawn from the counts at the start of the step: reboots keep S + I and patches
    keep S + I + P, so each count has the law it would have after the moves before it.
    """
    n_reboot = 0
    n_patch = 0
    n_offline = 0
    if reboot_p > 0.0 and bnd[2] > bnd[1]:
        n_reboot = rng.binomial(bnd[2] - bnd[1], reboot_p)
    if patch_p > 0.0 and bnd[2] > 0:
        n_patch = rng.binomial(bnd[2], patch_p)
    if offline_p > 0.0 and bnd[3] > 0:
        n_offline = rng.binomial(bnd[3], offline_p)
    return n_reboot, n_patch, n_offline


@njit(cache=True, inline="always")
def host_offsets(rng, n_reboot, n_patch, n_offline, bnd, buf):
    """The draws of ``host_moves``, made in advance into ``buf`` (which has room): the i-th reboot
    is at offset below(I - i) from the start of the infected segment, which shrinks by one per
    reboot; the i-th patch at below(S + I - i), the i-th host going offline at below(S + I + P - i)
    (reboots keep S + I, patches keep S + I + P). The same law as drawing move by move."""
    n_i = bnd[2] - bnd[1]
    for i in range(n_reboot):
        buf[i] = below(rng, n_i - i)
    for i in range(n_patch):
        buf[n_reboot + i] = below(rng, bnd[2] - i)
    for i in range(n_offline):
        buf[n_reboot + n_patch + i] = below(rng, bnd[3] - i)


@njit(cache=True, inline="always")  # inlined: passing the defence tuple by value each step is dear
def host_transitions(rng, k, row, reboot_p, patch_p, offline_p, uniform_rate, order, bnd, state,
                     infection, rate, fen, rec, defense, local):
    """Steps 2-4 of a step: reboots cure infected hosts, patches, hosts going offline."""
    if defense.host_active:  # triggers, shutdown, throttling; the reboot campaign's extra coin
        reboot_p = kdh.before_transitions(rng, k, reboot_p, uniform_rate, order, bnd, state, infection,
                                          rate, fen, defense, local)
    # 2. reboots: memory-only infection is cured
    if reboot_p > 0.0:
        n_inf = bnd[2] - bnd[1]
        if n_inf > 0:
            n = rng.binomial(n_inf, reboot_p)
            for _ in range(n):
                j = bnd[1] + below(rng, bnd[2] - bnd[1])
                _leave_infected(order[j], k, uniform_rate, state, infection, rate, fen)
                move_at(j, SUSCEPTIBLE, order, bnd, state, local, rate)
            rec[row, R_REBOOTS] += n
    # 3. patching of susceptible and infected hosts
    if patch_p > 0.0 and bnd[2] > 0:
        n = rng.binomial(bnd[2], patch_p)
        for _ in range(n):
            j = below(rng, bnd[2])
            _leave_infected(order[j], k, uniform_rate, state, infection, rate, fen)
            move_at(j, PATCHED, order, bnd, state, local, rate)
        rec[row, R_PATCHES] += n
    if defense.host_active and defense.slots[0] >= 0:  # kernel_defense.S_PATCH
        rec[row, R_PATCHES] += kdh.patch_campaign(rng, k, uniform_rate, order, bnd, state, infection, rate,
                                                  fen, defense, local)
    # 4. hosts going offline
    if offline_p > 0.0 and bnd[3] > 0:
        n = rng.binomial(bnd[3], offline_p)
        for _ in range(n):
            j = below(rng, bnd[3])
            _leave_infected(order[j], k, uniform_rate, state, infection, rate, fen)
            move_at(j, OFFLINE, order, bnd, state, local, rate)


# At the end: kernel_defense_hosts imports move_at from this module (defined above by now).
from wormlab.engine import kernel_defense_hosts as kdh  # noqa: E402  (imports move_at from here)
