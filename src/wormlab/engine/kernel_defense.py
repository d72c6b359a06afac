"""Defences on the path of a probe, as a thinning of sampled hits (one coin per hit).

``DefenseArrays`` carries everything the compiled kernels need to know about the defences of a
run, as NumPy arrays in a namedtuple (Numba compiles one version of the kernel for its field
types). ``accept_hit`` is called for every hit on a susceptible host when ``active`` is true.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

DefenseArrays = namedtuple("DefenseArrays", ["active", "host_block_p"])


def no_defense() -> DefenseArrays:
    """The defences of a run without any: the kernels skip every hook."""
    return DefenseArrays(active=False, host_block_p=np.zeros(0))


@njit(cache=True)
def accept_hit(rng, k, src, dst, defense):
    """True when a probe from host ``src`` to host ``dst`` in step ``k`` gets through."""
    p = defense.host_block_p[dst] if defense.host_block_p.shape[0] > 0 else 0.0
    return p <= 0.0 or rng.random() >= p
