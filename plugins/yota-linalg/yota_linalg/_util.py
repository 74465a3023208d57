"""Small shape helpers the rules share. They call the core's primitives directly (no NumPy
dispatch), so they cost one recorded op on tracked values and plain NumPy on arrays."""
from __future__ import annotations

import numpy as np
from yota.core_pack.shape import reshape, transpose
from yota.errors import reject_out

_AxisError = getattr(np, "exceptions", np).AxisError

__all__ = ["ndim", "mT", "mH", "conj_if", "add_last", "add_second_last", "drop_last", "drop_second_last",
           "keep_shape", "reject_out"]


def ndim(x):
    """``x.ndim`` without NumPy's dispatch for arrays and tracked values; lists and scalars too."""
    try:
        return x.ndim
    except AttributeError:
        return np.ndim(x)


def mH(x):
    """The conjugate transpose for complex ``x``; ``mT`` for real (no extra op)."""
    return np.conj(mT(x)) if x.dtype.kind == "c" else mT(x)


def conj_if(x, cplx):
    """``conj(x)`` when ``cplx``: the rules of complex decompositions work with the cotangent
    Abar (dL = Re tr(Abar^H dA)), which is the conjugate of the gradient yota holds."""
    return np.conj(x) if cplx else x


def mT(x):
    """Swap the last two axes: a plain ``.T`` for a matrix, a batched transpose for a stack."""
    n = ndim(x)
    if n == 2:
        return transpose(x)
    return transpose(x, tuple(range(n - 2)) + (n - 1, n - 2))


def add_last(x):
    """``x[..., None]`` as a reshape (cheaper to record and replay than indexing)."""
    return reshape(x, x.shape + (1,))


def add_second_last(x):
    """``x[..., None, :]`` as a reshape."""
    s = x.shape
    return reshape(x, s[:-1] + (1,) + s[-1:])


def drop_last(x):
    """``x[..., 0]`` for a last axis of length 1."""
    return reshape(x, x.shape[:-1])


def drop_second_last(x):
    """``x[..., 0, :]`` for a second-to-last axis of length 1."""
    s = x.shape
    return reshape(x, s[:-2] + s[-1:])


def normalize_axes(axes, nd, name):
    """Non-negative axis numbers, checked against ``nd`` dimensions."""
    out = []
    for ax in axes:
        ax = int(ax)
        if not -nd <= ax < nd:
            raise _AxisError(ax, nd, f"yota-linalg: numpy.{name}")
        out.append(ax + nd if ax < 0 else ax)
    return tuple(out)


def keep_shape(shape, axes):
    """The shape a reduction over ``axes`` has with keepdims=True (``axes=None``: all axes)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))
