"""Whole-block line checks in NumPy: the log reader's fast path for small inputs.

A block of whole lines is handled with a few C-speed passes instead of a Python step per line
(big inputs go to the compiled scanner in scankernel.py, once loading Numba is worth it):

* line ends are the newlines' positions;
* candidate lines (those that may match a rule) are found in the ASCII-folded block: the
  positions of one pivot byte shared by the rule set's anchor literals, then each anchor
  compared byte by byte at those positions;
* every other line is *proved* well-formed by a vectorised check of the format's shape, made of
  comparisons at positions found once per block (newlines, quotes, the ``] "`` before the
  request) and of small fixed-width windows of bytes per line.

The checks are sufficient, not necessary: a line they pass is one the format's regular
expression accepts (tests/test_detect_fastcheck.py holds them to that on random lines), and a
line they do not pass is handed back to be judged by the per-line Python path. So the fast and
the careful path count exactly the same lines malformed; the fast one just does it for the
common shapes without a Python step per line.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

# Windows of bytes checked per line (a line whose field does not fit is handed back).
HEAD_BYTES = 24  # "host ident user", e.g. "192.0.2.1 - frank"
SIZE_BYTES = 16


def anchor_plan(anchors: tuple[bytes, ...]) -> list[tuple[int, list[tuple[bytes, int]]]]:
    """Group folded anchors by a pivot byte: [(pivot, [(anchor, offset of the pivot)])].

    Each pivot costs one pass over the block (its positions), so the pivot is the byte shared
    by most anchors left; every anchor is then checked byte by byte at the pivot's positions.
    """
    left, plan = set(anchors), []
    while left:
        counts: dict[int, int] = {}
        for a in left:
            for c in set(a):
                counts[c] = counts.get(c, 0) + 1
        pivot = max(counts, key=lambda c: (counts[c], -c))
        group = sorted(a for a in left if pivot in a)
        plan.append((pivot, [(a, a.index(pivot)) for a in group]))
        left -= set(group)
    return plan


def fold(data: bytes) -> bytes:
    """ASCII case fold by setting bit 0x20: every letter goes to lower case (other bytes move
    too, so folded text is only ever compared with folded anchors; a fold can add a candidate
    line, which the parser and the rule regex then reject, but never lose one)."""
    return bytes(c | 0x20 for c in data)


class Folder:
    """Folds blocks into one buffer reused from block to block."""

    def __init__(self) -> None:
        self.folded = bytearray()
        self._view = np.frombuffer(self.folded, np.uint8)

    def fold(self, chunk: bytes) -> np.ndarray:
        """The folded chunk, as a view of the reused buffer."""
        n = len(chunk)
        if len(self.folded) < n:
            self.folded = bytearray(n)
            self._view = np.frombuffer(self.folded, np.uint8)
        return np.bitwise_or(np.frombuffer(chunk, np.uint8), 0x20, out=self._view[:n])


def candidate_lines(folded: np.ndarray, ends: np.ndarray,
                    plan: list[tuple[int, list[tuple[bytes, int]]]]) -> np.ndarray:
    """Indices of the lines whose folded text holds at least one folded anchor."""
    n = folded.size
    hits = []
    for pivot, group in plan:
        pos = np.flatnonzero(folded == pivot)
        for anchor, off in group:
            start = pos - off
            keep = (start >= 0) & (start + len(anchor) <= n)
            at = start[keep]
            for j, c in enumerate(anchor):
                if j != off and at.size:
                    at = at[folded[at + j] == c]
            hits.append(at)
    if not hits:
        return np.zeros(0, np.int64)
    return np.unique(np.searchsorted(ends, np.concatenate(hits)))


def line_spans(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the lines of a block that ends with a newline (ends exclude it)."""
    ends = np.flatnonzero(a == 10)
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    return starts, ends


