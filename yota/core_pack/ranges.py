"""linspace, logspace and geomspace with tracked endpoints (and base).

Compositions of arithmetic, concatenate and moveaxis, written the way NumPy computes them
(``arange(num) * step + start``, the last sample replaced by ``stop``), so the values match
NumPy's bit for bit and the gradients, every order and static graphs come for free. ``num`` is
an int: the output's shape follows from the arguments' shapes.
"""
from __future__ import annotations

import operator

import numpy as np

from ..kernel.tracked import Tracked
from ..registry import ImplementationTable

IMPLEMENTS = ImplementationTable()
implements = IMPLEMENTS.implements


def _strong(x):
    """What np.result_type sees: a tracked value's dtype (an array's is never weak)."""
    return x.dtype if type(x) is Tracked else x


def _first_axis_to(y, axis):
    return y if axis == 0 else np.moveaxis(y, 0, axis)


def _samples(start, stop, num, endpoint, dt):
    """NumPy's linspace along a new first axis, and its step."""
    div = (num - 1) if endpoint else num
    delta = stop - start
    shape = np.shape(delta)
    t = np.arange(num, dtype=dt).reshape((-1,) + (1,) * len(shape))
    step = delta / div if div > 0 else np.nan
    y = t * step + start if div > 0 else t * delta + start
    if endpoint and num > 1:
        last = np.reshape(np.broadcast_to(stop, shape), (1,) + shape)
        y = np.concatenate([y[:-1], astype_(last, dt)], axis=0)
    return y, step


def astype_(x, dt):
    return x.astype(dt) if np.result_type(_strong(x)) != dt else x


@implements(np.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, **kwargs):
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    dt = np.result_type(_strong(start), _strong(stop), float(num))
    if dt.kind not in "fc":
        dt = np.dtype(np.float64)
    y, step = _samples(start, stop, num, endpoint, dt)
    y = _first_axis_to(y, axis)
    if dtype is not None:
        y = astype_(y, np.dtype(dtype))
    return (y, step) if retstep else y


@implements(np.logspace)
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    if np.ndim(base):
        shape = np.broadcast_shapes(np.shape(start), np.shape(stop), np.shape(base))
        base = np.expand_dims(np.broadcast_to(base, shape), axis)
    out = np.power(base, y)
    return out if dtype is None else astype_(out, np.dtype(dtype))


@implements(np.geomspace)
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """NumPy's rotation to positive values: sign(start) * logspace(log10 |start|, ...), with the
    endpoints set to start and stop exactly."""
    start, stop = start * 1.0, stop * 1.0
    if bool(np.any(start == 0)) or bool(np.any(stop == 0)):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(_strong(start), _strong(stop), float(num))
    start, stop = astype_(start, dt), astype_(stop, dt)
    sign = np.sign(start)
    start, stop = start / sign, stop / sign
    y = logspace(np.log10(start), np.log10(stop), num=num, endpoint=endpoint)
    shape = np.shape(y)[1:]
    ends = [np.reshape(np.broadcast_to(start, shape), (1,) + shape)] if num > 0 else []
    middle = y[1:-1] if endpoint and num > 1 else y[1:]
    if endpoint and num > 1:
        ends.append(np.reshape(np.broadcast_to(stop, shape), (1,) + shape))
    y = np.concatenate([ends[0], middle] + ends[1:], axis=0) if num > 0 else y
    y = _first_axis_to(y * sign, axis)
    return y if dtype is None else astype_(y, np.dtype(dtype))
