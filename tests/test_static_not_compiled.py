"""A function that static mode cannot compile says so, once, with the reason (issue 13, item 7).

It still runs, in dynamic mode, with the same results; but "static" is then no faster than
``dynamic=True`` and may be slower, so the user hears about it with a RuntimeWarning that points
at their own call (not at yota's internals).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import yota
from yota.compile import static


@pytest.fixture(autouse=True)
def fresh_cache():
    yota.clear_cache()
    yield
    yota.clear_cache()


def _long(x):
    for _ in range(10):
        x = np.sin(x)
    return np.sum(x)


def test_a_signature_too_large_to_compile_warns_once_with_the_reason(monkeypatch):
    monkeypatch.setattr(static, "MAX_INSTRUCTIONS", 5)
    x = np.linspace(0.1, 1.0, 4)
    expected = yota.grad(_long, x, dynamic=True)
    with pytest.warns(RuntimeWarning) as rec:
        for n in (4, 4, 5):   # a second signature of the same function: no second warning
            val, g = yota.grad(_long, np.linspace(0.1, 1.0, n))
    msgs = [str(w.message) for w in rec if "could not compile" in str(w.message)]
    assert len(msgs) == 1
    assert msgs[0].startswith("yota: _long runs in dynamic mode for this signature: static mode "
                              "could not compile it (TooLarge: the traced program has ")
    assert "MAX_INSTRUCTIONS = 5" in msgs[0]
    assert msgs[0].endswith("call yota.grad(..., dynamic=True) to silence this warning")
    val, g = yota.grad(_long, x)
    assert val == expected[0]
    np.testing.assert_array_equal(g[0], expected[1][0])


@pytest.mark.parametrize("call, hint", [
    (lambda x: yota.value_and_grad(_long)(x), "make it with yota.value_and_grad(f, dynamic=True)"),
    (lambda x: yota.jacobian(lambda y: np.sin(np.sin(y)) * 2.0)(x),
     "make it with yota.jacobian(f, dynamic=True)"),
    (lambda x: yota.hessian(_long)(x), "make it with yota.hessian(f, dynamic=True)"),
    (lambda x: yota.hvp(_long, x, x), "call yota.hvp(..., dynamic=True)"),
])
def test_the_warning_says_how_to_ask_the_transform_called_for_dynamic_mode(monkeypatch, call,
                                                                           hint):
    monkeypatch.setattr(static, "MAX_INSTRUCTIONS", 5)
    with pytest.warns(RuntimeWarning) as rec:
        call(np.linspace(0.1, 1.0, 3))
    msgs = [str(w.message) for w in rec if "could not compile" in str(w.message)]
    assert len(msgs) == 1 and msgs[0].endswith(f"; {hint} to silence this warning"), msgs


def test_the_warning_points_at_the_users_call(monkeypatch):
    monkeypatch.setattr(static, "MAX_INSTRUCTIONS", 5)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        yota.grad(_long, np.ones(3))
    (w,) = [w for w in rec if "could not compile" in str(w.message)]
    assert w.filename == __file__
    assert w.category is RuntimeWarning


def test_dynamic_true_never_warns(monkeypatch):
    monkeypatch.setattr(static, "MAX_INSTRUCTIONS", 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yota.grad(_long, np.ones(3), dynamic=True)


def test_the_users_own_error_comes_out_without_a_warning():
    def broken(x):
        return np.sum(x) + undefined_name   # noqa: F821

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NameError):
            yota.grad(broken, np.ones(3))
