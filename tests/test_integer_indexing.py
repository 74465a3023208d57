"""Integer and boolean tracked values index plain arrays; values without gradient convert.

``plain_table[i]``, ``np.take(plain_table, i)`` and ``np.asarray(i)`` give NumPy a plain array
(NumPy offers no hook on the index of a plain array): allowed for values that carry no gradient,
and guarded by value, so a compiled program re-traces when the index changes (issue 13, item 4).
"""
import numpy as np
import pytest

import yota
from yota import YotaError
from yota.testing import check_grads

MODES = (False, True)   # dynamic=...
TABLE = np.linspace(0.0, 3.0, 10) ** 2


def lookup_floor(z):                  # a fluid simulation's cell lookup
    return np.sum(TABLE[np.floor(z).astype(int)] * z ** 2)


def lookup_argsort(z):
    return np.sum(TABLE[np.argsort(z)] * np.sin(z))


def lookup_local(z):                  # the table is built inside: a constant in both modes
    table = np.cos(np.arange(10.0))
    return np.sum(table[np.argsort(z)] * z ** 3)


def lookup_take(z):
    return np.sum(np.take(TABLE, np.argsort(z)) * np.exp(z))


def lookup_mask(z):
    return np.sum(TABLE[:4][z > 1.0] * z[z > 1.0])


def index_of_asarray(z):
    i = np.asarray(np.argsort(z))     # a plain integer array
    assert type(i) is np.ndarray and i.dtype.kind == "i"
    return np.sum(z[i] * TABLE[i] * z)


def stopped(z):
    plain = np.asarray(yota.stop_gradient(z))   # the README's escape hatch
    assert type(plain) is np.ndarray
    return np.sum(np.sort(plain)[::-1] * z ** 2)


PROGRAMS = [lookup_floor, lookup_argsort, lookup_local, lookup_take, lookup_mask,
            index_of_asarray]
POINTS = [np.array([1.3, 2.6, 0.4, 5.2]), np.array([4.7, 0.2, 3.9, 1.6]),
          np.array([0.6, 8.1, 2.2, 2.9])]


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_integer_index_of_a_plain_array_matches_finite_differences(f):
    for z in POINTS:
        check_grads(f, z)


@pytest.mark.parametrize("dynamic", MODES)
def test_asarray_of_a_stopped_gradient_is_a_constant_that_follows_the_input(dynamic):
    yota.clear_cache()
    for z in POINTS + POINTS:
        value, g = yota.grad(stopped, z, dynamic=dynamic)
        np.testing.assert_allclose(g[0], 2 * z * np.sort(z)[::-1], rtol=1e-12)
        assert value == pytest.approx(stopped(z))


@pytest.mark.parametrize("f", PROGRAMS + [stopped], ids=lambda f: f.__name__)
@pytest.mark.parametrize("dynamic", MODES)
def test_a_replay_with_other_indices_is_not_stale(f, dynamic):
    yota.clear_cache()
    for z in POINTS + POINTS:         # the index changes on every call, then repeats
        value, g = yota.grad(f, z, dynamic=dynamic)
        expected_value, expected = yota.grad(f, z, dynamic=True)
        assert value == pytest.approx(f(z))
        np.testing.assert_allclose(g[0], expected[0], rtol=1e-12)


@pytest.mark.parametrize("f", [lookup_floor, lookup_argsort, lookup_take, lookup_local],
                         ids=lambda f: f.__name__)
def test_second_order_through_integer_indexing(f):
    check_grads(f, POINTS[0], order=2)
    for dynamic in MODES:
        H = yota.hessian(f, dynamic=dynamic)(POINTS[1])
        h = 1e-5
        numeric = np.array([(yota.grad(f, POINTS[1] + h * e, dynamic=True)[1][0]
                             - yota.grad(f, POINTS[1] - h * e, dynamic=True)[1][0]) / (2 * h)
                            for e in np.eye(4)])
        np.testing.assert_allclose(H, numeric, rtol=1e-5, atol=1e-6)


def test_a_rule_indexing_a_plain_array_with_a_tracked_index_works_at_every_order():
    """A gradient rule runs on tracked values at order 2: its plain_table[index] must work."""
    @yota.primitive
    def weighted(x, i):
        return x * TABLE[i]

    weighted.defgrad(lambda dy, y, x, i: dy * TABLE[i], argnum=0)

    def f(x):
        return np.sum(weighted(x, np.argsort(x)) * x)

    for z in POINTS[:2]:
        check_grads(f, z, order=2)


@pytest.mark.parametrize("dynamic", MODES)
def test_asarray_of_integers_and_booleans_is_a_plain_array(dynamic):
    seen = {}

    def f(x):
        seen["i"] = np.asarray(np.argmax(x))
        seen["mask"] = np.asarray(x > 0)
        seen["int"] = np.array(x.astype(int), dtype=float)
        return np.sum(x ** 2)

    yota.grad(f, np.array([-1.5, 2.5, 0.5]), dynamic=dynamic)
    assert type(seen["i"]) is np.ndarray and seen["i"] == 1
    np.testing.assert_array_equal(seen["mask"], [False, True, True])
    assert seen["int"].dtype == np.float64
    np.testing.assert_array_equal(seen["int"], [-1.0, 2.0, 0.0])


@pytest.mark.parametrize("dynamic", MODES)
def test_asarray_of_data_that_is_not_differentiated_is_a_plain_array(dynamic):
    def f(x, y):
        return np.sum(np.asarray(y) * x)

    for y in (np.array([1.0, 2.0]), np.array([3.0, -1.0])):
        value, g = yota.grad(f, np.array([0.5, 0.25]), y, argnums=0, dynamic=dynamic)
        np.testing.assert_array_equal(g[0], y)


@pytest.mark.parametrize("dynamic", MODES)
def test_a_float_that_carries_a_gradient_still_refuses_to_become_a_plain_array(dynamic):
    cases = [lambda x: np.sum(np.asarray(x) * x),
             lambda x: np.sum(np.arange(3.0)[np.asarray(x * 2)] * x),
             lambda x: np.sum(np.take(np.arange(3.0), x) * x)]
    for f in cases:
        with pytest.raises(YotaError, match=r"carries a gradient to a plain ndarray.*"
                                            r"np\.asarray\(yota\.stop_gradient\(x\)\)"):
            yota.grad(f, np.array([0.0, 1.0]), dynamic=dynamic)
