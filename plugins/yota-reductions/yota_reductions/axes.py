"""Axis bookkeeping shared by every reduction: normalising ``axis`` and the keepdims shape."""
from __future__ import annotations

import operator

import numpy as np

AxisError = getattr(np, "exceptions", np).AxisError


def normalize_axes(axis, ndim):
    """``None`` stays ``None`` (every axis); an int or a sequence of ints becomes a sorted tuple of
    non-negative axes. Out-of-range and repeated axes raise as NumPy does."""
    if axis is None:
        return None
    try:
        axes = (operator.index(axis),)
    except TypeError:
        axes = tuple(operator.index(a) for a in axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise AxisError(ax, ndim)
        out.append(ax + ndim if ax < 0 else ax)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in 'axis': {axis!r}")
    return tuple(sorted(out))


def kept_shape(shape, axes):
    """The shape a reduction over ``axes`` (None: all) returns with ``keepdims=True``."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def count(shape, axes):
    """How many elements each output of a reduction over ``axes`` combines."""
    if axes is None:
        return int(np.prod(shape, dtype=np.int64))
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n
