"""Signals: convolve, correlate, interp, gradient.

``convolve_full`` is the one primitive: every mode of convolve and correlate is a slice of the
full convolution, and the full convolution's gradients are full convolutions again (with the
other argument reversed, then sliced), so every order works. ``interp`` and ``gradient`` are
compositions of arithmetic, indexing and concatenate, written like NumPy's own.
"""
from __future__ import annotations

import numpy as np

from ..errors import YotaError
from ..kernel.primitive import nondifferentiable, primitive
from ..kernel.tracked import Tracked
from ..registry import ImplementationTable
from .indexing import _array

IMPLEMENTS = ImplementationTable()
implements = IMPLEMENTS.implements


# --- convolve and correlate --------------------------------------------------------------------
@primitive
def convolve_full(a, v):
    """np.convolve(a, v, 'full') of two 1-D arrays."""
    return np.convolve(a, v)


convolve_full.defgrads(
    lambda dy, y, a, v: convolve_full(dy, v[::-1])[len(v) - 1:len(v) - 1 + len(a)],
    lambda dy, y, a, v: convolve_full(dy, a[::-1])[len(a) - 1:len(a) - 1 + len(v)],
).declare(static_shape=True, fresh=True)


def _window(full, n, m, mode, offset_same):
    """The part of the full result a mode keeps: NumPy's 'same' and 'valid' windows."""
    if mode == "full":
        return full
    k = min(n, m) - 1
    if mode == "same":
        return full[offset_same:offset_same + max(n, m)]
    if mode == "valid":
        return full[k:k + max(n, m) - k]
    raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")


def _vectors(name, a, v):
    a, v = np.ravel(a), np.ravel(v)   # NumPy reads 0-d inputs as vectors of length 1
    if len(a) == 0 or len(v) == 0:
        raise ValueError(f"{'a' if len(a) == 0 else 'v'} cannot be empty")
    return a, v


