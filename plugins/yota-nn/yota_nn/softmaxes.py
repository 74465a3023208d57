"""softmax and log_softmax along an axis, stable (the row maximum is subtracted first), each one
primitive with a fused rule. ``sum_along`` is this pack's own keepdims sum, so the pack works
without yota-reductions."""
from __future__ import annotations

import numpy as np
from yota import primitive
from yota.packs import pack_primitive



@primitive(nondiff_argnums=(1,))
def sum_along(x, axis):
    """``np.sum(x, axis, keepdims=True)``."""
    return np.sum(x, axis=axis, keepdims=True)


sum_along.defgrad(lambda g, y, x, axis: np.broadcast_to(g, x.shape))


def _shifted(x, axis):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    return x - np.max(x, axis=axis, keepdims=True)


@pack_primitive(pack="yota-nn")
def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis)``, computed as ``exp(x - max)`` so it never overflows."""
    e = np.exp(_shifted(x, axis))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


@primitive
def softmax_vjp(dy, y, axis=-1):
    """``y * (dy - sum(dy * y, axis))``: the softmax Jacobian (symmetric) applied to ``dy``."""
    p = dy * y
    return p - y * np.sum(p, axis=axis, keepdims=True)


softmax.defgrad(lambda dy, y, x, axis=-1: softmax_vjp(dy, y, axis))
softmax_vjp.defgrads(
    lambda g, out, dy, y, axis=-1: softmax_vjp(g, y, axis),
    lambda g, out, dy, y, axis=-1: (g * (dy - sum_along(dy * y, axis))
                                    - dy * sum_along(g * y, axis)),
)


@pack_primitive(pack="yota-nn")
def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis)``, stable: ``log`` only sees sums that are at least 1."""
    s = _shifted(x, axis)
    s -= np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    return s


@primitive
def log_softmax_vjp(dy, y, axis=-1):
    """``dy - exp(y) * sum(dy, axis)`` from log_softmax's output ``y``."""
    return dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True)


log_softmax.defgrad(lambda dy, y, x, axis=-1: log_softmax_vjp(dy, y, axis))
log_softmax_vjp.defgrads(
    lambda g, out, dy, y, axis=-1: g - sum_along(g * np.exp(y), axis),
    lambda g, out, dy, y, axis=-1: -g * np.exp(y) * sum_along(dy, axis),
)
