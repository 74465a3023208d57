"""np.cov and np.corrcoef, following NumPy's own steps on tracked values (so the values are
NumPy's), with one primitive of their own: ``gram(a, b) = a @ b.T``, the products of centred
rows. Its rules are gram again, so every order of derivative works, and the pack needs nothing
from yota-linalg. Tracked ``aweights`` (or ``fweights``) get their gradient too.
"""
from __future__ import annotations

import warnings

import numpy as np
from yota import Tracked, primitive

from .numpy_api import average_, implements


@primitive
def gram(a, b):
    """``a @ b.T`` for 2-d ``a`` (p, n) and ``b`` (q, n), as np.cov computes it."""
    return np.dot(a, b.T.conj())


gram.defgrads(lambda g, c, a, b: gram(g, np.transpose(b)),                 # g @ b
              lambda g, c, a, b: gram(np.transpose(g), np.transpose(a)))   # g.T @ a


def _rows(v, dtype):
    """``np.array(v, ndmin=2, dtype=dtype)`` for tracked or plain ``v``."""
    if type(v) is not Tracked:
        return np.array(v, ndmin=2, dtype=dtype)
    v = np.atleast_2d(v)
    return v if v.dtype == dtype else v.astype(dtype)


def _sample_weights(w, name, n):
    if type(w) is Tracked:
        w = w if w.dtype == np.float64 else w.astype(np.float64)
    else:
        w = np.asarray(w, dtype=float)
    if name == "fweights" and not np.all(w == np.around(w)):
        raise TypeError("fweights must be integer")
    if np.ndim(w) > 1:
        raise RuntimeError(f"cannot handle multidimensional {name}")
    if np.shape(w)[0] != n:
        raise RuntimeError(f"incompatible numbers of samples and {name}")
    if np.any(w < 0):
        raise ValueError(f"{name} cannot be negative")
    return w


@implements(np.cov)
def cov_(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
         dtype=None):
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    if np.ndim(m) > 2:
        raise ValueError("m has more than 2 dimensions")
    if y is not None and np.ndim(y) > 2:
        raise ValueError("y has more than 2 dimensions")
    if dtype is None:
        dtype = np.result_type(m, np.float64) if y is None else \
            np.result_type(m, y, np.float64)
    dtype = np.dtype(dtype)
    X = _rows(m, dtype)
    if not rowvar and np.ndim(m) != 1:
        X = np.transpose(X)
    if X.shape[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        Y = _rows(y, dtype)
        if not rowvar and Y.shape[0] != 1:
            Y = np.transpose(Y)
        X = np.concatenate((X, Y), axis=0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0

    w = None
    if fweights is not None:
        w = _sample_weights(fweights, "fweights", X.shape[1])
    if aweights is not None:
        aweights = _sample_weights(aweights, "aweights", X.shape[1])
        w = aweights if w is None else w * aweights

    avg, w_sum = average_(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = X.shape[1] - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        product = w * aweights
        # NumPy sums these with Python's sum(), left to right; tracked weights use np.sum.
        total = np.sum(product) if type(product) is Tracked else sum(product)
        fact = w_sum - ddof * total / w_sum
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        fact = 0.0

    X = X - avg[:, None]
    c = gram(X, X if w is None else X * w)
    scaled = c * np.true_divide(1, fact)
    if scaled.dtype != c.dtype:  # NumPy scales in place: c keeps its dtype
        scaled = scaled.astype(c.dtype)
    return np.squeeze(scaled)


@implements(np.corrcoef)
def corrcoef_(x, y=None, rowvar=True, *, dtype=None):
    c = cov_(x, y, rowvar, dtype=dtype)
    if np.ndim(c) != 2:
        return c / c  # one variable: 1, or nan for a constant one
    stddev = np.sqrt(np.diagonal(c))
    c = c / stddev[:, None]
    c = c / stddev[None, :]
    return np.clip(c, -1, 1)
