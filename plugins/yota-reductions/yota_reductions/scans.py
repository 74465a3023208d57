"""Along one axis: running products (np.cumprod), running extrema (np.maximum.accumulate) and
differences (np.diff).

cumprod's gradient at x_i is ``sum over j >= i of dy_j * prod(x_k for k <= j, k != i)``, which is
``y_(i-1) * s_i`` with ``s_i = dy_i + x_(i+1) * s_(i+1)``: a first-order linear recurrence run
from the end. ``linear_scan`` solves such recurrences in log2(n) vectorised steps, with products
and sums only (no division), so the gradient is exact with zeros in the input. The rules of
``linear_scan`` are linear scans again, so every order of derivative works.
"""
from __future__ import annotations

import numpy as np
from yota import nondifferentiable, primitive

from .numpy_api import _no_out, implements
from .axes import normalize_axes


def _one_axis(a, axis):
    (ax,) = normalize_axes(axis, np.ndim(a))
    return ax


# --- shifting and linear recurrences ------------------------------------------------------------
@primitive
def shifted(x, *, axis, by, fill):
    """``x`` moved ``by`` places along ``axis`` (``out[i] = x[i - by]``), ``fill`` where nothing
    moved in."""
    x = np.asarray(x)
    out = np.full(x.shape, fill, dtype=x.dtype)
    n = x.shape[axis]
    k = min(abs(by), n)
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    src[axis], dst[axis] = (slice(0, n - k), slice(k, n)) if by >= 0 else (slice(k, n),
                                                                          slice(0, n - k))
    out[tuple(dst)] = x[tuple(src)]
    return out


shifted.defgrad(lambda dy, y, x, *, axis, by, fill: shifted(dy, axis=axis, by=-by, fill=0))


def _scan(a, b, axis, reverse):
    """``h_i = b_i + a_i * h_(i-1)`` along ``axis`` (from the end when ``reverse``), h_(-1) = 0.

    Hillis-Steele: after the step with offset d, ``h_i = H_i + A_i * h_(i-2d)``; log2(n) steps.
    """
    a, b = np.broadcast_arrays(a, b)
    dtype = np.result_type(a, b)
    step = -1 if reverse else 1
    h = np.array(np.moveaxis(b, axis, -1)[..., ::step], dtype=dtype)
    c = np.array(np.moveaxis(a, axis, -1)[..., ::step], dtype=dtype)
    n, d = h.shape[-1], 1
    while d < n:
        h[..., d:] += c[..., d:] * h[..., :-d]
        c[..., d:] = c[..., d:] * c[..., :-d]
        d *= 2
    return np.moveaxis(h[..., ::step], -1, axis)


@primitive
def linear_scan(a, b, *, axis, reverse=False):
    """The solution of ``h_i = b_i + a_i * h_(i-1)`` along ``axis`` (``h_i = b_i + a_i *
    h_(i+1)`` when ``reverse``): running sums (a = 1), running products (b = x_0 at 0) and
    their gradients, without division."""
    return _scan(a, b, axis, reverse)


def _scan_b_grad(dh, h, a, b, *, axis, reverse=False):
    # h depends on b_i through every later h_j with weight prod(a_(i+1..j)): the transposed
    # recurrence, run the other way, with the coefficients moved one place.
    # (a broadcast along the axis first: shifting a length-1 axis would lose it)
    by = 1 if reverse else -1
    a = np.broadcast_to(a, np.shape(h)) if np.shape(a) != np.shape(h) else a
    return linear_scan(shifted(a, axis=axis, by=by, fill=0), dh, axis=axis, reverse=not reverse)


def _scan_a_grad(dh, h, a, b, *, axis, reverse=False):
    # a_i multiplies h_(i-1) where b_i is added: the adjoint of b_i times h_(i-1).
    before = shifted(h, axis=axis, by=-1 if reverse else 1, fill=0)
    return _scan_b_grad(dh, h, a, b, axis=axis, reverse=reverse) * before


linear_scan.defgrads(_scan_a_grad, _scan_b_grad)


# --- running products ----------------------------------------------------------------------------
@primitive(name="cumprod")
def cumprod_p(x, *, axis, dtype=None):
    return np.cumprod(x, axis=axis, dtype=dtype)


@cumprod_p.defgrad
def _cumprod_grad(dy, y, x, *, axis, dtype=None):
    before = shifted(y, axis=axis, by=1, fill=1)           # y_(i-1): the product of x_0..x_(i-1)
    after = shifted(x, axis=axis, by=-1, fill=0)           # x_(i+1)
    return before * linear_scan(after, dy, axis=axis, reverse=True)


