"""NumPy's floating-point error state (np.errstate, np.seterrcall) holds for fused programs: a
call whose loops meet NaN or inf is rerun as the "numpy" backend's program, so it warns, raises
or calls back exactly as that program does; a call without them never reruns."""
import warnings

import numpy as np
import pytest

from numba_testing import Compiled, assert_same


def hidden_overflow(x):    # exp overflows, tanh hides it: the result is finite
    return np.sum(np.tanh(np.exp(x) * 2.0) + x * x)


def log_of_zero(x):        # log(0) is -inf: "divide by zero encountered in log"
    return np.sum(np.log(x * x) * 3.0 + x)


def sqrt_of_negative(x):   # sqrt(-1) is NaN: "invalid value encountered in sqrt"
    return np.sum(np.sqrt(x) * 2.0 + x)


def zero_division(x):      # 1/0: "divide by zero encountered in divide"
    return np.sum((1.0 / x) * 0.5 - x)


def overflowing_sum(x):    # finite elements whose fused sum overflows
    return np.sum(x * 2.0 + 1.0)


CASES = [
    (hidden_overflow, np.array([1.0, 800.0, -2.0]), np.array([1.0, 0.5, -2.0])),
    (log_of_zero, np.array([1.0, 0.0, -2.0]), np.array([1.0, 3.0, -2.0])),
    (sqrt_of_negative, np.array([1.0, -1.0, 4.0]), np.array([1.0, 2.0, 4.0])),
    (zero_division, np.array([1.0, 0.0, 2.0]), np.array([1.0, 3.0, 2.0])),
    (overflowing_sum, np.array([1e308, 1e308]), np.array([1.0, 2.0])),
]
IDS = [c[0].__name__ for c in CASES]
_built = {}


def _compiled(f, clean):
    if f not in _built:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _built[f] = Compiled(f, (clean,))
    return _built[f]


def _rerun(c):
    """The host's fallback: the "numpy" program that reruns a call (None until first needed)."""
    return c.numba.__globals__["numpy_program"]


def _run(fn, inputs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*inputs)
    return result, [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("f, bad, clean", CASES, ids=IDS)
def test_warnings_are_numpys(f, bad, clean):
    c = _compiled(f, clean)
    inputs = c.inputs_for((bad,))
    got, got_warnings = _run(c.numba, inputs)
    want, want_warnings = _run(c.numpy, inputs)
    assert want_warnings, "the case must make NumPy warn"
    assert got_warnings == want_warnings
    assert_same(got, want)


@pytest.mark.parametrize("f, bad, clean", CASES, ids=IDS)
def test_errstate_raise_raises_as_numpy_does(f, bad, clean):
    c = _compiled(f, clean)
    inputs = c.inputs_for((bad,))
    with np.errstate(all="raise"):
        with pytest.raises(FloatingPointError) as want:
            c.numpy(*inputs)
        with pytest.raises(FloatingPointError) as got:
            c.numba(*inputs)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("f, bad, clean", CASES[:2], ids=IDS[:2])
def test_seterrcall_handler_sees_what_numpy_reports(f, bad, clean):
    c = _compiled(f, clean)
    inputs = c.inputs_for((bad,))
    seen = {"numpy": [], "numba": []}
    for label, fn in (("numpy", c.numpy), ("numba", c.numba)):
        with np.errstate(all="call", call=lambda kind, flag, out=seen[label]: out.append(kind)):
            fn(*inputs)
    assert seen["numba"] == seen["numpy"] != []


@pytest.mark.parametrize("f, bad, clean", CASES, ids=IDS)
def test_ignored_errors_and_finite_calls_stay_fused(f, bad, clean):
    fresh = Compiled(f, (clean,))          # its own host: nothing has rerun it yet
    with np.errstate(all="ignore"):
        got, caught = _run(fresh.numba, fresh.inputs_for((bad,)))
        want = fresh.numpy(*fresh.inputs_for((bad,)))
    assert caught == []
    assert_same(got, want)
    got, caught = _run(fresh.numba, fresh.inputs_for((clean,)))
    assert caught == []
    assert_same(got, fresh.numpy(*fresh.inputs_for((clean,))))
    assert _rerun(fresh).fn is None, "a call NumPy has nothing to say about was run twice"


def test_through_grad_with_backend_numba():
    import yota

    clean, bad = np.array([1.0, 2.0, 4.0]), np.array([1.0, -1.0, 4.0])
    yota.grad(sqrt_of_negative, clean, backend="numba")     # traced and compiled here
    with np.errstate(all="raise"), pytest.raises(FloatingPointError, match="invalid value "
                                                                           "encountered in sqrt"):
        yota.grad(sqrt_of_negative, bad, backend="numba")   # the compiled program
