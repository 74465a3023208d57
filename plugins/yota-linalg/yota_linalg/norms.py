"""np.linalg.norm as two primitives, vector_norm and matrix_norm, dispatched like NumPy does.

Gradients at kinks, by convention:
- 2-norm and Frobenius norm at 0: 0 (the subgradient of smallest size), not NaN;
- 1-norm: sign(x), so 0 where an element is 0 (conj(x) / |x| for complex x, like abs);
- inf-norms and the matrix 1/inf-norms: the maximum (or minimum) is shared equally among ties;
- ord=0 counts nonzeros: gradient 0;
- spectral norms (ord=2/-2) and nuclear norm: u1 v1^T (or the last pair) and U V^T from the
  svd primitives, with tied singular values resolved as the SVD returns them. Differentiated
  again, they need distinct (and, for non-square matrices, nonzero) singular values: the second
  derivative goes through the singular vectors' rules.
"""
from __future__ import annotations

import numpy as np
from yota.core_pack.indexing import where
from yota.core_pack.shape import moveaxis, reshape, sum_to, transpose
from yota.extend import primitive

from ._util import keep_shape, ndim, normalize_axes
from .decompositions import svd_u, svd_vh
from .products import matmul

IMPLEMENTS = {}


def _kept(dy, y, shape, axes, keepdims):
    """dy and y with the reduced axes back as length-1 axes, to broadcast against x."""
    if keepdims:
        return dy, y
    ks = keep_shape(shape, axes)
    return reshape(dy, ks), reshape(y, ks)


def _over_norm(dy, x, y):
    """dy * x / y (conj(x) for complex x: the gradient of |x|), and 0 where the norm is 0."""
    return dy * _conj(x) / where(y == 0, 1.0, y)


def _conj(x):
    return np.conj(x) if x.dtype.kind == "c" else x


def _sign(x):
    """sign(x), or conj(x) / |x| for complex x (the gradient of |x|; 0 at 0)."""
    if x.dtype.kind != "c":
        return np.sign(x)
    r = np.abs(x)
    return np.conj(x) / where(r == 0, 1.0, r)


def _shared(hit, ks):
    """1 / (number of ties) where ``hit``, 0 elsewhere; counted over the reduced axes."""
    hit = where(hit, 1.0, 0.0)
    return hit / sum_to(hit, ks)


# --- vector norms --------------------------------------------------------------------------------
@primitive
def vector_norm(x, *, ord=None, axis=None, keepdims=False):
    """``axis=None`` is the 2-norm of all elements (NumPy's default); else one int axis."""
    return np.linalg.norm(x, ord, axis, keepdims)


@vector_norm.defgrad
def _vector_norm_grad(dy, y, x, *, ord=None, axis=None, keepdims=False):
    shape = x.shape
    axes = None if axis is None else normalize_axes((axis,), len(shape), "linalg.norm")
    dy, y = _kept(dy, y, shape, axes, keepdims)
    if ord is None or ord == 2:
        return _over_norm(dy, x, y)
    if ord == 1:
        return dy * _sign(x)
    if ord == np.inf or ord == -np.inf:
        return dy * _sign(x) * _shared(np.abs(x) == y, keep_shape(shape, axes))
    if ord == 0:
        return dy * (0 * x)
    p = float(ord)                        # d ||x||_p = sign(x) |x|^(p-1) / ||x||^(p-1)
    return dy * _sign(x) * (np.abs(x) / where(y == 0, 1.0, y)) ** (p - 1)


# --- matrix norms --------------------------------------------------------------------------------
@primitive
def matrix_norm(x, *, ord=None, axis=(0, 1), keepdims=False):
    return np.linalg.norm(x, ord, axis, keepdims)


@matrix_norm.defgrad
def _matrix_norm_grad(dy, y, x, *, ord=None, axis=(0, 1), keepdims=False):
    shape = x.shape
    axis = normalize_axes(axis, len(shape), "linalg.norm")
    dy, y = _kept(dy, y, shape, axis, keepdims)
    if ord is None or ord == "fro":
        return _over_norm(dy, x, y)
    if ord in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum (rows summed); inf: the largest row sum (columns summed).
        summed = axis[0] if ord in (1, -1) else axis[1]
        sums = sum_to(np.abs(x), keep_shape(shape, (summed,)))
        return dy * _sign(x) * _shared(sums == y, keep_shape(shape, axis))
    if ord in (2, -2, "nuc"):
        return dy * _svd_norm_grad(x, ord, axis)
    raise ValueError(f"yota-linalg: numpy.linalg.norm: invalid norm order {ord!r} for matrices")


