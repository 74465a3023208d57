"""The vectorizable exp, log and tanh agree with NumPy's to a few ULP over their whole range,
edge cases included (0, -0, denormals, tiny, huge, inf, nan); float32 rounds once."""
import numba
import numpy as np
import pytest

from numba_testing import ulp_distance
from yota_numba import mathlib, table

EDGES = np.array([0.0, -0.0, 5e-324, -5e-324, 1e-310, -1e-310, 2.2250738585072014e-308,
                  -2.2250738585072014e-308, 1e-300, 1e-20, -1e-20, 0.5, 1.0, -1.0, 2.0,
                  0.17, 0.3466, 0.35, -0.35, 19.0, 20.0, 21.0, 700.0, 709.78, 709.79, 710.0,
                  -708.0, -720.0, -745.1, -745.2, -800.0, 1e300, -1e300, 1.7976931348623157e308,
                  np.inf, -np.inf, np.nan, -np.nan])


def _vector(f):
    @numba.njit(error_model="numpy")
    def run(a, out):
        for i in range(a.shape[0]):
            out[i] = f(a[i])
    return run


KERNELS = {"exp": (mathlib.exp64, np.exp, 1), "log": (mathlib.log64, np.log, 1),
           "tanh": (mathlib.tanh64, np.tanh, 3)}


def _domain(name, rng):
    if name == "exp":
        parts = [rng.uniform(-750, 712, 200_000), rng.uniform(-1, 1, 50_000)]
    elif name == "log":
        parts = [np.exp(rng.uniform(-745, 709, 200_000)), rng.uniform(0, 3, 50_000),
                 rng.uniform(-1, 0, 1000)]
    else:
        parts = [rng.uniform(-25, 25, 200_000), rng.uniform(-1, 1, 50_000),
                 np.exp(rng.uniform(-745, 0, 50_000))]
    x = np.concatenate(parts)
    return np.concatenate([x, -x[:10_000], EDGES])


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_float64_ulp(name):
    kernel, ref, bound = KERNELS[name]
    x = _domain(name, np.random.default_rng(1))
    got = np.empty_like(x)
    _vector(kernel)(x, got)
    with np.errstate(all="ignore"):
        want = ref(x)
    d = ulp_distance(got, want)
    worst = int(d.argmax())
    assert d.max() <= bound, (x[worst], got[worst], want[worst])
    same_class = np.isnan(got) == np.isnan(want)
    assert same_class.all()
    assert (np.signbit(got[want == 0]) == np.signbit(want[want == 0])).all()  # -0.0 kept


@pytest.mark.parametrize("ufunc", [np.exp, np.log, np.tanh])
@pytest.mark.filterwarnings("ignore:overflow encountered in cast")
def test_float32_rounds_once(ufunc):
    """float32 computes in float64 and rounds: within 1 ULP of float32 NumPy (itself ~1 ULP)."""
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-90, 90, 100_000), EDGES]).astype(np.float32)
    if ufunc is np.log:
        x = np.abs(x)
    f32 = np.dtype(np.float32)
    helper = table.CORE[ufunc]([f32], f32)

    @numba.njit(error_model="numpy")
    def run(a, out):
        for i in range(a.shape[0]):
            out[i] = np.float32(helper(a[i]))

    got = np.empty_like(x)
    run(x, got)
    with np.errstate(all="ignore"):
        want = ufunc(x)
    assert ulp_distance(got, want).max() <= 2
