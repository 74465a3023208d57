"""max and min. The gradient goes to the elements equal to the result; when several tie, they
share it equally (each of k tied elements gets dy / k), so the gradient sums to dy whatever the
ties, and it is symmetric in the tied elements (the convention of np.maximum's rule in the core).
"""
from __future__ import annotations

import numpy as np
from yota import nondifferentiable, primitive

from .axes import kept_shape
from .sums import sum_p


@nondifferentiable
def tie_share(x, y, axes):
    """1/k at each of the k elements of ``x`` equal to the reduction's result ``y``, else 0."""
    hit = x == np.reshape(y, kept_shape(x.shape, axes))
    ties = np.sum(hit, axis=axes, keepdims=True)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    # ties is 0 only where y is nan (nan equals nothing): no element gets a share there.
    return hit.astype(dtype) / np.maximum(ties, 1).astype(dtype)


@primitive(nondiff_argnums=(1, 2, 3))
def extremum_vjp(dy, x, y, axes):
    """``dy`` sent back to the elements of ``x`` that produced ``y`` (shared among ties)."""
    return np.reshape(dy, kept_shape(x.shape, axes)) * tie_share.impl(x, y, axes)


# Linear in dy; the shares are piecewise constant in x, so x and y get no gradient.
extremum_vjp.defgrad(lambda g, out, dy, x, y, axes: sum_p(
    g * tie_share(x, y, axes), axis=axes, keepdims=dy.ndim == x.ndim))
extremum_vjp.declare(zero_gradient=(1, 2))


@primitive(name="max")
def max_p(x, axis=None, keepdims=False):
    return np.max(x, axis=axis, keepdims=keepdims)


@primitive(name="min")
def min_p(x, axis=None, keepdims=False):
    return np.min(x, axis=axis, keepdims=keepdims)


max_p.defgrad(lambda dy, y, x, axis=None, keepdims=False: extremum_vjp(dy, x, y, axis))
min_p.defgrad(lambda dy, y, x, axis=None, keepdims=False: extremum_vjp(dy, x, y, axis))
