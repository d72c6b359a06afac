"""Benchmark ``wormlab logs`` on generated Apache combined and IIS W3C logs with 1% Code Red lines.

    python benchmarks/bench_logs.py [--lines 2000000 | --gigabytes 1] [--keep DIR] [--no-iis]

Writes each log to a temporary directory (``--keep DIR`` keeps it and reuses logs already there),
then on the same file in the same run times ``wormlab logs --json`` in a child process with
``--workers 1`` (one core: the issue's lines/s figure) and ``--workers 2``, and ``grep -c
default.ida``. Prints lines/s (wall and CPU), the ratios to grep (one worker by CPU time, two
by wall time; on a shared machine CPU time is the steadier), peak RSS, the one-time cost of
loading the compiled scanner, and the load average. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_log(path: Path, lines: int, worm_share: float = 0.01, seed: int = 1) -> int:
    rng = random.Random(seed)
    pages = ["/index.html", "/images/logo.gif", "/news/2001/07/19.html", "/cgi-bin/search?q=iis",
             "/favicon.ico", "/about.html"]
    agents = ['"Mozilla/4.76 [en] (Windows NT 5.0; U)"',
              '"Mozilla/4.0 (compatible; MSIE 5.5; Windows NT 5.0)"']
    worm = "/default.ida?" + "N" * 224 + "%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801=a"
    written = 0
    with open(path, "w", encoding="ascii") as out:
        buf = []
        for i in range(lines):
            sec = i * 86400 // lines
            stamp = f"19/Jul/2001:{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d} +0000"
            if rng.random() < worm_share:
                src = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
                buf.append(f'{src} - - [{stamp}] "GET {worm} HTTP/1.0" 400 - "-" "-"\n')
            else:
                src = f"192.168.{rng.randrange(256)}.{rng.randrange(256)}"
                buf.append(f'{src} - - [{stamp}] "GET {rng.choice(pages)} HTTP/1.1" 200 '
                           f'{rng.randrange(100, 50000)} "-" {rng.choice(agents)}\n')
            if len(buf) >= 10000:
                out.writelines(buf)
                buf.clear()
        out.writelines(buf)
        written = out.tell()
    return written


def write_iis_log(path: Path, lines: int, worm_share: float = 0.01, seed: int = 1) -> int:
    """The same traffic as ``write_log`` in IIS W3C extended form (request split in two)."""
    rng = random.Random(seed)
    pages = [("/index.html", "-"), ("/images/logo.gif", "-"), ("/cgi-bin/search", "q=iis"),
             ("/favicon.ico", "-"), ("/about.html", "-")]
    agents = ["Mozilla/4.76+[en]+(Windows+NT+5.0;+U)",
              "Mozilla/4.0+(compatible;+MSIE+5.5;+Windows+NT+5.0)"]
    worm = "N" * 224 + "%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801=a"
    with open(path, "w", encoding="ascii") as out:
        out.write("#Software: Microsoft Internet Information Services 5.0\n#Version: 1.0\n"
                  "#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem "
                  "cs-uri-query sc-status cs(User-Agent)\n")
        buf = []
        for i in range(lines):
            sec = i * 86400 // lines
            stamp = f"2001-07-19 {sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
            if rng.random() < worm_share:
                src = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
                buf.append(f"{stamp} {src} - 192.0.2.80 80 GET /default.ida {worm} 400 -\n")
            else:
                src = f"192.168.{rng.randrange(256)}.{rng.randrange(256)}"
                stem, query = rng.choice(pages)
                buf.append(f"{stamp} {src} - 192.0.2.80 80 GET {stem} {query} 200 "
                           f"{rng.choice(agents)}\n")
            if len(buf) >= 10000:
                out.writelines(buf)
                buf.clear()
        out.writelines(buf)
        return out.tell()


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s, result) of one child process."""
    t0, c0 = time.perf_counter(), _child_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, _child_cpu() - c0, proc


_WORMLAB = [sys.executable, "-c", "from wormlab.cli import main; main()"]
_LOAD = ("import time, numpy as np; c, w = time.process_time(), time.perf_counter(); "
         "from wormlab.detect import scankernel as k; a = (b'.id',); "
         "k.scan_block(np.frombuffer(bytearray(b'x\\n'), np.uint8), 0, 0, 0, *k.kernel_args(a, 0)); "
         "print(time.process_time() - c, time.perf_counter() - w)")


def one_time_cost() -> None:
    """Importing Numba and loading the scanner's cached machine code, in a fresh process."""
    subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, check=True)  # compile
    out = subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, text=True,
                         check=True).stdout.split()
    print(f"one-time cost of the compiled scanner (import Numba, load its cache): "
          f"{float(out[0]):.2f} s CPU, {float(out[1]):.2f} s wall")


def _measure(log: Path, lines: int, size: int, label: str) -> None:
    """Time wormlab (one, then two workers) and grep on one file, and print the ratios."""
    subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
    print(f"{label}: {size / 1e6:.0f} MB, {lines} lines, 1% worm")
    runs = {}
    for workers in (1, 2):
        wall, cpu, proc = _timed([*_WORMLAB, "logs", str(log), "--json",
                                  "--workers", str(workers)])
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        runs[workers] = wall, cpu
        print(f"  wormlab logs --workers {workers}: {wall:.2f} s wall ({cpu:.2f} s CPU), "
              f"{lines / wall / 1e6:.2f} M lines/s wall, {lines / cpu / 1e6:.2f} M lines/s CPU, "
              f"{size / wall / 1e6:.0f} MB/s, peak RSS so far {rss_mb:.0f} MB "
              f"(exit {proc.returncode})")
    grep_s, grep_cpu, grep = _timed(["grep", "-c", "default.ida", str(log)])
    print(f"  grep -c default.ida: {grep_s:.2f} s wall ({grep_cpu:.2f} s CPU, count "
          f"{grep.stdout.strip()})")
    for workers, (wall, cpu) in runs.items():
        print(f"  wormlab/grep, {workers} worker(s): {wall / grep_s:.1f}x wall, "
              f"{cpu / max(grep_cpu, 1e-3):.1f}x CPU")


def _reuse(path: Path, lines: int, write) -> int:
    """The log's size, written unless a log of as many lines is already there (--keep)."""
    if path.exists():
        with open(path, "rb") as f:
            if sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b"")) in (
                    lines, lines + 3):  # the IIS log has three directive lines
                return path.stat().st_size
    return write(path, lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--gigabytes", type=float, help="size the Apache log in GB instead "
                                                    "(~142 B/line)")
    ap.add_argument("--keep", type=Path, help="write the logs here instead of a temp dir")
    ap.add_argument("--no-iis", action="store_true", help="skip the IIS W3C log")
    args = ap.parse_args()
    if args.gigabytes:
        args.lines = int(args.gigabytes * 1e9 / 142)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="wormlab-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")
    one_time_cost()
    log = folder / "access.log"
    _measure(log, args.lines, _reuse(log, args.lines, write_log), f"Apache combined {log}")
    if not args.no_iis:
        iis = folder / "ex010719.log"
        _measure(iis, args.lines, _reuse(iis, args.lines, write_iis_log), f"IIS W3C {iis}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.keep is None:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
