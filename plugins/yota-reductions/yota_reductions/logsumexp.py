"""logsumexp: ``log(sum(exp(x)))`` over axes without overflow, for users to import from the pack.

The largest element is subtracted before exponentiating (an all ``-inf`` row gives ``-inf``, not
nan). The gradient is the softmax of ``x`` along the reduced axes, ``exp(x - y)``.
"""
from __future__ import annotations

import numpy as np
from yota import primitive
from yota.packs import pack_primitive

from .axes import kept_shape, normalize_axes
from .sums import expand, sum_p


@pack_primitive(pack="yota-reductions")
def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))``, numerically stable; ``axis`` None, an int or a tuple."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    axes = normalize_axes(axis, x.ndim)
    if x.size:  # the ndarray methods skip np.max's Python-level dispatch: this runs per step
        shift = x.max(axis=axes, keepdims=True)
    else:
        shift = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
    if not np.isfinite(shift).all():
        shift = np.where(np.isfinite(shift), shift, 0)
    e = np.asarray(x - shift)  # 0-d inputs give a scalar, which takes no out=
    np.exp(e, out=e)
    with np.errstate(divide="ignore"):  # log(0) = -inf for all -inf rows, on purpose
        out = np.log(e.sum(axis=axes, keepdims=True))
    out += shift
    if not keepdims:
        out = out.reshape([n for i, n in enumerate(x.shape) if axes is not None and i not in axes])
    return out[()] if out.ndim == 0 else out


@primitive(nondiff_argnums=(2,))
def shifted_exp(x, y, axes):
    """``exp(x - y)``, ``y`` a log-sum-exp over ``axes`` broadcast back (0 where ``y`` is -inf)."""
    yk = np.reshape(y, kept_shape(np.shape(x), axes))
    if np.isneginf(yk).any():
        yk = np.where(yk == -np.inf, 0, yk)
    e = np.asarray(x - yk)
    return np.exp(e, out=e)


shifted_exp.defgrad(lambda g, p, x, y, axes: g * p, argnum=0)
shifted_exp.defgrad(lambda g, p, x, y, axes: -sum_p(g * p, axis=axes, keepdims=y.ndim == x.ndim),
                    argnum=1)


@logsumexp.defgrad
def _logsumexp_grad(dy, y, x, axis=None, keepdims=False):
    axes = normalize_axes(axis, x.ndim)
    return expand(dy, x.shape, axes) * shifted_exp(x, y, axes)
