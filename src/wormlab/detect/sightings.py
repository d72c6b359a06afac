"""From requests to sightings, per source and per hour: what the ``logs`` command reports.

``scan_inputs`` runs every input (log or capture) through its reader and the rule set, and
aggregates as it goes: memory grows with the number of distinct suspicious sources, never with
the size of the input.
"""

from __future__ import annotations

import json
import lzma
import math
import operator
import time
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from wormlab.detect.log_formats import Request, parse_clf_time, split_request
from wormlab.detect.log_reader import NO_TIME, FileStats, LogScanner, Parsed, open_binary
from wormlab.detect.pcap_reader import is_capture, scan_capture
from wormlab.detect.signatures import Rule, RuleSet


@dataclass(slots=True)
class SourceStats:
    """Everything one source address did that matched a signature (one per source: slots)."""

    source: str
    first_s: float | None = None
    last_s: float | None = None
    count: int = 0
    variants: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    confidence: float = 0.0

    def add(self, req: Request, rule: Rule) -> None:
        # plain dicts, not Counters: a worm-heavy log creates one of these per source
        self.count += 1
        v, r, s = self.variants, self.rules, self.statuses
        v[rule.variant] = v.get(rule.variant, 0) + 1
        r[rule.id] = r.get(rule.id, 0) + 1
        s[req.status] = s.get(req.status, 0) + 1
        self.confidence = max(self.confidence, rule.confidence)
        t = req.time_s
        if t is not None:
            if self.first_s is None or t < self.first_s:
                self.first_s = t
            if self.last_s is None or t > self.last_s:
                self.last_s = t


def _by_count(counts: dict[str, int]) -> list[str]:
    """Keys, most frequent first (ties in insertion order, like ``Counter.most_common``)."""
    if len(counts) == 1:  # most sources: a worm sends one request
        return list(counts)
    return sorted(counts, key=lambda k: -counts[k])


def _statuses(counts: dict[str, int]) -> str:
    if len(counts) == 1:
        ((k, v),) = counts.items()
        return f"{k}:{v}"
    return ";".join(f"{k}:{v}" for k, v in sorted(counts.items()))


_dates: dict[int, str] = {}


