"""Sets and counting: unique, searchsorted, digitize, bincount, histogram.

Positions, counts and bin indices are piecewise constant in the data: non-differentiable
primitives (recorded, so static graphs recompute them). What carries a gradient:

- ``unique``'s values are gathered from the input at the first occurrence of each value
  (``return_index``), so each unique value's gradient goes to its first occurrence;
- ``bincount`` and ``histogram`` are linear in their weights: the weights' gradient is the
  output's gradient read at each element's bin.

Output shapes that depend on the data (unique's, bincount's length) keep the shape guard.
"""
from __future__ import annotations

import numpy as np

from ..kernel.primitive import nondifferentiable, primitive
from ..kernel.tracked import Tracked
from ..registry import ImplementationTable

IMPLEMENTS = ImplementationTable()
implements = IMPLEMENTS.implements

searchsorted = nondifferentiable(
    lambda a, v, side="left", sorter=None: np.searchsorted(a, v, side=side, sorter=sorter),
    name="searchsorted").declare(static_shape=True)
digitize = nondifferentiable(lambda x, bins, right=False: np.digitize(x, bins, right=right),
                             name="digitize").declare(static_shape=True)
IMPLEMENTS[np.searchsorted] = searchsorted
IMPLEMENTS[np.digitize] = digitize


# --- unique --------------------------------------------------------------------------------------
def _unique_part(k):
    def part(ar, *, axis, equal_nan):
        out = np.unique(ar, return_index=True, return_inverse=True, return_counts=True,
                        axis=axis, equal_nan=equal_nan)
        return out[k]

    return part


unique_index = nondifferentiable(_unique_part(1), name="unique_index")
unique_inverse = nondifferentiable(_unique_part(2), name="unique_inverse")
unique_counts = nondifferentiable(_unique_part(3), name="unique_counts")


@implements(np.unique)
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, **kwargs):
    """The values are ``ar`` gathered at the first occurrences; the rest carry no gradient."""
    if kwargs.get("sorted", True) is False:
        raise TypeError("yota: np.unique(sorted=False) is not supported on tracked values")
    opts = {"axis": axis, "equal_nan": equal_nan}
    index = unique_index(ar, **opts)
    values = np.ravel(ar)[index] if axis is None else np.take(ar, index, axis=axis)
    extra = [index] if return_index else []
    extra += [unique_inverse(ar, **opts)] if return_inverse else []
    extra += [unique_counts(ar, **opts)] if return_counts else []
    return (values, *extra) if extra else values


# --- bincount and histogram ----------------------------------------------------------------------
@primitive(nondiff_argnums=(0,))
def bincount_weights(x, weights, *, minlength=0):
    """np.bincount(x, weights, minlength): linear in the weights."""
    return np.bincount(x, weights, minlength=minlength)


bincount_weights.defgrad(lambda dy, y, x, weights, minlength=0: dy[x], argnum=1)
_bincount = nondifferentiable(lambda x, minlength=0: np.bincount(x, minlength=minlength),
                              name="bincount")


@implements(np.bincount)
def bincount(x, weights=None, minlength=0):
    if weights is None:
        return _bincount(x, minlength=minlength)
    return bincount_weights(x, weights, minlength=minlength)


histogram_edges = nondifferentiable(
    lambda a, *, bins, range: np.histogram_bin_edges(a, bins=bins, range=range),
    name="histogram_edges")


@nondifferentiable
def histogram_bin(a, edges):
    """Each value's bin (the last one closed, as NumPy's), or len(edges) - 1 outside them."""
    a = np.ravel(a)
    n = len(edges) - 1
    j = np.searchsorted(edges, a, side="right") - 1
    j = np.where(a == edges[-1], n - 1, j)
    return np.where((j < 0) | (j >= n) | np.isnan(a), n, j)


histogram_bin.declare(static_shape=True)
_histogram_counts = nondifferentiable(
    lambda a, edges: np.histogram(a, bins=edges)[0], name="histogram_counts")


@implements(np.histogram)
def histogram(a, bins=10, range=None, density=None, weights=None):
    """Counts (or weighted sums) per bin; the weights carry a gradient, the bins do not."""
    if type(bins) is Tracked:
        bins = np.asarray(bins.tolist())
    edges = histogram_edges(a, bins=bins, range=range) if type(a) is Tracked else \
        np.histogram_bin_edges(a, bins=bins, range=range)
    n = len(edges) - 1
    if weights is None:
        hist = _histogram_counts(a, edges)
    else:
        hist = bincount_weights(histogram_bin(a, edges), np.ravel(weights),
                                minlength=n + 1)[:n]
    if density:
        hist = hist / np.diff(edges) / np.sum(hist)
    return hist, edges
