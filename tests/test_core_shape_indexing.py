"""Finite-difference checks of the core's shape, joining and indexing primitives."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]

SHAPE_CASES = {
    "reshape": (lambda x: x.reshape(6, 2), (3, 4)),
    "reshape_tuple": (lambda x: np.reshape(x, (2, -1)), (3, 4)),
    "ravel": (lambda x: np.ravel(x), (3, 4)),
    "flatten": (lambda x: x.flatten(), (3, 4)),
    "transpose": (lambda x: x.T, (3, 4)),
    "transpose_axes": (lambda x: np.transpose(x, (2, 0, 1)), (2, 3, 4)),
    "transpose_method": (lambda x: x.transpose(1, 0, 2), (2, 3, 4)),
    "swapaxes": (lambda x: np.swapaxes(x, 0, -1), (2, 3, 4)),
    "moveaxis": (lambda x: np.moveaxis(x, 0, -1), (2, 3, 4)),
    "expand_dims": (lambda x: np.expand_dims(x, 1), (3, 4)),
    "squeeze": (lambda x: np.squeeze(x), (3, 1, 4)),
    "squeeze_axis": (lambda x: x.squeeze(axis=1), (3, 1, 4)),
    "broadcast_to": (lambda x: np.broadcast_to(x, (2, 3, 4)), (3, 1)),
    "atleast_2d": (lambda x: np.atleast_2d(x), (4,)),
    "atleast_3d": (lambda x: np.atleast_3d(x), (4,)),
    "copy": (lambda x: np.copy(x) * 1.0, (3,)),
    "astype": (lambda x: x.astype(np.float64), (3,)),
    "concatenate": (lambda x: np.concatenate([x, 2 * x, x[:1]], axis=0), (3, 4)),
    "concatenate_axis1": (lambda x: np.concatenate([x, x[:, :2]], axis=-1), (3, 4)),
    "concatenate_none": (lambda x: np.concatenate([x, x], axis=None), (3, 4)),
    "stack": (lambda x: np.stack([x, 3 * x]), (3, 4)),
    "stack_axis": (lambda x: np.stack([x, x * x], axis=-1), (3, 4)),
    "vstack": (lambda x: np.vstack([x, x[0]]), (3, 4)),
    "hstack": (lambda x: np.hstack([x, x]), (3, 4)),
    "dstack": (lambda x: np.dstack([x, x]), (3, 4)),
    "column_stack": (lambda x: np.column_stack([x[:, 0], x]), (3, 4)),
    "split": (lambda x: np.split(x, 2, axis=1)[1] * np.split(x, 2, axis=1)[0], (3, 4)),
    "array_split": (lambda x: np.array_split(x, 3)[2] * 2.0, (5, 2)),
    "split_indices": (lambda x: np.split(x, [1, 3])[1], (5, 2)),
    "broadcast_arrays": (lambda x: np.broadcast_arrays(x, np.ones((2, 1, 1)))[0], (3, 4)),
    "iterate_rows": (lambda x: np.stack([row * i for i, row in enumerate(x)]), (3, 4)),
}

INDEX_CASES = {
    "int": lambda x: x[1],
    "negative_int": lambda x: x[-1, -2],
    "slice": lambda x: x[1:, ::2],
    "ellipsis_newaxis": lambda x: x[..., None, 1],
    "int_array": lambda x: x[np.array([0, 2, 0])],
    "repeated_int_array_2d": lambda x: x[np.array([0, 0, 2]), np.array([1, 1, 3])],
    "bool_mask": lambda x: x[x > 0.5],
    "tracked_int_index": lambda x: x[np.argmax(x, axis=0), np.arange(4)],
    "mixed": lambda x: x[np.array([2, 0]), 1:3],
    "list_index": lambda x: x[[0, 2]],
    "where": lambda x: np.where(x > 0.5, x * x, -x),
    "where_scalar_branch": lambda x: np.where(x > 0.5, x, 0.0),
    "clip": lambda x: np.clip(x, 0.2, 0.7),
    "clip_one_side": lambda x: np.clip(x, None, 0.6),
    "clip_method": lambda x: x.clip(0.3, 0.8),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(SHAPE_CASES))
def test_shape_operation_gradient(name, dtype, rng, total):
    fn, shape = SHAPE_CASES[name]
    x = rng.normal(size=shape).astype(dtype)
    w = rng.normal(size=fn(x).shape)
    check_grads(lambda x: total(fn(x) * w), x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(INDEX_CASES))
def test_indexing_gradient(name, dtype, rng, total):
    fn = INDEX_CASES[name]
    # Values kept away from the thresholds above so finite differences do not cross them.
    x = (rng.choice([0.1, 0.35, 0.45, 0.85, 0.95], size=(3, 4))
         + rng.uniform(0, 0.04, size=(3, 4))).astype(dtype)
    w = rng.normal(size=fn(x).shape)
    check_grads(lambda x: total(fn(x) * w), x)


def test_where_and_clip_gradients_reach_every_argument(rng, total):
    a, b = rng.normal(size=(3,)), rng.normal(size=(2, 3))
    lo, hi = np.full(3, -0.5), np.full(3, 0.5)
    check_grads(lambda a, b: total(np.where(a > 0, a, b) * np.arange(6).reshape(2, 3)), a, b)
    x = np.array([-1.0, 0.0, 1.0])
    check_grads(lambda x, lo, hi: total(np.clip(x, lo, hi) * np.array([1.0, 2.0, 3.0])),
                x, lo, hi)


def test_repeated_indices_accumulate(total):
    x = np.array([1.0, 2.0, 3.0])
    _, g = yota.grad(lambda x: total(x[np.array([0, 0, 0, 2])]), x)
    np.testing.assert_array_equal(g[0], [3.0, 0.0, 1.0])


def test_nondifferentiable_index_functions_give_indices(rng, total):
    x = rng.normal(size=(3, 4))

    def f(x):
        i = np.argmax(x, axis=1)
        order = np.argsort(x[0])
        return total(x[np.arange(3), i]) + total(x[0][order] * np.arange(4.0))

    check_grads(f, x)


def test_len_iteration_and_attributes():
    x = np.arange(12.0).reshape(3, 4)
    seen = {}

    def f(t):
        seen.update(shape=t.shape, ndim=t.ndim, size=t.size, dtype=t.dtype, len=len(t),
                    nshape=np.shape(t), nndim=np.ndim(t))
        return sum(row[0] for row in t)

    value, g = yota.grad(f, x)
    assert seen == dict(shape=(3, 4), ndim=2, size=12, dtype=np.float64, len=3,
                        nshape=(3, 4), nndim=2)
    assert value == 12.0
    np.testing.assert_array_equal(g[0][:, 0], [1.0, 1.0, 1.0])


def test_zero_size_and_zero_d_arrays(total):
    _, g = yota.grad(lambda x: total(x * 2.0), np.zeros((0, 3)))
    assert g[0].shape == (0, 3)
    _, g = yota.grad(lambda x: total(np.sin(x)), np.array(0.5))
    assert g[0].shape == () and g[0] == pytest.approx(np.cos(0.5))


def test_zeros_like_and_friends_are_constants(total):
    x = np.array([1.0, 2.0])
    _, g = yota.grad(lambda x: total(x * np.ones_like(x) + np.zeros_like(x)), x)
    np.testing.assert_array_equal(g[0], [1.0, 1.0])


@pytest.mark.parametrize("index", [
    (np.arange(4), np.array([0, 2, 2, 1])),        # distinct rows: the scatter may assign
    (np.array([3, -1, 0]),),                        # -1 is row 3 again: must accumulate
    (np.array([0, 0, 1, 1]), np.array([1, 1, 2, 2])),
    (slice(None), np.array([2, 0, 2])),
])
def test_scatter_of_advanced_indices_counts_every_pick(index, rng, total):
    x = rng.normal(size=(4, 3))
    picks = np.zeros_like(x)
    np.add.at(picks, index, 1.0)
    _, g = yota.grad(lambda x: total(x[index]), x)
    np.testing.assert_array_equal(g[0], picks)
    w = rng.normal(size=x[index].shape)
    check_grads(lambda x: total(x[index] * w), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_compiled_scatter_of_a_picked_element_per_row(dtype, capsys):
    # the gradient of x[np.arange(n), y] (each element picked once) compiles to scatter_once
    def pick(x, y):
        return np.sum(x[np.arange(len(y)), y] * 3.0) + np.sum(x[1:, ::2] ** 2)

    x = np.linspace(-1.0, 2.0, 12, dtype=dtype).reshape(4, 3)
    y = np.array([2, 0, 1, 2])
    yota.show_code(pick, x, y, argnums=0)
    assert "scatter_once(" in capsys.readouterr().out
    for y_now in (y, np.array([0, 0, 2, 1])):   # a replay reads the new labels
        _, static = yota.grad(pick, x, y_now, argnums=0)
        _, dynamic = yota.grad(pick, x, y_now, argnums=0, dynamic=True)
        assert static[0].dtype == dtype
        np.testing.assert_array_equal(static[0], dynamic[0])
