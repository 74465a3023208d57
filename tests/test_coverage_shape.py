"""Finite-difference checks of flip, roll, rot90, tile, repeat, pad, take, diagonal, triu, meshgrid...

Every case multiplies the result by fixed random weights (a non-trivial upstream gradient) and
runs over float64 and float32; results are compared with NumPy's own values by check_grads.
"""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]

# name -> (function, input shape)
CASES = {
    "flip_all": (lambda x: np.flip(x), (2, 3, 4)),
    "flip_axis": (lambda x: np.flip(x, 1), (2, 3, 4)),
    "flip_axes": (lambda x: np.flip(x, (0, -1)), (2, 3, 4)),
    "flip_1d": (lambda x: np.flip(x), (5,)),
    "fliplr": (lambda x: np.fliplr(x), (3, 4)),
    "flipud": (lambda x: np.flipud(x), (3, 4)),
    "roll_flat": (lambda x: np.roll(x, 2), (3, 4)),
    "roll_axis": (lambda x: np.roll(x, -1, axis=1), (3, 4)),
    "roll_axes": (lambda x: np.roll(x, (1, 5), axis=(0, 1)), (3, 4)),
    "roll_zero": (lambda x: np.roll(x, 4, axis=1), (3, 4)),
    "rot90": (lambda x: np.rot90(x), (3, 4)),
    "rot90_k2": (lambda x: np.rot90(x, 2), (3, 4)),
    "rot90_k3_axes": (lambda x: np.rot90(x, 3, axes=(1, 2)), (2, 3, 4)),
    "rot90_negative_k": (lambda x: np.rot90(x, -1), (3, 4)),
    "tile_int": (lambda x: np.tile(x, 3), (2, 3)),
    "tile_tuple": (lambda x: np.tile(x, (2, 1, 2)), (2, 3)),
    "tile_ones": (lambda x: np.tile(x, (1, 1)), (2, 3)),
    "tile_1d": (lambda x: np.tile(x, (2, 2)), (3,)),
    "repeat_flat": (lambda x: np.repeat(x, 2), (2, 3)),
    "repeat_axis": (lambda x: np.repeat(x, 3, axis=1), (2, 3)),
    "repeat_counts": (lambda x: np.repeat(x, [1, 0, 2], axis=-1), (2, 3)),
    "repeat_method": (lambda x: x.repeat(2, axis=0), (2, 3)),
    "resize_grow": (lambda x: np.resize(x, (3, 5)), (2, 3)),
    "resize_shrink": (lambda x: np.resize(x, 4), (2, 3)),
    "pad_constant": (lambda x: np.pad(x, 1), (2, 3)),
    "pad_constant_pairs": (lambda x: np.pad(x, ((1, 0), (2, 3)), constant_values=(1.5, -2)),
                           (2, 3)),
    "pad_edge": (lambda x: np.pad(x, ((2, 1), (0, 3)), mode="edge"), (2, 3)),
    "pad_reflect": (lambda x: np.pad(x, 2, mode="reflect"), (3, 4)),
    "pad_reflect_long": (lambda x: np.pad(x, (5, 4), mode="reflect"), (3,)),
    "pad_symmetric": (lambda x: np.pad(x, (1, 3), mode="symmetric"), (2, 3)),
    "pad_wrap": (lambda x: np.pad(x, ((1, 1), (4, 0)), mode="wrap"), (2, 3)),
    "take_flat": (lambda x: np.take(x, [0, 5, 5, 2]), (2, 3)),
    "take_axis": (lambda x: np.take(x, np.array([[2, 0], [1, 1]]), axis=1), (2, 3)),
    "take_wrap": (lambda x: np.take(x, [-1, 4], axis=0, mode="wrap"), (3, 2)),
    "take_clip": (lambda x: np.take(x, [7, -3], axis=0, mode="clip"), (3, 2)),
    "take_method": (lambda x: x.take([1, 1], axis=-1), (2, 3)),
    "take_along_axis": (lambda x: np.take_along_axis(
        x, np.array([[0, 2, 2], [1, 0, 0]]), axis=1), (2, 3)),
    "take_along_axis0": (lambda x: np.take_along_axis(x, np.array([[1, 0, 1]]), axis=0),
                         (2, 3)),
    "take_along_argsort": (lambda x: np.take_along_axis(x, np.argsort(x, axis=-1), axis=-1),
                           (3, 4)),
    "take_along_none": (lambda x: np.take_along_axis(x, np.array([4, 0, 4]), axis=None),
                        (2, 3)),
    "diagonal": (lambda x: np.diagonal(x), (3, 4)),
    "diagonal_offset": (lambda x: np.diagonal(x, 1), (3, 4)),
    "diagonal_negative_offset": (lambda x: np.diagonal(x, -2), (4, 3)),
    "diagonal_axes": (lambda x: np.diagonal(x, 0, 2, 0), (3, 2, 4)),
    "diagonal_method": (lambda x: x.diagonal(offset=1, axis1=1, axis2=2), (2, 3, 3)),
    "triu": (lambda x: np.triu(x), (3, 4)),
    "triu_k": (lambda x: np.triu(x, 1), (4, 3)),
    "tril": (lambda x: np.tril(x), (2, 3, 3)),
    "tril_k": (lambda x: np.tril(x, -1), (3, 4)),
    "tril_1d": (lambda x: np.tril(x), (3,)),
    "select": (lambda x: np.select([x < 0.3, x > 0.6], [x * 2, np.sin(x)], -x), (3, 4)),
    "select_default_constant": (lambda x: np.select([x > 0.5], [x]), (3, 4)),
    "append": (lambda x: np.append(x, x[0] * 2), (2, 3)),
    "append_axis": (lambda x: np.append(x, x[:1], axis=0), (2, 3)),
    "delete": (lambda x: np.delete(x, [0, 2], axis=1), (2, 3)),
    "delete_flat": (lambda x: np.delete(x, 1), (2, 3)),
    "block": (lambda x: np.block([[x, x * 2], [x[:1] + 1, x[1:]]]), (2, 2)),
    "hsplit": (lambda x: np.hsplit(x, 3)[1], (2, 3)),
    "vsplit": (lambda x: np.vsplit(x, [1])[1], (3, 2)),
    "dsplit": (lambda x: np.dsplit(x, 2)[0], (2, 1, 4)),
    "array_split_uneven": (lambda x: np.concatenate(np.array_split(x, 3, axis=1)[::-1], axis=1),
                           (2, 4)),
    "array_split_negative_axis": (lambda x: np.array_split(x, 2, axis=-1)[1], (2, 5)),
    "atleast_1d_scalar": (lambda x: np.atleast_1d(x[0, 0]), (2, 3)),
    "atleast_2d_many": (lambda x: np.atleast_2d(x[0], x)[0], (2, 3)),
    "atleast_3d_2d": (lambda x: np.atleast_3d(x), (2, 3)),
    "ravel_fortran": (lambda x: np.ravel(x, order="F"), (2, 3)),
    "column_stack_1d": (lambda x: np.column_stack([x[0], x[1], x[0] ** 2]), (2, 3)),
    "dstack_1d": (lambda x: np.dstack([x[0], x[1]]), (2, 3)),
    "hstack_1d": (lambda x: np.hstack([x[0], x[1]]), (2, 3)),
    "vstack_1d": (lambda x: np.vstack([x[0], x[1]]), (2, 3)),
    "stack_list_of_rows": (lambda x: np.stack([x[1], x[0], x[1]], axis=1), (2, 3)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_rearranging_gradient(name, dtype, rng, total):
    fn, shape = CASES[name]
    x = (rng.choice([0.1, 0.2, 0.4, 0.5, 0.7, 0.8], size=shape)
         + rng.uniform(0, 0.05, size=shape)).astype(dtype)
    expected = fn(x)
    w = rng.normal(size=np.shape(expected))

    def loss(x):
        out = fn(x)
        assert out.shape == expected.shape
        assert x.dtype != dtype or out.dtype == expected.dtype  # finite differences use float64
        return total(out * w)

    check_grads(loss, x, modes=("dynamic",))


@pytest.mark.parametrize("name", ["flip_axes", "roll_axes", "rot90", "tile_tuple", "pad_reflect",
                                  "take_along_axis", "diagonal_axes", "triu", "select", "block"])
def test_rearranging_static_mode_and_second_order(name, rng, total):
    fn, shape = CASES[name]
    x = rng.uniform(0.1, 0.9, size=shape)
    w = rng.normal(size=np.shape(fn(x)))
    check_grads(lambda x: total(fn(x) * w * fn(x)), x, order=2)


def test_meshgrid_both_indexings_sparse_and_dense(rng, total):
    a, b, c = rng.normal(size=3), rng.normal(size=2), rng.normal(size=4)
    for indexing in ("xy", "ij"):
        for sparse in (False, True):
            want = np.meshgrid(a, b, c, indexing=indexing, sparse=sparse)
            ws = [rng.normal(size=np.broadcast_shapes(*[g.shape for g in want])) for _ in want]

            def loss(a, b, c):
                grids = np.meshgrid(a, b, c, indexing=indexing, sparse=sparse)
                assert [g.shape for g in grids] == [g.shape for g in want]
                return sum(total(g * w) for g, w in zip(grids, ws))

            check_grads(loss, a, b, c, modes=("dynamic",))


def test_meshgrid_with_a_constant_axis(total):
    x = np.array([0.5, 1.5])
    _, g = yota.grad(lambda x: total(np.meshgrid(x, np.arange(3.0))[0]), x, dynamic=True)
    np.testing.assert_allclose(g[0], [3.0, 3.0])


def test_pad_with_a_tracked_constant_value(rng, total):
    x = rng.normal(size=(2, 3))
    check_grads(lambda x, c: total(np.pad(x, 1, constant_values=c) * np.arange(20.0).reshape(4, 5)),
                x, 0.7, modes=("dynamic",))


def test_pad_refuses_unsupported_modes_clearly():
    with pytest.raises(yota.YotaError, match=r"np\.pad mode=<function.*supported modes"):
        yota.grad(lambda x: np.pad(x, 1, mode=lambda *a, **k: None)[0], np.ones(3), dynamic=True)
    with pytest.raises(yota.YotaError, match=r"reflect_type='odd'"):
        yota.grad(lambda x: np.pad(x, 1, mode="reflect", reflect_type="odd")[0], np.ones(3),
                  dynamic=True)


def test_shape_errors_are_numpys(total):
    for f, exc in [(lambda x: np.fliplr(x), ValueError), (lambda x: np.rot90(x, axes=(0, 0)),
                                                         ValueError),
                   (lambda x: np.flip(x, 3), np.exceptions.AxisError),
                   (lambda x: np.take_along_axis(x, np.zeros((2, 2), int), 0), ValueError),
                   (lambda x: np.diagonal(x), ValueError)]:
        with pytest.raises(exc):
            f(np.ones(3))
        with pytest.raises(exc):
            yota.grad(lambda x: total(f(x)), np.ones(3), dynamic=True)


@pytest.mark.parametrize("fn", [
    lambda x: np.flip(x), lambda x: np.roll(x, 1), lambda x: np.tile(x, 2),
    lambda x: np.repeat(x, 2), lambda x: np.pad(x, 1), lambda x: np.pad(x, ((0, 0), (1, 2)),
                                                                    mode="edge"),
    lambda x: np.take(x, []), lambda x: np.append(x, x), lambda x: np.triu(x),
    lambda x: np.diagonal(x), lambda x: np.rot90(x),
])
def test_zero_size_inputs(fn, total):
    x = np.zeros((0, 3))
    expected = fn(x)
    _, g = yota.grad(lambda x: total(fn(x)) + 0.0, x, dynamic=True)
    assert g[0].shape == (0, 3)
    _, g = yota.grad(lambda x: total(fn(x) * 2.0), np.ones((2, 3)), dynamic=True)
    assert g[0].shape == (2, 3)
    assert expected.shape == fn(x).shape


@pytest.mark.parametrize("fn", [lambda x: np.flip(x), lambda x: np.tile(x, 3),
                                lambda x: np.repeat(x, 2), lambda x: np.atleast_2d(x),
                                lambda x: np.pad(x, 2), lambda x: np.append(x, x),
                                lambda x: np.resize(x, (2, 2)), lambda x: np.take(x, [0, 0])])
def test_zero_d_inputs(fn, rng, total):
    x = np.array(0.7)
    w = rng.normal(size=np.shape(fn(x)))
    check_grads(lambda x: total(fn(x) * w), x, modes=("dynamic",))
