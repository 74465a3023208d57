"""``hvp`` compiled: static mode traces once per signature with ``v`` a program input.

Static and dynamic mode give the same ``H v``, and both equal central differences of the
gradient along ``v``; new ``x`` and ``v`` of the signature replay the compiled program (counted
by ``CACHE.misses``), a branch on a value re-traces through its guard, keyword arguments are
read at call time. (tests/test_transforms.py has hvp against exact Hessians and its errors.)
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import yota
from yota import hvp
from yota.compile import CACHE
from yota.errors import BackendError


@pytest.fixture(autouse=True)
def _fresh_cache():
    yota.clear_cache()
    yield
    yota.clear_cache()


def wavy(x):
    """A Hessian with off-diagonal terms (from the square of the sum)."""
    return np.sum(np.sin(x) * x ** 2 + np.cos(x) ** 3) + 0.1 * np.sum(x) ** 2


def branchy(x):
    """A branch on a value: each side is its own compiled variant, behind a guard."""
    if np.sum(x) > 0:
        return np.sum(x ** 3 * np.exp(-x))
    return np.sum(np.log1p(x * x))


def with_data(x, A, scale=1.0):
    return scale * np.sum(np.tanh(A @ x) ** 2)


def fd_hvp(f, x, v, h=1e-5, **kwargs):
    """Central differences of the (dynamic, float64) gradient along ``v``."""
    x64, v64 = np.asarray(x, np.float64), np.asarray(v, np.float64)
    g = yota.gradient(f, dynamic=True)
    return (g(x64 + h * v64, **kwargs) - g(x64 - h * v64, **kwargs)) / (2 * h)


def check(f, x, v, rtol=1e-12, fd_rtol=1e-6, **kwargs):
    """Static equals dynamic (type and dtype too) and finite differences; returns static's."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # a fallback to dynamic mode warns
        s = hvp(f, x, v, **kwargs)
    d = hvp(f, x, v, dynamic=True, **kwargs)
    assert type(s) is type(d), f"static gave {type(s).__name__}, dynamic {type(d).__name__}"
    assert np.asarray(s).dtype == np.asarray(d).dtype == np.asarray(x).dtype, "dtype not kept"
    np.testing.assert_allclose(s, d, rtol=rtol, atol=rtol, err_msg="static != dynamic")
    np.testing.assert_allclose(s, fd_hvp(f, x, v, **kwargs), rtol=fd_rtol, atol=fd_rtol,
                               err_msg="H v != finite differences of the gradient")
    return s


def test_arrays_are_traced_once_for_new_x_and_v(rng):
    x = rng.normal(size=6)
    check(wavy, x, rng.normal(size=6))
    assert CACHE.misses == 1
    for _ in range(3):     # Newton-CG: new x and v of the same shape replay the program
        check(wavy, rng.normal(size=6), rng.normal(size=6))
    assert CACHE.misses == 1, "a new x or v traced hvp again"


def test_floats_keep_their_kind_and_v_is_not_keyed(rng):
    for v in (0.5, -2.0, np.float64(3.0)):
        r = check(wavy, 0.7, v)
        assert type(r) is float
    assert CACHE.misses == 1, "a new float v traced hvp again (it was keyed by value)"
    r = check(wavy, np.float32(0.7), 2.0, rtol=1e-6, fd_rtol=2e-2)
    assert type(r) is np.float32


def test_float32_stays_float32(rng):
    x, v = rng.normal(size=5).astype(np.float32), rng.normal(size=5)   # v cast to float32
    r = check(wavy, x, v, rtol=1e-5, fd_rtol=2e-2)
    assert r.dtype == np.float32


def test_a_branch_on_a_value_retraces_through_its_guard(rng):
    x, v = np.abs(rng.normal(size=4)) + 0.1, rng.normal(size=4)
    for sign in (1, -1, 1, -1):
        check(branchy, sign * x, v)
    assert CACHE.misses == 2, "one variant per side of the branch, then replays"


