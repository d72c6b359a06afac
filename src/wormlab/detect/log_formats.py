"""Web server log formats: Apache common/combined, nginx default, IIS W3C extended.

Each format turns one raw line (bytes) into a ``Request`` or ``None`` when the line is malformed.
nginx's default ``combined`` format is byte-for-byte Apache's combined format, so both share one
parser; ``nginx`` is accepted as a name for it. IIS W3C logs are stateful (``#Fields:`` says
which column is which, and may change mid-file), so the IIS parser is an object with state.
"""

from __future__ import annotations

import calendar
import re
from typing import NamedTuple

FORMAT_NAMES = ("auto", "common", "combined", "nginx", "iis")

_MONTHS = {m.encode(): i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


class Request(NamedTuple):
    """One HTTP request as a server logged (or a capture carried) it; times are UTC epoch seconds.

    A named tuple, not a frozen dataclass: one is built per candidate line, and this is 5x cheaper.
    """

    source: str
    time_s: float | None
    method: str
    target: str  # path, plus "?query" when there is one
    status: str  # "-" when unknown (pcaps, truncated lines)
    user_agent: str = ""


# host ident user [time] "request" status bytes, then optionally "referer" "agent" and more.
_CLF = re.compile(
    rb'^(\S+) \S+ \S+ \[([^\]]+)\] "([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}|-) (\d+|-)'
    rb'(?: "([^"\\]*(?:\\.[^"\\]*)*)" "([^"\\]*(?:\\.[^"\\]*)*)")?(.*)$'
)
_TIME = re.compile(rb"^(\d{2})/(\w{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?: ([+-])(\d{2})(\d{2}))?$")
_day_cache: dict[bytes, int] = {}
_time_cache: dict[bytes, float | None] = {}  # per minute
_request_cache: dict[bytes, tuple[str, str]] = {}


def parse_clf_time(raw: bytes) -> float | None:
    """``19/Jul/2001:10:23:45 -0700`` -> UTC epoch seconds; None when it does not parse.

    Logs repeat each minute many times, so the answer for the minute (seconds read as ``00``)
    is remembered and the seconds added: the format is fixed-width, so two digits there parse
    exactly when the minute's string does.
    """
    if len(raw) < 20 or raw[17:18] != b":" or not raw[18:20].isdigit():
        return _parse_clf_time(raw)
    minute = raw[:18] + b"00" + raw[20:]
    base = _time_cache.get(minute, _time_cache)
    if base is _time_cache:
        if len(_time_cache) >= 65536:
            _time_cache.clear()
        base = _time_cache[minute] = _parse_clf_time(minute)
    return None if base is None else base + int(raw[18:20])


def _parse_clf_time(raw: bytes) -> float | None:
    m = _TIME.match(raw)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
    key = raw[:11]
    base = _day_cache.get(key)
    if base is None:
        month = _MONTHS.get(mon)
        if month is None:
            return None
        try:
            base = calendar.timegm((int(year), month, int(day), 0, 0, 0))
        except (ValueError, OverflowError):
            return None
        if len(_day_cache) > 4096:
            _day_cache.clear()
        _day_cache[key] = base
    t = base + int(hh) * 3600 + int(mm) * 60 + int(ss)
    if sign is not None:
        offset = int(oh) * 3600 + int(om) * 60
        t -= offset if sign == b"+" else -offset
    return float(t)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def split_request(line: str) -> tuple[str, str]:
    """``GET /x?y HTTP/1.0`` -> (``GET``, ``/x?y``); a bare target is kept whole."""
    parts = line.split(" ")
    if len(parts) >= 3:
        return parts[0], " ".join(parts[1:-1])
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", line


def _match_clf(line: bytes) -> tuple[re.Match[bytes] | None, bytes]:
    """``_CLF.match`` and the request, without walking a long request byte by byte in ``re``.

    The request starts after the first ``] "`` and, when it holds no backslash, ends at the
    next quote: both found with C-speed ``find``. The regex then checks the line with the
    request cut out, which it accepts exactly when it accepts the whole line.
    """
    rb = line.find(b"]")
    q = line.find(b'"', rb + 3)
    if q - rb > 64 and line[rb + 1:rb + 3] == b' "' and line.find(b"\\", rb + 3, q) < 0:
        m = _CLF.match(line[:rb + 3] + line[q:])
        return m, line[rb + 3:q]
    m = _CLF.match(line)
    return m, (m.group(3) if m is not None else b"")


class ClfParser:
    """Apache common / combined and nginx default lines (stateless)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.combined = name in ("combined", "nginx")

    def well_formed(self, line: bytes) -> bool:
        if self.combined:
            return self.parse(line) is not None
        return _match_clf(line)[0] is not None

    def parse(self, line: bytes) -> Request | None:
        m, req = _match_clf(line)
        if m is None:
            return None
        host, when, _req, status, _size, _ref, agent, _rest = m.groups()
        if self.combined and agent is None:
            return None
        split = _request_cache.get(req)
        if split is None:  # worms repeat one request: split and decode it once
            if len(_request_cache) >= 4096:
                _request_cache.clear()
            split = _request_cache[req] = split_request(_text(req))
        return Request(_text(host), parse_clf_time(when), split[0], split[1],
                       status.decode("ascii"), _text(agent) if agent is not None else "")


class IisParser:
    """IIS W3C extended lines; the column layout comes from the latest ``#Fields:`` directive."""

    name = "iis"

    _DEFAULT = ("date", "time", "c-ip", "cs-username", "s-ip", "s-port", "cs-method",
                "cs-uri-stem", "cs-uri-query", "sc-status", "cs(User-Agent)")

    def __init__(self) -> None:
        self.set_fields(self._DEFAULT)

    def set_fields(self, fields: list[str] | tuple[str, ...]) -> None:
        self.fields = list(fields)
        idx = {f.lower(): i for i, f in enumerate(self.fields)}
        self.i_date, self.i_time = idx.get("date"), idx.get("time")
        self.i_src = idx.get("c-ip")
        self.i_method, self.i_stem = idx.get("cs-method"), idx.get("cs-uri-stem")
        self.i_query, self.i_status = idx.get("cs-uri-query"), idx.get("sc-status")
        self.i_agent = idx.get("cs(user-agent)")

    def directive(self, line: bytes) -> bool:
        """Handle a ``#...`` line; True when it was a well-formed directive."""
        if line.startswith(b"#Fields:"):
            fields = _text(line[8:]).split()
            if not fields:
                return False
            self.set_fields(fields)
        return True

    def well_formed(self, line: bytes) -> bool:
        return line.count(b" ") + 1 == len(self.fields)

    def parse(self, line: bytes) -> Request | None:
        cols = line.split(b" ")
        if len(cols) != len(self.fields) or self.i_src is None or self.i_stem is None:
            return None
        # the columns decoded as _text does, written out (one call less each: a worm-heavy IIS
        # log parses every worm line here)
        target = str(cols[self.i_stem], "utf-8", "backslashreplace")
        if self.i_query is not None:
            query = str(cols[self.i_query], "utf-8", "backslashreplace")
            if query not in ("-", ""):
                target = f"{target}?{query}"
        when = None
        if self.i_date is not None and self.i_time is not None:
            when = parse_iis_time(cols[self.i_date], cols[self.i_time])
            if when is None:
                return None
        status = "-" if self.i_status is None else str(cols[self.i_status], "utf-8",
                                                        "backslashreplace")
        if status != "-" and not status.isdigit():
            return None
        method = "-" if self.i_method is None else str(cols[self.i_method], "utf-8",
                                                        "backslashreplace")
        agent = "" if self.i_agent is None else str(cols[self.i_agent], "utf-8",
                                                     "backslashreplace")
        return Request(str(cols[self.i_src], "utf-8", "backslashreplace"), when, method, target,
                       status, "" if agent == "-" else agent.replace("+", " "))


_IIS_DATE = re.compile(rb"^(\d{4})-(\d{2})-(\d{2})$")
_IIS_TIME = re.compile(rb"^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$")


def parse_iis_time(date: bytes, time: bytes) -> float | None:
    """IIS writes UTC ``2001-07-19`` ``10:23:45``; None when either does not parse.

    A log repeats each date many times: its midnight is remembered, and a time of the usual
    ``HH:MM:SS`` form read by slicing (what ``_IIS_TIME`` accepts; fractions go through it)."""
    base = _iis_days.get(date, _iis_days)
    if base is _iis_days:
        if len(_iis_days) >= 4096:
            _iis_days.clear()
        base = _iis_days[date] = _iis_midnight(date)
    if base is None:
        return None
    if (len(time) == 8 and time[2] == 58 and time[5] == 58 and time[:2].isdigit()
            and time[3:5].isdigit() and time[6:].isdigit()):
        return float(base + int(time[:2]) * 3600 + int(time[3:5]) * 60 + int(time[6:]))
    t = _IIS_TIME.match(time)
    if t is None:
        return None
    return float(base + int(t[1]) * 3600 + int(t[2]) * 60 + int(t[3]))


_iis_days: dict[bytes, int | None] = {}


def _iis_midnight(date: bytes) -> int | None:
    """UTC epoch seconds of an IIS date's midnight, None when it does not parse."""
    d = _IIS_DATE.match(date)
    if d is None:
        return None
    try:
        return calendar.timegm((int(d[1]), int(d[2]), int(d[3]), 0, 0, 0))
    except (ValueError, OverflowError):
        return None


def _parse_iis_time(date: bytes, time: bytes) -> float | None:
    """``parse_iis_time`` by the regular expressions alone: the reference it is tested against."""
    t = _IIS_TIME.match(time)
    base = _iis_midnight(date)
    if base is None or t is None:
        return None
    return float(base + int(t[1]) * 3600 + int(t[2]) * 60 + int(t[3]))


def make_parser(name: str) -> ClfParser | IisParser:
    """A fresh parser for a format name (``auto`` is resolved by ``sniff_format`` first)."""
    if name == "iis":
        return IisParser()
    if name in ("common", "combined", "nginx"):
        return ClfParser(name)
    raise ValueError(f"unknown log format {name!r}")


def sniff_format(sample: bytes) -> str | None:
    """Guess the format from the first lines of a file; None when nothing fits."""
    lines = [ln for ln in sample.split(b"\n")[:50] if ln.strip()]
    if not lines:
        return None
    if any(ln.startswith((b"#Software:", b"#Version:", b"#Fields:")) for ln in lines[:5]):
        return "iis"
    scores = {}
    for name in ("combined", "common"):
        parser = ClfParser(name)
        scores[name] = sum(parser.parse(ln.rstrip(b"\r")) is not None for ln in lines)
    best = max(scores, key=lambda k: (scores[k], k == "combined"))
    # The common parser also accepts combined lines, so ties go to combined.
    if scores[best] * 2 < len(lines):
        return None
    return best
