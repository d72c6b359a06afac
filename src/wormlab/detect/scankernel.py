"""One compiled pass over a block of log lines: the log reader's path for big inputs.

``scan_block`` walks the bytes of a block of whole lines once. Apache/nginx blocks are read 32
bytes at a time: vector compares (an LLVM intrinsic, one AVX2 compare each) give a bit per
byte that may matter, a newline, quote, backslash or ``]``, or a byte that with the next one
may begin an anchor literal (any of the anchors' first bytes, in either case for a letter,
followed by any of their second bytes); those are handled in order and the rest skipped. IIS
blocks are read a byte at a time through a 64 Ki-entry table indexed by the previous byte and
the byte, which says whether the two, lower-cased, begin an anchor, whether the byte ends the
line, and whether it is a space or another whitespace byte. Where two bytes may begin an
anchor, the anchors are compared there. A line holding an anchor, in any case as
``bytes.lower()`` sees it, is a *candidate*; any line is checked against the format's shape,
mostly from the positions of its first ``]`` and its first six quotes:

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
per-line Python code are written out: candidates (with their fields' offsets when the shape
is proved, so Python need not parse them), lines the check does not prove, directives. Empty
lines are counted as blank here. Numba is imported only for big inputs (see
``log_reader.COMPILED_MIN_BYTES``): loading it and this code costs about 0.45 s of CPU in the
``logs`` command (0.65 s with BLAS, see ``log_reader._without_blas``).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from wormlab.detect.scantables import (  # noqa: F401 - the kernel's constants, re-exported
    _ANCHOR,
    _BACKSLASH,
    _CLOSE,
    _FIRST,
    _NEWLINE,
    _ODD_SPACE,
    _QUOTE,
    _SPACE,
    CANDIDATE,
    COMBINED,
    COMMON,
    IIS,
    LOWER,
    NO_TIME,
    PARSED,
    ROW,
    anchor_arrays,
    byte_table,
    kernel_args,
    pair_words,
    usable_anchors,
)

_QUOTES = 6  # quote positions kept per line: request, referer and agent


_LANES = 32  # bytes compared at once (an AVX2 register; LLVM splits it where there is none)
_ALL_LANES = np.uint64((1 << _LANES) - 1)


@intrinsic
def _match(typingctx, arr, i, c, fold):
    """Bit k set where ``arr[i + k] | fold == c``, for k < _LANES: one vector compare of the
    bytes from ``i`` (any alignment; the caller keeps ``i + _LANES`` within the array)."""
    sig = types.uint64(arr, types.intp, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        v, splat = _vector_and_splat(context, builder, signature, args)
        hit = builder.icmp_unsigned("==", builder.or_(v, splat(args[3])), splat(args[2]))
        return builder.zext(builder.bitcast(hit, ir.IntType(_LANES)), ir.IntType(64))

    return sig, codegen


@intrinsic
def _at_most(typingctx, arr, i, c):
    """Bit k set where ``arr[i + k] <= c`` (unsigned), for k < _LANES: as ``_match``."""
    sig = types.uint64(arr, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        v, splat = _vector_and_splat(context, builder, signature, args)
        hit = builder.icmp_unsigned("<=", v, splat(args[2]))
        return builder.zext(builder.bitcast(hit, ir.IntType(_LANES)), ir.IntType(64))

    return sig, codegen


def _vector_and_splat(context, builder, signature, args):
    """(the _LANES bytes of array ``args[0]`` from ``args[1]``, a function repeating a scalar
    in such a vector), in an intrinsic's code generation."""
    ary = context.make_array(signature.args[0])(context, builder, args[0])
    byte = ir.IntType(8)
    vec = ir.VectorType(byte, _LANES)
    undef = ir.Constant(vec, ir.Undefined)
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), _LANES), [0] * _LANES)

    def splat(x):
        one = builder.insert_element(undef, builder.trunc(x, byte), ir.Constant(ir.IntType(32), 0))
        return builder.shuffle_vector(one, undef, zeros)

    ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), vec.as_pointer())
    return builder.load(ptr, align=1), splat


@intrinsic
def _trailing_zeros(typingctx, x):
    """Count of trailing zero bits of a non-zero uint64, as an int64."""
    sig = types.int64(x)

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return sig, codegen


