"""insert, rollaxis, pad's statistic and ramp modes, x.flat, x.partition, np.array(like=),
jacobian of tuple outputs and of scalar -> vector functions, grad of grad through tuples."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

A = np.random.default_rng(0).normal(size=(3, 4))


def value(f, *args):
    return yota.value_and_grad(f, argnums=tuple(range(len(args))))(*args)[0]


@pytest.mark.parametrize("args, kw", [((1, 5.0), {}), (([0, 2], [7.0, 8.0]), {}),
                                      ((1, np.array([1.0, 2, 3, 4])), dict(axis=0)),
                                      ((2, np.array([1.0, 2, 3])), dict(axis=1)),
                                      ((slice(0, 2), 9.0), dict(axis=1))])
def test_insert(args, kw):
    ref = np.insert(A, *args, **kw)
    w = np.arange(ref.size).reshape(ref.shape)
    np.testing.assert_allclose(value(lambda a: np.sum(np.insert(a, *args, **kw) * w), A),
                               np.sum(ref * w))
    check_grads(lambda a: np.sum(np.sin(np.insert(a, *args, **kw))), A, order=2)


def test_insert_tracked_values_and_delete():
    check_grads(lambda a, v: np.sum(np.sin(np.insert(a, 1, v, axis=0))), A,
                np.array([1.0, 2, 3, 4]), order=2)
    check_grads(lambda a, v: np.sum(np.sin(np.insert(a, [1, 3], v, axis=1))), A,
                np.array([[1.0], [2.0], [3.0]]), order=2)
    check_grads(lambda a: np.sum(np.sin(np.delete(a, [0, 2], axis=1))), A, order=2)


@pytest.mark.parametrize("axis, start", [(2, 0), (0, 3), (1, 1), (-1, 1), (0, -1), (1, 3)])
def test_rollaxis(axis, start):
    b = np.random.default_rng(1).normal(size=(2, 3, 4))
    ref = np.rollaxis(b, axis, start)
    w = np.arange(ref.size).reshape(ref.shape)
    np.testing.assert_allclose(value(lambda b: np.sum(np.rollaxis(b, axis, start) * w), b),
                               np.sum(ref * w))
    check_grads(lambda b: np.sum(np.rollaxis(b, axis, start) * w), b)


@pytest.mark.parametrize("mode", ["mean", "median", "minimum", "maximum", "linear_ramp"])
@pytest.mark.parametrize("width, stat", [(2, False), (((1, 2), (0, 3)), False),
                                         (((2, 1), (1, 1)), True)])
def test_pad_modes(mode, width, stat):
    kw = {}
    if stat:
        kw = dict(end_values=((1.0, 2.0), (-1.0, 0.5))) if mode == "linear_ramp" else \
            dict(stat_length=2)
    ref = np.pad(A, width, mode=mode, **kw)
    w = np.arange(ref.size).reshape(ref.shape)
    np.testing.assert_allclose(value(lambda a: np.sum(np.pad(a, width, mode=mode, **kw) * w), A),
                               np.sum(ref * w))
    check_grads(lambda a: np.sum(np.sin(np.pad(a, width, mode=mode, **kw))), A, order=2)


def test_pad_float32():
    a = A.astype(np.float32)
    check_grads(lambda a: np.sum(np.sin(np.pad(a, 1, mode="linear_ramp"))), a)
    check_grads(lambda a: np.sum(np.sin(np.pad(a, 1, mode="mean"))), a)


def test_flat():
    x = A[:2, :3].copy()
    check_grads(lambda x: x.flat[4] * x.flat[1] + np.sum(x.flat[1:5] ** 2)
                + np.sum(x.flat[[0, 5]]) + sum(x.flat) + len(x.flat), x, order=2)

    def write(x):
        y = x * 2
        y.flat[2] = x.flat[0] ** 2
        y.flat[3:5] = 7.0
        return np.sum(y ** 2)

    check_grads(write, x, order=2)


def test_partition_method():
    x = A[:2, :3].copy()

    def f(x):
        y = x + 0
        assert y.partition(1) is None
        return np.sum(y * np.arange(6.0).reshape(2, 3))

    np.testing.assert_allclose(value(f, x),
                               np.sum(np.partition(x, 1) * np.arange(6.0).reshape(2, 3)))
    check_grads(f, x, order=2)

    def g(x):
        x.partition(0, axis=0)      # an argument, in place
        return np.sum(x * np.arange(6.0).reshape(2, 3))

    w = np.arange(6.0).reshape(2, 3)
    expected = yota.grad(lambda x: np.sum(np.partition(x, 0, axis=0) * w), x)[1][0]
    for dynamic in (False, True):
        np.testing.assert_allclose(yota.grad(g, x.copy(), dynamic=dynamic)[1][0], expected)


def test_array_like():
    x = np.array([0.3, -1.2])
    check_grads(lambda x: np.sum(np.array([x[0], x[1] * 2, 3.0], like=x) ** 2), x, order=2)
    check_grads(lambda x: np.sum(np.asarray([[x[0], 1.0], [2.0, x[1]]], like=x) ** 2), x)
    with pytest.raises(yota.YotaError, match="like="):
        yota.grad(lambda x: np.sum(np.array([x[0], x[1]])), x)


def test_jacobian_scalar_to_vector():
    for dynamic in (False, True):
        j = yota.jacobian(lambda t: np.stack([np.sin(t), np.cos(t) * t]), dynamic=dynamic)
        np.testing.assert_allclose(j(np.array(0.7)), [np.cos(0.7),
                                                      np.cos(0.7) - 0.7 * np.sin(0.7)])
        np.testing.assert_allclose(j(0.7), j(np.array(0.7)))


def test_jacobian_tuple_outputs():
    x = np.array([0.3, 0.5])
    for dynamic in (False, True):
        j = yota.jacobian(lambda x: (np.sin(x), x[0] * x, np.sum(x)), dynamic=dynamic)(x)
        assert isinstance(j, tuple) and [b.shape for b in j] == [(2, 2), (2, 2), (2,)]
        np.testing.assert_allclose(j[0], np.diag(np.cos(x)))
        np.testing.assert_allclose(j[1], [[0.6, 0.0], [0.5, 0.3]])
        np.testing.assert_allclose(j[2], [1.0, 1.0])
        both = yota.jacobian(lambda x, y: (np.sin(x) * y, x[0] * y), argnums=(0, 1),
                             dynamic=dynamic)(x, 2.0)
        np.testing.assert_allclose(both[0][1], np.sin(x))
        np.testing.assert_allclose(both[1][0], [2.0, 0.0])
        nested = yota.jacobian(yota.jacobian(lambda x: (np.sin(x), x * x[0])),
                               dynamic=dynamic)(x)
        np.testing.assert_allclose(nested[0], np.einsum("ij,jk->ijk", np.diag(-np.sin(x)),
                                                        np.eye(2)))


def test_grad_of_grad_through_tuples():
    x = np.array([0.3, 0.5])

    def f(p):
        a, b = p
        return np.sum(np.sin(a) * b ** 2)

    def h(a, b):
        g = yota.gradient(f)((a, b))[0]
        return np.sum(g[(0,)] * g[(1,)])

    check_grads(h, x, 2 * x, order=2)

    def pair(a, b):
        return np.sin(a) * b, a * b

    def k(a, b):
        u, v = pair(a, b)
        return np.sum(u * v)

    def gk(a, b):
        ga, gb = yota.gradient(k, argnums=(0, 1))(a, b)
        return np.sum(ga ** 2) + np.sum(gb * a)

    check_grads(gk, x, 2 * x, order=2)
