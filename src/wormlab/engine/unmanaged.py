"""Array views that Numba does not reference-count, for the hot loops.

Numba counts references to an array (an atomic add on its meminfo) when it is handed to a
function, read from a tuple, sliced or returned, and its pruning pass removes few such pairs in
code with loops and branches. In the kernels those atomic operations were a fifth of the time.
``unmanaged(a)`` is the same array with no meminfo: each count becomes a null check. It is safe
only while the caller keeps ``a`` alive and the view does not leave the compiled code (the
kernels' arrays are held by ``simulate`` for the whole run).
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def unmanaged(typingctx, arr):
    """``arr`` without its meminfo and parent: reference counting on it does nothing."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, sig, args):
        src = context.make_array(sig.args[0])(context, builder, args[0])
        out = context.make_array(sig.return_type)(context, builder)
        for field in ("nitems", "itemsize", "data", "shape", "strides"):
            setattr(out, field, getattr(src, field))
        out.meminfo = cgutils.get_null_value(out.meminfo.type)
        out.parent = cgutils.get_null_value(out.parent.type)
        return out._getvalue()

    return arr(arr), codegen
