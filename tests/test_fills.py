"""Filling with a tracked value: np.full, np.full_like, np.copyto (issue 13, item 5).

NumPy dispatches neither np.full nor np.full_like on the fill value; yota's wrappers
(yota/core_pack/fills.py) route a tracked fill to its implementation.
"""
import pickle

import numpy as np
import pytest

import yota
from yota import InPlaceError
from yota.testing import check_grads

PLAIN = np.arange(6.0).reshape(2, 3)


def full_scalar(x):
    return np.sum(np.full((2, 3), x[0] * x[1]) * PLAIN)


def full_row(x):                       # the fill broadcasts: a row
    return np.sum(np.full((2, 3), np.sin(x)) ** 2 * PLAIN)


def full_dtype(x):
    assert np.full(4, x[2], dtype=np.float32).dtype == np.float32
    r = np.full(4, x[2], dtype=np.float64)
    return np.sum(r * x[0])


def full_keywords(x):
    return np.sum(np.full(shape=(3,), fill_value=x[1] ** 2) * x)


def full_like_plain(x):
    return np.sum(np.full_like(PLAIN, x[0] ** 3) * PLAIN)


def full_like_tracked(x):
    return np.sum(np.full_like(x, x[1]) * x)


def copyto_tracked(x):
    buf = np.zeros_like(x)
    np.copyto(buf, x[2] * 2)
    return np.sum(buf * x)


def zeros_plus(x):
    return np.sum((np.zeros((2, 3)) + x[0]) * PLAIN)


def ones_like_times(x):
    return np.sum(np.ones_like(PLAIN) * x[1] * PLAIN)


PROGRAMS = [full_scalar, full_row, full_dtype, full_keywords, full_like_plain,
            full_like_tracked, copyto_tracked, zeros_plus, ones_like_times]


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_filling_with_a_tracked_value_is_differentiable(f):
    for x in (np.array([0.3, -1.2, 0.7]), np.array([1.1, 0.4, -0.5])):
        check_grads(f, x, order=2)


@pytest.mark.parametrize("dynamic", (False, True))
def test_the_result_is_a_tracked_array_equal_to_numpys(dynamic):
    made = {}

    def f(x):
        made["full"] = np.full((2, 3), x[0])
        made["row"] = np.full((2, 3), x)
        made["int"] = np.full(2, x[0], dtype=int)
        made["like"] = np.full_like(PLAIN, x[1])
        made["like32"] = np.full_like(PLAIN.astype(np.float32), x[1])
        return np.sum(made["full"] + made["row"] + made["like"] + made["like32"])

    x = np.array([0.25, -1.5, 2.0])
    expected = {"full": np.full((2, 3), x[0]), "row": np.full((2, 3), x),
                "int": np.full(2, x[0], dtype=int), "like": np.full_like(PLAIN, x[1]),
                "like32": np.full_like(PLAIN.astype(np.float32), x[1])}
    yota.grad(f, x, dynamic=dynamic)
    for name, want in expected.items():
        got = made[name]
        assert type(got) is yota.Tracked, name
        assert got.shape == want.shape and got.dtype == want.dtype, name
        np.testing.assert_array_equal(got._value, want)


def test_a_plain_fill_is_numpys_own_result():
    assert type(np.full((2,), 1.5)) is np.ndarray
    np.testing.assert_array_equal(np.full_like(PLAIN, 2), np.full(PLAIN.shape, 2.0))
    assert np.full.__yota_original__.__module__.startswith("numpy")
    assert np.full.__name__ == "full" and np.full_like.__name__ == "full_like"
    assert pickle.loads(pickle.dumps(np.full)) is np.full


@pytest.mark.parametrize("dynamic", (False, True))
def test_copyto_into_a_plain_array_still_refuses(dynamic):
    def f(x):
        buf = np.zeros(3)
        np.copyto(buf, x)
        return np.sum(buf)

    with pytest.raises(InPlaceError, match=r"numpy\.copyto writes tracked values into a plain"):
        yota.grad(f, np.ones(3), dynamic=dynamic)


@pytest.mark.parametrize("dynamic", (False, True))
def test_numpys_own_full_bound_before_yota_says_what_to_do(dynamic):
    numpy_full_like = np.full_like.__yota_original__

    def f(x):
        return np.sum(numpy_full_like(np.ones((2, 3)), x[0]))   # a plain array made in f

    with pytest.raises(InPlaceError, match=r"from numpy import full.*like=s"):
        yota.grad(f, np.ones(3), dynamic=dynamic)
    g = yota.grad(lambda x: np.sum(np.full((2,), x[0], like=x)), np.ones(3), dynamic=dynamic)[1]
    np.testing.assert_array_equal(g[0], [2.0, 0.0, 0.0])