def iso(t: float | None) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SSZ`` of epoch seconds (whole seconds, as ``time.gmtime``).

    A report formats two per source: the date is formatted once per day, the time of day by
    arithmetic (3x faster than ``strftime`` each time).
    """
    if t is None:
        return "-"
    day, sec = divmod(math.floor(t), 86400)
    date = _dates.get(day)
    if date is None:
        if len(_dates) >= 4096:
            _dates.clear()
        date = _dates[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
    return f"{date}{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z"


class Report:
    """Sightings of one scan: per source, per hour, per file.

    Sightings are kept as columns in file order (source, time, rule, status; a number each,
    a missing time as NaN), and the per-source table, the timeline and the totals are computed
    from them with NumPy when asked: a worm-heavy log has as many sources as sightings, and a
    Python object per source cost more than finding them. ``sources`` builds the per-source
    objects (``SourceStats``) on demand, in order of first sighting.
    """

    def __init__(self) -> None:
        self.files: list[FileStats] = []
        self.hits_in_malformed_lines = 0
        self._source_ids: dict[str, int] = {}  # in order of first sighting
        self._status_ids: dict[str, int] = {}
        self._rule_ids: dict[str, int] = {}
        self._rules: list[Rule] = []
        self._src = array("q")
        self._time = array("d")
        self._rule = array("q")
        self._status = array("q")
        self._sources: dict[str, SourceStats] | None = None
        self._grouped: _PerSource | None = None  # the columns by source, until the next sighting

    def rule_index(self, rule: Rule) -> int:
        """The number a rule's sightings are stored under."""
        k = self._rule_ids.get(rule.id)
        if k is None or self._rules[k] is not rule:
            k = self._rule_ids[rule.id] = len(self._rules)
            self._rules.append(rule)
        return k

    def add(self, req: Request, rule: Rule) -> None:
        self.add_columns(req.source, req.time_s, self.rule_index(rule), req.status)

    def add_columns(self, source: str, time_s: float | None, rule: int, status: str) -> None:
        """One sighting: ``rule`` as given by ``rule_index``."""
        self._src.append(self.source_id(source))
        self._time.append(_NAN if time_s is None else time_s)
        self._rule.append(rule)
        self._status.append(self.status_id(status))
        self._sources = self._grouped = None

    def extend_columns(self, sources: list[int], times: np.ndarray, rules: list[int],
                       statuses: np.ndarray) -> None:
        """Many sightings at once, as numbers (``source_id``, ``status_id``, ``rule_index``;
        NaN for no time)."""
        self._src.extend(sources)
        self._time.frombytes(np.asarray(times, np.float64).tobytes())
        self._rule.extend(rules)
        self._status.frombytes(np.asarray(statuses, np.int64).tobytes())
        self._sources = self._grouped = None

    def source_id(self, source: str) -> int:
        """The number of a source (numbered in order of first sighting)."""
        return _number(self._source_ids, source)

    def status_id(self, status: str) -> int:
        return _number(self._status_ids, status)

    # --- what the columns add up to ---------------------------------------------------------

    @property
    def sightings(self) -> int:
        return len(self._src)

    @property
    def untimed_sightings(self) -> int:
        t = np.frombuffer(self._time, np.float64)
        return int(np.count_nonzero(np.isnan(t)))

    @property
    def sightings_per_hour(self) -> dict[int, int]:
        t = np.frombuffer(self._time, np.float64)
        hours, counts = np.unique(np.floor_divide(t[~np.isnan(t)], 3600.0), return_counts=True)
        return dict(zip(hours.astype(np.int64).tolist(), counts.tolist(), strict=True))

    def _tally(self, names: list[str]) -> dict[str, int]:
        """Sightings per rule name (variant or id), most first, ties in order of first
        sighting (``Counter.most_common``)."""
        r = np.frombuffer(self._rule, np.int64)
        if r.size == 0:
            return {}
        firsts: dict[str, int] = {}
        counts: dict[str, int] = {}
        per_rule = np.bincount(r, minlength=len(self._rules))
        first_at = np.full(len(self._rules), r.size, np.int64)
        np.minimum.at(first_at, r, np.arange(r.size))
        for k in np.argsort(first_at, kind="stable").tolist():
            if per_rule[k]:
                name = names[k]
                firsts.setdefault(name, int(first_at[k]))
                counts[name] = counts.get(name, 0) + int(per_rule[k])
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], firsts[kv[0]])))

    @property
    def by_variant(self) -> dict[str, int]:
        return self._tally([r.variant for r in self._rules])

    @property
    def by_rule(self) -> dict[str, int]:
        return self._tally([r.id for r in self._rules])

    def _per_source(self) -> _PerSource:
        if self._grouped is None:
            self._grouped = _PerSource(self)
        return self._grouped

    @property
    def sources(self) -> dict[str, SourceStats]:
        """One ``SourceStats`` per source, in order of first sighting."""
        if self._sources is None:
            self._sources = self._per_source().stats()
        return self._sources

    def source_rows(self) -> list[dict]:
        """One dict per source, earliest first (sources without a time last)."""
        return self._per_source().rows()

    def timeline_rows(self) -> list[dict]:
        """Per UTC hour: sightings, sources first seen that hour, and cumulative unique sources."""
        per_hour = self.sightings_per_hour
        first = self._per_source().first
        first = first[~np.isnan(first)]
        hours, counts = np.unique(np.floor(first / 3600.0), return_counts=True)
        new_per_hour = dict(zip(hours.astype(np.int64).tolist(), counts.tolist(), strict=True))
        hours = sorted(set(per_hour) | set(new_per_hour))
        if not hours:
            return []
        rows, cumulative = [], 0
        for h in range(hours[0], hours[-1] + 1):
            cumulative += new_per_hour.get(h, 0)
            rows.append({"hour": iso(h * 3600.0), "sightings": per_hour.get(h, 0),
                         "new_sources": new_per_hour.get(h, 0), "unique_sources": cumulative})
        return rows

    def totals(self) -> dict:
        return {
            "inputs": len(self.files),
            "lines": sum(f.lines for f in self.files),
            "malformed_lines": sum(f.malformed for f in self.files),
            "packets": sum(f.packets for f in self.files),
            "sightings": self.sightings,
            "untimed_sightings": self.untimed_sightings,
            "hits_in_malformed_lines": self.hits_in_malformed_lines,
            "sources": len(self._source_ids),
            "by_variant": self.by_variant,
            "by_rule": self.by_rule,
        }

    def to_dict(self) -> dict:
        return {
            "totals": self.totals(),
            "files": [file_dict(f) for f in self.files],
            "sources": self.source_rows(),
            "timeline": self.timeline_rows(),
        }

    def to_json(self) -> str:
        """``json.dumps(self.to_dict())``, byte for byte, without a dict per source: each
        source's row is written as text from the columns (strings that need no escaping as they
        are, the others through ``json.dumps``)."""
        return "".join(self.json_parts())

    def json_parts(self, rows_per_part: int = 4096) -> Iterator[str]:
        """``to_json`` in parts (of up to ``rows_per_part`` sources), to be written one after
        the other without building the whole text (15 MB for 70,000 sources: each copy of it
        costs fresh pages)."""
        head = json.dumps({"totals": self.totals(), "files": [file_dict(f) for f in self.files]})
        yield f'{head[:-1]}, "sources": ['
        for k, rows in enumerate(self._per_source().row_texts(rows_per_part)):
            yield (", " if k else "") + rows
        yield f'], "timeline": {json.dumps(self.timeline_rows())}}}'


