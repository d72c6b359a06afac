"""``engine/unmanaged.py``: views without reference counting read and write the very arrays."""

import numpy as np
from numba import njit

from wormlab.engine.unmanaged import unmanaged


@njit
def _bump_through_view(a, idx):
    v = unmanaged(a)
    for i in idx:
        v[i] += 1
    return v.sum(), v.shape[0], v.ndim


@njit
def _write_2d(m):
    v = unmanaged(m)
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            v[i, j] = 10 * i + j
    return v.shape


def test_writes_through_a_view_land_in_the_array():
    a = np.zeros(50, dtype=np.int64)
    idx = np.array([3, 3, 7, 49], dtype=np.int64)
    total, n, ndim = _bump_through_view(a, idx)
    assert (total, n, ndim) == (4, 50, 1)
    assert a[3] == 2 and a[7] == 1 and a[49] == 1 and a.sum() == 4


def test_strided_and_two_dimensional_views_keep_their_layout():
    base = np.zeros((6, 8), dtype=np.int32)
    view = base[1:5, ::2]  # non-contiguous: strides must carry over
    assert _write_2d(view) == (4, 4)
    expected = np.zeros((6, 8), dtype=np.int32)
    expected[1:5, ::2] = 10 * np.arange(4)[:, None] + np.arange(4)[None, :]
    np.testing.assert_array_equal(base, expected)