def test_keyword_arguments_are_read_at_each_call(rng):
    x, v = rng.normal(size=3), rng.normal(size=3)
    for _ in range(2):   # new data in the keyword argument: replayed, never stale
        check(with_data, x, v, A=rng.normal(size=(4, 3)), scale=2.0)
    assert CACHE.misses == 1


def test_the_result_is_never_v_itself(rng):
    """H = I for x @ x / 2, so H v is v: handed over as a fresh array in both modes."""
    v = rng.normal(size=3)
    for dynamic in (False, True):
        r = hvp(lambda x: x @ x / 2, rng.normal(size=3), v, dynamic=dynamic)
        assert r is not v and not np.shares_memory(r, v)
        np.testing.assert_array_equal(r, v)


def test_inside_another_derivative(rng):
    """Nested in gradient (a third derivative), hvp records on the outer tape."""
    x, v = rng.normal(size=3), rng.normal(size=3)
    outer = [yota.gradient(lambda x: np.sum(hvp(wavy, x, v, dynamic=d) * v))(x)
             for d in (False, True)]
    np.testing.assert_allclose(outer[0], outer[1], rtol=1e-12)
    fd = (hvp(wavy, x + 1e-5 * v, v) @ v - hvp(wavy, x - 1e-5 * v, v) @ v) / 2e-5
    np.testing.assert_allclose(outer[0] @ v, fd, rtol=1e-6)


def test_backend_is_checked_and_used(rng):
    x, v = rng.normal(size=3), rng.normal(size=3)
    with pytest.raises(BackendError, match="no compile backend is named 'nope'"):
        hvp(wavy, x, v, backend="nope")
    want = hvp(wavy, x, v, dynamic=True)
    np.testing.assert_allclose(hvp(wavy, x, v, backend="interpret"), want, rtol=1e-12)
    (variant,) = [v for key, e in CACHE.entries.items() if key[0] == (("hvp",), "interpret")
                  for v in e.variants]
    assert variant.backend == "interpret"


YOTA_BACKEND_RUN = """
import numpy as np, yota
from yota.compile import CACHE
r = yota.hvp(lambda x: np.sum(x ** 3), np.ones(3), np.arange(3.0))
print(r.tolist(), [v.backend for e in CACHE.entries.values() for v in e.variants])
"""


def test_yota_backend_is_the_default_of_hvp():
    """``YOTA_BACKEND`` (read at import, so in a fresh process) compiles hvp too, and an
    unknown name is hvp's error as it is grad's."""
    env = dict(os.environ, YOTA_BACKEND="interpret")
    done = subprocess.run([sys.executable, "-c", YOTA_BACKEND_RUN], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0.0, 6.0, 12.0] ['interpret']", done.stdout
    env["YOTA_BACKEND"] = "nope"
    done = subprocess.run([sys.executable, "-c", YOTA_BACKEND_RUN], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "BackendError: yota: YOTA_BACKEND=nope: no compile backend is named" in done.stderr


def test_a_changing_float_keyword_is_lifted_not_traced_each_call(rng):
    """Static mode's records per function hold for hvp's wrapper of f: a Python float that
    changes at every call becomes a program input after a few re-traces."""
    x, v = rng.normal(size=4), rng.normal(size=4)
    for i in range(8):
        check(with_data, x, v, A=np.eye(4), scale=1.0 + i / 7)
    assert CACHE.misses <= 3, f"traced {CACHE.misses} times for 8 values of one float"


def test_random_draws_fall_back_once_with_the_function_named(rng):
    def noisy(x):
        return np.sum(x ** 3 * np.random.normal())

    x, v = rng.normal(size=3), rng.normal(size=3)
    with pytest.warns(RuntimeWarning, match="yota: .*noisy falls back to dynamic mode"):
        np.random.seed(1)
        first = hvp(noisy, x, v)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # said once
        for _ in range(2):
            np.random.seed(1)
            again = hvp(noisy, x, v)
            np.random.seed(1)
            np.testing.assert_allclose(again, hvp(noisy, x, v, dynamic=True), rtol=1e-12)
    np.testing.assert_allclose(first, again, rtol=1e-12)