_NAN = float("nan")


def _number(ids: dict[str, int], key: str) -> int:
    """The number of ``key`` in ``ids``, a new one (the next) when it is not there yet."""
    n = ids.get(key)
    if n is None:
        n = ids[key] = len(ids)
    return n


class _PerSource:
    """The columns of a report grouped by source (sources numbered in order of first sighting).

    Most sources have one rule and one status: their names are read from arrays. A source with
    several is tallied in Python from its own sightings, in file order, as ``SourceStats.add``
    would (ties in order of first sighting).
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        src = np.frombuffer(report._src, np.int64)
        self.names = list(report._source_ids)
        n = len(self.names)
        self.order = np.argsort(src, kind="stable")  # each source's sightings, in file order
        counts = np.bincount(src, minlength=n)
        self.count = counts
        self.lo = np.zeros(n, np.int64)
        np.cumsum(counts[:-1], out=self.lo[1:])
        t = np.frombuffer(report._time, np.float64)[self.order]
        rule = np.frombuffer(report._rule, np.int64)[self.order]
        status = np.frombuffer(report._status, np.int64)[self.order]
        self.t, self.rule, self.status = t, rule, status
        if n == 0:
            self.first = self.last = np.zeros(0)
            self.conf = np.zeros(0)
            self.mixed = np.zeros(0, bool)
            return
        with np.errstate(invalid="ignore"):
            self.first = np.fmin.reduceat(t, self.lo)
            self.last = np.fmax.reduceat(t, self.lo)
        confs = np.array([r.confidence for r in report._rules] or [0.0], np.float64)
        self.conf = np.maximum(np.maximum.reduceat(confs[rule], self.lo), 0.0)
        # sources whose sightings do not all share the first one's rule and status
        change = np.zeros(t.size, bool)
        change[1:] = (rule[1:] != rule[:-1]) | (status[1:] != status[:-1])
        change[self.lo] = False
        self.mixed = np.zeros(n, bool)
        self.mixed[np.searchsorted(self.lo, np.flatnonzero(change), side="right") - 1] = True

    def _tallies(self, i: int) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """(variants, rules, statuses) of source ``i``, counted in file order."""
        rules = self.report._rules
        statuses = list(self.report._status_ids)
        v: dict[str, int] = {}
        r: dict[str, int] = {}
        s: dict[str, int] = {}
        lo = int(self.lo[i])
        hi = lo + int(self.count[i])
        for k, st in zip(self.rule[lo:hi].tolist(), self.status[lo:hi].tolist(), strict=True):
            rule = rules[k]
            v[rule.variant] = v.get(rule.variant, 0) + 1
            r[rule.id] = r.get(rule.id, 0) + 1
            name = statuses[st]
            s[name] = s.get(name, 0) + 1
        return v, r, s

    def _single(self) -> tuple[list[str], list[str], list[str]]:
        """Per source, the first sighting's variant, rule id and status."""
        rules = self.report._rules
        statuses = list(self.report._status_ids)
        k = self.rule[self.lo].tolist()
        st = self.status[self.lo].tolist()
        return ([rules[j].variant for j in k], [rules[j].id for j in k], [statuses[j] for j in st])

    def stats(self) -> dict[str, SourceStats]:
        out = {}
        variants, rule_ids, statuses = self._single()
        first = [None if math.isnan(x) else x for x in self.first.tolist()]
        last = [None if math.isnan(x) else x for x in self.last.tolist()]
        mixed = self.mixed.tolist()
        for i, (name, n, conf) in enumerate(zip(self.names, self.count.tolist(),
                                                 self.conf.tolist(), strict=True)):
            if mixed[i]:
                v, r, s = self._tallies(i)
            else:
                v, r, s = {variants[i]: n}, {rule_ids[i]: n}, {statuses[i]: n}
            out[name] = SourceStats(name, first[i], last[i], n, v, r, s, conf)
        return out

    def rows(self) -> list[dict]:
        return [{"source": a, "variants": b, "rules": c, "confidence": d, "first_seen": e,
                 "last_seen": f, "count": g, "statuses": h}
                for a, b, c, d, e, f, g, h in zip(*self._columns())]

    def row_texts(self, per_text: int) -> Iterator[str]:
        """The rows of ``rows`` as ``json.dumps`` writes them, joined by ", ", up to
        ``per_text`` rows a text: the strings that need no escaping as they are (the sources'
        names quoted by the text around them when none does), the rows put together by one
        join of the columns and the text between them."""
        cols = self._columns()
        if not cols:
            return
        names, variants, rules, conf, first, last, counts, statuses = cols
        text = [names if _plain_strs(names) else [_json_str(t) for t in names]]
        for col in (variants, rules, conf, statuses):  # a few distinct values each
            done = {v: (repr(v) if isinstance(v, float) else _json_str(v)) for v in set(col)}
            text.append([done[v] for v in col])
        quote = '"' if text[0] is names else ""
        around = (f'{{"source": {quote}', f'{quote}, "variants": ', ', "rules": ',
                  ', "confidence": ', ', "first_seen": "', '", "last_seen": "', '", "count": ',
                  ', "statuses": ')
        values = (*text[:4], first, last, list(map(str, counts)), text[4])
        for at in range(0, len(names), per_text):
            k = min(per_text, len(names) - at)
            parts: list[str] = ["}, "] * (17 * k)  # 8 texts and 8 values a row, then "}, "
            parts[-1] = "}"
            for j, (before, value) in enumerate(zip(around, values, strict=True)):
                parts[2 * j::17] = [before] * k
                parts[2 * j + 1::17] = value[at:at + k]
            yield "".join(parts)

    def _columns(self) -> tuple[tuple, ...]:
        """The columns of the per-source table, each in row order (earliest first): source,
        variants, rules, confidence, first and last seen, count, statuses; () for none."""
        n = len(self.names)
        if n == 0:
            return ()
        names = self.names
        untimed = np.isnan(self.first)
        order = np.lexsort((_name_ranks(names), np.where(untimed, 0.0, self.first), untimed))
        variants, rule_ids, _ = self._single()
        counts = self.count.tolist()
        statuses = _counted(list(self.report._status_ids), self.status[self.lo], self.count)
        for i in np.flatnonzero(self.mixed).tolist():
            v, r, s = self._tallies(i)
            variants[i] = ";".join(_by_count(v))
            rule_ids[i] = ";".join(_by_count(r))
            statuses[i] = _statuses(s)
        first = iso_many(self.first)
        last = first.copy()  # most sources were seen once: their last sighting is their first
        later = np.flatnonzero(~(self.last == self.first))
        for i, text in zip(later.tolist(), iso_many(self.last[later]), strict=True):
            last[i] = text
        columns = (names, variants, rule_ids, self.conf.tolist(), first, last, counts, statuses)
        pick = operator.itemgetter(*order.tolist()) if n > 1 else lambda c: (c[order[0]],)
        return tuple(pick(c) for c in columns)


