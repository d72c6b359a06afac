"""The tables and constants of the log scanners' pass, in NumPy alone (no Numba).

``kernel_args`` gives what ``scan_block`` takes after ``buf, lo, mode, nfields``, in both of
its versions: the C one (``cscan.py``, the fast path) and the Numba one (``scankernel.py``, the
fallback and the reference the C one is tested against). Kept apart from ``scankernel`` so that
the C path never imports Numba.
"""

from __future__ import annotations

import numpy as np

COMMON, COMBINED, IIS = 0, 1, 2
_ANCHOR, _NEWLINE, _BACKSLASH, _SPACE, _ODD_SPACE, _QUOTE, _CLOSE = 1, 2, 4, 8, 16, 32, 64
_FIRST = 128  # at row 0 of the table only: the byte, lower-cased, begins an anchor
CANDIDATE, PARSED = 1, 2
ROW = 11  # columns of a flagged row
NO_TIME = -(1 << 63)  # a parsed line's time left to Python


LOWER = np.arange(256, dtype=np.uint8)
LOWER[65:91] += 32  # what bytes.lower() does: ASCII letters only


def usable_anchors(anchors: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The anchors (lower case, two bytes or more) a line can hold: one with a newline never
    matches a line."""
    if any(len(a) < 2 for a in anchors):
        raise ValueError("the compiled scanner needs anchors of two bytes or more")
    return tuple(a for a in anchors if b"\n" not in a)


def byte_table(anchors: tuple[bytes, ...], mode: int) -> np.ndarray:
    """The table ``scan_block`` reads each byte through, for lower-case ``anchors`` and a mode.

    Index ``prev << 8 | byte``: bit 1 when the two bytes, lower-cased, are the first two of an
    anchor, then one bit each for newline, and backslash, quote and ``]`` (Apache) or space and
    tab/CR/VT/FF (IIS).
    """
    table = np.zeros(1 << 16, np.uint8)
    rows = np.arange(256) << 8
    for a in usable_anchors(anchors):
        for p in np.flatnonzero(LOWER == a[0]):
            for c in np.flatnonzero(LOWER == a[1]):
                table[(p << 8) | c] |= _ANCHOR
    for a in usable_anchors(anchors):
        table[np.flatnonzero(LOWER == a[0])] |= _FIRST
    table[rows | 10] |= _NEWLINE
    if mode == IIS:
        table[rows | 32] |= _SPACE
        for c in (9, 11, 12, 13):
            table[rows | c] |= _ODD_SPACE
    else:
        table[rows | 92] |= _BACKSLASH
        table[rows | 34] |= _QUOTE
        table[rows | 93] |= _CLOSE
    return table


def anchor_arrays(anchors: tuple[bytes, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Lower-case anchors as a padded (count, longest) byte array and their lengths."""
    anchors = usable_anchors(anchors)
    longest = max((len(a) for a in anchors), default=1)
    anc = np.zeros((max(len(anchors), 1), longest), np.uint8)
    for i, a in enumerate(anchors):
        anc[i, :len(a)] = np.frombuffer(a, np.uint8)
    lens = np.array([len(a) for a in anchors] or [0], np.int64)
    return anc, lens


def pair_words(anchors: tuple[bytes, ...]) -> np.ndarray:
    """The anchors' distinct first bytes and distinct second bytes, for ``scan_block``'s
    32-bytes-at-a-time search: a (2, 9) int64 array, per position four bytes, the four bytes
    to OR a log byte with before comparing (0x20 for a letter, so that either case matches),
    and how many distinct bytes there are (padded by repeating the first; more than four:
    every byte may be one, and the scan looks at each)."""
    out = np.zeros((2, 9), np.int64)
    for at in (0, 1):
        found = sorted({a[at] for a in usable_anchors(anchors)})
        out[at, 8] = len(found)
        for k in range(4):
            c = found[k % len(found)] if found else 0
            out[at, k] = c
            out[at, 4 + k] = 0x20 if 97 <= c <= 122 else 0
    return out


def kernel_args(anchors: tuple[bytes, ...], mode: int) -> tuple:
    """What ``scan_block`` takes after ``buf, lo, mode, nfields``, for lower-case ``anchors``."""
    return byte_table(anchors, mode), *anchor_arrays(anchors), LOWER, pair_words(anchors)
