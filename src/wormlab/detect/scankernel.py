"""One compiled pass over a block of log lines: the log reader's path for big inputs.

``scan_block`` walks the bytes of a block of whole lines once. Per line it reads every byte
through one 64 Ki-entry table indexed by the previous byte and the byte, which says at once
whether the two bytes, lower-cased, begin an anchor literal (then the rest of the anchor is
compared), whether the byte ends the line, and (per format) whether it is a backslash, a quote
or ``]`` (Apache), a space or another whitespace byte (IIS). A line holding an anchor, in any
case as ``bytes.lower()`` sees it, is a *candidate*; any other line is then checked against
the format's shape, mostly from the positions of its first ``]`` and its first six quotes:

* Apache common / combined and nginx: three runs of bytes above 0x20 other than ``]`` split by
  single spaces, `` [``, a time holding no ``]``, ``] "``, a request up to the next quote, a
  space, a status of ``-`` or three digits, a space, a size starting with ``-`` or a digit; for
  combined, the size all digits or ``-``, then `` "referer" "agent"``. No backslash anywhere on
  the line (escaped quotes are left to the regular expression).
* IIS W3C: no leading ``#`` or space, no tab, CR, VT or FF, and as many spaces as the current
  ``#Fields:`` needs. A directive line ends the call (it may change the columns), so the caller
  judges it and calls again from the next line with the new column count.

The shape check is sufficient, not necessary: a line it passes is one the format's parser
accepts (``tests/test_detect_fastcheck.py`` holds it to that). Only the lines that need the
per-line Python code are written out: candidates, lines the check does not prove, directives.
Empty lines are counted as blank here. Numba is imported only for big inputs (see
``log_reader.COMPILED_MIN_BYTES``): loading it and this code costs about 0.7 s of CPU.
"""

from __future__ import annotations

import numpy as np
from numba import njit

COMMON, COMBINED, IIS = 0, 1, 2
_ANCHOR, _NEWLINE, _BACKSLASH, _SPACE, _ODD_SPACE, _QUOTE, _CLOSE = 1, 2, 4, 8, 16, 32, 64
CANDIDATE, PARSED = 1, 2
ROW = 10  # columns of a flagged row
_QUOTES = 6  # quote positions kept per line: request, referer and agent


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


@njit(cache=True, nogil=True, inline="always")
def _anchor_at(buf, at, end_of_buf, anc, lens, lower):
    """True when an anchor starts at ``at``, in any case (none holds a newline, so a match
    never runs past the line)."""
    for k in range(lens.size):
        n = lens[k]
        if n == 0 or at + n > end_of_buf or lower[buf[at + 1]] != anc[k, 1]:
            continue
        if lower[buf[at]] != anc[k, 0]:
            continue
        ok = True
        for m in range(2, n):
            if lower[buf[at + m]] != anc[k, m]:
                ok = False
                break
        if ok:
            return True
    return False


@njit(cache=True, nogil=True, inline="always")
def _digit(c):
    return 48 <= c <= 57


@njit(cache=True, nogil=True)
def _clf_shape(buf, s, end, combined, close, quotes, nq):
    """The Apache/nginx shape of line ``buf[s:end]`` (see the module docstring), given the
    positions of its first ``]`` and of its first quotes (``nq`` of them): the position of the
    first space (the host's end) and of the ``[`` before the time when the line has it, else
    (-1, -1)."""
    if close < 0 or nq < 2 or quotes[0] != close + 2 or buf[close + 1] != 32:
        return -1, -1
    j = s
    host_end = -1
    for _ in range(3):  # host ident user: before the first "]", so none holds one
        t = j
        while buf[j] > 32:
            j += 1
        if j == t or buf[j] != 32:
            return -1, -1
        if host_end < 0:
            host_end = j
        j += 1
    if buf[j] != 91 or j + 1 >= close:  # "[", then a time of at least one byte
        return -1, -1
    bracket = j
    j = quotes[1] + 1  # after the request
    if j + 3 >= end or buf[j] != 32:
        return -1, -1
    j += 1
    if buf[j] == 45:
        j += 1
    elif j + 3 < end and _digit(buf[j]) and _digit(buf[j + 1]) and _digit(buf[j + 2]):
        j += 3
    else:
        return -1, -1
    if j + 1 >= end or buf[j] != 32:
        return -1, -1
    j += 1
    c = buf[j]
    if not combined:
        return (host_end, bracket) if c == 45 or _digit(c) else (-1, -1)
    if c == 45:
        j += 1
    elif _digit(c):
        while j < end and _digit(buf[j]):
            j += 1
    else:
        return -1, -1
    # ' "referer" "agent"': the next four quotes
    if (nq >= _QUOTES and quotes[2] == j + 1 and buf[j] == 32
            and quotes[4] == quotes[3] + 2 and buf[quotes[3] + 1] == 32):
        return host_end, bracket
    return -1, -1


