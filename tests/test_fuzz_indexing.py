"""Fuzzing integer and boolean indexing of plain tables (issue 13, item 4), kept apart from
tests/test_fuzz.py: random programs ``sum(table[index(x)] * g(x))`` whose table is a global,
built inside the function, or a non-differentiated argument, and whose index is computed from
the differentiated input (argsort, floor, argmax, a mask, np.take). Each is checked in both
modes against finite differences, and static mode is replayed on inputs that change the index.
"""
import importlib.util
import os
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import yota
from yota.testing import check_grads

# the numba backend on a few programs (numba compiles take about a second each), as test_fuzz.py
NUMBA_EXAMPLES = int(os.environ.get("YOTA_FUZZ_NUMBA_EXAMPLES", "12"))
needs_numba = pytest.mark.skipif(importlib.util.find_spec("yota_numba") is None,
                                 reason="yota-numba is not installed: pip install -e "
                                        "plugins/yota-numba")

EXAMPLES = max(10, int(os.environ.get("YOTA_FUZZ_EXAMPLES", "400")) // 10)
TABLE = np.cos(np.arange(8.0)) + 2.0

INDEX = {   # name -> (index from x, the distance of x from a point where the index changes)
    "argsort": (lambda x: np.argsort(x),
                lambda x: np.min(np.diff(np.sort(x))) if x.size > 1 else 1.0),
    "floor": (lambda x: np.floor(np.abs(x) * 2).astype(int) % x.size,
              lambda x: np.min(np.abs(np.abs(x) * 2 - np.round(np.abs(x) * 2))) / 2),
    "argmax": (lambda x: np.argmax(x),
               lambda x: np.min(np.max(x) - x[x < np.max(x)]) if x.size > 1 else 1.0),
    "mask": (lambda x: x > 0.1, lambda x: np.min(np.abs(x - 0.1))),
}
SMOOTH = {"sin": np.sin, "square": np.square, "exp": np.exp}
WHERE = ("global", "local", "argument")


def program(index, smooth, where, take):
    pick, g, mask = INDEX[index][0], SMOOTH[smooth], index == "mask"

    def term(table, x):   # the looked-up values times g of the matching inputs
        i = pick(x)
        values = np.take(table, i) if take and not mask else table[i]
        return np.sum(values * (g(x)[i] if mask else g(x)))

    if where == "global":
        def f(x):
            return term(TABLE[:x.size], x)
    elif where == "local":
        def f(x):
            return term(np.cos(np.arange(float(x.size))) + 2.0, x)
    else:
        def f(x, table):
            return term(table, x)
    return f


@settings(max_examples=EXAMPLES, deadline=None)
@given(index=st.sampled_from(sorted(INDEX)), smooth=st.sampled_from(sorted(SMOOTH)),
       where=st.sampled_from(WHERE), take=st.booleans(), n=st.integers(2, 6),
       seed=st.integers(0, 2 ** 31))
def test_integer_indexing_of_plain_tables(index, smooth, where, take, n, seed):
    check_indexing(index, smooth, where, take, n, seed)


@needs_numba
@settings(max_examples=max(3, NUMBA_EXAMPLES // 4), deadline=None)
@given(index=st.sampled_from(sorted(INDEX)), smooth=st.sampled_from(sorted(SMOOTH)),
       where=st.sampled_from(WHERE), take=st.booleans(), n=st.integers(2, 6),
       seed=st.integers(0, 2 ** 31))
def test_integer_indexing_of_plain_tables_through_numba(index, smooth, where, take, n, seed):
    """The same with the numba backend: the index is NumPy code between fused loops."""
    check_indexing(index, smooth, where, take, n, seed, backend="numba")


def check_indexing(index, smooth, where, take, n, seed, backend=None):
    rng = np.random.default_rng(seed)
    points = [rng.uniform(-1.5, 1.5, n) for _ in range(3)]
    margin = INDEX[index][1]
    assume(all(margin(x) > 1e-3 for x in points))
    f = program(index, smooth, where, take)
    extra = (TABLE[:n].copy(),) if where == "argument" else ()
    argnums = 0 if extra else None
    yota.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # re-traced guards may fall back
        for x in points:
            check_grads(f, x, *extra, argnums=argnums, backend=backend)
        for x in points:   # replays of one compiled function, the index changing each call
            static = yota.grad(f, x, *extra, argnums=argnums, backend=backend)
            dynamic = yota.grad(f, x, *extra, argnums=argnums, dynamic=True)
            if backend is None:   # the same NumPy calls: the very same numbers
                assert static[0] == dynamic[0]
                np.testing.assert_array_equal(static[1][0], dynamic[1][0])
            else:                 # numba's sums are sequential, NumPy's pairwise
                np.testing.assert_allclose(static[0], dynamic[0], rtol=1e-12)
                np.testing.assert_allclose(static[1][0], dynamic[1][0], rtol=1e-12,
                                           atol=1e-12)
