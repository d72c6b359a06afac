"""The log scanner's fast path: ``scan_block`` in C (``_linescan.c``), built at install.

The same call and the same answer as ``scankernel.scan_block`` (the Numba version, kept as the
fallback where the extension was not built, and as the reference this one is tested against):
the same inputs (``scantables.kernel_args``), the same stop, line and blank counts, and the same
flagged rows, but loaded in about a millisecond where Numba takes about 0.45 s of CPU. Columns
4 to 10 of a row that is not PARSED are zero here (left unset by the Numba version). The pass
releases the GIL, so ``--workers N`` threads scan at once. Importing this module fails with
ImportError when the extension is missing.
"""

from __future__ import annotations

import numpy as np

from wormlab.detect import _linescan
from wormlab.detect.scantables import ROW

# how blocks are read: 0 a byte at a time, 1 SSE2 (16 bytes at a time, every x86-64), 2 AVX2 (32)
ISA = _linescan.ISA
ISA_NAMES = ("bytes", "SSE2", "AVX2")


def scan_block(buf, lo: int, mode: int, nfields: int, table: np.ndarray, anc: np.ndarray,
               lens: np.ndarray, lower: np.ndarray, pairs: np.ndarray,
               isa: int = -1) -> tuple[int, int, int, np.ndarray]:
    """``scankernel.scan_block``: (offset where it stopped, lines, empty lines, flagged rows)
    for the lines of ``buf`` (any bytes-like object ending with a newline) from ``lo``.
    ``isa`` caps how blocks are read (see ``ISA``; -1 the best the CPU has), for tests."""
    stop, lines, blank, rows = _linescan.scan_block(buf, lo, mode, nfields, table, anc, lens,
                                                    lower, pairs, isa)
    return stop, lines, blank, np.frombuffer(rows, np.int64).reshape(-1, ROW)
