"""Products: matmul (the primitive), and dot, inner, outer, tensordot, vdot, kron, cross built
from it and the core's shape primitives, so their gradients need no rules of their own.

matmul is the hot op of every dense network: its rules are one matmul and one transpose each
(``dy @ b.T``, ``a.T @ dy``), in the operands' dtype. NumPy's 1-D promotion is undone in the
rules; batch dimensions that were broadcast are summed by the engine.
"""
from __future__ import annotations

import numpy as np
from yota.core_pack.shape import moveaxis, reshape, stack, transpose
from yota.extend import Primitive, infix

from ._util import (add_last, add_second_last, drop_last, drop_second_last, mT, ndim,
                    normalize_axes, reject_out)

IMPLEMENTS = {}


# The ufunc itself: the static compiler calls it directly. Keywords (axes=, out=, dtype=) never
# reach it; the core's __array_ufunc__ handles or rejects them.
matmul = Primitive(np.matmul, name="matmul")
matmul.defemit("numpy", infix("@"))  # compiled code reads ``a @ b``


@matmul.defgrad
def _matmul_grad_a(dy, y, a, b):
    na, nb = ndim(a), ndim(b)
    if na == 1:
        if nb == 1:                       # a . b: a scalar
            return dy * b
        if nb == 2:                       # (n,) @ (n, m) -> (m,)
            return matmul(b, dy)
        return drop_last(matmul(b, add_last(dy)))   # (..., n, m) @ (..., m, 1)
    if nb == 1:                           # (..., m, n) @ (n,) -> (..., m): an outer product
        return add_last(dy) * b
    return matmul(dy, mT(b))


@matmul.defgrad(argnum=1)
def _matmul_grad_b(dy, y, a, b):
    na, nb = ndim(a), ndim(b)
    if nb == 1:
        if na == 1:
            return dy * a
        if na == 2:                       # (m, n) @ (n,) -> (m,)
            return matmul(dy, a)
        return drop_second_last(matmul(add_second_last(dy), a))  # (..., 1, m) @ (..., m, n)
    if na == 1:                           # (n,) @ (..., n, m) -> (..., m): an outer product
        return reshape(a, (-1, 1)) * add_second_last(dy)
    return matmul(mT(a), dy)


IMPLEMENTS[np.matmul] = matmul


def linalg_matmul(x1, x2, /):
    return matmul(x1, x2)


if hasattr(np.linalg, "matmul"):
    IMPLEMENTS[np.linalg.matmul] = linalg_matmul


# --- built from matmul -------------------------------------------------------------------------
def dot(a, b, out=None):
    """np.dot: a product with scalars, matmul up to 2-D, a tensordot over (a[-1], b[-2]) above."""
    reject_out("dot", out)
    na, nb = ndim(a), ndim(b)
    if na == 0 or nb == 0:
        return a * b
    if na == 1 or nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))


def inner(a, b, /):
    """np.inner: sums over the last axis of both."""
    na, nb = ndim(a), ndim(b)
    if na == 0 or nb == 0:
        return a * b
    if nb == 1:
        return matmul(a, b)
    if na == 1:
        return matmul(b, a)
    if na == 2 and nb == 2:
        return matmul(a, mT(b))
    return tensordot(a, b, axes=([-1], [-1]))


def outer(a, b, out=None):
    """np.outer: both flattened, a column times a row."""
    reject_out("outer", out)
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def vdot(a, b, /):
    """np.vdot for real arrays: the dot product of the flattened arrays."""
    return matmul(reshape(a, (-1,)), reshape(b, (-1,)))


