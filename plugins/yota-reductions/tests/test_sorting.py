"""np.sort and np.partition (gathers with non-differentiable indices), np.argpartition."""
from __future__ import annotations

import numpy as np
import pytest

import yota
from yota.testing import check_grads, check_primitive
from yota_reductions import sorting


def _data(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _weights(shape, dtype=np.float64, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,axis", [((6,), -1), ((3, 4), 0), ((3, 4), 1), ((3, 4), None),
                                        ((2, 3, 4), 1), ((0, 3), 0), ((), None)])
def test_sort(shape, axis, dtype):
    x = _data(shape, dtype)
    w = _weights(np.sort(x, axis=axis).shape, dtype)
    value, g = check_grads(lambda x: np.sum(np.sort(x, axis=axis) * w), x)
    assert value == np.sum(np.sort(x, axis=axis) * w)
    assert g[0].dtype == dtype


def test_sort_gradient_follows_each_element_ties_included():
    x = np.array([3.0, 1.0, 2.0, 1.0, 5.0])
    w = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    _, g = yota.grad(lambda x: np.sum(np.sort(x, kind="stable") * w), x)
    # sorted: 1 (x1), 1 (x3), 2 (x2), 3 (x0), 5 (x4)
    np.testing.assert_array_equal(g[0], [40.0, 10.0, 30.0, 20.0, 50.0])
    _, g = yota.grad(lambda x: np.sum(np.sort(x) * w), x)
    assert sorted(g[0][[1, 3]]) == [10.0, 20.0]   # the tied pair takes the first two weights
    x[3] = 1.5  # finite differences need a point away from ties
    check_grads(lambda x: np.sum(np.sort(x, stable=True) ** 2 * w), x, order=2)
    check_grads(lambda x: np.sort(x)[-1] - np.sort(-x)[0], x)   # the max, twice


def test_sort_with_nan_puts_it_last():
    x = np.array([2.0, np.nan, -1.0])
    value, g = yota.grad(lambda x: np.sort(x)[:2] @ np.array([1.0, 2.0]), x)
    assert value == -1.0 + 4.0
    np.testing.assert_array_equal(g[0], [2.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kth,axis", [(2, -1), ([0, 3], 1), (1, 0), (-1, -1), (4, None)])
def test_partition_is_numpy_s_arrangement(kth, axis, dtype):
    rng = np.random.default_rng(7)
    for trial in range(5):
        x = np.round(rng.standard_normal((3, 9)), 1).astype(dtype)  # ties
        w = _weights(np.partition(x, kth, axis=axis).shape, dtype, seed=trial)
        value, g = yota.grad(lambda x: np.sum(np.partition(x, kth, axis=axis) * w), x)
        assert value == np.sum(np.partition(x, kth, axis=axis) * w)   # element for element
        assert g[0].dtype == dtype
    x = _data((3, 9), dtype)
    check_grads(lambda x: np.sum(np.partition(x, kth, axis=axis) * w), x)


def test_argpartition_is_not_differentiable_and_indexes_like_numpy():
    x = _data((3, 6))
    value, g = yota.grad(lambda x: np.sum(np.take_along_axis(x, np.argpartition(x, 2), -1)[:, :3]),
                         x)
    expected = np.partition(x, 2)[:, :3]
    assert value == pytest.approx(np.sum(expected))
    np.testing.assert_array_equal(g[0], np.isin(x, expected).astype(float))
    check_grads(lambda x: np.sum(x.ravel()[np.argpartition(x, 3, axis=None)[:4]] ** 2), x)


def test_errors_say_what_to_do():
    x = _data(4)
    with pytest.raises(yota.YotaError, match=r"numpy\.sort\(\.\.\., order=\.\.\.\) sorts "
                                             r"structured arrays"):
        yota.grad(lambda x: np.sum(np.sort(x, order="f")), x)
    with pytest.raises(yota.InPlaceError, match=r"ndarray\.sort\(\) sorts in place"):
        yota.grad(lambda x: x.sort(), x)


def test_partition_index_primitive():
    x = np.round(_data((4, 7)), 1)
    for axis in (0, 1):
        perm = sorting.partition_index(x, 2, axis=axis)
        np.testing.assert_array_equal(np.take_along_axis(x, perm, axis),
                                      np.partition(x, 2, axis=axis))
    check_primitive(np.sort, _data((4, 7)), axis=0)