def _flat_or_axis(a, axis):
    if axis is None:
        return np.reshape(a, (-1,)), 0
    return a, _one_axis(a, axis)


@implements(np.cumprod)
def cumprod_(a, axis=None, dtype=None, out=None):
    _no_out("cumprod", out)
    a, ax = _flat_or_axis(a, axis)
    return cumprod_p(a, axis=ax, **({"dtype": dtype} if dtype is not None else {}))


@implements((np.multiply, "accumulate"))
def multiply_accumulate(array, axis=0, dtype=None, out=None):
    return cumprod_(array, axis, dtype, out)


@implements(np.nancumsum)
def nancumsum_(a, axis=None, dtype=None, out=None):
    """Nans count as 0 (and get gradient 0)."""
    return np.cumsum(np.where(np.isnan(a), 0, a), axis=axis, dtype=dtype, out=out)


@implements(np.nancumprod)
def nancumprod_(a, axis=None, dtype=None, out=None):
    """Nans count as 1 (and get gradient 0)."""
    return cumprod_(np.where(np.isnan(a), 1, a), axis, dtype, out)


# --- running extrema -----------------------------------------------------------------------------
@nondifferentiable
def running_arg(x, *, axis, ufunc):
    """Where each running maximum (ufunc=np.maximum) or minimum along ``axis`` was first reached.

    A running extremum changes only where a new element beats it (or is the first nan, which
    np.maximum propagates); a tie keeps the earlier element."""
    y = np.moveaxis(ufunc.accumulate(x, axis=axis), axis, -1)
    same = y[..., 1:] == y[..., :-1]
    if y.dtype.kind in "fc":
        same |= np.isnan(y[..., 1:]) & np.isnan(y[..., :-1])
    n = y.shape[-1]
    start = np.where(same, 0, np.arange(1, n))
    first = np.concatenate([np.zeros(y.shape[:-1] + (min(n, 1),), np.intp), start], axis=-1)
    return np.moveaxis(np.maximum.accumulate(first, axis=-1), -1, axis)


def _running(ufunc):
    def accumulate(array, axis=0, dtype=None, out=None):
        _no_out(f"{ufunc.__name__}.accumulate", out)
        ax = _one_axis(array, axis)
        y = np.take_along_axis(array, running_arg(array, axis=ax, ufunc=ufunc), axis=ax)
        return y if dtype is None else y.astype(dtype)

    accumulate.__name__ = f"{ufunc.__name__}_accumulate"
    accumulate.__doc__ = (f"np.{ufunc.__name__}.accumulate: each output is an element of the "
                          "input, gathered (so it gets the gradient); a tie goes to the earlier "
                          "element.")
    return implements((ufunc, "accumulate"))(accumulate)


maximum_accumulate = _running(np.maximum)
minimum_accumulate = _running(np.minimum)


# --- differences ---------------------------------------------------------------------------------
@primitive(name="diff")
def diff_p(a, *, n, axis):
    return np.diff(a, n=n, axis=axis)


@diff_p.defgrad
def _diff_grad(dy, y, a, *, n, axis):
    # The transpose of one difference is minus the difference of dy padded with a zero on both
    # sides; n of them: (-1)^n times the n-th difference of dy padded with n zeros.
    if np.shape(a)[axis] < n:  # the output is empty
        return np.zeros(np.shape(a), dtype=np.result_type(dy))
    width = [(0, 0)] * np.ndim(dy)
    width[axis] = (n, n)
    g = diff_p(np.pad(dy, width), n=n, axis=axis)
    return -g if n % 2 else g


_NO_VALUE = getattr(np, "_NoValue", None)


def _edge(value, a, axis):
    if np.ndim(value) == 0:
        shape = list(np.shape(a))
        shape[axis] = 1
        value = np.broadcast_to(value, tuple(shape))
    return value


@implements(np.diff)
def diff_(a, n=1, axis=-1, prepend=_NO_VALUE, append=_NO_VALUE):
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    if np.ndim(a) == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = _one_axis(a, axis)
    parts = []
    if prepend is not _NO_VALUE:
        parts.append(_edge(prepend, a, ax))
    parts.append(a)
    if append is not _NO_VALUE:
        parts.append(_edge(append, a, ax))
    if len(parts) > 1:
        a = np.concatenate(parts, axis=ax)
    if a.dtype == np.bool_:  # NumPy: differences of booleans are "not equal"
        for _ in range(n):
            a = np.not_equal(a[(slice(None),) * ax + (slice(1, None),)],
                             a[(slice(None),) * ax + (slice(None, -1),)])
        return a
    return diff_p(a, n=n, axis=ax)
