"""A Fenwick (binary indexed) tree over per-host probe rates: add, total and find in O(log n).

Used when hosts scan at different rates, so that a probe's source can be drawn in proportion
to its rate among the infected hosts. The tree is 1-based: slot 0 of the array is not part of
it (``kernel.run_steps`` keeps there the bound on the rates that its rejection picks use).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def fen_add(fen, i, delta):
    n = fen.shape[0] - 1
    i += 1
    while i <= n:
        fen[i] += delta
        i += i & (-i)


@njit(cache=True)
def fen_total(fen):
    n = fen.shape[0] - 1
    s = 0.0
    i = n
    while i > 0:
        s += fen[i]
        i -= i & (-i)
    return s


@njit(cache=True)
def fen_find(fen, target):
    """Smallest index whose prefix sum exceeds ``target`` (0-based)."""
    n = fen.shape[0] - 1
    idx = 0
    bit = 1
    while bit * 2 <= n:
        bit *= 2
    while bit > 0:
        nxt = idx + bit
        if nxt <= n and fen[nxt] <= target:
            idx = nxt
            target -= fen[nxt]
        bit //= 2
    return idx if idx < n else n - 1
