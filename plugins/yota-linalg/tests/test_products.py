"""matmul/@ (1-D promotion, batches, broadcasting), dot, inner, outer, vdot, tensordot, kron,
cross: gradients against finite differences in float64 and float32."""
import numpy as np
import pytest

import yota
from yota.kernel.backward import backward
from yota.tracing import trace

DTYPES = [np.float64, np.float32]

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),            # matrix @ matrix
    ((4,), (4, 5)),              # vector @ matrix
    ((3, 4), (4,)),              # matrix @ vector
    ((4,), (4,)),                # vector @ vector
    ((2, 3, 4), (4, 5)),         # batch @ matrix
    ((3, 4), (2, 4, 5)),         # matrix @ batch
    ((2, 3, 4), (2, 4, 5)),      # batch @ batch
    ((2, 1, 3, 4), (5, 4, 2)),   # broadcast batch dimensions
    ((4,), (2, 4, 5)),           # vector @ batch
    ((2, 3, 4), (4,)),           # batch @ vector
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb, dtype, check, draw):
    a, b = draw(sa, dtype), draw(sb, dtype)
    check(lambda a, b: a @ b, a, b)


@pytest.mark.parametrize("form", ["operator", "np.matmul", "ndarray @ tracked", "rmatmul"])
def test_matmul_entry_points(form, check, draw):
    a, b = draw((3, 4)), draw((4, 2))
    if form == "operator":
        check(lambda a, b: a @ b, a, b)
    elif form == "np.matmul":
        check(np.matmul, a, b)
    elif form == "ndarray @ tracked":
        check(lambda b: a @ b, b)
    else:
        check(lambda a: a @ b, a)


def test_matmul_backward_is_matmuls_and_transposes_in_float32(draw):
    """The hot path: a 2-D float32 matmul's backward records one transpose and one matmul per
    operand, no einsum, and nothing in float64."""
    a, b = draw((5, 4), np.float32), draw((4, 3), np.float32)
    tr, tape = trace(lambda a, b: a @ b, (a, b), {})
    seed = np.ones((5, 3), np.float32)
    grads = backward(tape, tr.output, seed)
    ops = tape.ops[tape.forward_ops:]
    assert sorted(op.prim.name for op in ops) == ["matmul", "matmul", "transpose", "transpose"]
    assert all(op.out.dtype == np.float32 for op in ops)
    assert grads[tr.structure[0][0][1]._var].dtype == np.float32
    np.testing.assert_allclose(grads[tr.structure[0][0][1]._var]._value, seed @ b.T, rtol=1e-6)


def test_matmul_rejects_extra_arguments(draw):
    a, b = draw((3, 4)), draw((4, 2))
    with pytest.raises(TypeError, match="matmul.*axes"):
        yota.grad(lambda a: weighted(np.matmul(a, b, axes=[(-2, -1)] * 3)), a)


def weighted(y):
    return np.reshape(y, (-1,)) @ np.ones(np.size(y))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [
    ((), (3,)), ((2, 3), ()), ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
    ((2, 2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 2, 3), (3, 4)), ((2, 3), (2, 3, 4)),
    ((2, 2, 3), (2, 3, 2)),
])
def test_dot(sa, sb, dtype, check, draw):
    a, b = draw(sa, dtype), draw(sb, dtype)
    out = check(np.dot, a, b)
    assert np.shape(out) == np.dot(a, b).shape


def test_dot_method(check, draw):
    check(lambda a, b: a.dot(b), draw((2, 3)), draw((3, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [
    ((), (3,)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 3), (4, 3)),
    ((2, 2, 3), (4, 3)), ((2, 3), (2, 2, 3)),
])
def test_inner(sa, sb, dtype, check, draw):
    check(np.inner, draw(sa, dtype), draw(sb, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [((3,), (4,)), ((2, 2), (3,)), ((), (2,))])
def test_outer(sa, sb, dtype, check, draw):
    check(np.outer, draw(sa, dtype), draw(sb, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [((4,), (4,)), ((2, 3), (3, 2)), ((2, 3), (6,))])
def test_vdot(sa, sb, dtype, check, draw):
    check(np.vdot, draw(sa, dtype), draw(sb, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb,axes", [
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3), (3, 4), 1),
    ((2, 3), (4,), 0),
    ((3, 4), (3, 4), 2),
    ((2, 3, 4), (4, 2, 5), ([0, 2], [1, 0])),
    ((3, 2), (2, 3), ((0, 1), (1, 0))),
    ((2, 3, 4), (5, 3), (1, 1)),
    ((2, 3, 4), (4, 3), ([-1, -2], [0, 1])),
    ((), (3,), 0), ((), (), 0), ((2, 3), (3, 2), np.int64(1)), ((2, 3, 4), (4, 3), (2, 0)),
    ((2, 3, 4), (4, 3), np.array([[1, 2], [1, 0]])), ((3, 4), (4, 3), ([], [])),
    ((2, 3, 4), (3, 4, 2), [[-2, -1], [0, 1]]), ((2, 3), (3,), ((1,), (0,))),
    ((2, 3), (2, 3), -1),                      # NumPy reads a negative count as 0
    ((2, 0, 3), (0, 3, 2), 2), ((2, 3), (3, 0), 1),
])
def test_tensordot(sa, sb, axes, dtype, check, draw):
    a, b = draw(sa, dtype), draw(sb, dtype)
    out = check(lambda a, b: np.tensordot(a, b, axes), a, b)
    assert np.shape(out) == np.tensordot(a, b, axes).shape


def test_tensordot_errors(draw):
    a, b = draw((2, 3)), draw((4, 3))
    with pytest.raises(ValueError, match="shape mismatch for sum: axis 1 of a has length 3"):
        yota.grad(lambda a: weighted(np.tensordot(a, b, 1)), a)
    with pytest.raises(ValueError, match="pair 2 axes of a with 1 of b"):
        yota.grad(lambda a: weighted(np.tensordot(a, b, ([0, 1], [1]))), a)
    with pytest.raises(TypeError, match="axes must be an int or a pair"):
        yota.grad(lambda a: weighted(np.tensordot(a, b, "x")), a)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [((2,), (3,)), ((2, 3), (2, 2)), ((3,), (2, 2)),
                                   ((2, 1, 2), (2, 3)), ((), (2, 2))])
