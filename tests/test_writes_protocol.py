"""The kernel's protocol for writes and views (yota/kernel/writes.py): explicit states kept by the
tape, write-through as a primitive's table entry, and what a traced function returns."""
import numpy as np
import pytest

import yota
from yota.errors import InPlaceError
from yota.kernel import Tape, primitive
from yota.kernel.writes import STALE_MESSAGE


def _view_then_write(x):
    y = x[0:2]
    x[0] = 5.0 * x[1]
    return y


@pytest.mark.parametrize("dynamic", [True, False])
def test_a_view_returned_as_aux_shows_the_write_and_is_a_plain_array(dynamic):
    def f(x):
        y = _view_then_write(x)
        return np.sum(x), y

    (value, aux), g = yota.value_and_grad(f, has_aux=True, dynamic=dynamic)(np.arange(4.0))
    assert type(aux) is np.ndarray
    np.testing.assert_array_equal(aux, [5.0, 1.0])
    assert value == 11.0
    np.testing.assert_array_equal(g, [0.0, 6.0, 1.0, 1.0])


def test_vjp_of_a_view_written_through_its_base():
    out, vjp_fn = yota.vjp(_view_then_write, np.arange(4.0))
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, [5.0, 1.0])
    np.testing.assert_array_equal(vjp_fn(np.ones(2))[0], [0.0, 6.0, 0.0, 0.0])


def test_jacobian_of_a_view_written_through_its_base():
    np.testing.assert_array_equal(yota.jacobian(_view_then_write)(np.arange(4.0)),
                                  [[0.0, 5.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])


def test_states_live_rederive_live():
    tape = Tape(depth=1)
    x = tape.input(np.arange(4.0))
    row = x[0:2]
    assert tape.state(row) == "live"
    x[1] = 7.0
    assert tape.state(row) == "rederive"
    assert type(row._tape) is Tape and row._tape is tape  # never a stand-in
    _ = row * 1.0  # any use derives it again
    assert tape.state(row) == "live"
    np.testing.assert_array_equal(row._value, [0.0, 7.0])


def test_a_view_that_cannot_be_derived_again_is_stale_and_raises_on_use():
    data = np.arange(4.0)

    @primitive(differentiable=False)
    def alias(s):  # a view of data, made from nothing that shares its memory
        return data[:2]

    tape = Tape(depth=1)
    x = tape.input(data)
    v = alias(x[3] * 0)
    x[0] = 1.0
    assert tape.state(v) == "stale" and v._tape is tape
    for use in (lambda: v + 1, lambda: bool(v[0]), lambda: v.__setitem__(0, 2.0)):
        with pytest.raises(InPlaceError) as info:
            use()
        assert str(info.value) == STALE_MESSAGE


def test_writes_through_is_the_primitive_table_entry():
    from yota.core_pack.indexing import getitem
    from yota.core_pack.shape import reshape, transpose

    for prim in (getitem, reshape, transpose):
        assert callable(prim.writes_through)


def test_a_pack_primitive_that_makes_a_view_writes_through_when_it_declares_so():
    @primitive
    def first_row(x):
        return x[0]

    first_row.defgrad(lambda dy, y, x: np.concatenate([dy[None], np.zeros_like(x)[1:]]))

    def write_into_first_row(op, new):
        op.args[0][0] = new

    def f(x, declared):
        r = first_row(x)
        if declared:
            r[1] = r[0] * 3.0
        return np.sum(x * x)

    with pytest.raises(InPlaceError, match="made by first_row"):
        yota.grad(lambda x: f(x, True), np.ones((2, 2)), dynamic=True)
    first_row.declare(writes_through=write_into_first_row)
    value, g = yota.grad(lambda x: f(x, True), np.array([[1.0, 2.0], [3.0, 4.0]]), dynamic=True)
    assert value == 1.0 + 9.0 + 9.0 + 16.0
    np.testing.assert_array_equal(g[0], [[2.0 + 18.0, 0.0], [6.0, 8.0]])


@pytest.mark.parametrize("dynamic", [True, False])
def test_grad_of_grad_with_writes_into_views_inside(dynamic):
    def inner(x):
        y = x[0:2]
        x[1] = x[0] ** 2
        return np.sum(y ** 2)          # x0**2 + x0**4

    def outer(x):
        _, g = yota.grad(inner, x, dynamic=True)
        return np.sum(g[0] * x)        # (2 x0 + 4 x0**3) x0

    value, g = yota.grad(outer, np.array([1.0, 2.0, 3.0]), dynamic=dynamic)
    assert value == 6.0
    np.testing.assert_array_equal(g[0], [20.0, 0.0, 0.0])


@pytest.mark.parametrize("dynamic", [True, False])
def test_a_stale_view_returned_by_the_traced_function_raises(dynamic):
    """Handing over a stale view would give content the write made untrue (it used to come
    back holding the values from before the write)."""
    data = np.arange(4.0)

    @primitive(differentiable=False)
    def alias(s):  # a view of the input's memory, made from nothing that shares it
        return data[:2]

    def f(x):
        v = alias(x[3] * 0)
        x[0] = 1.0
        return np.sum(x * x), v

    with pytest.raises(InPlaceError) as info:
        yota.value_and_grad(f, has_aux=True, dynamic=dynamic)(data)
    assert STALE_MESSAGE in str(info.value)