@njit(cache=True, nogil=True)
def scan_block(buf, lo, mode, nfields, table, anc, lens, lower):
    """Scan the lines of ``buf`` (which ends with a newline) from offset ``lo``.

    Returns (offset where it stopped, lines, empty lines, flagged): ``flagged`` rows are
    (line index from ``lo``, start, end, kind, then five fields) of the lines that need the
    per-line code. Kind CANDIDATE is a line that surely holds an anchor and is neither blank,
    nor a directive, nor ends in CR (so the per-line code need not search it again); PARSED
    is such a line whose Apache/nginx shape the scan proved too, so the format's regular
    expression accepts it, and its fields are: host end (the host is ``start:host end``),
    time start and end (inside the brackets), request start and end (inside the quotes), and
    the status (-1 for ``-``); 0 any other line. In IIS mode the scan stops after the first
    directive line (flagged as the last row).
    """
    n = buf.size
    out = np.empty((1024, ROW), np.int64)
    quotes = np.empty(_QUOTES, np.int64)
    k = 0
    lines = 0
    blank = 0
    i = lo
    while i < n:
        s = i
        flags = 0
        spaces = 0
        nq = 0
        close = -1
        p = 10
        while True:
            c = buf[i]
            e = table[(p << 8) | c]
            while e == 0:  # the tight loop over ordinary bytes
                p = c
                i += 1
                c = buf[i]
                e = table[(p << 8) | c]
            if e & _NEWLINE:
                break
            if e & _SPACE:
                spaces += 1
            elif e & _QUOTE:
                if nq < _QUOTES:
                    quotes[nq] = i
                    nq += 1
            elif e & _CLOSE:
                if close < 0:
                    close = i
            if e & _ANCHOR and i > s and _anchor_at(buf, i - 1, n, anc, lens, lower):
                flags |= _ANCHOR
            flags |= e & (_BACKSLASH | _ODD_SPACE)
            p = c
            i += 1
        end = i
        i += 1
        lines += 1
        if end == s:
            blank += 1
            continue
        directive = mode == IIS and buf[s] == 35
        need = flags != 0 or directive
        host_end = bracket = -1
        if mode != IIS and (flags == 0 or flags == _ANCHOR):
            host_end, bracket = _clf_shape(buf, s, end, mode == COMBINED, close, quotes, nq)
            need = flags != 0 or host_end < 0
        elif not need:
            need = buf[s] == 32 or spaces + 1 != nfields
        if need:
            if k == out.shape[0]:
                grown = np.empty((2 * k, ROW), np.int64)
                grown[:k] = out
                out = grown
            out[k, 0] = lines - 1
            out[k, 1] = s
            out[k, 2] = end
            sure = flags & _ANCHOR and buf[s] > 32 and buf[end - 1] != 13 and not directive
            kind = 0
            if sure:
                kind = CANDIDATE
                if host_end >= 0 and buf[end - 1] != 13:
                    kind = PARSED
                    out[k, 4] = host_end
                    out[k, 5] = bracket + 1
                    out[k, 6] = close
                    out[k, 7] = quotes[0] + 1
                    out[k, 8] = quotes[1]
                    j = quotes[1] + 2
                    out[k, 9] = -1 if buf[j] == 45 else (
                        (buf[j] - 48) * 100 + (buf[j + 1] - 48) * 10 + buf[j + 2] - 48)
            out[k, 3] = kind
            k += 1
        if directive:
            break
    return i, lines, blank, out[:k]


def warm_up() -> None:
    """Load (or, the first time, compile) the machine code for ``scan_block``'s argument types."""
    anchors = (b"..",)
    scan_block(np.frombuffer(b"x\n", np.uint8), 0, COMMON, 0, byte_table(anchors, COMMON),
               *anchor_arrays(anchors), LOWER)
