"""Benchmark ``wormlab logs`` on generated Apache combined and IIS W3C logs with 1% Code Red lines.

    python benchmarks/bench_logs.py [--lines 2000000 | --gigabytes 1] [--keep DIR] [--no-iis]
                                    [--repeat 3] [--numba]

Writes each log to a temporary directory (``--keep DIR`` keeps it and reuses logs already there),
then on the same file in the same run times ``wormlab logs --json`` in a child process with
``--workers 1`` (one core: the issue's lines/s figure) and ``--workers 2``, and ``grep -c
default.ida``, taking turns ``--repeat`` times and keeping the best of each. Prints which
scanner the command runs (C, built at install, or the Numba fallback; ``--numba`` times the
command with the C scanner turned off), lines/s (wall and CPU), the ratios to grep (wall and
CPU; on a shared machine CPU time is the steadier), the fixed costs apart (the command on a
one-line log, loading the scanner: the C extension, or importing Numba and loading its cached
code), peak RSS and the load average. Not a test: numbers depend on the machine.
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

from wormlab.detect.log_reader import COMPILED_MIN_BYTES


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


_NO_C = "from wormlab.detect import log_reader; log_reader.C_SCANNER = False; "
_WORMLAB = [sys.executable, "-c", "from wormlab.cli import main; main()"]
# In a fresh process, as the logs command does it (Numba loaded without BLAS): CPU and wall
# seconds to import Numba, then to load the scanner's cached machine code.
_LOAD = ("import time; c, w = time.process_time(), time.perf_counter(); "
         "from wormlab.detect import log_reader; log_reader.LEAN_NUMBA = {lean}; "
         "log_reader.C_SCANNER = False; "
         "import numpy, wormlab.detect.sightings; c0, w0 = time.process_time(), time.perf_counter(); "
         "import numba; c1, w1 = time.process_time(), time.perf_counter(); "
         "assert log_reader.compiled_ready(); c2, w2 = time.process_time(), time.perf_counter(); "
         "print(c1 - c0, w1 - w0, c2 - c1, w2 - w1)")
# The same for the C scanner: seconds to import it (and NumPy's array of its rows), once the
# command's other modules are loaded.
_LOAD_C = ("import time; from wormlab.detect import log_reader; import numpy, "
           "wormlab.detect.sightings; c0, w0 = time.process_time(), time.perf_counter(); "
           "assert log_reader.c_scanner() is not None; "
           "print(time.process_time() - c0, time.perf_counter() - w0)")


def scanner(numba: bool) -> str:
    """The pass the command runs on a big log, as ``log_reader.scanner_name`` says in a fresh
    process: "C (AVX2)" (or SSE2, or bytes), "Numba" or "NumPy"."""
    code = (_NO_C if numba else "") + (
        "from wormlab.detect import log_reader; print(log_reader.scanner_name())")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def one_time_cost(numba: bool) -> dict:
    """Fixed costs of one ``wormlab logs`` command, each in fresh processes (best of three):
    the command on a one-line log (interpreter, CLI, imports), then loading the scanner: the C
    extension, or with ``numba`` importing Numba and loading the scanner's cached machine code,
    without BLAS as the command does, and with."""
    with tempfile.TemporaryDirectory() as tmp:
        tiny = Path(tmp) / "one.log"
        tiny.write_text('192.0.2.1 - - [19/Jul/2001:00:00:00 +0000] "GET / HTTP/1.0" 200 1\n')
        cli = min(_timed([*_WORMLAB, "logs", str(tiny), "--json"])[1] for _ in range(3))
    if not numba:
        runs = [subprocess.run([sys.executable, "-c", _LOAD_C], capture_output=True, text=True,
                               check=True).stdout.split() for _ in range(3)]
        load = min(float(r[0]) for r in runs)
        print(f"fixed costs (best of 3 fresh processes): the command on a one-line log {cli:.2f} s "
              f"CPU (interpreter, CLI, imports, the C scanner); loading the C scanner alone "
              f"{load:.3f} s CPU")
        return {"cli": cli, "scanner": 0.0}

    def best(lean: bool) -> list[float]:
        runs = [subprocess.run([sys.executable, "-c", _LOAD.format(lean=lean)],
                               capture_output=True, text=True, check=True).stdout.split()
                for _ in range(3)]
        return [min(float(r[k]) for r in runs) for k in range(4)]

    best(True)  # compiles the scanner the first time after an install or an edit
    lean, full = best(True), best(False)
    print(f"fixed costs (best of 3 fresh processes): the command on a one-line log {cli:.2f} s CPU "
          f"(interpreter, CLI, imports); import numba {lean[0]:.2f} s CPU ({lean[1]:.2f} wall); "
          f"load the cached scanner {lean[2]:.2f} s CPU ({lean[3]:.2f} wall) without BLAS as the "
          f"command does it, {full[2]:.2f} s CPU with (scipy.linalg imported by Numba)")
    return {"cli": cli, "scanner": lean[0] + lean[2]}


def _measure(log: Path, lines: int, size: int, label: str, fixed: dict, repeat: int,
             numba: bool) -> None:
    """Time wormlab (one, then two workers) and grep on one file, taking turns ``repeat``
    times (a passing load falls on all alike), and print the best of each and the ratios."""
    subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
    print(f"{label}: {size / 1e6:.0f} MB, {lines} lines, 1% worm")
    wormlab = [sys.executable, "-c", (_NO_C if numba else "") + _WORMLAB[2]]
    cmds = {f"wormlab logs --json --workers {w}": [*wormlab, "logs", str(log), "--json",
                                                  "--workers", str(w)] for w in (1, 2)}
    cmds["grep -c default.ida"] = ["grep", "-c", "default.ida", str(log)]
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, cmd in cmds.items():
            wall, cpu, proc = _timed(cmd)
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed: {proc.stderr[-500:]}")
            runs[name].append((wall, cpu))
    best = {name: (min(w for w, _ in r), min(c for _, c in r)) for name, r in runs.items()}
    grep_wall, grep_cpu = best["grep -c default.ida"]
    for name, (wall, cpu) in best.items():
        every = ", ".join(f"{c:.2f}" for _, c in runs[name])
        rate = "" if name.startswith("grep") else (
            f"; {lines / cpu / 1e6:.2f} M lines/s CPU, {lines / wall / 1e6:.2f} M lines/s wall, "
            f"{wall / grep_wall:.1f}x grep wall, {cpu / grep_cpu:.1f}x grep CPU")
        print(f"  {name}: best {wall:.2f} s wall, {cpu:.2f} s CPU (CPU of each run: {every})"
              f"{rate}")
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    one = best["wormlab logs --json --workers 1"][1]
    # Numba is loaded for big inputs only (small: NumPy checks); the C scanner's load is in
    # the one-line command's cost
    load = fixed["scanner"] if size >= COMPILED_MIN_BYTES else 0.0
    fixed_s = fixed["cli"] + load
    scanner_part = "loading Numba" if numba else "the C scanner in it"
    print(f"  one worker's CPU: fixed {fixed_s:.2f} s (command {fixed['cli']:.2f}, "
          f"{scanner_part} {load:.2f}) + the rest {one - fixed_s:.2f} s (reading, scanning, "
          f"the flagged lines, the report); the fixed part alone is {fixed_s / grep_cpu:.1f}x "
          f"grep's CPU, "
          f"the rest {(one - fixed_s) / grep_cpu:.1f}x; peak RSS of any child {rss_mb:.0f} MB")


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
    ap.add_argument("--repeat", type=int, default=3, help="runs of each command, in turns; "
                                                          "the best is reported")
    ap.add_argument("--numba", action="store_true", help="time the command with the C scanner "
                                                         "turned off (the Numba fallback)")
    args = ap.parse_args()
    if args.gigabytes:
        args.lines = int(args.gigabytes * 1e9 / 142)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="wormlab-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")
    print(f"scanner: {scanner(args.numba)}")
    fixed = one_time_cost(args.numba)
    log = folder / "access.log"
    _measure(log, args.lines, _reuse(log, args.lines, write_log), f"Apache combined {log}",
             fixed, args.repeat, args.numba)
    if not args.no_iis:
        iis = folder / "ex010719.log"
        _measure(iis, args.lines, _reuse(iis, args.lines, write_iis_log), f"IIS W3C {iis}",
                 fixed, args.repeat, args.numba)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.keep is None:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