def _counted(names: list[str], ids: np.ndarray, counts: np.ndarray) -> list[str]:
    """``f"{names[i]}:{c}"`` for each ``i`` of ``ids`` and ``c`` of ``counts``, each distinct
    pair formatted once."""
    m = int(counts.max()) + 1
    pairs, at = np.unique(ids * m + counts, return_inverse=True)
    texts = np.array([f"{names[k // m]}:{k % m}" for k in pairs.tolist()], dtype=object)
    return texts[at].tolist()


def _json_str(text: str) -> str:
    """``json.dumps(text)``: as it is, quoted, when nothing in it needs escaping."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


def _plain_strs(texts: tuple[str, ...]) -> bool:
    """Whether ``json.dumps`` writes each of ``texts`` as it is, quoted (all checked at once)."""
    joined = " ".join(texts)
    return joined.isascii() and joined.isprintable() and '"' not in joined and "\\" not in joined


def _name_ranks(names: list[str]) -> np.ndarray:
    """Each name's rank in Python's string order (NumPy's when no name ends in NUL, which
    fixed-width NumPy strings would drop)."""
    if "\x00" in "".join(names):  # (rare) a NUL anywhere: Python's sort
        ranked = sorted(range(len(names)), key=names.__getitem__)
    else:
        ranked = np.argsort(np.array(names), kind="stable")
    ranks = np.empty(len(names), np.int64)
    ranks[ranked] = np.arange(len(names))
    return ranks


def iso_many(times: np.ndarray) -> list[str]:
    """``iso`` of each of ``times`` (NaN for none), by NumPy for years 1000-9999: the date from
    the day number (proleptic Gregorian, as ``time.gmtime``) and the digits written as the
    code points of 20-character strings."""
    ok = ~np.isnan(times)
    sec = np.floor(np.where(ok, times, 0.0))
    plain = ok & (sec >= _YEAR_1000) & (sec < _YEAR_10000)
    days, t = np.divmod(np.where(plain, sec, 0.0).astype(np.int64), 86400)
    z = days + 719468  # days from 0000-03-01
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153  # months from March
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    chars = np.empty((times.size, 20), np.uint32)
    chars[:] = np.frombuffer("0000-00-00T00:00:00Z".encode("utf-32-le"), np.uint32)
    for col, value, width in ((0, year, 4), (5, month, 2), (8, day, 2), (11, t // 3600, 2),
                              (14, t // 60 % 60, 2), (17, t % 60, 2)):
        for k in range(width):
            chars[:, col + width - 1 - k] += (value // 10 ** k % 10).astype(np.uint32)
    out: list[str] = chars.view(np.dtype("<U20")).ravel().tolist()
    for i in np.flatnonzero(~plain).tolist():
        out[i] = iso(float(times[i])) if ok[i] else "-"
    return out


_YEAR_1000 = -30610224000.0  # 1000-01-01T00:00:00Z
_YEAR_10000 = 253402300800.0  # 10000-01-01T00:00:00Z


def file_dict(f: FileStats) -> dict:
    d = {"path": f.path, "kind": f.kind, "format": f.format, "lines": f.lines,
         "malformed_lines": f.malformed, "blank_lines": f.blank,
         "malformed_examples": [{"line": n, "text": t} for n, t in f.malformed_examples],
         "warnings": list(f.warnings)}
    if f.kind == "log":
        d["directives"] = f.directives
    else:
        d["packets"], d["undecodable_packets"] = f.packets, f.undecodable_packets
    return d


def _looks_like_capture(path: str) -> bool:
    if path == "-":
        return False
    stream = open_binary(path)
    try:
        head = stream.peek(4)[:4] if hasattr(stream, "peek") else stream.read(4)
    except (EOFError, OSError, zlib.error, lzma.LZMAError):
        return False  # broken compressed data: the log reader reports it
    finally:
        stream.close()
    return is_capture(head)


class _ParsedLines:
    """Sightings from the candidate lines the compiled scanner parsed (``log_reader.Parsed``):
    what ``ClfParser.parse`` and ``RuleSet.match`` give for them, read from the fields'
    offsets, with the answers for a request and a status remembered (a worm repeats one
    request)."""

    def __init__(self, report: Report, rules: RuleSet) -> None:
        self.report, self.rules = report, rules
        self.requests: dict[bytes, int] = {}  # request -> rule number, -1 for none
        self.statuses: dict[int, int] = {}

    def _rule(self, request: bytes) -> int:
        rule = self.rules.match(split_request(request.decode("utf-8", "backslashreplace"))[1])
        if len(self.requests) >= 65536:
            self.requests.clear()
        k = self.requests[request] = -1 if rule is None else self.report.rule_index(rule)
        return k

    def _status(self, code: int) -> int:
        k = self.statuses.get(code)
        if k is None:
            k = self.statuses[code] = self.report.status_id("-" if code < 0 else f"{code:03d}")
        return k

    def add(self, chunk: memoryview, rows: np.ndarray) -> None:
        requests, ids = self.requests, self.report._source_ids
        srcs: list[int] = []
        rules: list[int] = []
        kept: list[int] = []
        a = np.frombuffer(chunk, np.uint8)
        hosts = _spans(a, rows[:, 1], rows[:, 4])
        if hosts.isascii():  # (as good as always) one decode for all
            names = hosts.decode("ascii").split("\n")
        else:
            names = [str(h, "utf-8", "backslashreplace") for h in hosts.split(b"\n")]
        last, k = None, -1
        view = memoryview(chunk)  # (the last line of an input comes as bytes)
        for n, (r0, r1) in enumerate(rows[:, 7:9].tolist()):
            request = view[r0:r1].tobytes()  # half the time of bytes(view[r0:r1])
            if request != last:  # a worm's requests follow one another: compared, not hashed
                last = request
                k = requests.get(request)
                if k is None:
                    k = self._rule(request)
            if k < 0:
                continue
            host = names[n]
            sid = ids.get(host)
            if sid is None:  # Report.source_id, written out: most hosts are new here
                sid = ids[host] = len(ids)
            srcs.append(sid)
            rules.append(k)
            kept.append(n)
        if len(kept) < rows.shape[0]:
            rows = rows[kept]
        seconds = rows[:, 10]
        times = seconds.astype(np.float64)
        for n in np.flatnonzero(seconds == NO_TIME).tolist():  # an unusual time: Python's
            t = parse_clf_time(bytes(chunk[rows[n, 5]:rows[n, 6]]))
            times[n] = _NAN if t is None else t
        codes, at = np.unique(rows[:, 9], return_inverse=True)
        statuses = np.array([self._status(c) for c in codes.tolist()], np.int64)
        self.report.extend_columns(srcs, times, rules, statuses[at])


def _spans(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bytes:
    """The byte spans ``a[starts[i]:ends[i]]``, each followed by a newline (no span holds one:
    they are parts of lines), in one piece: one gather for a chunk's parsed lines instead of a
    slice per line (for short spans, such as hosts; a slice per line is faster for long ones)."""
    lens = ends - starts + 1
    first = np.cumsum(lens) - lens  # where each span starts in the result
    out = a[np.arange(int(lens.sum())) - np.repeat(first - starts, lens)]
    out[first + lens - 1] = 10
    return out.tobytes()


def scan_inputs(paths: Iterable[str], rules: RuleSet, fmt: str = "auto",
                workers: int = 1) -> Report:
    """Read every input (``-`` is stdin) and aggregate the sightings of ``rules``.

    ``workers``: threads scanning a big log at once; the report is the same for any number.
    """
    report = Report()
    scanner = LogScanner(rules.anchors, fmt, workers)
    parsed = _ParsedLines(report, rules)
    for path in paths:
        stats = FileStats(path)
        report.files.append(stats)
        if _looks_like_capture(path):
            for req in scan_capture(path, stats):
                rule = rules.match(req.target)
                if rule is not None:
                    report.add(req, rule)
            continue
        for item in scanner.scan(path, stats):
            if type(item) is Parsed:
                parsed.add(*item)
                continue
            req, raw = item
            if req is None:
                if rules.match(raw.decode("utf-8", "backslashreplace")) is not None:
                    report.hits_in_malformed_lines += 1
                continue
            rule = rules.match(req.target)
            if rule is not None:
                report.add(req, rule)
    return report
