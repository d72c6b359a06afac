"""Stream web logs in large chunks with bounded memory, yielding only the lines worth parsing.

Speed comes from not parsing most lines, and from not taking a Python step per line at all:
each chunk is handled whole by a check that finds the candidate lines (those holding a rule
set's anchor literal) and proves the common shapes of the format well formed: the compiled
scanner, one pass over the bytes on ``workers`` threads, in C (``cscan.py``, built at install)
for every input, or where the C extension was not built, in Numba (``scankernel.py``) for big
inputs and NumPy array checks (``fastcheck.py``) for small ones, where loading Numba would cost
more than it saves. Only candidates and the lines the check cannot prove are judged one by one,
by the same code the per-line reference path runs (``FAST = False``), so every line is counted
and each malformed one is counted and its first examples kept, exactly as that path would.
Compressed input (gzip, bzip2, xz) is recognised by its magic bytes.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import importlib.abc
import io
import itertools
import lzma
import mmap
import os
import sys
import warnings
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

import numpy as np

from wormlab.detect import fastcheck
from wormlab.detect.log_formats import ClfParser, IisParser, Request, make_parser, sniff_format
from wormlab.errors import InputError

CHUNK_BYTES = 1 << 22
# Whole-block checks (fastcheck.py) for every chunk; False judges each line on its own in
# Python, the reference the fast path is tested against (same counts, same sightings).
FAST = True
# Without the C scanner: inputs at least this big (a file's size on disk, or what a stream has
# given so far) go through the Numba scanner (scankernel.py), and every input once it is loaded;
# below it, loading Numba (about 0.75 s of CPU) costs more than the NumPy checks it would save
# (they cost about 5 ns/byte more on Apache logs, 3 on IIS). The C scanner, loaded in about a
# millisecond, takes every input.
COMPILED_MIN_BYTES = 128 << 20
# Use the C scanner (cscan.py) when its extension was built; False: the Numba kernel, the
# reference the C one is tested against (and the fallback where there is no C extension).
C_SCANNER = True
MAX_LINE_BYTES = 1 << 16
MAX_EXAMPLES = 5
_DECODE_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)


@dataclass
class FileStats:
    """What reading one input gave, including everything that could not be used."""

    path: str
    kind: str = "log"
    format: str = "unknown"
    lines: int = 0
    blank: int = 0
    directives: int = 0
    malformed: int = 0
    parsed_candidates: int = 0
    packets: int = 0
    undecodable_packets: int = 0
    malformed_examples: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def bad_line(self, lineno: int, raw: bytes) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < MAX_EXAMPLES:
            text = raw[:100].decode("utf-8", "backslashreplace")
            self.malformed_examples.append((lineno, text + ("…" if len(raw) > 100 else "")))


def open_binary(path: str) -> BinaryIO:
    """Open a path (or ``-`` for stdin) for binary reading, decompressing by magic bytes."""
    if path == "-":
        raw: BinaryIO = io.BufferedReader(sys.stdin.buffer)  # type: ignore[arg-type]
    else:
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
        except IsADirectoryError:
            raise InputError(f"{path} is a directory, not a log file") from None
        except OSError as err:
            raise InputError(f"cannot open {path}: {err.strerror or err}") from None
    head = raw.peek(6)[:6] if hasattr(raw, "peek") else b""
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if head.startswith(b"BZh"):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    return raw


class Overlong(bytes):
    """What ``iter_chunks`` yields for a line over MAX_LINE_BYTES: its first bytes only."""


# what the compiled scanner says of a line it parsed (Apache/nginx), and of a time it left to
# Python: scankernel.PARSED and NO_TIME (repeated here: that module imports Numba)
PARSED = 2
NO_TIME = -(1 << 63)
_c_module: object = None  # cscan once tried: the module, or False when it does not import


def _writable(chunk: bytes) -> np.ndarray:
    """A chunk as a uint8 array the compiled scanner takes: writable, as the ring's buffers are
    (Numba compiles, and loads from its cache, one version per argument type, and read-only is
    another type); a chunk that came as ``bytes`` (an input's last line) is copied."""
    a = np.frombuffer(chunk, np.uint8)
    return a if a.flags.writeable else np.frombuffer(bytearray(chunk), np.uint8)


class Parsed(NamedTuple):
    """Candidate lines the compiled scanner parsed itself (Apache/nginx shape proved, so the
    format's regular expression accepts them): ``rows`` of ``scankernel.scan_block``'s flagged
    table, in file order, with the fields' offsets into ``chunk`` (valid until the next item
    of the scan is asked for)."""

    chunk: memoryview
    rows: np.ndarray


def iter_chunks(stream: BinaryIO, stats: FileStats, buffers: int = 2) -> Iterator[bytes]:
    """Chunks of whole lines (each ending in ``\\n``), in file order; a truncated stream ends
    with a warning.

    Input is read in blocks of CHUNK_BYTES into a ring of ``buffers`` buffers reused from block
    to block (fresh 4 MiB buffers cost page faults: about 0.3 s of CPU per GB), so a chunk is a
    ``memoryview`` of one, valid until ``buffers - 1`` more chunks have been read; only the
    last line of an input that does not end with a newline comes as ``bytes``. A line longer
    than MAX_LINE_BYTES is yielded, in its place, as an ``Overlong`` holding its first
    MAX_LINE_BYTES bytes, and the rest is skipped without being held.
    """
    # anonymous maps: their pages cost a fault only when first written, so a small input
    # touches little of them (a zero-filled bytearray would touch all 4 MiB at once)
    ring: list[mmap.mmap] = []
    turn = 0
    carry = b""  # the start of a line whose end is still to come; never over MAX_LINE_BYTES
    skipping = False  # inside an overlong line, dropping bytes until its newline
    ended = False
    while not ended:
        if len(ring) < max(2, buffers) and turn == len(ring):
            ring.append(mmap.mmap(-1, CHUNK_BYTES + MAX_LINE_BYTES))
        buf = ring[turn % len(ring)]  # the next buffer once this one holds a yielded chunk
        view = memoryview(buf)
        head = len(carry)
        view[:head] = carry
        got, ended = _read_block(stream, view[head:head + CHUNK_BYTES], stats)
        if not got:
            break
        end = head + got
        lo = 0  # where the chunk starts: the carried line, or after a skipped line's end
        if skipping:
            nl = buf.find(b"\n", 0, end)
            if nl < 0:
                continue
            lo, skipping = nl + 1, False
        cut = buf.rfind(b"\n", max(lo, head), end) + 1
        if cut:
            carry = bytes(view[cut:end])
            turn += 1
            yield view[lo:cut]
        else:
            carry = bytes(view[lo:end])
        if len(carry) > MAX_LINE_BYTES:
            yield Overlong(carry[:MAX_LINE_BYTES])
            carry, skipping = b"", True
    if carry and not skipping:
        yield carry + b"\n"


def _read_block(stream: BinaryIO, into: memoryview, stats: FileStats) -> tuple[int, bool]:
    """Fill ``into`` (fewer bytes only at the end of the input): (bytes read, ended early).

    A compressed stream is read with ``read1``, so that when its data breaks, what came before
    the break is kept, with a warning.
    """
    size, want = 0, len(into)
    if not hasattr(stream, "read1") or isinstance(stream, io.BufferedReader):
        while size < want:
            n = stream.readinto(into[size:])
            if not n:
                break
            size += n
        return size, False
    while size < want:
        try:
            part = stream.read1(want - size)
        except _DECODE_ERRORS as err:
            stats.warnings.append(f"input ends early (truncated or corrupt compressed data: {err})")
            return size, True
        if not part:
            break
        into[size:size + len(part)] = part
        size += len(part)
    return size, False


_compiled_state: bool | None = None  # None until tried, then whether it loaded
# Load Numba without BLAS (see ``_without_blas``): set by the ``logs`` and ``infer`` commands,
# whose processes run no compiled linear algebra; a library user's process is left alone.
LEAN_NUMBA = False


class _NoScipyLinalg(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "scipy.linalg":
            raise ImportError("not needed by the log scanner")


@contextlib.contextmanager
def _without_blas() -> Iterator[None]:
    """Numba's first compiled call (even a cached one) loads its array library, which looks for
    BLAS by importing ``scipy.linalg``: about 0.3 s of CPU, half of loading the scanner, for
    ``np.dot`` and ``np.linalg`` in compiled code, which the scanner does not use. Inside this,
    that import fails, so Numba goes on without BLAS for this process (compiled ``np.dot``
    would then refuse to compile; nothing wormlab compiles uses it). ``scipy.linalg`` itself
    stays importable as usual afterwards."""
    if not LEAN_NUMBA or "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        yield
        return
    finder = _NoScipyLinalg()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def c_scanner():
    """The C scanner's module (``cscan``), or None when its extension was not built (or
    ``C_SCANNER`` is False)."""
    global _c_module
    if _c_module is None:
        try:
            from wormlab.detect import cscan

            _c_module = cscan
        except ImportError:
            _c_module = False
    return _c_module if C_SCANNER and _c_module else None


def scanner_name() -> str:
    """Which pass a big input goes through in this process: "C (AVX2)" (or SSE2, or bytes),
    "Numba", or "NumPy" when neither loads."""
    c = c_scanner()
    if c is not None:
        return f"C ({c.ISA_NAMES[c.ISA]})"
    return "Numba" if compiled_ready() else "NumPy"


def compiled_ready() -> bool:
    """Load the compiled scanner once per process: the C one (about a millisecond), or else
    Numba's (import Numba, load its cached machine code, or build it the first time: about
    0.45 s of CPU, 0.65 with BLAS, paid only by big inputs). False if neither could be
    loaded; the NumPy checks then do all the work."""
    global _compiled_state
    if c_scanner() is not None:
        _compiled_state = True
        return True
    if _compiled_state is None:
        try:
            with _without_blas():
                from wormlab.detect import scankernel

                scankernel.warm_up()
            _compiled_state = True
        except Exception as err:  # noqa: BLE001 - any failure leaves the exact NumPy path
            warnings.warn(f"compiled log scanner unavailable, using NumPy: {err}", stacklevel=2)
            _compiled_state = False
    return _compiled_state


def _is_big(path: str) -> bool:
    """A file big enough on disk for the compiled scanner from its first chunk."""
    if path == "-":
        return False
    try:
        return os.path.getsize(path) >= COMPILED_MIN_BYTES
    except OSError:
        return False


class LogScanner:
    """Turns one log stream into the parsed requests of the lines holding an anchor literal.

    ``workers`` above 1 runs the compiled scanner on that many threads at once (it releases
    the GIL), a few chunks ahead of the thread that judges the lines it flags, in file order.
    """

    def __init__(self, anchors: tuple[str, ...], fmt: str = "auto", workers: int = 1) -> None:
        self.anchors = tuple(a.lower().encode() for a in anchors)
        self.fmt = fmt
        self.workers = max(1, workers)
        self.plan = fastcheck.anchor_plan(tuple(fastcheck.fold(a) for a in self.anchors))
        self.folder = fastcheck.Folder()
        self._kernels: dict[int, tuple] = {}
        # the compiled scanner finds anchors by their first two bytes (rules ensure two or more)
        self.pairs = bool(self.anchors) and all(len(a) >= 2 for a in self.anchors)

    def scan(self, path: str,
             stats: FileStats) -> Iterator[tuple[Request | None, bytes] | Parsed]:
        """Yield (request, raw line) per candidate line, request None when it is malformed, or
        ``Parsed`` runs of candidate lines the compiled scanner parsed, in file order."""
        stream = open_binary(path)
        try:
            items = iter_chunks(stream, stats, self.workers + 2)  # chunks in flight, + 1
            head: list[bytes] = []
            for item in items:  # overlong lines first, then the first chunk, for sniffing
                head.append(item)
                if not isinstance(item, Overlong):
                    break
            first = bytes(head[-1]) if head and not isinstance(head[-1], Overlong) else b""
            fmt = self.fmt
            if fmt == "auto":
                if not first.strip():
                    for item in head:  # overlong lines before a blank first chunk
                        if isinstance(item, Overlong):
                            self._overlong(item, stats)
                    stats.format = "empty"
                    return
                sniffed = sniff_format(first[:65536])
                if sniffed is None:
                    raise InputError(
                        f"{path}: cannot recognise the log format (tried Apache common/combined, "
                        "nginx, IIS W3C); use --format common|combined|nginx|iis")
                fmt = sniffed
            stats.format = fmt
            parser = make_parser(fmt)
            chunks = itertools.chain(head, items)
            if not FAST:
                for chunk in chunks:
                    yield from self._reference(chunk, parser, stats)
                return
            done = COMPILED_MIN_BYTES if (_compiled_state or c_scanner() is not None
                                          or _is_big(path)) else 0
            for chunk in chunks:
                if done >= COMPILED_MIN_BYTES and self.pairs and compiled_ready():
                    yield from self._compiled(itertools.chain([chunk], chunks), parser, stats)
                    return
                done += len(chunk)
                if isinstance(chunk, Overlong):
                    self._overlong(chunk, stats)
                else:
                    yield from self._vector(chunk, parser, stats)
        finally:
            if path != "-":
                stream.close()

    @staticmethod
    def _overlong(item: bytes, stats: FileStats) -> None:
        stats.lines += 1
        stats.bad_line(stats.lines, item)

    def _reference(self, chunk: bytes, parser: ClfParser | IisParser,
                   stats: FileStats) -> Iterator[tuple[Request | None, bytes]]:
        """The per-line reference path: each line judged on its own in Python."""
        if isinstance(chunk, Overlong):
            self._overlong(chunk, stats)
            return
        for line in bytes(chunk).split(b"\n")[:-1]:
            stats.lines += 1
            hit = self._judge(line, stats.lines, parser, stats)
            if hit is not None:
                yield hit

    def _kernel(self, parser: ClfParser | IisParser) -> tuple:
        """(scan function, mode, then its table and anchor arrays) for a parser's format: the C
        scanner's when it is there, else Numba's."""
        from wormlab.detect import scantables as st

        mode = st.IIS if isinstance(parser, IisParser) else (
            st.COMBINED if parser.combined else st.COMMON)
        c = c_scanner()
        key = (mode, c is not None)
        if key not in self._kernels:
            if c is not None:
                scan = c.scan_block
            else:
                from wormlab.detect import scankernel

                scan = scankernel.scan_block
            self._kernels[key] = (scan, mode, *st.kernel_args(self.anchors, mode))
        return self._kernels[key]

    @staticmethod
    def _columns(parser: ClfParser | IisParser) -> int:
        return len(parser.fields) if isinstance(parser, IisParser) else 0

    def _compiled(self, chunks: Iterator[bytes], parser: ClfParser | IisParser,
                  stats: FileStats) -> Iterator[tuple[Request | None, bytes] | Parsed]:
        """Chunks through the compiled scanner (scankernel.py), on ``workers`` threads."""
        if self.workers == 1:
            for chunk in chunks:
                yield from self._flagged(chunk, None, parser, stats)
            return
        scan, mode, *arrays = self._kernel(parser)
        with ThreadPoolExecutor(self.workers) as pool:
            pending: deque = deque()
            for chunk in chunks:
                job = None
                if not isinstance(chunk, Overlong):
                    cols = self._columns(parser)  # may be stale by the time it is read
                    job = (cols, pool.submit(scan, _writable(chunk), 0, mode, cols,
                                             *arrays))
                pending.append((chunk, job))
                while len(pending) > self.workers:
                    yield from self._flagged(*pending.popleft(), parser, stats)
            while pending:
                yield from self._flagged(*pending.popleft(), parser, stats)

    def _flagged(self, chunk: bytes, job: tuple | None, parser: ClfParser | IisParser,
                 stats: FileStats) -> Iterator[tuple[Request | None, bytes] | Parsed]:
        """Count a chunk's lines and judge the ones the compiled scanner flags, in order.

        ``job`` is (column count assumed, future) of a scan started ahead; it is redone here
        when an IIS directive read since has changed the columns. An IIS scan stops after each
        directive, which is judged (it may set new columns) before the scan goes on.
        """
        if isinstance(chunk, Overlong):
            self._overlong(chunk, stats)
            return
        scan, mode, *arrays = self._kernel(parser)
        a = _writable(chunk)
        view = memoryview(chunk)
        result = None
        if job is not None:
            cols, future = job
            result = future.result()
            if cols != self._columns(parser):
                result = None
        pos = 0
        while pos < a.size:
            if result is None:
                result = scan(a, pos, mode, self._columns(parser), *arrays)
            pos, lines, blank, flagged = result
            result = None
            base = stats.lines
            stats.lines += lines
            stats.blank += blank
            done = 0  # rows before this are handled; runs of parsed lines go out whole
            judged = np.flatnonzero(flagged[:, 3] != PARSED)
            heads = flagged[judged, :4].tolist()  # (a worm-heavy IIS log: one per worm line)
            for r, (i, start, end, kind) in zip(judged.tolist(), heads, strict=True):
                if r > done:
                    stats.parsed_candidates += r - done
                    yield Parsed(chunk, flagged[done:r])
                done = r + 1
                line = view[start:end].tobytes()
                if kind:  # holds an anchor, not blank, no directive, no CR to strip
                    yield self._candidate(line, base + i + 1, parser, stats)
                    continue
                hit = self._judge(line, base + i + 1, parser, stats)
                if hit is not None:
                    yield hit
            if done < flagged.shape[0]:
                stats.parsed_candidates += flagged.shape[0] - done
                yield Parsed(chunk, flagged[done:])

    def _vector(self, chunk: bytes, parser: ClfParser | IisParser,
                stats: FileStats) -> Iterator[tuple[Request | None, bytes]]:
        """Whole-block checks (fastcheck.py) prove most lines; the rest are judged one by one."""
        a = np.frombuffer(chunk, np.uint8)
        starts, ends = fastcheck.line_spans(a)
        base = stats.lines
        stats.lines += starts.size
        empty = starts == ends
        stats.blank += int(np.count_nonzero(empty))
        look = np.zeros(starts.size, bool)
        if self.anchors:
            folded = self.folder.fold(chunk)
            look[fastcheck.candidate_lines(folded, ends, self.plan)] = True
        else:  # no prefilter: every line may match
            look[:] = True
        if isinstance(parser, IisParser):
            yield from self._vector_iis(chunk, a, starts, ends, empty, look, parser, stats, base)
            return
        look |= ~fastcheck.clf_proved(a, starts, ends, parser.combined) & ~empty
        for i in np.flatnonzero(look):
            hit = self._judge(bytes(chunk[starts[i]:ends[i]]), base + int(i) + 1, parser, stats)
            if hit is not None:
                yield hit

    def _vector_iis(self, chunk: bytes, a: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                    empty: np.ndarray, look: np.ndarray, parser: IisParser, stats: FileStats,
                    base: int) -> Iterator[tuple[Request | None, bytes]]:
        """IIS: a line is well-formed when its spaces split it into the ``#Fields:`` columns.

        A directive may change the columns, so lines are judged in order and the column count
        read again after each directive.
        """
        look |= fastcheck.iis_unsure(a, starts, ends) & ~empty
        spaces = fastcheck.space_counts(a, starts)
        directive = (fastcheck.first_bytes(a, starts) == 35) & ~empty
        edges = [0, *np.flatnonzero(directive).tolist(), starts.size]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            if lo == hi:
                continue
            if directive[lo]:  # judged first: it may set new columns for the lines after it
                self._judge(bytes(chunk[starts[lo]:ends[lo]]), base + lo + 1, parser, stats)
                lo += 1
            seg = slice(lo, hi)
            need = look[seg] | ((spaces[seg] + 1 != len(parser.fields)) & ~empty[seg])
            for i in np.flatnonzero(need) + lo:
                hit = self._judge(bytes(chunk[starts[i]:ends[i]]), base + int(i) + 1, parser,
                                  stats)
                if hit is not None:
                    yield hit

    def _judge(self, line: bytes, lineno: int, parser: ClfParser | IisParser,
               stats: FileStats) -> tuple[Request | None, bytes] | None:
        """One line, checked on its own: (request or None when malformed, line) for a line
        holding an anchor literal, None otherwise (counted blank, directive or malformed)."""
        line = line.rstrip(b"\r")
        if not line.strip():
            stats.blank += 1
            return None
        if line[:1] == b"#" and isinstance(parser, IisParser):
            stats.directives += 1
            if not parser.directive(line):
                stats.bad_line(lineno, line)
            return None
        low = line.lower()
        if any(a in low for a in self.anchors):
            return self._candidate(line, lineno, parser, stats)
        if not parser.well_formed(line):
            stats.bad_line(lineno, line)
        return None

    @staticmethod
    def _candidate(line: bytes, lineno: int, parser: ClfParser | IisParser,
                   stats: FileStats) -> tuple[Request | None, bytes]:
        """A line holding an anchor: parsed, or counted malformed (request None)."""
        req = parser.parse(line)
        stats.parsed_candidates += 1
        if req is None:
            stats.bad_line(lineno, line)
        return req, line