def _windows(a: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """Rows of ``width`` bytes starting at each of ``at``; bytes outside the block read as
    newlines (which no check accepts where it expects a field)."""
    n = a.size
    if n < width:
        a = np.concatenate([a, np.full(width - n, 10, np.uint8)])
    rows = as_strided(a, shape=(a.size - width + 1, width), strides=(1, 1), writeable=False)
    out = rows[np.clip(at, 0, a.size - width)]
    for i in np.flatnonzero((at < 0) | (at > n - width)):  # at most a few per block
        row = np.full(width, 10, np.uint8)
        lo, hi = max(int(at[i]), 0), min(int(at[i]) + width, n)
        if lo < hi:
            row[lo - int(at[i]):hi - int(at[i])] = a[lo:hi]
        out[i] = row
    return out


def _at(a: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``a[pos]`` with positions clipped into the block (callers also check the bounds)."""
    return a[np.clip(pos, 0, a.size - 1)]


def first_bytes(a: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The first byte of each line (a newline for an empty line)."""
    return _at(a, starts)


def _digits(b: np.ndarray) -> np.ndarray:
    return (b >= 48) & (b <= 57)


# Byte flags eight at a time: each helper returns the high bit of every byte of a uint64 word
# (read little-endian from the log) set where the byte has the property, exactly (no borrow or
# carry crosses a byte, since the low seven bits are added apart from the high one).
_H = np.uint64(0x8080808080808080)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_FIRST = np.array([(1 << (8 * k)) - 1 & 0x8080808080808080 for k in range(9)], np.uint64)


def _rep(c: int) -> np.uint64:
    return np.uint64(c * 0x0101010101010101)


def _flag_eq(x: np.ndarray, c: int) -> np.ndarray:
    t = x ^ _rep(c)
    return ~(((t & _LOW7) + _LOW7) | t) & _H


def _flag_below(x: np.ndarray, c: int) -> np.ndarray:
    """Bytes below ``c`` (1 <= c <= 128)."""
    return ~(((x & _LOW7) + _rep(128 - c)) | x) & _H


def _flag_digit(x: np.ndarray) -> np.ndarray:
    return _flag_below(x, 58) & ~_flag_below(x, 48)


def _first_bytes_mask(length: np.ndarray, words: int) -> np.ndarray:
    """(lines, words) masks keeping the flags of each row's first ``length`` bytes."""
    k = np.clip(length[:, None] - 8 * np.arange(words), 0, 8)
    return _FIRST[k]


def _words(a: np.ndarray, at: np.ndarray, words: int) -> np.ndarray:
    """(lines, words) uint64 words of the ``8 * words`` bytes from each of ``at``."""
    return _windows(a, at, 8 * words).view("<u8")


def _lines_holding(positions: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Indices of the lines that hold any of ``positions``."""
    return np.unique(np.searchsorted(ends, positions))


def clf_proved(a: np.ndarray, starts: np.ndarray, ends: np.ndarray,
               combined: bool) -> np.ndarray:
    """Per line: True when the Apache common (or, with ``combined``, combined/nginx) regular
    expression surely accepts it.

    Proves ``host ident user [dd/Mon/yyyy:hh:mm:ss +zzzz] "request" status size`` then anything
    (common), or then `` "referer" "agent"`` and anything (combined), where host, ident and
    user are non-empty runs of bytes above 0x20 split by single spaces, the time holds no ``]``,
    and the block holds no backslash on the line (escaped quotes are left to the regex).
    """
    n_lines = starts.size
    ok = np.zeros(n_lines, bool)
    if n_lines == 0:
        return ok
    # the "] " + quote before the request: the first one on each line
    all_br = np.flatnonzero(a == 93)
    br = all_br[(_at(a, all_br + 1) == 32) & (_at(a, all_br + 2) == 34) & (all_br + 2 < a.size)]
    if br.size == 0:
        return ok
    k = np.searchsorted(br, starts)
    m = br[np.minimum(k, br.size - 1)]
    ok = (k < br.size) & (m + 2 < ends)
    # the time: "[" 27 bytes before the "]", and no "]" earlier on the line
    head_len = m - 28 - starts
    ok &= (head_len >= 5) & (head_len <= HEAD_BYTES)
    ok &= (_at(a, m - 27) == 91) & (_at(a, m - 28) == 32)
    ok &= np.searchsorted(all_br, starts) == np.searchsorted(all_br, m)
    # host ident user: exactly two single spaces, no other byte <= 0x20, none at either end
    x = _words(a, starts, HEAD_BYTES // 8)
    keep = _first_bytes_mask(head_len, HEAD_BYTES // 8)
    sp = _flag_eq(x, 32) & keep
    low = _flag_below(x, 33) & keep
    ok &= (np.bitwise_count(sp).sum(axis=1) == 2) & (np.bitwise_count(low).sum(axis=1) == 2)
    adjacent = (sp & (sp >> np.uint64(8))).any(axis=1)
    adjacent |= ((sp[:, :-1] >> np.uint64(56)) & sp[:, 1:]).any(axis=1)
    ok &= ~adjacent & (_at(a, starts) != 32) & (_at(a, m - 29) != 32)
    # the request: up to the next quote, on the same line
    quotes = np.flatnonzero(a == 34)
    iq = np.searchsorted(quotes, m + 2)

    def quote(j: int) -> np.ndarray:
        idx = iq + j
        q = quotes[np.minimum(idx, quotes.size - 1)]
        return np.where(idx < quotes.size, q, a.size)

    q1 = quote(1)
    ok &= (q1 + 4 < ends) & (_at(a, q1 + 1) == 32)
    # status: "-" or three digits, then a space; the size starts after it
    dash = (_at(a, q1 + 2) == 45) & (_at(a, q1 + 3) == 32)
    three = (_digits(_at(a, q1 + 2)) & _digits(_at(a, q1 + 3)) & _digits(_at(a, q1 + 4))
             & (_at(a, q1 + 5) == 32))
    ok &= dash | three
    size_at = np.where(dash, q1 + 4, q1 + 6)
    first = _at(a, size_at)
    ok &= (size_at < ends) & ((first == 45) | _digits(first))
    if combined:
        # size (all digits, or "-"), then ' "referer" "agent"'
        q2 = quote(2)
        size_len = q2 - 1 - size_at
        ok &= (q2 < ends) & (_at(a, q2 - 1) == 32) & (size_len >= 1) & (size_len <= SIZE_BYTES)
        x = _words(a, size_at, SIZE_BYTES // 8)
        odd = ~_flag_digit(x) & _H & _first_bytes_mask(size_len, SIZE_BYTES // 8)
        ok &= ~odd.any(axis=1) | ((first == 45) & (size_len == 1))
        q3, q4, q5 = quote(3), quote(4), quote(5)
        ok &= (_at(a, q3 + 1) == 32) & (q4 == q3 + 2) & (q5 < ends)
    if (a == 92).any():
        ok[_lines_holding(np.flatnonzero(a == 92), ends)] = False
    return ok


def iis_unsure(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per line: True when Python must look at it (directive, leading space, tab, CR, VT, FF).

    Python's strip() and rstrip() decide blank lines and line ends, so lines with such bytes
    are theirs; the rest are judged by their count of spaces alone (``space_counts``).
    """
    first = first_bytes(a, starts)
    unsure = (first == 35) | (first == 32)
    odd = np.flatnonzero((a >= 9) & (a <= 13) & (a != 10))
    if odd.size:
        unsure[_lines_holding(odd, ends)] = True
    return unsure


def space_counts(a: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Spaces on each line (lines given by their starts, in order, covering the block)."""
    if starts.size == 0:
        return np.zeros(0, np.int64)
    return np.add.reduceat(a == 32, starts, dtype=np.int64)
