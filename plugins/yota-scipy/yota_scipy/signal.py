"""scipy.signal.convolve/correlate (any number of axes) and convolve2d/correlate2d, every mode.

One primitive, the full convolution; each mode is a slice of it and correlation is convolution
with the kernel flipped. The rules are full convolutions of the output gradient with the other
argument flipped, sliced ("valid" correlations), so they differentiate again. Real arrays.
"""
from __future__ import annotations

import numpy as np

from yota.packs import pack_primitive

__all__ = ["convolve", "correlate", "convolve2d", "correlate2d"]
PACK = "yota-scipy"
_MODES = ("full", "same", "valid")


@pack_primitive(pack=PACK)
def convolve_full(a, v):
    """The full discrete convolution of two arrays with the same number of axes."""
    import scipy.signal
    out = scipy.signal.convolve(a, v, mode="full")
    return out.astype(np.result_type(a, v), copy=False)


def _window(x, starts, sizes):
    return x[tuple(slice(s, s + n) for s, n in zip(starts, sizes))]


def _flip(x):
    return np.flip(x, axis=tuple(range(np.ndim(x)))) if np.ndim(x) else x


def _valid_correlation(dy, w, sizes):
    """correlate(dy, w, 'valid'), of shape ``sizes``."""
    return _window(convolve_full(dy, _flip(w)), [m - 1 for m in np.shape(w)], sizes)


convolve_full.defgrads(lambda dy, y, a, v: _valid_correlation(dy, v, np.shape(a)),
                       lambda dy, y, a, v: _valid_correlation(dy, a, np.shape(v)))
PRIMITIVES = (convolve_full,)


def _check(name, a, v, mode):
    if mode not in _MODES:
        raise ValueError(f"yota_scipy.signal.{name}: mode must be one of {_MODES}, got {mode!r}")
    if np.ndim(a) != np.ndim(v):
        raise ValueError(f"yota_scipy.signal.{name}: in1 and in2 should have the same "
                         f"dimensionality, got {np.ndim(a)} and {np.ndim(v)}")
    if mode == "valid":
        sa, sv = np.shape(a), np.shape(v)
        if not (all(m >= n for m, n in zip(sa, sv)) or all(n >= m for m, n in zip(sa, sv))):
            raise ValueError(f"yota_scipy.signal.{name}: for 'valid' mode, one must be at "
                             f"least as large as the other in every dimension, got {sa} and {sv}")


def _mode(full, sa, sv, mode):
    if mode == "full":
        return full
    if mode == "same":     # centred on the full output, in1's shape (SciPy's _centered)
        return _window(full, [(f - n) // 2 for f, n in zip(np.shape(full), sa)], sa)
    return _window(full, [min(n, m) - 1 for n, m in zip(sa, sv)],
                   [abs(n - m) + 1 for n, m in zip(sa, sv)])


def convolve(in1, in2, mode="full", method="auto"):
    """scipy.signal.convolve (``method`` only changes how SciPy computes the forward pass)."""
    _check("convolve", in1, in2, mode)
    return _mode(convolve_full(in1, in2), np.shape(in1), np.shape(in2), mode)


def correlate(in1, in2, mode="full", method="auto"):
    """scipy.signal.correlate of real arrays: convolution with ``in2`` flipped."""
    _check("correlate", in1, in2, mode)
    return _mode(convolve_full(in1, _flip(in2)), np.shape(in1), np.shape(in2), mode)


def _two_d(name, in1, in2, boundary, fillvalue):
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError(f"yota_scipy.signal.{name}: in1 and in2 should both be 2-D")
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"yota_scipy.signal.{name}: only boundary='fill' with "
                                  "fillvalue=0 (SciPy's default) is supported")


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """scipy.signal.convolve2d with zero padding."""
    _two_d("convolve2d", in1, in2, boundary, fillvalue)
    return convolve(in1, in2, mode)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """scipy.signal.correlate2d with zero padding."""
    _two_d("correlate2d", in1, in2, boundary, fillvalue)
    if mode != "same":
        return correlate(in1, in2, mode)
    # SciPy's 2-D 'same' window starts one later than correlate's along even kernel axes.
    sizes = np.shape(in1)
    return _window(convolve_full(in1, _flip(in2)), [m // 2 for m in np.shape(in2)], sizes)
