"""Random draws the kernels make millions of times, cheaper than Numba's generic ones.

Numba's ``Generator.integers(0, n)`` costs about 30-50 ns a call here; a bounded integer from one
``random()`` (53 random bits) costs about 7 ns. ``below`` stays exactly uniform: it rejects the
top sliver of the 53-bit range that would favour small values.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_TWO53 = 9007199254740992  # 2**53: rng.random() is k / 2**53 with k uniform in [0, 2**53)


@njit(cache=True, inline="always")
def below(rng, n):
    """A uniform integer in ``[0, n)``, exactly (``1 <= n < 2**53``)."""
    lim = (_TWO53 // n) * n
    while True:
        k = np.int64(rng.random() * 9007199254740992.0)
        if k < lim:
            return k % n
