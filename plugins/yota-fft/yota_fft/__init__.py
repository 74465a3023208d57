"""yota-fft: gradients through numpy.fft.

Four primitives carry everything: ``fftn``/``ifftn`` (complex transforms over any axes, the 1-d
and 2-d forms included), ``rfft`` and ``irfft`` (one axis). rfftn/irfftn, hfft/ihfft and the
shifts are built from them, as NumPy builds them.

Rules follow yota's convention for complex values (JAX's): the rule of a complex-linear map is
its transpose, with no conjugate. The DFT matrix is symmetric, so the transpose of ``fftn`` is
``fftn`` itself (same norm), followed by undoing the zero-padding or cropping ``s`` asked for.
``rfft`` and ``irfft`` are only real-linear; their rules are derived in place.

Loaded by yota through the entry point ``fft`` in the group ``yota``.
"""
from __future__ import annotations

import numpy as np

import yota
from yota.packs import pack_primitive
from yota.extend import ImplementationTable

__version__ = "0.2.0"
__all__ = ["fftn_p", "ifftn_p", "rfft_p", "irfft_p", "yota_register_primitives"]

IMPLEMENTS = ImplementationTable()
implements = IMPLEMENTS.implements


def _axis(ax, ndim):
    if not -ndim <= ax < ndim:
        raise np.exceptions.AxisError(ax, ndim)
    return ax % ndim


def _resize(x, sizes):
    """Crop or zero-pad ``x`` along each axis in ``sizes`` (axis -> length), at the end."""
    shape = np.shape(x)
    crop = [slice(None)] * len(shape)
    pad = [(0, 0)] * len(shape)
    for ax, n in sizes.items():
        if n < shape[ax]:
            crop[ax] = slice(0, n)
        elif n > shape[ax]:
            pad[ax] = (0, n - shape[ax])
    if any(s != slice(None) for s in crop):
        x = x[tuple(crop)]
    if any(p != (0, 0) for p in pad):
        x = np.pad(x, pad)
    return x


def _swap(norm):
    return {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}[norm]


# --- the primitives ----------------------------------------------------------------------------
@pack_primitive(pack="yota-fft", name="fftn")  # exported: refuses tracked values while disabled
def fftn_p(a, *, s, axes, norm):
    return np.fft.fftn(a, s, axes, norm)


@pack_primitive(pack="yota-fft", name="ifftn")
def ifftn_p(a, *, s, axes, norm):
    return np.fft.ifftn(a, s, axes, norm)


@fftn_p.defgrad
def _fftn_grad(dy, y, a, *, s, axes, norm):
    return _resize(fftn_p(dy, s=None, axes=axes, norm=norm), {ax: np.shape(a)[ax] for ax in axes})


@ifftn_p.defgrad
def _ifftn_grad(dy, y, a, *, s, axes, norm):
    return _resize(ifftn_p(dy, s=None, axes=axes, norm=norm),
                   {ax: np.shape(a)[ax] for ax in axes})


@pack_primitive(pack="yota-fft", name="rfft")
def rfft_p(a, *, n, axis, norm):
    return np.fft.rfft(a, n, axis, norm)


@rfft_p.defgrad
def _rfft_grad(dy, y, a, *, n, axis, norm):
    # y = first n//2+1 entries of fft(resize(a, n)): the transpose zero-pads dy back to n,
    # applies the (symmetric) DFT and crops or pads to a's length; a is real, so the engine
    # keeps the real part.
    full = _resize(dy, {axis: n})
    return _resize(fftn_p(full, s=None, axes=(axis,), norm=norm), {axis: np.shape(a)[axis]})


@pack_primitive(pack="yota-fft", name="irfft")
def irfft_p(a, *, n, axis, norm):
    return np.fft.irfft(a, n, axis, norm)


@irfft_p.defgrad
def _irfft_grad(dy, y, a, *, n, axis, norm):
    # y[t] = c * sum_k w_k Re(a_k e^{2 pi i k t / n}), w_k = 2 except at k = 0 and k = n/2.
    # So dL/d(Re a_k) - i dL/d(Im a_k) = c w_k sum_t dy[t] e^{+2 pi i k t / n}
    #                                  = w_k conj(rfft(dy)) with rfft scaled by the same c.
    half = n // 2 + 1
    w = np.full(half, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    w = w.astype(dy.dtype).reshape((half,) + (1,) * (np.ndim(a) - 1 - axis))
    g = np.conj(rfft_p(dy, n=n, axis=axis, norm=_swap(norm))) * w
    return _resize(g, {axis: np.shape(a)[axis]})


PRIMITIVES = (fftn_p, ifftn_p, rfft_p, irfft_p)


# --- NumPy's signatures ------------------------------------------------------------------------
def _check_norm(norm):
    if norm not in (None, "backward", "ortho", "forward"):
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or '
                         '"forward".')
    return norm


def _n_axis(a, n, axis):
    ax = _axis(axis, np.ndim(a))
    n = np.shape(a)[ax] if n is None else int(n)
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return n, ax