@njit(cache=True, nogil=True)
def _tail_mask(buf, i, table, kind):
    """Bit k set where ``table[buf[i + k]]`` has the ``kind`` bit, for the last bytes of the
    block (fewer than _LANES + 1 left): the vector compares' answer, byte by byte."""
    m = np.uint64(0)
    for k in range(min(_LANES, buf.size - i)):
        if table[buf[i + k]] & kind:
            m |= np.uint64(1) << np.uint64(k)
    return m


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
def scan_block(buf, lo, mode, nfields, table, anc, lens, lower, pairs):
    """Scan the lines of ``buf`` (which ends with a newline) from offset ``lo``.

    Returns (offset where it stopped, lines, empty lines, flagged): ``flagged`` rows are
    (line index from ``lo``, start, end, kind, then five fields) of the lines that need the
    per-line code. Kind CANDIDATE is a line that surely holds an anchor and is neither blank,
    nor a directive, nor ends in CR (so the per-line code need not search it again); PARSED
    is such a line whose Apache/nginx shape the scan proved too, so the format's regular
    expression accepts it, and its fields are: host end (the host is ``start:host end``),
    time start and end (inside the brackets), request start and end (inside the quotes), the
    status (-1 for ``-``) and the time in UTC epoch seconds (NO_TIME: left to Python); 0 any
    other line. In IIS mode the scan stops after the first
    directive line (flagged as the last row).
    """
    if mode == IIS:
        return _scan_iis(buf, lo, nfields, table, anc, lens, lower)
    return _scan_clf(buf, lo, mode == COMBINED, table, anc, lens, lower, pairs)


