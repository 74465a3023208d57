"""The engine's own primitives: summing broadcast axes away, casting, and the real part.

The backward pass applies them to every rule's result (backward.py), so they belong to the
kernel; the core pack registers them for NumPy's ``broadcast_to``, ``astype`` and ``real``.
"""
import numpy as np

from .emit import passes_first_on
from .primitive import primitive

__all__ = ["sum_to", "broadcast_to", "astype", "real"]


@primitive(nondiff_argnums=(1,))
def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the inverse of broadcasting ``shape`` up to ``x.shape``)."""
    x = np.asarray(x)
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    out = x.sum(axis=axes, keepdims=True) if axes else x
    return out.reshape(shape) if lead else out


@primitive(nondiff_argnums=(1,))
def broadcast_to(x, shape):
    return np.broadcast_to(x, shape)


sum_to.defgrad(lambda dy, y, x, shape: broadcast_to(dy, np.shape(x)))
broadcast_to.defgrad(lambda dy, y, x, shape: sum_to(dy, np.shape(x)))
# sum_to is only left in a compiled program when it really sums (else it is a no-op): a new buffer
sum_to.declare(static_shape=True, fresh=True, noop=passes_first_on)
broadcast_to.declare(static_shape=True, noop=passes_first_on)


@sum_to.defemit("numpy")
def _emit_sum_to(em, ins):
    """``x.sum(axis=(0,))``, the axes worked out from the traced shapes."""
    x = ins.args[0]
    aval = em.aval(x)
    if aval is None or not aval.is_array:
        return None
    have, want = aval.shape, tuple(em.avals[ins.out].shape)
    lead = len(have) - len(want)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(want)
                                      if n == 1 and have[lead + i] != 1)
    if not axes:
        return None
    if len(axes) == lead and want:  # only leading axes: summing them gives the shape directly
        return f"{em.ref(x)}.sum(axis={em.const(axes)})"
    # a sum of every axis would be a NumPy scalar, where sum_to gives a 0-d array (its traced
    # aval, which backends trust: yota-numba indexes a 0-d array with [()]): keepdims, reshape
    text = f"{em.ref(x)}.sum(axis={em.const(axes)}, keepdims=True)"
    if lead:
        text += f".reshape({em.const(want)})"
    return text


@primitive
def real(x):
    return np.real(x)


real.defgrad(lambda dy, y, x: dy)          # the engine makes it complex for a complex x


@primitive(nondiff_argnums=(1,))
def astype(x, dtype):
    return np.asarray(x).astype(dtype)


@astype.defgrad
def _astype_grad(dy, y, x, dtype):
    if x.dtype.kind != "c" and np.result_type(dy.dtype).kind == "c":
        dy = real(dy)  # a real x gets the real part (see backward.py)
    return astype(dy, x.dtype)


astype.declare(static_shape=True, fresh=True, noop=passes_first_on)


@astype.defemit("numpy")
def _emit_astype(em, ins):
    """``x.astype(float32)`` when both sides are arrays."""
    x = ins.args[0]
    aval = em.aval(x)
    if aval is None or aval.dtype is None:
        return None
    dtype = ins.args[1] if len(ins.args) > 1 else ins.kwargs.get("dtype")
    out = em.avals[ins.out]
    if aval.type is np.ndarray and out.type is np.ndarray:
        return f"{em.ref(x)}.astype({em.const(np.dtype(dtype))})"
    return None