def _s_axes(a, s, axes):
    """NumPy's defaults: every axis (or the last len(s)), lengths from the array."""
    ndim = np.ndim(a)
    if axes is None:
        axes = tuple(range(ndim)) if s is None else tuple(range(ndim - len(s), ndim))
    axes = tuple(_axis(ax, ndim) for ax in axes)
    if s is None:
        s = tuple(np.shape(a)[ax] for ax in axes)
    s = tuple(int(n) if n != -1 else np.shape(a)[ax] for n, ax in zip(s, axes))
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    return s, axes


def _one_axis(transform, name):
    def one(a, n=None, axis=-1, norm=None, out=None):
        yota.errors.reject_out(name, out)
        n, ax = _n_axis(a, n, axis)
        return transform(a, s=(n,), axes=(ax,), norm=_check_norm(norm))

    return one


def _many_axes(transform, name, default_axes=None):
    def many(a, s=None, axes=default_axes, norm=None, out=None):
        yota.errors.reject_out(name, out)
        s, axes = _s_axes(a, s, axes)
        if len(set(axes)) != len(axes):  # NumPy transforms a repeated axis twice
            for n, ax in zip(s, axes):
                a = transform(a, s=(n,), axes=(ax,), norm=_check_norm(norm))
            return a
        return transform(a, s=s, axes=axes, norm=_check_norm(norm))

    return many


IMPLEMENTS[np.fft.fft] = _one_axis(fftn_p, "fft.fft")
IMPLEMENTS[np.fft.ifft] = _one_axis(ifftn_p, "fft.ifft")
IMPLEMENTS[np.fft.fftn] = _many_axes(fftn_p, "fft.fftn")
IMPLEMENTS[np.fft.ifftn] = _many_axes(ifftn_p, "fft.ifftn")
IMPLEMENTS[np.fft.fft2] = _many_axes(fftn_p, "fft.fft2", (-2, -1))
IMPLEMENTS[np.fft.ifft2] = _many_axes(ifftn_p, "fft.ifft2", (-2, -1))


@implements(np.fft.rfft)
def rfft(a, n=None, axis=-1, norm=None, out=None):
    yota.errors.reject_out("rfft", out)
    n, ax = _n_axis(a, n, axis)
    return rfft_p(a, n=n, axis=ax, norm=_check_norm(norm))


@implements(np.fft.irfft)
def irfft(a, n=None, axis=-1, norm=None, out=None):
    yota.errors.reject_out("irfft", out)
    ax = _axis(axis, np.ndim(a))
    n = 2 * (np.shape(a)[ax] - 1) if n is None else int(n)
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return irfft_p(a, n=n, axis=ax, norm=_check_norm(norm))


@implements(np.fft.rfftn)
def rfftn(a, s=None, axes=None, norm=None, out=None):
    yota.errors.reject_out("rfftn", out)
    s, axes = _s_axes(a, s, axes)
    a = rfft(a, s[-1], axes[-1], norm)
    return IMPLEMENTS[np.fft.fftn](a, s[:-1], axes[:-1], norm) if len(axes) > 1 else a


@implements(np.fft.irfftn)
def irfftn(a, s=None, axes=None, norm=None, out=None):
    yota.errors.reject_out("irfftn", out)
    ndim = np.ndim(a)
    if axes is None:
        axes = tuple(range(ndim)) if s is None else tuple(range(ndim - len(s), ndim))
    axes = tuple(_axis(ax, ndim) for ax in axes)
    if s is None:
        s = [np.shape(a)[ax] for ax in axes]
        s[-1] = 2 * (s[-1] - 1)
    s = tuple(int(n) for n in s)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if len(axes) > 1:
        a = IMPLEMENTS[np.fft.ifftn](a, s[:-1], axes[:-1], norm)
    return irfft(a, s[-1], axes[-1], norm)


IMPLEMENTS[np.fft.rfft2] = lambda a, s=None, axes=(-2, -1), norm=None, out=None: rfftn(
    a, s, axes, norm, out)
IMPLEMENTS[np.fft.irfft2] = lambda a, s=None, axes=(-2, -1), norm=None, out=None: irfftn(
    a, s, axes, norm, out)


@implements(np.fft.hfft)
def hfft(a, n=None, axis=-1, norm=None, out=None):
    yota.errors.reject_out("hfft", out)
    return irfft(np.conj(a), n, axis, _swap(_check_norm(norm)))


@implements(np.fft.ihfft)
def ihfft(a, n=None, axis=-1, norm=None, out=None):
    yota.errors.reject_out("ihfft", out)
    return np.conj(rfft(a, n, axis, _swap(_check_norm(norm))))


def _shift(sign):
    def shift(x, axes=None):
        ndim = np.ndim(x)
        axes = tuple(range(ndim)) if axes is None else (
            (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes))
        shifts = [sign * (np.shape(x)[ax] // 2) for ax in axes]
        return np.roll(x, shifts, axes)

    return shift


IMPLEMENTS[np.fft.fftshift] = _shift(1)
IMPLEMENTS[np.fft.ifftshift] = _shift(-1)


# Output shapes follow from input shapes and options, so static graphs need no shape guards.
for _prim in PRIMITIVES:
    _prim.declare(static_shape=True)


@yota.hookimpl
def yota_register_primitives(registry):
    for numpy_func, impl in IMPLEMENTS.items():
        registry.implement(numpy_func, impl)
    for prim in PRIMITIVES:
        registry.add_primitive(prim)
