"""eig/eigvals of general matrices (real input with complex results, complex input built from
real arguments) and polyfit, against finite differences in both modes.

Eigenvectors are defined up to a phase (a sign for real ones) that LAPACK picks, so the losses are
gauge-invariant: functions of the eigenvalues, |V_ij|, |v_i^H v_j|."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

SHAPES = [(3, 3), (2, 3, 3), (1, 1), (4, 4)]


def eigenvalue_losses(a):
    w = np.linalg.eigvals(a)
    return np.sum(np.abs(w) ** 2) + np.sum(np.real(w) ** 3) + np.sum(np.imag(w) ** 2)


def vector_invariants(a):
    _, v = np.linalg.eig(a)
    gram = np.conj(np.swapaxes(v, -1, -2)) @ v            # v_i^H v_j
    return np.sum(np.abs(gram) ** 2) + np.sum(np.abs(v) ** 3)


@pytest.mark.parametrize("shape", SHAPES)
def test_eigvals_real_input(shape):
    a = np.random.default_rng(sum(shape)).normal(size=shape)
    got = yota.value_and_grad(eigenvalue_losses)(a)[0]
    np.testing.assert_allclose(got, eigenvalue_losses(a))
    check_grads(eigenvalue_losses, a, order=2)
    check_grads(lambda a: np.sum(np.abs(np.linalg.eig(a)[0]) ** 2), a)


@pytest.mark.parametrize("shape", SHAPES[:3])
def test_eig_vectors_real_input(shape):
    a = np.random.default_rng(sum(shape) + 1).normal(size=shape)
    check_grads(vector_invariants, a, order=2 if len(shape) == 2 else 1)


def test_eig_float32():
    a = np.random.default_rng(7).normal(size=(3, 3)).astype(np.float32)
    assert yota.value_and_grad(lambda a: np.sum(np.abs(np.linalg.eigvals(a * [[1, -1, 1]])) ** 2)
                               )(a)[1][0].dtype == np.float32
    check_grads(eigenvalue_losses, a)
    check_grads(vector_invariants, a)


def test_real_eigenvalues_give_real_arrays_as_numpy():
    b = np.random.default_rng(4).normal(size=(3, 3))

    def loss(b):
        w, v = np.linalg.eig(b + b.T)
        assert w.dtype == np.float64 and v.dtype == np.float64
        return np.sum(w ** 3) + np.sum(np.abs(v) ** 3)

    check_grads(loss, b, order=2)
    # One static graph, matrices with real then complex eigenvalues: the guard retraces.
    f = yota.value_and_grad(lambda a: np.sum(np.abs(np.linalg.eigvals(a)) ** 2))
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    sym = np.array([[2.0, 1.0], [1.0, 3.0]])
    for a in (sym, rot, sym, rot):
        expected = yota.grad(lambda a: np.sum(np.abs(np.linalg.eigvals(a)) ** 2), a,
                             dynamic=True)[1][0]
        np.testing.assert_allclose(f(a)[1], expected)


def test_complex_input_built_from_real_arguments():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    check_grads(lambda x, y: eigenvalue_losses(x + 1j * y), x, y, order=2)
    check_grads(lambda x, y: vector_invariants(x + 1j * y), x, y)
    w = np.linalg.eigvals(x + 1j * y)
    got = yota.value_and_grad(lambda x: np.sum(np.abs(np.linalg.eigvals(x + 1j * y))))(x)[0]
    np.testing.assert_allclose(got, np.sum(np.abs(w)))


def test_eig_reconstruction_and_errors():
    a = np.random.default_rng(6).normal(size=(3, 3))

    def rebuild(a):
        w, v = np.linalg.eig(a)
        return np.sum(np.abs(v @ (w[:, None] * np.linalg.inv(v))) ** 2)

    check_grads(rebuild, a)
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        yota.grad(lambda a: np.sum(np.abs(np.linalg.eigvals(a[:2]))), a)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_polyfit(dtype):
    x = np.array([0.0, 0.5, 1.1, 2.0, 2.4], dtype)
    y = np.array([1.0, -0.3, 0.8, 2.0, 1.5], dtype)
    got = yota.value_and_grad(lambda y: np.sum(np.polyfit(x, y, 2) * [1, 2, 3]))(y)[0]
    np.testing.assert_allclose(got, np.sum(np.polyfit(x, y, 2) * [1, 2, 3]), rtol=1e-5)
    check_grads(lambda y: np.sum(np.polyfit(x, y, 2) ** 2), y, order=2 if dtype == np.float64
                else 1)
    if dtype == np.float64:
        check_grads(lambda x, y, w: np.sum(np.polyfit(x, y, 2, w=w) ** 2), x, y,
                    np.array([1.0, 2, 1, 0.5, 1]), order=2)
        check_grads(lambda y: np.sum(np.polyfit(x, y, 1) ** 2), np.stack([y, y ** 2], 1))
        check_grads(lambda y: np.sum(np.polyval(np.polyfit(x, y, 2), x) ** 2), y)
    with pytest.raises(TypeError, match="full"):
        yota.grad(lambda y: np.sum(np.polyfit(x, y, 2, full=True)[0]), y)