def _tensordot_axes(axes, na, nb):
    try:
        axes_a, axes_b = axes
    except (TypeError, ValueError):
        if not isinstance(axes, (int, np.integer)):
            raise TypeError(
                f"yota-linalg: numpy.tensordot: axes must be an int or a pair of axis "
                f"sequences, got {axes!r}") from None
        n = max(int(axes), 0)             # NumPy reads a negative count as 0: an outer product
        if n > min(na, nb):
            raise ValueError(f"yota-linalg: numpy.tensordot: axes={n} needs both operands to "
                             f"have at least {n} dimensions (they have {na} and {nb})")
        return tuple(range(na - n, na)), tuple(range(n))
    axes_a = (axes_a,) if isinstance(axes_a, (int, np.integer)) else tuple(axes_a)
    axes_b = (axes_b,) if isinstance(axes_b, (int, np.integer)) else tuple(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError(f"yota-linalg: numpy.tensordot: axes {axes!r} pair {len(axes_a)} axes "
                         f"of a with {len(axes_b)} of b; give as many of each")
    return (normalize_axes(axes_a, na, "tensordot"), normalize_axes(axes_b, nb, "tensordot"))


def tensordot(a, b, axes=2):
    """np.tensordot as NumPy does it: transpose, reshape to matrices, one matmul, reshape."""
    sa, sb = np.shape(a), np.shape(b)
    axes_a, axes_b = _tensordot_axes(axes, len(sa), len(sb))
    for i, j in zip(axes_a, axes_b):
        if sa[i] != sb[j]:
            raise ValueError(f"yota-linalg: numpy.tensordot: shape mismatch for sum: axis {i} "
                             f"of a has length {sa[i]}, axis {j} of b has {sb[j]}")
    free_a = [i for i in range(len(sa)) if i not in axes_a]
    free_b = [j for j in range(len(sb)) if j not in axes_b]
    k = int(np.prod([sa[i] for i in axes_a]))
    rows, cols = (int(np.prod([sa[i] for i in free_a])), int(np.prod([sb[j] for j in free_b])))
    out_shape = tuple(sa[i] for i in free_a) + tuple(sb[j] for j in free_b)
    a2 = _as_matrix(a, free_a + list(axes_a), (rows, k))    # sizes, not -1: zero-size works
    b2 = _as_matrix(b, list(axes_b) + free_b, (k, cols))
    return reshape(matmul(a2, b2), out_shape)


def _as_matrix(x, perm, shape):
    if perm != sorted(perm):
        x = transpose(x, tuple(perm))
    return reshape(x, shape)


def kron(a, b):
    """np.kron: interleave the axes of a and b with length-1 axes, multiply, merge pairs."""
    sa, sb = np.shape(a), np.shape(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    a2 = reshape(a, tuple(x for n in sa for x in (n, 1)))
    b2 = reshape(b, tuple(x for n in sb for x in (1, n)))
    return reshape(a2 * b2, tuple(m * n for m, n in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """np.cross of 2- and 3-vectors, from indexing, products and stack."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a = _to_last(a, axisa)
    b = _to_last(b, axisb)
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("yota-linalg: numpy.cross: incompatible dimensions for cross product "
                         "(dimension must be 2 or 3)")
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    if na == 3:
        a2 = a[..., 2]
    if nb == 3:
        b2 = b[..., 2]
    if na == 2:                      # a2 == 0
        x, y = a1 * b2, -(a0 * b2)
    elif nb == 2:                    # b2 == 0
        x, y = -(a2 * b1), a2 * b0
    else:
        x, y = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2
    c = stack(*np.broadcast_arrays(x, y, z), axis=-1)
    return c if axisc in (-1, np.ndim(c) - 1) else moveaxis(c, -1, axisc)


def _to_last(x, axis):
    return x if axis in (-1, ndim(x) - 1) else moveaxis(x, axis, -1)


# --- NumPy 2's vector gufuncs, as batched matmuls ----------------------------------------------
def _gufunc_kwargs(name, kwargs, allowed=()):
    reject_out(name, kwargs.pop("out", None))
    extra = [k for k in kwargs if k not in allowed]
    if extra:
        raise TypeError(f"yota-linalg: numpy.{name}(..., {', '.join(f'{k}=' for k in extra)}) "
                        "is not supported on tracked values")


def vecdot(x1, x2, /, **kwargs):
    """np.vecdot for real arrays: sum(x1 * x2, axis) with broadcasting, as (1, n) @ (n, 1)."""
    _gufunc_kwargs("vecdot", kwargs, ("axis",))
    axis = kwargs.get("axis", -1)
    x1, x2 = _to_last(x1, axis), _to_last(x2, axis)
    return drop_last(drop_last(matmul(add_second_last(x1), add_last(x2))))


def matvec(x1, x2, /, **kwargs):
    """np.matvec: (..., m, n) and (..., n) -> (..., m)."""
    _gufunc_kwargs("matvec", kwargs)
    return drop_last(matmul(x1, add_last(x2)))


def vecmat(x1, x2, /, **kwargs):
    """np.vecmat for real arrays: (..., n) and (..., n, m) -> (..., m)."""
    _gufunc_kwargs("vecmat", kwargs)
    return drop_second_last(matmul(add_second_last(x1), x2))


for _name, _impl in (("vecdot", vecdot), ("matvec", matvec), ("vecmat", vecmat)):
    if isinstance(getattr(np, _name, None), np.ufunc):
        IMPLEMENTS[getattr(np, _name)] = _impl


def linalg_vecdot(x1, x2, /, *, axis=-1):
    return vecdot(x1, x2, axis=axis)


if hasattr(np.linalg, "vecdot"):
    IMPLEMENTS[np.linalg.vecdot] = linalg_vecdot

IMPLEMENTS.update({np.dot: dot, np.inner: inner, np.outer: outer, np.vdot: vdot,
                   np.tensordot: tensordot, np.kron: kron, np.cross: cross})


# NumPy 2's np.linalg spellings (array API): same functions, keyword-only options.
def linalg_outer(x1, x2, /):
    return outer(x1, x2)


def linalg_tensordot(x1, x2, /, *, axes=2):
    return tensordot(x1, x2, axes)


def linalg_cross(x1, x2, /, *, axis=-1):
    return cross(x1, x2, axis=axis)


for _name, _impl in (("outer", linalg_outer), ("tensordot", linalg_tensordot),
                     ("cross", linalg_cross)):
    if hasattr(np.linalg, _name):
        IMPLEMENTS[getattr(np.linalg, _name)] = _impl

PRIMITIVES = (matmul,)
