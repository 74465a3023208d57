"""sum, mean, var and std as primitives, and ``expand``, the adjoint of summing.

Each is one primitive whose value is NumPy's own (same dtype rules: the mean of float32 is
float32). The engine only sums broadcast axes *down*, so a reduction's rule goes back *up*
explicitly: ``expand`` reshapes the output gradient to the keepdims shape and broadcasts it to the
input's shape. That is one recorded op per rule, and its own rule is a sum.
"""
from __future__ import annotations

import numpy as np
from yota import primitive

from .axes import count, kept_shape


@primitive(nondiff_argnums=(1, 2))
def expand(dy, shape, axes):
    """``dy`` (reduced, or with kept dims) broadcast back to ``shape``; ``axes`` were reduced."""
    return np.broadcast_to(np.reshape(dy, kept_shape(shape, axes)), shape)


@primitive(name="sum")
def sum_p(x, axis=None, keepdims=False, dtype=None):
    return np.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


sum_p.defgrad(lambda dy, y, x, axis=None, keepdims=False, dtype=None: expand(dy, x.shape, axis))
expand.defgrad(lambda g, y, dy, shape, axes: sum_p(g, axis=axes, keepdims=dy.ndim == len(shape)))


@primitive(name="mean")
def mean_p(x, axis=None, keepdims=False, dtype=None):
    return np.mean(x, axis=axis, dtype=dtype, keepdims=keepdims)


@mean_p.defgrad
def _mean_grad(dy, y, x, axis=None, keepdims=False, dtype=None):
    n = count(x.shape, axis)
    return expand(dy / n if n else dy, x.shape, axis)


def _over_dof(c, shape, axis, ddof):
    """``c / (n - ddof)`` as a Python float (so float32 stays float32); inf when n <= ddof, where
    NumPy's var is inf or nan too."""
    dof = count(shape, axis) - ddof
    return c / dof if dof > 0 else float("inf")


def _centered(x, axis):
    return x - mean_p(x, axis=axis, keepdims=True)


@primitive(name="var")
def var_p(x, axis=None, keepdims=False, dtype=None, ddof=0):
    return np.var(x, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)


@var_p.defgrad
def _var_grad(dy, y, x, axis=None, keepdims=False, dtype=None, ddof=0):
    # d var / dx_i = 2 (x_i - mean) / (n - ddof); the mean's own dependence on x cancels out.
    return expand(dy * _over_dof(2.0, x.shape, axis, ddof), x.shape, axis) * _centered(x, axis)


@primitive(name="std")
def std_p(x, axis=None, keepdims=False, dtype=None, ddof=0):
    return np.std(x, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)


@std_p.defgrad
def _std_grad(dy, y, x, axis=None, keepdims=False, dtype=None, ddof=0):
    # d std = d var / (2 std). Where std is 0 (all elements equal) the gradient is 0: the
    # subgradient of least norm, as for |x| at 0, rather than 0/0.
    safe = np.where(y == 0, np.inf, y)
    scaled = dy * _over_dof(1.0, x.shape, axis, ddof) / safe
    return expand(scaled, x.shape, axis) * _centered(x, axis)


# --- running sums ------------------------------------------------------------------------------
@primitive(name="cumsum", nondiff_argnums=(1,))
def cumsum_p(x, axis, dtype=None):
    return np.cumsum(x, axis=axis, dtype=dtype)


@primitive(nondiff_argnums=(1,))
def reverse_cumsum(dy, axis):
    """Running sums from the end along ``axis``: the transpose of cumsum."""
    return np.flip(np.cumsum(np.flip(dy, axis), axis=axis), axis)


cumsum_p.defgrad(lambda dy, y, x, axis, dtype=None: reverse_cumsum(dy, axis))
reverse_cumsum.defgrad(lambda g, y, dy, axis: cumsum_p(g, axis))
