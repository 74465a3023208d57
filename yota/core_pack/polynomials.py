"""Polynomials: polyval (so poly1d calls too) and vander.

Compositions written like NumPy's own (Horner's rule; vander's cumulative products), so the
values match NumPy's and every order of derivative comes from the arithmetic. polyfit, a least
squares problem, lives in yota-linalg.
"""
from __future__ import annotations

import numpy as np

from ..kernel.tracked import Tracked
from ..registry import ImplementationTable

IMPLEMENTS = ImplementationTable()
implements = IMPLEMENTS.implements


@implements(np.polyval)
def polyval(p, x):
    """Horner's rule, differentiable in the coefficients and in x."""
    if isinstance(x, np.poly1d):
        raise TypeError("yota: np.polyval(p, poly1d) composes polynomials; not supported on "
                        "tracked coefficients")
    if isinstance(p, np.poly1d):
        p = p.coeffs
    y = np.zeros_like(x) if type(x) is Tracked else np.zeros_like(np.asarray(x))
    for i in range(len(p)):
        y = y * x + p[i]
    return y


@implements(np.vander)
def vander(x, N=None, increasing=False):
    """Columns x**0, x**1, ... as cumulative products (as NumPy computes them)."""
    if np.ndim(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = len(x) if N is None else int(N)
    cols = []
    for k in range(n):
        cols.append(np.ones_like(x) if k == 0 else (x if k == 1 else cols[-1] * x))
    if not increasing:
        cols = cols[::-1]
    if not cols:
        return np.reshape(x, (-1, 1))[:, :0]
    return np.stack(cols, axis=1)
