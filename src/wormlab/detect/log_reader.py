"""Stream web logs in large chunks with bounded memory, yielding only the lines worth parsing.

Speed comes from not parsing most lines: each chunk is lower-cased once and searched for the
rule set's anchor literals with ``bytes.find``; only lines holding an anchor are parsed. Lines
are still all counted and checked: for the Apache/nginx formats a chunk whose line count equals
the count of the one structural marker each line carries (``] "``) passes as well-formed; any
other chunk (and every IIS chunk) is walked line by line, so each malformed line is counted and
its first examples kept. Compressed input (gzip, bzip2, xz) is recognised by its magic bytes.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from wormlab.detect.log_formats import ClfParser, IisParser, Request, make_parser, sniff_format
from wormlab.errors import InputError

CHUNK_BYTES = 1 << 22
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


def iter_chunks(stream: BinaryIO, stats: FileStats) -> Iterator[bytes]:
    """Chunks of whole lines (each ending in ``\\n``); a truncated stream ends with a warning.

    A line longer than MAX_LINE_BYTES is counted malformed and skipped without being held.
    """
    carry = b""
    skipping = False  # inside an overlong line, dropping bytes until its newline
    ended = False
    while not ended:
        block, ended = _read_block(stream, stats)
        if not block:
            break
        if skipping:
            nl = block.find(b"\n")
            if nl < 0:
                continue
            block, skipping = block[nl + 1:], False
        cut = block.rfind(b"\n") + 1
        if cut and carry:  # one copy: the carried line's start, then the block's whole lines
            chunk = b"".join((carry, memoryview(block)[:cut]))
        else:
            chunk = block if cut == len(block) else block[:cut]
        carry = block[cut:] if cut else carry + block
        if len(carry) > MAX_LINE_BYTES:
            stats.lines += 1
            stats.bad_line(stats.lines, carry[:MAX_LINE_BYTES])
            carry, skipping = b"", True
        if cut:
            yield chunk
    if carry and not skipping:
        yield carry + b"\n"


def _read_block(stream: BinaryIO, stats: FileStats) -> tuple[bytes, bool]:
    """Up to CHUNK_BYTES; for a compressed stream that breaks, what came before the break."""
    if not hasattr(stream, "read1") or isinstance(stream, io.BufferedReader):
        return stream.read(CHUNK_BYTES), False
    parts, size = [], 0
    while size < CHUNK_BYTES:
        try:
            part = stream.read1(CHUNK_BYTES - size)
        except _DECODE_ERRORS as err:
            stats.warnings.append(f"input ends early (truncated or corrupt compressed data: {err})")
            return b"".join(parts), True
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts), False


def _first_chunk(stream: BinaryIO, stats: FileStats) -> tuple[bytes, Iterator[bytes]]:
    chunks = iter_chunks(stream, stats)
    first = next(chunks, b"")
    return first, chunks


def anchor_patterns(anchors: tuple[bytes, ...]) -> list[re.Pattern[bytes]]:
    """Few regexes that together find every anchor, each led by one literal byte.

    A pattern that starts with a literal byte is searched by ``re`` at memchr-like speed, while
    a plain alternation is tried at every position (about 7x slower). Any substring of an
    anchor is a valid, looser anchor, so each anchor is cut to start at a byte it shares with
    others (``/..`` becomes ``..``), and anchors are grouped greedily by that byte.
    """
    left, out = set(anchors), []
    while left:
        counts: dict[int, int] = {}
        for a in left:
            for c in set(a):
                counts[c] = counts.get(c, 0) + 1
        # the byte shared by most anchors; ties: the one leaving the longest cut anchors
        lead = max(counts, key=lambda c: (counts[c], min(len(a) - a.index(c) for a in left
                                                         if c in a), -c))
        cut = {a[a.index(lead):] for a in left if lead in a}
        cut = {a for a in cut if not any(o != a and o in a for o in cut)}
        tails = sorted((re.escape(a[1:]) for a in cut), key=len, reverse=True)
        body = b"(?:" + b"|".join(tails) + b")" if all(tails) else b""
        out.append(re.compile(re.escape(bytes([lead])) + body))
        left = {a for a in left if lead not in a}
    return out


def fold(data: bytes) -> bytes:
    """ASCII case fold by setting bit 0x20: every letter goes to lower case (other bytes move
    too, so folded text is only ever compared with folded anchors; a fold can add a candidate
    line, which the parser and the rule regex then reject, but never lose one)."""
    return bytes(c | 0x20 for c in data)


class ChunkBytes:
    """Whole-chunk byte work in NumPy, in buffers reused from chunk to chunk."""

    def __init__(self) -> None:
        self.folded = bytearray()
        self._view = np.frombuffer(self.folded, np.uint8)

    def fold(self, chunk: bytes) -> bytearray:
        """The folded chunk; valid up to ``len(chunk)`` (the buffer may be longer)."""
        n = len(chunk)
        if len(self.folded) < n:
            self.folded = bytearray(n)
            self._view = np.frombuffer(self.folded, np.uint8)
        np.bitwise_or(np.frombuffer(chunk, np.uint8), 0x20, out=self._view[:n])
        return self.folded

    @staticmethod
    def counts(chunk: bytes, marker: bytes) -> tuple[int, int]:
        """(newlines, occurrences of ``marker``); the marker's bytes must all differ."""
        a = np.frombuffer(chunk, np.uint8)
        lines = int(np.count_nonzero(a == 10))
        k = len(marker)
        pos = np.flatnonzero(a[:a.size - k + 1] == marker[0])
        ok = np.ones(pos.size, bool)
        for j in range(1, k):
            ok &= a[pos + j] == marker[j]
        return lines, int(np.count_nonzero(ok))