@njit(cache=True, nogil=True)
def _scan_clf(buf, lo, combined, table, anc, lens, lower, pairs):
    """``scan_block`` for Apache/nginx, 32 bytes at a time: vector compares give a bit mask per
    kind of byte that matters (newline, quote, backslash, ``]``, and a byte that with the next
    may begin an anchor: any first byte followed by any second byte, checked after); the
    masks are cut at the line's end and read with bit tricks, the other bytes skipped. The hot
    loop calls no function that takes an array (Numba counts references on every array handed
    to one, inlined or not)."""
    n = buf.size
    f0, f1, f2, f3, g0, g1, g2, g3, nf = pairs[0]  # first bytes, what to OR with, count
    s0, s1, s2, s3, h0, h1, h2, h3, ns = pairs[1]  # second bytes
    out = np.empty((1024, ROW), np.int64)
    quotes = np.empty(_QUOTES, np.int64)
    k = 0
    lines = 0
    blank = 0
    i = lo
    while i < n:
        s = i
        flags = 0
        nq = 0
        close = -1
        end = -1
        while end < 0:
            if i + _LANES < n:
                nl = _match(buf, i, 10, 0)
                qm = _match(buf, i, 34, 0)
                cm = _match(buf, i, 93, 0)
                bm = _match(buf, i, 92, 0)
                pm = np.uint64(0)
                if nf:
                    f = _match(buf, i, f0, g0)
                    if nf > 1:
                        f |= _match(buf, i, f1, g1)
                        if nf > 2:
                            f |= _match(buf, i, f2, g2)
                            if nf > 3:
                                f |= _match(buf, i, f3, g3)
                                if nf > 4:
                                    f = _ALL_LANES
                    if f:
                        t = _match(buf, i + 1, s0, h0)
                        if ns > 1:
                            t |= _match(buf, i + 1, s1, h1)
                            if ns > 2:
                                t |= _match(buf, i + 1, s2, h2)
                                if ns > 3:
                                    t |= _match(buf, i + 1, s3, h3)
                                    if ns > 4:
                                        t = _ALL_LANES
                        pm = f & t
            else:  # the last bytes of the block, from the table
                nl = _tail_mask(buf, i, table, _NEWLINE)
                qm = _tail_mask(buf, i, table, _QUOTE)
                cm = _tail_mask(buf, i, table, _CLOSE)
                bm = _tail_mask(buf, i, table, _BACKSLASH)
                pm = _tail_mask(buf, i, table, _FIRST)
            if nl:  # only the bytes before the line's end count
                end = i + _trailing_zeros(nl)
                below = (nl & (~nl + np.uint64(1))) - np.uint64(1)
                qm &= below
                cm &= below
                bm &= below
                pm &= below
            while qm and nq < _QUOTES:
                quotes[nq] = i + _trailing_zeros(qm)
                nq += 1
                qm &= qm - np.uint64(1)
            if cm and close < 0:
                close = i + _trailing_zeros(cm)
            if bm:
                flags |= _BACKSLASH
            while pm and flags & _ANCHOR == 0:  # may an anchor begin here: _anchor_at, inline
                j = i + _trailing_zeros(pm)
                pm &= pm - np.uint64(1)
                for a in range(lens.size):
                    size = lens[a]
                    if (size == 0 or j + size > n or lower[buf[j + 1]] != anc[a, 1]
                            or lower[buf[j]] != anc[a, 0]):
                        continue
                    t = 2
                    while t < size and lower[buf[j + t]] == anc[a, t]:
                        t += 1
                    if t == size:
                        flags |= _ANCHOR
                        break
            i += _LANES
        i = end + 1
        lines += 1
        if end == s:
            blank += 1
            continue
        host_end = bracket = -1
        # The Apache/nginx shape (see the module docstring), from the first "]" and quotes:
        # written out here, not called (a call taking arrays counts references, ~20 ns a line).
        # Sets host_end (the first space) and bracket (the "[" before the time) when proved.
        while flags == 0 or flags == _ANCHOR:  # a block to break out of, run once
            if close < 0 or nq < 2 or quotes[0] != close + 2 or buf[close + 1] != 32:
                break
            # host ident user: runs of bytes above 0x20 split by single spaces (before the
            # first "]", so none holds one); read from a mask of the bytes up to 0x20 when
            # the three spaces are in the line's first _LANES bytes, else byte by byte
            j = s
            first = -1
            low = _at_most(buf, s, 32) if s + _LANES < n else np.uint64(0)
            two = low & (low - np.uint64(1))  # without the lowest bit
            if two & (two - np.uint64(1)):  # three bits or more
                b1 = _trailing_zeros(low)
                low &= low - np.uint64(1)
                b2 = _trailing_zeros(low)
                low &= low - np.uint64(1)
                b3 = _trailing_zeros(low)
                if (b1 > 0 and b2 > b1 + 1 and b3 > b2 + 1 and buf[s + b1] == 32
                        and buf[s + b2] == 32 and buf[s + b3] == 32):
                    first = s + b1
                    j = s + b3 + 1
                else:
                    first = -2
            else:
                for _ in range(3):
                    t = j
                    while buf[j] > 32:
                        j += 1
                    if j == t or buf[j] != 32:
                        first = -2
                        break
                    if first == -1:
                        first = j
                    j += 1
            if first < 0 or buf[j] != 91 or j + 1 >= close:  # "[", a time of a byte or more
                break
            opening = j
            j = quotes[1] + 1  # after the request
            if j + 3 >= end or buf[j] != 32:
                break
            j += 1
            if buf[j] == 45:
                j += 1
            elif j + 3 < end and _digit(buf[j]) and _digit(buf[j + 1]) and _digit(buf[j + 2]):
                j += 3
            else:
                break
            if j + 1 >= end or buf[j] != 32:
                break
            j += 1
            c = buf[j]
            if not combined:
                if c == 45 or _digit(c):
                    host_end, bracket = first, opening
                break
            if c == 45:
                j += 1
            elif _digit(c):
                while j < end and _digit(buf[j]):
                    j += 1
            else:
                break
            # ' "referer" "agent"': the next four quotes
            if (nq >= _QUOTES and quotes[2] == j + 1 and buf[j] == 32
                    and quotes[4] == quotes[3] + 2 and buf[quotes[3] + 1] == 32):
                host_end, bracket = first, opening
            break
        if flags == 0 and host_end >= 0:
            continue
        if k == out.shape[0]:
            out = _grown(out)
        _flag_row(out[k], buf, lines - 1, s, end, flags & _ANCHOR and buf[s] > 32
                  and buf[end - 1] != 13, host_end, bracket, close, quotes)
        k += 1
    return i, lines, blank, out[:k]


@njit(cache=True, nogil=True)
def _grown(out):
    grown = np.empty((2 * out.shape[0], ROW), np.int64)
    grown[:out.shape[0]] = out
    return grown