@implements(np.convolve)
def convolve(a, v, mode="full"):
    a, v = _vectors("convolve", a, v)
    n, m = len(a), len(v)
    return _window(convolve_full(a, v), n, m, mode, (min(n, m) - 1) // 2)


@implements(np.correlate)
def correlate(a, v, mode="valid"):
    """sum_n a[n + k] conj(v[n]): the convolution with conj(v) reversed."""
    a, v = _vectors("correlate", a, v)
    if np.iscomplexobj(_like(v)):
        v = np.conj(v)
    n, m = len(a), len(v)
    k = min(n, m) - 1
    return _window(convolve_full(a, v[::-1]), n, m, mode, k // 2 if n >= m else k - k // 2)


def _like(x):
    return np.empty(0, x.dtype) if type(x) is Tracked else x


# --- interp --------------------------------------------------------------------------------------
@nondifferentiable
def interp_segment(x, xp):
    """The segment j (xp[j] <= x < xp[j + 1], clipped to the ends) each x falls in."""
    return np.clip(np.searchsorted(xp, x, side="right") - 1, 0, max(len(xp) - 2, 0))


interp_segment.declare(static_shape=True)


def _tracked_table(table, like):
    """A plain table indexed by a tracked segment stays a recorded constant (no value guard)."""
    return table if type(table) is Tracked else _array(like, np.asarray(table, float))


@implements(np.interp)
def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise linear, as NumPy: slope * (x - xp[j]) + fp[j], fp[0] (or left) below xp[0] and
    fp[-1] (or right) from xp[-1] on. Differentiable in x, xp and fp (away from the knots)."""
    if period is not None:
        raise YotaError("yota: np.interp with period= is not supported on tracked values; "
                        "wrap x yourself (x % period) and extend xp, fp by one period")
    like = next(t for t in (x, xp, fp) if type(t) is Tracked)
    if np.ndim(xp) != 1 or np.ndim(fp) != 1 or len(xp) != len(fp) or len(xp) == 0:
        raise ValueError("fp and xp are not of the same length, or are not 1-D")
    xp, fp = _tracked_table(xp, like), _tracked_table(fp, like)
    lo = fp[0] if left is None else left
    hi = fp[-1] if right is None else right
    if len(xp) == 1:
        y = np.where(x < xp[0], lo, np.where(x > xp[0], hi, fp[0] + 0 * x))
        return y
    j = interp_segment(x, xp)
    x0, f0 = xp[j], fp[j]
    slope = (fp[j + 1] - f0) / (xp[j + 1] - x0)
    y = slope * (x - x0) + f0
    y = np.where(x == xp[-1], fp[-1], y)
    return np.where(x < xp[0], lo, np.where(x > xp[-1], hi, y))


# --- gradient ------------------------------------------------------------------------------------
def _slice(ndim, axis, start, stop=None):
    index = [slice(None)] * ndim
    index[axis] = slice(start, stop)
    return tuple(index)


def _along(v, ndim, axis):
    """A 1-D array of spacings shaped to broadcast along ``axis``."""
    shape = [1] * ndim
    shape[axis] = -1
    return np.reshape(v, shape)


def _uniform(f, ax, h, edge_order):
    nd = np.ndim(f)
    s = lambda a, b=None: f[_slice(nd, ax, a, b)]  # noqa: E731
    interior = (s(2) - s(None, -2)) / (2.0 * h)
    if edge_order == 1:
        first = (s(1, 2) - s(0, 1)) / h
        last = (s(-1) - s(-2, -1)) / h
    else:
        first = (-1.5 / h) * s(0, 1) + (2.0 / h) * s(1, 2) + (-0.5 / h) * s(2, 3)
        last = (0.5 / h) * s(-3, -2) + (-2.0 / h) * s(-2, -1) + (1.5 / h) * s(-1)
    return np.concatenate([first, interior, last], axis=ax)


def _nonuniform(f, ax, x, edge_order):
    nd = np.ndim(f)
    s = lambda a, b=None: f[_slice(nd, ax, a, b)]  # noqa: E731
    dx = x[1:] - x[:-1]
    d1, d2 = _along(dx[:-1], nd, ax), _along(dx[1:], nd, ax)
    interior = (-d2 / (d1 * (d1 + d2))) * s(None, -2) + ((d2 - d1) / (d1 * d2)) * s(1, -1) \
        + (d1 / (d2 * (d1 + d2))) * s(2)
    if edge_order == 1:
        first = (s(1, 2) - s(0, 1)) / dx[0]
        last = (s(-1) - s(-2, -1)) / dx[-1]
    else:
        a1, a2 = dx[0], dx[1]
        first = (-(2.0 * a1 + a2) / (a1 * (a1 + a2))) * s(0, 1) \
            + ((a1 + a2) / (a1 * a2)) * s(1, 2) + (-a1 / (a2 * (a1 + a2))) * s(2, 3)
        b1, b2 = dx[-2], dx[-1]
        last = (b2 / (b1 * (b1 + b2))) * s(-3, -2) + (-(b2 + b1) / (b1 * b2)) * s(-2, -1) \
            + ((2.0 * b2 + b1) / (b2 * (b1 + b2))) * s(-1)
    return np.concatenate([first, interior, last], axis=ax)


@implements(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    """Second-order central differences inside, first or second order at the edges; spacing a
    scalar or coordinates per axis, any of them tracked."""
    nd = np.ndim(f)
    axes = tuple(range(nd)) if axis is None else (
        (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis))
    axes = tuple(int(a) % nd if nd else a for a in axes)
    if len(varargs) == 0:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("invalid number of arguments")
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    dtype = f.dtype if type(f) is Tracked else np.result_type(f)
    if dtype.kind not in "fc":
        f = f.astype(np.float64)
    outs = []
    for ax, h in zip(axes, spacing):
        n = np.shape(f)[ax]
        if n < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                             "least (edge_order + 1) elements are required.")
        if np.ndim(h) == 0:
            outs.append(_uniform(f, ax, h, edge_order))
            continue
        if np.ndim(h) != 1 or len(h) != n:
            raise ValueError("when 1d, distances must match the length of the corresponding "
                             "dimension")
        if type(h) is not Tracked:
            diffs = np.diff(np.asarray(h, float))
            if np.all(diffs == diffs[0]):      # NumPy's own branch for even coordinates
                outs.append(_uniform(f, ax, diffs[0], edge_order))
                continue
        outs.append(_nonuniform(f, ax, h, edge_order))
    return outs[0] if len(outs) == 1 else tuple(outs)
