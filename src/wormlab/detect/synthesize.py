"""Closing the loop: write the log a monitored server (or block) would have kept during a run.

Reads a run directory (``hosts.parquet``, ``scenario.json``, ``timeseries.parquet``) as files
only, never the engine. An infected host scanning uniformly at ``r`` probes/s hits a block of
``N`` addresses as a Poisson process of rate ``-r ln(1 - N/2^32)`` while it is infected and the
worm's calendar says *spread*; benign clients add requests at a fixed total rate. Time is cut
into slices and each slice is drawn on its own, so memory stays bounded by one slice's events.

A host counts as scanning from ``infected_at`` until ``last_cured_at`` when it is no longer
infected at the end of the run, else until the end: a host reinfected after a reboot is taken
to scan across the gap (the run keeps only its first infection and last cure).
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from wormlab.errors import InputError

IPV4 = 2.0**32
SLICE_S = 1800.0
# The request Code Red v1/v2 sent, as web servers logged it (CERT/CC CA-2001-19). Text only.
CODERED_PATH = "/default.ida"
CODERED_QUERY = ("N" * 224 + "%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090%u6858"
                 "%ucbd3%u7801%u9090%u9090%u8190%u00c3%u0003%u8b00%u531b%u53ff%u0078%u0000"
                 "%u00=a")
FORMATS = ("apache", "iis")
IIS_FIELDS = ("date time c-ip cs-username s-ip s-port cs-method cs-uri-stem cs-uri-query "
              "sc-status cs(User-Agent)")
# Benign requests: (path, query, status, bytes); agents of 2001.
_PAGES = (
    ("/", "-", 200, 5120),
    ("/index.html", "-", 200, 5120),
    ("/images/logo.gif", "-", 200, 2326),
    ("/news/2001/07/19.html", "-", 200, 14210),
    ("/cgi-bin/search", "q=iis+patch", 200, 3109),
    ("/favicon.ico", "-", 404, 0),
    ("/about.html", "-", 304, 0),
    ("/robots.txt", "-", 200, 68),
)
_AGENTS = (
    "Mozilla/4.76 [en] (Windows NT 5.0; U)",
    "Mozilla/4.0 (compatible; MSIE 5.5; Windows NT 5.0)",
    "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)",
    "Googlebot/2.1",
)


def parse_block(text: str) -> tuple[int, int]:
    """``10.1.0.0/16`` -> (first address, size); a bare address is a /32."""
    try:
        net = ipaddress.IPv4Network(text.strip(), strict=True)
    except ValueError as err:
        raise InputError(f"--server-address {text!r}: {err} (give an address like 10.1.2.3 or a "
                         "block like 10.1.0.0/16)") from None
    return int(net.network_address), int(net.num_addresses)


@dataclass
class Run:
    """What synthesis needs from a run directory; times are UTC epoch seconds."""

    start_s: float
    end_s: float
    spread: list[tuple[float, float]]  # windows when the calendar says spread
    address: np.ndarray  # uint32, infected hosts only
    scan_from: np.ndarray
    scan_until: np.ndarray
    rate: np.ndarray
    ever_infected_at: dict[float, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _epoch(series) -> np.ndarray:
    """Pandas UTC datetimes -> float epoch seconds, NaT -> nan."""
    import pandas as pd

    s = pd.to_datetime(series, utc=True)
    out = (s - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float)
    return np.where(s.isna().to_numpy(), np.nan, out)


def spread_windows(start_s: float, end_s: float, calendar: list[dict]) -> list[tuple[float, float]]:
    """UTC days (of month) in a ``spread`` phase, cut to the run window and merged."""
    days = {d for ph in calendar if ph.get("action") == "spread"
            for d in range(int(ph["days"][0]), int(ph["days"][1]) + 1)}
    out: list[tuple[float, float]] = []
    day = math.floor(start_s / 86400) * 86400.0
    while day < end_s:
        if time.gmtime(day).tm_mday in days:
            a, b = max(day, start_s), min(day + 86400.0, end_s)
            if out and out[-1][1] == a:
                out[-1] = (out[-1][0], b)
            elif a < b:
                out.append((a, b))
        day += 86400.0
    return out


def load_run(run_dir: str | Path) -> Run:
    """Read the files of ``wormlab run --out DIR``; InputError names what is missing."""
    import pandas as pd

    run_dir = Path(run_dir)
    try:
        sc = json.loads((run_dir / "scenario.json").read_text(encoding="utf-8"))
        hosts = pd.read_parquet(run_dir / "hosts.parquet", columns=[
            "address", "state", "infected_at", "last_cured_at", "probe_rate_per_s"])
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"{run_dir} is not a readable run directory (want scenario.json and "
                         f"hosts.parquet from 'wormlab run --out DIR'): {err}") from None
    worm = sc.get("worm", {})
    scan = worm.get("scan", "uniform")
    kind = scan.get("kind", "uniform") if isinstance(scan, dict) else scan
    if kind != "uniform":
        raise InputError(f"synth-log models uniform scanning only, not {kind!r}")
    start = pd.Timestamp(sc["time"]["start"]).timestamp()
    end = pd.Timestamp(sc["time"]["end"]).timestamp()
    inf = _epoch(hosts["infected_at"])
    cured = _epoch(hosts["last_cured_at"])
    still = (hosts["state"].astype(str) == "infected").to_numpy()
    until = np.where(still | np.isnan(cured) | (cured < inf), end, cured)
    keep = ~np.isnan(inf)
    run = Run(start, end, spread_windows(start, end, worm.get("calendar", [])),
              hosts["address"].to_numpy(np.uint32)[keep], inf[keep], until[keep],
              hosts["probe_rate_per_s"].to_numpy(float)[keep])
    run.warnings = _unmodelled(sc)
    ts_path = run_dir / "timeseries.parquet"
    if ts_path.exists():
        ts = pd.read_parquet(ts_path, columns=["time", "ever_infected", "infected"])
        run.ever_infected_at = dict(zip(_epoch(ts["time"]), ts["ever_infected"].astype(int),
                                        strict=True))
    return run


def _unmodelled(sc: dict) -> list[str]:
    """Scenario features that change who probes the block but that synthesis ignores."""
    worm, out = sc.get("worm", {}), []
    if worm.get("saturation_probes_per_s") or worm.get("bandwidth"):
        out.append("the run limits scanning by bandwidth or link saturation; synthesis uses "
                   "each host's nominal probe_rate_per_s, so it overstates the probes")
    if sc.get("defenses"):
        out.append("the run has defenses that may filter probes; synthesis ignores them")
    return out


def probe_events(run: Run, first: int, size: int, a: float, b: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Worm probes landing in the block during [a, b): (times, source addresses, targets)."""
    frac = -math.log1p(-size / IPV4)
    times, srcs = [], []
    for wa, wb in run.spread:
        lo, hi = max(a, wa), min(b, wb)
        if lo >= hi:
            continue
        s = np.maximum(run.scan_from, lo)
        span = np.clip(np.minimum(run.scan_until, hi) - s, 0.0, None)
        n = rng.poisson(run.rate * frac * span)
        idx = np.repeat(np.arange(n.size), n)
        times.append(s[idx] + rng.random(idx.size) * span[idx])
        srcs.append(run.address[idx])
    if not times:
        return np.empty(0), np.empty(0, np.uint32), np.empty(0, np.uint32)
    t = np.concatenate(times)
    dst = (first + rng.integers(0, size, t.size)).astype(np.uint32)
    return t, np.concatenate(srcs), dst


