"""Hypothesis strategies for checking primitives: shapes, broadcasting pairs, dtypes, inputs.

Needs ``hypothesis`` (a test dependency, not a runtime one)::

    from hypothesis import given
    from yota import strategies as ys
    from yota.testing import check_primitive

    @given(ys.elementwise_args(nargs=2, low=0.5, high=2.0))
    def test_hypot(args):
        check_primitive(np.hypot, *args)

Values are drawn from a closed interval away from its ends and rounded to the dtype, so finite
differences stay well conditioned; use ``low``/``high`` to stay inside a function's domain and
away from kinks.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = ["shapes", "broadcasting_shapes", "broadcasting_pairs", "float_dtypes", "arrays",
           "elementwise_args"]

FLOAT_DTYPES = (np.float64, np.float32)


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes, from scalars ``()`` up to ``max_dims`` axes of at most ``max_side``."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcasting_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """``num_shapes`` shapes that broadcast together, with size-1 axes and missing leading
    axes on either side (the cases where a rule's gradient must be summed back)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda bs: bs.input_shapes)


def broadcasting_pairs(**kwargs):
    """Pairs of shapes that broadcast together: ``((2, 1), (3,))``..."""
    return broadcasting_shapes(num_shapes=2, **kwargs)


def float_dtypes(dtypes=FLOAT_DTYPES):
    """float64 and float32 (gradients must keep the argument's dtype)."""
    return st.sampled_from(tuple(np.dtype(d) for d in dtypes))


def arrays(shape, dtype=np.float64, low=-2.0, high=2.0):
    """Float arrays of ``shape`` with values in ``[low, high]``; ``shape``/``dtype`` may be
    strategies. Values are well inside the interval (a 5% margin) and distinct enough for
    finite differences."""
    margin = 0.05 * (high - low)
    lo, hi = low + margin, high - margin

    def build(shape, dtype):
        dtype = np.dtype(dtype)
        width = 8 * dtype.itemsize
        # Bounds representable in the dtype (the margin keeps them inside [low, high]).
        a, b = float(dtype.type(lo)), float(dtype.type(hi))
        elements = st.floats(a, b, allow_nan=False, allow_infinity=False, width=width)
        return hnp.arrays(np.dtype(dtype), shape, elements=elements)

    shape_st = shape if isinstance(shape, st.SearchStrategy) else st.just(tuple(shape))
    dtype_st = dtype if isinstance(dtype, st.SearchStrategy) else st.just(np.dtype(dtype))
    return st.tuples(shape_st, dtype_st).flatmap(lambda sd: build(*sd))


@st.composite
def elementwise_args(draw, nargs=1, low=-2.0, high=2.0, dtypes=FLOAT_DTYPES, max_dims=3,
                     max_side=4):
    """A tuple of ``nargs`` float arrays of one dtype whose shapes broadcast together.

    ``low``/``high`` may be a pair of lists to give each argument its own interval.
    """
    dtype = draw(float_dtypes(dtypes))
    if nargs == 1:
        shape_list = (draw(shapes(max_dims=max_dims, max_side=max_side)),)
    else:
        shape_list = draw(broadcasting_shapes(nargs, max_dims=max_dims, max_side=max_side))
    lows = low if isinstance(low, (list, tuple)) else [low] * nargs
    highs = high if isinstance(high, (list, tuple)) else [high] * nargs
    return tuple(draw(arrays(s, dtype, lo, hi)) for s, lo, hi in zip(shape_list, lows, highs))
