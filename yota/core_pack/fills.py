"""``np.full(shape, s)`` and ``np.full_like(a, s)`` with a tracked fill value ``s``.

NumPy dispatches neither on the fill value: ``np.full`` has no dispatcher (it calls
``asarray(s)``, then ``copyto`` into a new plain array) and ``np.full_like`` dispatches on ``a``
only, so a tracked fill would end in ``copyto`` into a plain array, where its gradient can only
be refused. yota therefore puts thin wrappers into numpy's namespace, once: a tracked fill goes
to yota's implementation (through the dispatch table, so a pack may replace it), anything else
to NumPy's own function, after one type check. A wrapper names NumPy's function as
``__yota_original__``; the registry keys implementations by that original (it is what NumPy's
``__array_function__`` passes), whichever of the two a pack names.
"""
import functools

import numpy as np

from ..kernel.dispatch import DISPATCH
from ..kernel.tracked import Tracked

IMPLEMENTS = {}


def _wrap(numpy_func, tracked_fill):
    @functools.wraps(numpy_func)
    def wrapper(*args, **kwargs):
        impl = tracked_fill(*args, **kwargs)
        if impl is None:
            return numpy_func(*args, **kwargs)
        return impl(*args, **kwargs)

    wrapper.__yota_original__ = numpy_func
    return wrapper


def _full_route(shape, fill_value, dtype=None, order="C", *, like=None, **kwargs):
    if type(fill_value) is Tracked and like is None:
        return lambda shape, fill_value, dtype=None, order="C", **kwargs: DISPATCH.function(
            ("like", NUMPY_FULL))(fill_value, shape, fill_value, dtype=dtype)
    return None


def _full_like_route(a, fill_value, *args, **kwargs):
    if type(fill_value) is Tracked and type(a) is not Tracked:  # a tracked `a` dispatches
        return DISPATCH.function(NUMPY_FULL_LIKE)
    return None


def _install(name, route):
    current = getattr(np, name)
    original = getattr(current, "__yota_original__", current)   # idempotent on reload
    setattr(np, name, _wrap(original, route))
    return original


NUMPY_FULL = _install("full", _full_route)
NUMPY_FULL_LIKE = _install("full_like", _full_like_route)
