"""The engine's own primitives: summing broadcast axes away, casting, and the real part.

The backward pass applies them to every rule's result (backward.py), so they belong to the
kernel; the core pack registers them for NumPy's ``broadcast_to``, ``astype`` and ``real``.
"""
import numpy as np

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