def _line_candidates(chunk: bytes, folded: bytearray,
                     patterns: list[re.Pattern[bytes]]) -> list[tuple[int, int]]:
    """(start, end) of each line of ``chunk`` whose fold holds at least one folded anchor."""
    spans: dict[int, int] = {}
    size = len(chunk)
    for rx in patterns:
        m = rx.search(folded, 0, size)
        while m is not None:
            i = m.start()
            start = chunk.rfind(b"\n", 0, i) + 1
            end = chunk.find(b"\n", i)
            if end < 0:  # a last line without its newline
                end = size
            spans[start] = end
            m = rx.search(folded, end, size)
    return sorted(spans.items())


class LogScanner:
    """Turns one log stream into the parsed requests of the lines holding an anchor literal."""

    def __init__(self, anchors: tuple[str, ...], fmt: str = "auto") -> None:
        self.anchors = tuple(a.lower().encode() for a in anchors)
        self.patterns = anchor_patterns(tuple(fold(a) for a in self.anchors))
        self.bytes = ChunkBytes()
        self.fmt = fmt

    def scan(self, path: str, stats: FileStats) -> Iterator[tuple[Request | None, bytes]]:
        """Yield (request, raw line) per candidate line; request is None when it is malformed."""
        stream = open_binary(path)
        try:
            first, rest = _first_chunk(stream, stats)
            fmt = self.fmt
            if fmt == "auto":
                if not first.strip():
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
            yield from self._chunk(first, parser, stats)
            for chunk in rest:
                yield from self._chunk(chunk, parser, stats)
        finally:
            if path != "-":
                stream.close()

    def _chunk(self, chunk: bytes, parser: ClfParser | IisParser,
               stats: FileStats) -> Iterator[tuple[Request | None, bytes]]:
        if parser.marker is None:
            yield from self._lines(chunk, parser, stats)
            return
        n, marks = self.bytes.counts(chunk, parser.marker)
        if marks == n:
            before = stats.lines
            stats.lines += n
            for start, end in _line_candidates(chunk, self.bytes.fold(chunk), self.patterns):
                line = chunk[start:end].rstrip(b"\r")
                req = parser.parse(line)
                stats.parsed_candidates += 1
                if req is None:
                    stats.bad_line(before + chunk.count(b"\n", 0, start) + 1, line)
                yield req, line
            return
        yield from self._lines(chunk, parser, stats)

    def _lines(self, chunk: bytes, parser: ClfParser | IisParser,
               stats: FileStats) -> Iterator[tuple[Request | None, bytes]]:
        """The careful path: every line checked on its own."""
        anchors = self.anchors
        iis = isinstance(parser, IisParser)
        for line in chunk.split(b"\n")[:-1]:
            stats.lines += 1
            line = line.rstrip(b"\r")
            if not line.strip():
                stats.blank += 1
                continue
            if iis and line[:1] == b"#":
                stats.directives += 1
                if not parser.directive(line):  # type: ignore[union-attr]
                    stats.bad_line(stats.lines, line)
                continue
            low = line.lower()
            if any(a in low for a in anchors):
                req = parser.parse(line)
                stats.parsed_candidates += 1
                if req is None:
                    stats.bad_line(stats.lines, line)
                yield req, line
            elif not parser.well_formed(line):
                stats.bad_line(stats.lines, line)
