"""In-place writes on tracked arrays: NumPy's meaning, gradients to the old value and to the written
value, aliasing, views (kept exact or refused), out=, and the tape staying single-assignment.

Functions that write into their argument would also write into the caller's array when the
finite differences call them with plain NumPy, so those compare with ``fd`` (which passes copies).
"""
import operator
import re

import numpy as np
import pytest

import yota
from yota.errors import InPlaceError, YotaError
from yota.testing import check_grads, numerical_grad

MODES = ("dynamic", "static")


def fd(f, *args):
    """Finite differences of f, each call on fresh copies (f may write into its arguments)."""
    def fresh(*a):
        return f(*[np.array(b, copy=True) for b in a])

    return [numerical_grad(fresh, list(args), i)[()] for i in range(len(args))]


def assert_grads(f, *args, rtol=1e-5):
    want_value = f(*[np.array(a, copy=True) for a in args])
    want = fd(f, *args)
    for mode in MODES:
        copies = [np.array(a, copy=True) for a in args]
        value, g = yota.grad(f, *copies, dynamic=mode == "dynamic")
        np.testing.assert_allclose(value, want_value, rtol=rtol)
        for i, w in enumerate(want):
            np.testing.assert_allclose(g[i], w, rtol=rtol, atol=1e-6, err_msg=f"{mode} arg {i}")
        for c, a in zip(copies, args):  # the caller's arrays are never written
            np.testing.assert_array_equal(c, a)


X = np.array([[0.3, -1.2, 0.8], [1.5, 0.4, -0.6]])
W = np.array([[0.7, -0.2, 1.1], [0.5, -1.3, 0.9]])


# --- x[idx] = v ---------------------------------------------------------------------------------
SETITEM_CASES = {
    "int": lambda x, v: operator.setitem(x, 0, v[1]),
    "int_pair": lambda x, v: operator.setitem(x, (1, 2), v[0, 0] * 3),
    "slice": lambda x, v: operator.setitem(x, (slice(None), slice(1, None)), v[:, :2]),
    "step_slice": lambda x, v: operator.setitem(x, (Ellipsis, slice(None, None, 2)), v[:, 1:]),
    "broadcast_row": lambda x, v: operator.setitem(x, slice(None), v[0]),
    "scalar_fill": lambda x, v: operator.setitem(x, (slice(None), 1), v[1, 1]),
    "newaxis": lambda x, v: operator.setitem(x, (None, 0), v[:1]),
    "leading_ones_value": lambda x, v: operator.setitem(x, 0, np.reshape(v[1], (1, 3))),
    "mask": lambda x, v: operator.setitem(x, x > 0.5, v[x > 0.5] * 2),
    "mask_scalar": lambda x, v: operator.setitem(x, x < 0, v[0, 1]),
    "int_array": lambda x, v: operator.setitem(x, np.array([1, 0]), v[::-1]),
    "repeated_int_array": lambda x, v: operator.setitem(
        x, (np.array([0, 0, 1, 0]), np.array([2, 2, 1, 2])), v[0, :1] * np.arange(1.0, 5.0)),
    "repeated_broadcast": lambda x, v: operator.setitem(x, np.array([1, 1]), v[0]),
    "tracked_index": lambda x, v: operator.setitem(x, (np.argmax(x, axis=0), np.arange(3)),
                                                   v[1] ** 2),
    "ellipsis": lambda x, v: operator.setitem(x, Ellipsis, np.sin(v)),
}