def test_kron(sa, sb, dtype, check, draw):
    a, b = draw(sa, dtype), draw(sb, dtype)
    out = check(np.kron, a, b)
    np.testing.assert_allclose(out, np.kron(a, b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb,kwargs", [
    ((3,), (3,), {}), ((4, 3), (3,), {}), ((3, 4), (3, 4), {"axis": 0}),
    ((2, 3), (2, 3), {"axisc": 0}), ((3, 2), (2, 3), {"axisa": 0}),
])
def test_cross(sa, sb, kwargs, dtype, check, draw):
    a, b = draw(sa, dtype), draw(sb, dtype)
    out = check(lambda a, b: np.cross(a, b, **kwargs), a, b)
    np.testing.assert_allclose(out, np.cross(a, b, **kwargs), rtol=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("sa,sb", [((2,), (2,)), ((2,), (3,)), ((3,), (2,))])
def test_cross_two_vectors(sa, sb, check, draw):
    a, b = draw(sa), draw(sb)
    out = check(np.cross, a, b)
    np.testing.assert_allclose(out, np.cross(a, b))


def test_second_order_through_matmul(draw):
    """d/dA of sum((A @ x) ** 2) is 2 (A x) x^T; differentiating that again must work too."""
    a, x = draw((3, 2)), draw((2,))
    w = draw((3, 2))

    def inner_grad(a):
        return yota.grad(lambda a: weighted((a @ x) ** 2), a)[1][0]

    from yota.testing import check_grads
    check_grads(lambda a: weighted(inner_grad(a) * w), a)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,sa,sb,kwargs", [
    ("vecdot", (2, 3), (3,), {}),
    ("matvec", (2, 3, 4), (4,), {}), ("matvec", (3, 4), (2, 4), {}),
    ("vecmat", (3,), (2, 3, 4), {}), ("vecmat", (2, 3), (3, 4), {}),
])
def test_vector_gufuncs(name, sa, sb, kwargs, dtype, check, draw):
    fn = getattr(np, name, None)
    if not isinstance(fn, np.ufunc):
        pytest.skip(f"numpy.{name} needs a newer NumPy")
    a, b = draw(sa, dtype), draw(sb, dtype)
    out = check(lambda a, b: fn(a, b, **kwargs), a, b)
    np.testing.assert_allclose(out, fn(a, b, **kwargs), rtol=1e-5)


def test_linalg_namespace_aliases(check, draw):
    a, b = draw((2, 3)), draw((3, 2))
    check(np.linalg.matmul, a, b)
    check(np.linalg.outer, draw((2,)), draw((3,)))
    check(lambda a, b: np.linalg.tensordot(a, b, axes=1), a, b)
    check(lambda a, b: np.linalg.vecdot(a, b), a, b.T)
    check(lambda a, b: np.linalg.vecdot(a, b, axis=0), draw((3, 2)), draw((3, 1)))
    check(np.linalg.cross, draw((2, 3)), draw((3,)))


@pytest.mark.parametrize("f", [
    lambda a: a @ [[1.0, 2.0], [3.0, -1.0]],
    lambda a: [1.0, -2.0] @ a,
    lambda a: np.dot([1.0, -2.0], a),
    lambda a: np.tensordot([[1.0, -2.0]], a, 1),
    lambda a: np.kron([1.0, -2.0], a),
    lambda a: np.linalg.solve(a + 3 * np.eye(2), [1.0, 2.0]),
])
def test_plain_list_operands(f, check, draw):
    check(f, draw((2, 2)))
