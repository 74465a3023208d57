"""NumPy's semantics survive fusion: dtypes and promotion (NumPy 2's weak Python scalars),
broadcasting, NaN, inf and -0.0, integer and boolean arrays, 0-d arrays and NumPy scalars.
Each program runs fused, as the "numpy" code generator's function and in the interpreter, on the
traced inputs and again on new ones (replay)."""
import numpy as np
import pytest

from numba_testing import VALUE, compiled

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 5e-324, -2.5, 1e308])


def f32_weak(x):          # float32 stays float32 with weak Python scalars
    return np.exp(x * 1.01 + 0.1) - np.tanh(x) / 3


def f32_strong(x):        # a NumPy float64 scalar is strong: the result is float64
    return x * np.float64(1.01) + np.log(np.abs(x) + 1)


def mixed(x, i):          # int64 array with a float32 one: float64
    return (x + i) * 2 - i


def ints(i, j):           # integer arithmetic, wrapping as NumPy's
    return np.maximum(i * j - 3, j) + (-i)


def small_ints(i, j):     # int8 wraps around
    return i * j + i


def bools(x, y):          # comparisons and logic on booleans
    return np.logical_or(x > y, np.logical_not(x == y)) & (x >= 0)


def specials(x, y):       # NaN, inf and -0.0 through max/min, where, division
    return (np.maximum(x, y) + np.minimum(y, x), np.where(x > y, x / y, -x), x * 0.0,
            np.sqrt(x) - np.log(y), np.isnan(x * y), np.exp(x) * np.tanh(y))


def zero_d(x, s):         # 0-d arrays and a scalar
    return np.sin(x) * s + x


def broadcast(a, b, c):   # (3,1) with (4,) and () broadcast to (3,4)
    return np.tanh(a * b + c) - b * c


def reductions(x, b):     # sums and means that end chains
    y = np.exp(x * 0.5) + b
    return (np.sum(y, axis=0), np.sum(y * y, axis=1, keepdims=True), np.mean(y - 1.0), np.sum(y),
            np.mean(y * 3.0, axis=0), np.mean(y - b, axis=1, keepdims=True))


def where_weak(x):        # where with weak scalars in float32
    return np.where(x > 0, x * 2.0, 0.5) + np.where(x < 0, 1, x)


rng = np.random.default_rng(0)
F32 = rng.standard_normal(17).astype(np.float32)
CASES = {
    "f32_weak": (f32_weak, lambda r: (r.standard_normal(17).astype(np.float32),)),
    "f32_strong": (f32_strong, lambda r: (r.standard_normal(17).astype(np.float32),)),
    "mixed": (mixed, lambda r: (r.standard_normal((2, 3)).astype(np.float32),
                                r.integers(-5, 5, 3))),
    "ints": (ints, lambda r: (r.integers(-2**40, 2**40, 6), r.integers(-9, 9, 6))),
    "small_ints": (small_ints, lambda r: (r.integers(-128, 127, 9).astype(np.int8),
                                          r.integers(-128, 127, 9).astype(np.int8))),
    "bools": (bools, lambda r: (r.integers(-2, 2, 8).astype(np.float64),
                                r.integers(-2, 2, 8).astype(np.float64))),
    "specials": (specials, lambda r: (r.permutation(SPECIAL), r.permutation(SPECIAL))),
    "zero_d": (zero_d, lambda r: (np.array(r.standard_normal()), np.float64(r.standard_normal()))),
    "broadcast": (broadcast, lambda r: (r.standard_normal((3, 1)), r.standard_normal(4),
                                        np.array(r.standard_normal()))),
    "reductions": (reductions, lambda r: (r.standard_normal((5, 4)).astype(np.float32),
                                          r.standard_normal(4).astype(np.float32))),
    "where_weak": (where_weak, lambda r: (r.standard_normal(11).astype(np.float32),)),
}


MIXED = {"f32_strong", "mixed"}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_fused_matches_numpy(name):
    f, draw = CASES[name]
    c = compiled(("value", name), f, draw(np.random.default_rng(1)), spec=VALUE)
    assert "numba kernel" in c.source, c.source        # it did fuse something
    # a float32 intermediate (1 ULP apart from NumPy's) inside a float64 result
    rtol, atol = (1e-6, 1e-7) if name in MIXED else (None, 0.0)
    with np.errstate(all="ignore"):
        c.check(rtol=rtol, atol=atol)
        c.check(list(draw(np.random.default_rng(2))), rtol=rtol, atol=atol)   # replay with new inputs


def test_signed_zero_and_nan_exactly():
    c = compiled(("value", "specials"), specials, CASES["specials"][1](np.random.default_rng(1)),
                 spec=VALUE)
    x = np.array([-0.0, 0.0, np.nan, 1.0, -0.0, 0.0, np.inf, -np.inf, 5e-324, -0.0])
    y = np.array([0.0, -0.0, 1.0, np.nan, -0.0, 0.0, np.inf, np.inf, -5e-324, np.nan])
    with np.errstate(all="ignore"):
        got, want = c.numba(x, y), specials(x, y)
    for g, w in zip(got, want):
        real = ~np.isnan(w) if w.dtype.kind == "f" else slice(None)   # a NaN's sign is noise
        np.testing.assert_array_equal(np.signbit(g)[real], np.signbit(w)[real])
        np.testing.assert_array_equal(g, w)


def test_byteswapped_arrays_stay_with_numpy():
    """numba types no non-native byte order: such an input is read by a NumPy step (whose
    result is native, so the rest still fuses), never handed to a kernel."""
    x = np.random.default_rng(3).standard_normal((4, 5)).astype(">f8")
    c = compiled(("value", "byteswapped"), broadcast, (x, x[0].astype(np.float64), 0.5),
                 spec=VALUE)
    c.check()
    c.check([x[::-1], x[1].astype(np.float64), 0.25])
