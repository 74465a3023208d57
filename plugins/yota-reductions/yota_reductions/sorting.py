"""np.sort and np.partition as gathers: ``take_along_axis(a, index)`` with an index that carries
no gradient (np.argsort, or the permutation np.partition applied). Each element's gradient is
then the incoming gradient at the place it moved to; tied elements each keep their own.
np.argpartition is non-differentiable, like np.argsort in the core.

Everything is recorded, so static graphs recompute the order from the inputs on every call.
"""
from __future__ import annotations

import numpy as np
from yota import YotaError, nondifferentiable

from .axes import normalize_axes
from .numpy_api import implements


@nondifferentiable(name="argpartition")
def argpartition_p(a, kth, axis=-1, kind="introselect"):
    return np.argpartition(a, kth, axis=axis, kind=kind)


@nondifferentiable
def partition_index(a, kth, axis=-1, kind="introselect"):
    """The permutation ``p`` with ``take_along_axis(a, p, axis)`` equal to ``np.partition(a, kth,
    axis)`` element for element (np.argpartition arranges the other elements its own way).

    Both arrays hold the same values, so sorting each pairs them up: two argsorts."""
    part = np.partition(a, kth, axis=axis, kind=kind)
    from_a = np.argsort(a, axis=axis)
    from_part = np.argsort(part, axis=axis)
    perm = np.empty_like(from_a)
    np.put_along_axis(perm, from_part, from_a, axis=axis)
    return perm


def _no_order(name, order):
    if order is not None:
        raise YotaError(f"yota: numpy.{name}(..., order=...) sorts structured arrays by field, "
                        "which yota does not trace; sort a float array (np.argsort of the key, "
                        "then np.take_along_axis)")


def _flat_or_axis(a, axis):
    if axis is None:
        return np.reshape(a, (-1,)), 0
    (ax,) = normalize_axes(axis, np.ndim(a))
    return a, ax


@implements(np.sort)
def sort_(a, axis=-1, kind=None, order=None, *, stable=None):
    _no_order("sort", order)
    a, ax = _flat_or_axis(a, axis)
    index = np.argsort(a, axis=ax, kind=kind, **({"stable": stable} if stable is not None
                                                  else {}))
    return np.take_along_axis(a, index, axis=ax)


@implements(np.partition)
def partition_(a, kth, axis=-1, kind="introselect", order=None):
    _no_order("partition", order)
    a, ax = _flat_or_axis(a, axis)
    return np.take_along_axis(a, partition_index(a, kth, axis=ax, kind=kind), axis=ax)


@implements(np.argpartition)
def argpartition_(a, kth, axis=-1, kind="introselect", order=None):
    _no_order("argpartition", order)
    a, ax = _flat_or_axis(a, axis)
    return argpartition_p(a, kth, axis=ax, kind=kind)
