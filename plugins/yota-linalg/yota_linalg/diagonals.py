"""trace (a primitive) and diag (built from the core's getitem and index_add); np.linalg's
diagonal and matrix_transpose."""
from __future__ import annotations

import numpy as np
from yota.core_pack.indexing import index_add
from yota.core_pack.shape import astype, reshape, transpose
from yota.extend import primitive

from ._util import mT, ndim, normalize_axes, reject_out

IMPLEMENTS = {}


@primitive
def trace(a, *, offset=0, axis1=0, axis2=1):
    return np.trace(a, offset, axis1, axis2)


@trace.defgrad
def _trace_grad(dy, y, a, *, offset=0, axis1=0, axis2=1):
    """dy placed on the offset diagonal: dy[..., None, None] * eye, then axes moved back."""
    shape = a.shape
    ax1, ax2 = normalize_axes((axis1, axis2), len(shape), "trace")
    eye = np.eye(shape[ax1], shape[ax2], k=offset, dtype=dy.dtype)
    g = reshape(dy, dy.shape + (1, 1)) * eye       # (rest..., n1, n2)
    rest = [i for i in range(len(shape)) if i not in (ax1, ax2)]
    order = rest + [ax1, ax2]                       # axis of a held by each axis of g
    perm = tuple(order.index(i) for i in range(len(shape)))
    return g if perm == tuple(range(len(shape))) else transpose(g, perm)


def trace_(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    reject_out("trace", out)
    if ndim(a) < 2:
        raise ValueError("yota-linalg: numpy.trace needs an array with at least 2 dimensions, "
                         f"got {ndim(a)}")
    if dtype is not None:
        a = astype(a, dtype)
    return trace(a, offset=offset, axis1=axis1, axis2=axis2)


def _diagonal_index(n, m, k):
    """Row and column indices of the k-th diagonal of an n x m matrix."""
    length = max(0, min(n + min(k, 0), m - max(k, 0)))
    i = np.arange(length)
    return i + max(-k, 0), i + max(k, 0)


def diag(v, k=0):
    """np.diag: a 1-D v becomes a square matrix with v on diagonal k; a 2-D v gives diagonal k."""
    shape = np.shape(v)
    if len(shape) == 1:
        n = shape[0] + abs(k)
        rows, cols = _diagonal_index(n, n, k)
        return index_add(v, index=(rows, cols), shape=(n, n))
    if len(shape) == 2:
        rows, cols = _diagonal_index(shape[0], shape[1], k)
        return v[rows, cols]
    raise ValueError(f"yota-linalg: numpy.diag needs a 1-D or 2-D array, got {len(shape)}-D")


IMPLEMENTS.update({np.trace: trace_, np.diag: diag})


def linalg_trace(x, /, *, offset=0, dtype=None):
    """np.linalg.trace: over the last two axes."""
    return trace_(x, offset, -2, -1, dtype)


if hasattr(np.linalg, "trace"):
    IMPLEMENTS[np.linalg.trace] = linalg_trace


def linalg_diagonal(x, /, *, offset=0):
    """np.linalg.diagonal: the diagonals of the last two axes (the core's np.diagonal)."""
    return np.diagonal(x, offset, -2, -1)


def matrix_transpose(x, /):
    """np.linalg.matrix_transpose: the last two axes swapped."""
    if ndim(x) < 2:
        raise ValueError("yota-linalg: numpy.linalg.matrix_transpose needs at least 2 "
                         f"dimensions, got {ndim(x)}")
    return mT(x)


for _name, _impl in (("diagonal", linalg_diagonal), ("matrix_transpose", matrix_transpose)):
    if hasattr(np.linalg, _name):
        IMPLEMENTS[getattr(np.linalg, _name)] = _impl
PRIMITIVES = (trace,)