def _svd_norm_grad(x, ord, axis):
    """The gradient of the spectral (ord=+-2) or nuclear norm, u1 v1^T or U V^T, written with the
    svd primitives so that it differentiates again (conj(U V^H) for complex x)."""
    m = moveaxis(x, axis, (-2, -1))
    u = svd_u(m, full_matrices=False, hermitian=False)
    vh = svd_vh(m, full_matrices=False, hermitian=False)
    if ord == "nuc":
        g = matmul(u, vh)
    else:
        pick = slice(0, 1) if ord == 2 else slice(-1, None)   # largest or smallest
        g = matmul(u[..., :, pick], vh[..., pick, :])
    return moveaxis(_conj(g), (-2, -1), axis)


def norm(x, ord=None, axis=None, keepdims=False):
    """np.linalg.norm on tracked values, choosing a vector or a matrix norm as NumPy does."""
    nd = ndim(x)
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            return vector_norm(x, keepdims=keepdims)
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        try:
            axis = (int(axis),)
        except TypeError:
            raise TypeError("yota-linalg: numpy.linalg.norm: axis must be None, an int or a "
                            f"tuple of ints, got {axis!r}") from None
    axis = normalize_axes(axis, nd, "linalg.norm")
    if len(axis) == 1:
        if isinstance(ord, str):
            raise ValueError(f"yota-linalg: numpy.linalg.norm: invalid norm order {ord!r} for "
                             "vectors")
        return vector_norm(x, ord=ord, axis=axis[0], keepdims=keepdims)
    if len(axis) == 2:
        if axis[0] == axis[1]:
            raise ValueError("yota-linalg: numpy.linalg.norm: duplicate axes given")
        return matrix_norm(x, ord="fro" if ord == "f" else ord, axis=axis, keepdims=keepdims)
    raise ValueError("yota-linalg: numpy.linalg.norm: improper number of dimensions to norm "
                     f"({len(axis)} axes; give 1 for a vector norm or 2 for a matrix norm)")


IMPLEMENTS[np.linalg.norm] = norm
if hasattr(np.linalg, "vector_norm"):
    def _vector_norm_(x, /, *, axis=None, keepdims=False, ord=2):
        if axis is None and ord in (2, None):
            return vector_norm(x, keepdims=keepdims)
        if axis is None:                         # any ord over all elements: flatten first
            flat = vector_norm(reshape(x, (-1,)), ord=ord, axis=0)
            return reshape(flat, (1,) * ndim(x)) if keepdims else flat
        if isinstance(axis, tuple) and len(axis) > 1:
            return _over_axes(x, ord, axis, keepdims)
        return norm(x, ord=ord, axis=axis, keepdims=keepdims)

    def _over_axes(x, ord, axis, keepdims):
        """A vector norm over several axes: those axes moved last and merged into one."""
        shape = np.shape(x)
        axes = normalize_axes(axis, len(shape), "linalg.vector_norm")
        if len(set(axes)) != len(axes):
            raise ValueError("yota-linalg: numpy.linalg.vector_norm: duplicate axes given")
        rest = [i for i in range(len(shape)) if i not in axes]
        merged = tuple(shape[i] for i in rest) + (int(np.prod([shape[i] for i in axes])),)
        out = vector_norm(reshape(transpose(x, tuple(rest) + axes), merged), ord=ord,
                          axis=len(rest))
        return reshape(out, keep_shape(shape, axes)) if keepdims else out

    def _matrix_norm_(x, /, *, keepdims=False, ord="fro"):
        return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)

    IMPLEMENTS[np.linalg.vector_norm] = _vector_norm_
    IMPLEMENTS[np.linalg.matrix_norm] = _matrix_norm_
PRIMITIVES = (vector_norm, matrix_norm)