@pytest.mark.parametrize("name", sorted(SETITEM_CASES))
def test_setitem_gradients_reach_old_value_and_written_value(name, total):
    write = SETITEM_CASES[name]

    def f(x, v):
        before = x * W          # uses x's old value
        write(x, v)
        return total(before * x + np.sin(x) * W)

    assert_grads(f, X, W * 0.9 + 0.1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_setitem_on_a_copy_passes_check_grads(dtype, total):
    def f(x, v):
        y = x.copy()
        y[0, 1:] = v[1:] * y[1, :2]
        y[:, 0] += v[0]
        return total(y * y)

    x = X.astype(dtype)
    check_grads(f, x, np.array([0.5, -0.7, 1.3], dtype), order=2)


def test_writes_in_a_loop_build_a_recurrence(total):
    def f(x, w):
        h = np.zeros_like(x)
        for t in range(x.shape[0]):
            prev = h[t - 1] if t else 0.0
            h[t] = np.tanh(x[t] + prev * w)
        return total(h * h)

    rng = np.random.default_rng(1)
    check_grads(f, rng.normal(size=(5, 3)), rng.normal(size=3), order=2)


def test_repeated_indices_keep_numpys_last_write(total):
    def f(v):
        x = np.zeros(3, like=v)
        x[np.array([0, 0, 2])] = v
        return total(x * np.array([1.0, 10.0, 100.0]))

    value, g = yota.grad(f, np.array([1.0, 2.0, 3.0]), dynamic=True)
    assert value == 2.0 + 300.0
    np.testing.assert_array_equal(g[0], [0.0, 1.0, 100.0])


def test_written_values_are_cast_like_numpy(total):
    def f(x):
        ints = np.zeros(3, dtype=np.int64, like=x)
        ints[:] = x * 10          # truncated, so no gradient through it
        y = x.astype(np.float32)
        y[0] = x[1] * 2           # float64 into float32: gradient comes back as float64
        return total(y * y) + total(ints * 1.0)

    x = np.array([0.25, 1.5, -0.75])
    value, g = yota.grad(f, x, dynamic=True)
    assert value == pytest.approx(f(x.copy()))
    np.testing.assert_allclose(g[0], [0.0, 2 * 1.5 + 8 * 1.5, -1.5], rtol=1e-6)
    assert g[0].dtype == np.float64


# --- aliasing: NumPy's meaning for every holder of the array ------------------------------------
def test_every_name_and_container_sees_the_write(total):
    def f(x):
        y = x * 1.0
        alias = y
        box = [y, {"k": y}]
        y[0] = 5.0 * x[1]
        assert alias is y and box[0] is y
        return total(alias * box[1]["k"])

    assert_grads(f, np.array([1.0, 2.0, 3.0]))


def test_values_computed_before_the_write_keep_the_old_value(total):
    def f(x):
        y = x * 2.0
        z = y + 1.0           # computed from the old y
        s = np.sum(y)         # a reduction of the old y
        y[1] = 0.0
        return total(z * y) + s

    assert_grads(f, np.array([1.0, 2.0, 3.0]))


def test_copies_are_independent(total):
    import copy

    def f(x):
        y = x * 1.0
        c1, c2, c3 = y.copy(), np.copy(y), copy.copy(y)
        y[:] = 0.0
        return total(c1 * c2 * c3 + y)

    assert_grads(f, np.array([1.0, 2.0]))


def test_self_overlapping_assignment_reads_the_old_values(total):
    def f(x):
        y = x * 1.0
        y[1:] = y[:-1]          # NumPy buffers the overlap: a shift, not a smear
        y[::-1] = y
        return total(y * np.arange(1.0, 5.0))

    x = np.array([1.0, 2.0, 3.0, 4.0])
    value, _ = yota.grad(f, x, dynamic=True)
    assert value == f(x.copy())
    assert_grads(f, x)


def test_writing_into_an_argument_leaves_the_caller_array_alone(total):
    def f(x):
        x[0] = x[1] * x[2]
        x *= 2.0
        return total(x)

    assert_grads(f, np.array([1.0, 2.0, 3.0]))


# --- views: NumPy's meaning, exactly --------------------------------------------------------------
VIEWS = {
    "row": lambda y: y[0], "transpose": lambda y: y.T, "reshape": lambda y: y.reshape(-1),
    "strided": lambda y: y[:, ::2], "ravel": lambda y: np.ravel(y), "ellipsis": lambda y: y[...],
    "squeeze": lambda y: np.squeeze(y[None]), "chain": lambda y: y[1:][0, ::-1],
    "swapaxes": lambda y: np.swapaxes(y, 0, 1)[1:],
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_a_view_shows_later_writes_into_its_base(name, total):
    make_view = VIEWS[name]

    def f(x, v):
        y = x * 1.0
        view = make_view(y)
        first = total(view * view)    # read before the writes
        y[0, 0] = 9.0 * v[0]          # NumPy's view shows the new values
        y[1] += v[1:]
        return first + total(np.sin(view)) + total(view * make_view(W))

    assert_grads(f, X, np.array([0.5, -0.3, 0.2, 0.7]))


@pytest.mark.parametrize("name", sorted(VIEWS))
@pytest.mark.parametrize("write", [
    lambda v, w: v.__setitem__(0, w[0]), lambda v, w: operator.iadd(v, w[1]),
    lambda v, w: np.multiply(v, w[2], out=v), lambda v, w: v.fill(0.5),
    lambda v, w: np.copyto(v, w[0] * w[1]),
])
def test_writing_into_a_view_writes_through_to_its_base(name, write, total):
    make_view = VIEWS[name]

    def f(x, w):
        y = x * 1.0
        other = y[1]                  # another view of the same base
        view = make_view(y)
        write(view, w)
        return total(y * W) + total(other ** 2) + total(view * view)

    assert_grads(f, X, np.array([0.5, -0.3, 0.2]))


def test_augmented_assignment_of_an_indexed_part(total):
    def f(x, v):
        y = x * 1.0
        y[:, 0] += v[0]               # Python: t = y[:, 0]; t += v; y[:, 0] = t
        y[1] *= v[1]
        y[y > 1.0] -= v[2]            # a copy, written back by y[mask] = t
        y[np.array([0, 0])] += v[0]   # NumPy adds once: the last write wins
        return total(y * W)

    assert_grads(f, X, np.array([0.5, -0.3, 0.2]))


def test_writes_in_a_loop_through_row_views(total):
    def f(x, w):
        h = np.zeros_like(x)
        rows = [h[t] for t in range(x.shape[0])]   # views taken before any write
        for t in range(1, x.shape[0]):
            rows[t][:] = np.tanh(x[t] + rows[t - 1] * w)
        return total(h * h)

    rng = np.random.default_rng(2)
    assert_grads(f, rng.normal(size=(4, 3)), rng.normal(size=3))


def test_writing_into_a_view_yota_cannot_write_through_is_refused():
    def f(x):
        z = x * (1 + 1j)
        z.real[0] = 1.0               # NumPy writes into z; yota does not record it
        return np.abs(z[1])

    with pytest.raises(InPlaceError, match=r"writes into a view of another tracked array made "
                                           r"by real.*copy the view first"):
        yota.grad(f, X[0], dynamic=True)


def test_an_argument_passed_twice_is_not_written_through(total):
    a = np.array([1.0, 2.0])
    with pytest.raises(InPlaceError, match="view of another tracked array"):
        yota.grad(lambda x, y: operator.setitem(x, 0, 3.0) or total(x * y), a, a, dynamic=True)


def test_numpys_own_write_errors_stay(total):
    with pytest.raises(ValueError, match="read-only"):
        yota.grad(lambda x: operator.setitem(np.broadcast_to(x, (2, 3)), 0, 1.0), np.ones(3),
                  dynamic=True)
    with pytest.raises(TypeError, match="does not support item assignment"):
        yota.grad(lambda x: operator.setitem(total(x), (), 1.0), np.ones(3), dynamic=True)


def test_writing_a_tracked_value_into_a_plain_array_says_what_to_do():
    def scalar(x):
        buf = np.zeros(3)
        buf[0] = x[0]          # NumPy calls float(x[0]): the gradient would be dropped
        return buf[0]

    def row(x):
        buf = np.zeros((2, 3))
        buf[0] = x             # NumPy calls x.__array__()
        return buf[0, 0]

    for f in (scalar, row):
        with pytest.raises((YotaError, ValueError)) as info:
            yota.grad(f, np.ones(3), dynamic=True)
        err = info.value if isinstance(info.value, YotaError) else info.value.__cause__
        assert isinstance(err, YotaError)
        assert re.search(r"buf\[i\] = value.*np\.zeros_like\(x\).*like=x", str(err))


def test_float_of_a_tracked_value_is_refused_unless_the_gradient_is_stopped():
    with pytest.raises(yota.ConcretizationError, match=r"float\(yota\.stop_gradient\(x\)\)"):
        yota.grad(lambda x: float(x[0]) * x[1], np.array([2.0, 3.0]), dynamic=True)
    value, g = yota.grad(lambda x: float(yota.stop_gradient(x[0])) * x[1], np.array([2.0, 3.0]),
                         dynamic=True)
    assert value == 6.0 and g[0].tolist() == [0.0, 2.0]


# --- augmented assignment and out= --------------------------------------------------------------
@pytest.mark.parametrize("op", [operator.iadd, operator.isub, operator.imul, operator.itruediv,
                                operator.ipow])
def test_augmented_assignment(op, total):
    def f(x, y):
        z = x * 1.0
        before = z
        op(z, y)
        assert before is z   # written in place, as NumPy does
        return total(z * before)

    assert_grads(f, np.abs(X) + 0.5, np.abs(W[0]) + 0.5)


def test_augmented_assignment_on_a_scalar_rebinds_like_numpy(total):
    def f(x):
        s = total(x)
        t = s
        s += 1.0               # NumPy scalars are immutable: only s changes
        return s * t

    assert_grads(f, np.array([1.0, 2.0]))


def test_augmented_assignment_keeps_numpys_shape_and_casting_rules(total):
    with pytest.raises(ValueError, match="non-broadcastable output operand"):
        yota.grad(lambda x: operator.iadd(x * 1.0, np.ones((2, 3)))[0, 0], np.ones(3),
                  dynamic=True)

    def f(x):
        ints = np.zeros(3, dtype=int, like=x)
        ints += x
        return total(ints)

    with pytest.raises(TypeError, match="Cannot cast ufunc 'add' output"):
        yota.grad(f, np.ones(3), dynamic=True)


def test_float32_in_place_update_with_float64_operand_stays_float32(total):
    def f(x, y):
        z = x * 1.0
        z += y
        assert z.dtype == np.float32
        return total(z * z)

    value, g = yota.grad(f, np.ones(3, np.float32), np.array([0.5, 1.0, 2.0]), dynamic=True)
    assert g[0].dtype == np.float32 and g[1].dtype == np.float64
    np.testing.assert_allclose(g[1], [3.0, 4.0, 6.0])


def test_ufunc_out_where_and_dtype(total):
    def f(x, y):
        z = x * 1.0
        r = np.add(z, y, out=z)
        assert r is z
        np.multiply(z, y, out=(z,), where=np.array([True, False, True]))
        w = np.exp(y, dtype=np.float32)
        assert w.dtype == np.float32
        return total(z * np.exp(y))

    assert_grads(f, np.array([0.5, 1.0, 2.0]), np.array([0.3, -0.2, 0.1]))
    _, g = yota.grad(lambda y: total(np.exp(y, dtype=np.float32)), np.array([0.5]), dynamic=True)
    assert g[0].dtype == np.float64 and g[0][0] == pytest.approx(np.exp(0.5), rel=1e-6)

    def g(x):
        z = np.zeros(3, like=x)
        np.sin(1.0, out=z)     # a scalar broadcast into out, like NumPy
        return total(z * x)

    assert_grads(g, np.array([1.0, 2.0, 3.0]))


def test_where_without_out_is_refused():
    with pytest.raises(InPlaceError, match="where=.*without out="):
        yota.grad(lambda x: np.sin(x, where=x > 0)[0], np.ones(3), dynamic=True)


# --- NumPy's in-place functions -----------------------------------------------------------------
def test_copyto_put_along_axis_fill_diagonal_put_fill(total):
    def f(x, v):
        y = x * 1.0
        np.copyto(y, v[0] * 2.0, where=np.array([True, False, True]))
        z = np.zeros((3, 3), like=x)
        np.fill_diagonal(z, v[1])
        a = np.zeros((2, 3), like=x)
        np.put_along_axis(a, np.array([[2], [0]]), v[:2, None] * 3.0, axis=1)
        b = np.ones(4, like=x)
        np.put(b, [0, 3], v[:2])
        b.put([1], v[2])
        c = np.ones(2, like=x)
        c.fill(v[2] * 5.0)
        return total(y * y) + total(z @ z) + total(a * a) + total(b * b) + total(c * c)

    assert_grads(f, np.array([0.5, 1.0, 2.0]), np.array([0.3, -0.2, 0.1]))


def test_put_along_axis_on_a_plain_array_says_what_to_do():
    with pytest.raises(InPlaceError, match=r"numpy\.put_along_axis writes tracked values into a "
                                           r"plain ndarray.*np\.zeros_like"):
        yota.grad(lambda v: np.put_along_axis(np.zeros((2, 2)), np.zeros((2, 1), int), v, 1),
                  np.ones((2, 1)), dynamic=True)


# --- tracked buffers ------------------------------------------------------------------------------
def test_like_constructors_make_tracked_buffers(total):
    def f(x):
        a = np.zeros((2, 2), like=x)
        b = np.ones_like(x, shape=(2,))
        c = np.full((2,), x[0], like=x)        # a tracked fill carries its gradient
        d = np.array([x[1], 2.0 * x[0], 3.0], like=x)
        e = np.full_like(x, 0.5)
        a[0] = c
        a[1, :] = b * d[:2]
        return total(a * a) + total(d) + total(e * x)

    assert_grads(f, np.array([0.5, 1.5]))


# --- the tape stays plain, single-assignment data -----------------------------------------------
def test_tape_is_single_assignment_after_writes():
    from yota.tracing import trace

    def f(x):
        y = x * 2.0
        y[0] = 1.0
        y += x
        x[1] = y[0]
        return y[1]

    tr, tape = trace(f, (np.array([1.0, 2.0]),), {})
    outs = [op.out._var for op in tape.ops]
    assert len(set(outs)) == len(outs)
    assert [t._var for t in tape.inputs] == [0]
    assert tr.structure[0][0][1]._var == 0
    for i, node in enumerate(tape.nodes):
        assert node._var == i
    defined = {0}
    for op in tape.ops:            # every argument was defined before it is used
        for a in op.args:
            if type(a) is yota.Tracked:
                assert a._var in defined and tape.nodes[a._var] is a
        defined.add(op.out._var)
    assert "setitem" in repr(tape)


def test_ufunc_at_accumulates_repeated_indices(total):
    def f(x, v):
        y = x * 1.0
        np.add.at(y, np.array([0, 2, 0]), v * v)
        np.subtract.at(y, (np.array([1, 1]),), v[0])
        return total(y * np.array([1.0, 2.0, 3.0]))

    assert_grads(f, np.array([0.5, 1.0, 2.0]), np.array([0.3, -0.2, 0.1]))
    def g(v):
        y = np.zeros(3, like=v)
        np.add.at(y, [0, 0], v[0])   # unbuffered: both adds land
        return total(y)

    value, grads = yota.grad(g, np.ones(1), dynamic=True)
    assert value == 2.0 and grads[0][0] == 2.0