class _Clock:
    """Epoch seconds -> log timestamp text, caching each day's prefix."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.days: dict[int, str] = {}
        self.hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]

    def __call__(self, t: float) -> str:
        sec = int(t)
        day, rest = divmod(sec, 86400)
        prefix = self.days.get(day)
        if prefix is None:
            pattern = "%d/%b/%Y:" if self.fmt == "apache" else "%Y-%m-%d "
            prefix = self.days[day] = time.strftime(pattern, time.gmtime(day * 86400))
        return prefix + self.hms[rest]


def _ip(a: int) -> str:
    return f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"


def _line(fmt: str, stamp: str, src: str, dst: str, page: int, agent: int) -> str:
    if page < 0:  # the worm
        if fmt == "apache":
            return (f'{src} - - [{stamp} +0000] "GET {CODERED_PATH}?{CODERED_QUERY} HTTP/1.0" '
                    '400 - "-" "-"\n')
        return f"{stamp} {src} - {dst} 80 GET {CODERED_PATH} {CODERED_QUERY} 404 -\n"
    path, query, status, size = _PAGES[page]
    ua = _AGENTS[agent]
    if fmt == "apache":
        target = path if query == "-" else f"{path}?{query}"
        return f'{src} - - [{stamp} +0000] "GET {target} HTTP/1.1" {status} {size} "-" "{ua}"\n'
    return f"{stamp} {src} - {dst} 80 GET {path} {query} {status} {ua.replace(' ', '+')}\n"


@dataclass
class SynthStats:
    """What was written, and the truth to check an inference against."""

    lines: int = 0
    worm_lines: int = 0
    benign_lines: int = 0
    worm_sources: int = 0
    monitored_addresses: int = 0
    start_s: float = 0.0
    end_s: float = 0.0
    ever_infected_at_end: int | None = None


def synthesize(run: Run, out: TextIO, block: tuple[int, int], fmt: str = "apache",
               benign_rate: float = 1.0, seed: int = 0, clients: int = 5000) -> SynthStats:
    """Write the block's log for the whole run window, in time order, to ``out``."""
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if benign_rate < 0:
        raise InputError("--benign-rate must be >= 0")
    first, size = block
    rng = np.random.default_rng(seed)
    pool = rng.integers(0x0B000000, 0xDF000000, clients, dtype=np.uint32)  # benign clients
    clock = _Clock(fmt)
    stats = SynthStats(monitored_addresses=size, start_s=run.start_s, end_s=run.end_s)
    seen: set[int] = set()
    if fmt == "iis":
        out.write(f"#Software: Microsoft Internet Information Services 5.0\n#Version: 1.0\n"
                  f"#Date: {clock(run.start_s)}\n#Fields: {IIS_FIELDS}\n")
    a = run.start_s
    while a < run.end_s:
        b = min(a + SLICE_S, run.end_s)
        t_w, src_w, dst_w = probe_events(run, first, size, a, b, rng)
        n_b = rng.poisson(benign_rate * (b - a))
        t = np.concatenate([t_w, a + rng.random(n_b) * (b - a)])
        src = np.concatenate([src_w, pool[rng.zipf(1.3, n_b) % clients]])
        dst = np.concatenate([dst_w, (first + rng.integers(0, size, n_b)).astype(np.uint32)])
        page = np.concatenate([np.full(t_w.size, -1), rng.integers(0, len(_PAGES), n_b)])
        agent = rng.integers(0, len(_AGENTS), t.size)
        order = np.argsort(t, kind="stable")
        out.writelines(_line(fmt, clock(t[i]), _ip(int(src[i])), _ip(int(dst[i])),
                             int(page[i]), int(agent[i])) for i in order)
        seen.update(np.unique(src_w).tolist())
        stats.worm_lines += t_w.size
        stats.benign_lines += n_b
        a = b
    stats.lines = stats.worm_lines + stats.benign_lines
    stats.worm_sources = len(seen)
    if run.ever_infected_at:
        last = max(k for k in run.ever_infected_at if k <= run.end_s)
        stats.ever_infected_at_end = run.ever_infected_at[last]
    return stats


def open_output(path: str) -> TextIO:
    """``-`` is stdout; a name ending in ``.gz`` is gzip-compressed."""
    if path == "-":
        return sys.stdout
    try:
        if path.endswith(".gz"):
            return gzip.open(path, "wt", encoding="ascii", compresslevel=3)
        return open(path, "w", encoding="ascii")
    except OSError as err:
        raise InputError(f"cannot write {path}: {err.strerror or err}") from None