@njit(cache=True, nogil=True, inline="always")
def _flag_row(row, buf, line, s, end, sure, host_end, bracket, close, quotes):
    """Write a flagged line's row (see ``scan_block``)."""
    row[0] = line
    row[1] = s
    row[2] = end
    row[3] = 0
    if sure:
        row[3] = CANDIDATE
        if host_end >= 0:
            row[3] = PARSED
            row[4] = host_end
            row[5] = bracket + 1
            row[6] = close
            row[7] = quotes[0] + 1
            row[8] = quotes[1]
            j = quotes[1] + 2
            row[9] = -1 if buf[j] == 45 else (
                (buf[j] - 48) * 100 + (buf[j + 1] - 48) * 10 + buf[j + 2] - 48)
            row[10] = _clf_seconds(buf, bracket + 1, close)


_MONTHS = np.array([(ord(m[0]) << 16) | (ord(m[1]) << 8) | ord(m[2]) for m in (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")], np.int64)


@njit(cache=True, nogil=True, inline="always")
def _two(buf, j):
    """The two-digit number at ``buf[j:j + 2]``, -1 unless both are ASCII digits."""
    a, b = buf[j], buf[j + 1]
    if _digit(a) and _digit(b):
        return (a - 48) * 10 + (b - 48)
    return -1


@njit(cache=True, nogil=True)
def _clf_seconds(buf, t0, t1):
    """UTC epoch seconds of an Apache time ``buf[t0:t1]`` in its usual form,
    ``19/Jul/2001:10:23:45 -0700``: what ``log_formats.parse_clf_time`` gives (day, hour,
    minute, second and offset are added as numbers, unchecked, as it does), or NO_TIME for any
    other form, which Python then parses."""
    if t1 - t0 != 26 or buf[t0 + 2] != 47 or buf[t0 + 6] != 47 or buf[t0 + 11] != 58:
        return NO_TIME
    if buf[t0 + 14] != 58 or buf[t0 + 17] != 58 or buf[t0 + 20] != 32:
        return NO_TIME
    day, hh, mm, ss = _two(buf, t0), _two(buf, t0 + 12), _two(buf, t0 + 15), _two(buf, t0 + 18)
    y1, y2 = _two(buf, t0 + 7), _two(buf, t0 + 9)
    oh, om = _two(buf, t0 + 22), _two(buf, t0 + 24)
    sign = buf[t0 + 21]
    if min(min(day, hh), min(mm, ss)) < 0 or min(min(y1, y2), min(oh, om)) < 0:
        return NO_TIME
    if sign != 43 and sign != 45:
        return NO_TIME
    key = (np.int64(buf[t0 + 3]) << 16) | (np.int64(buf[t0 + 4]) << 8) | buf[t0 + 5]
    month = 0
    for m in range(12):
        if _MONTHS[m] == key:
            month = m + 1
    year = y1 * 100 + y2
    if month == 0 or year == 0:  # year 0: Python's calendar refuses it
        return NO_TIME
    # days from 1970-01-01 to the first of the month (proleptic Gregorian, as calendar.timegm)
    y = year - (1 if month <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468 + day - 1
    t = days * 86400 + hh * 3600 + mm * 60 + ss
    offset = oh * 3600 + om * 60
    return t - offset if sign == 43 else t + offset


@njit(cache=True, nogil=True)
def _scan_iis(buf, lo, nfields, table, anc, lens, lower):
    """``scan_block`` for IIS, a byte at a time through the pair table."""
    out = np.empty((1024, ROW), np.int64)
    k = lines = blank = 0
    i, n = lo, buf.size
    while i < n:
        s, p = i, 10
        flags = spaces = 0
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
        directive = buf[s] == 35
        if flags == 0 and not directive and buf[s] != 32 and spaces + 1 == nfields:
            continue
        if k == out.shape[0]:
            out = _grown(out)
        _flag_row(out[k], buf, lines - 1, s, end, flags & _ANCHOR and buf[s] > 32
                  and buf[end - 1] != 13 and not directive, -1, -1, -1, out[k])
        k += 1
        if directive:
            break
    return i, lines, blank, out[:k]


def warm_up() -> None:
    """Load (or, the first time, compile) the machine code for ``scan_block``'s argument types."""
    anchors = (b"..",)
    buf = np.frombuffer(bytearray(b"x\n"), np.uint8)  # writable, as the reader's chunks are
    scan_block(buf, 0, COMMON, 0, *kernel_args(anchors, COMMON))
