"""Complex arguments: the convention (JAX's and autograd's), argument kinds, static replay,
functions on complex inputs at first and second order, check_grads, optimizers.

For a real loss L of z = x + iy, ``grad`` returns dL/dx - i dL/dy (docs/complex.md). The expected
values here are computed from first principles: central differences in the real and in the
imaginary direction, combined by that convention.
"""
import attrs
import numpy as np
import pytest

import yota
from yota import optim
from yota.testing import GradientMismatch, check_grads, numerical_grad

MODES = ("dynamic", "static")
RNG = np.random.default_rng(14)


def cplx(*shape, dtype=np.complex128):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


def by_hand(f, z, h=1e-6):
    """dL/dx - i dL/dy by central differences, element by element."""
    z = np.array(z, dtype=np.complex128)
    g = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[i] = h
        dx = (f(z + e) - f(z - e)) / (2 * h)
        dy = (f(z + 1j * e) - f(z - 1j * e)) / (2 * h)
        g[i] = dx - 1j * dy
    return g


def grad_in(mode, f, *args, **kw):
    return yota.grad(f, *args, dynamic=mode == "dynamic", **kw)


# --- the convention --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", [
    lambda z: np.sum(np.abs(z) ** 2),
    lambda z: np.sum(np.real(z) * np.imag(z) ** 2),
    lambda z: np.sum(np.abs(np.exp(z) + z ** 2)),
    lambda z: np.real(np.sum(np.conj(z) * (1 + 2j) * z[::-1])),
    lambda z: np.sum(np.angle(z)),
], ids=["abs2", "re_im", "exp_square", "conj_product", "angle"])
def test_the_gradient_is_dl_dx_minus_i_dl_dy(f, mode):
    z = cplx(3)
    value, g = grad_in(mode, f, z)
    assert value == pytest.approx(f(z))
    np.testing.assert_allclose(g[0], by_hand(f, z), rtol=1e-6, atol=1e-8)


def test_the_documented_example_matches_jax_and_autograd():
    """JAX's FAQ and autograd's tutorial: f(z) = x**2 + y**2 at 3 + 4j gives 6 - 8j."""
    _, g = yota.grad(lambda z: np.real(z) ** 2 + np.imag(z) ** 2, 3 + 4j)
    assert g[0] == 6 - 8j and type(g[0]) is complex


def test_descent_along_the_conjugate_lowers_the_loss():
    c = np.array([1 + 2j, -1j])
    z = np.zeros(2, complex)
    loss = lambda z: np.sum(np.abs(z - c) ** 2)  # noqa: E731
    before = loss(z)
    _, g = yota.grad(loss, z)
    assert loss(z - 0.1 * np.conj(g[0])) < before
    assert loss(z - 0.1 * g[0]) > loss(z - 0.1 * np.conj(g[0]))   # g itself is not the way down


# --- argument kinds ----------------------------------------------------------------------------
@attrs.define
class Model:
    w: np.ndarray
    b: complex
    scale: float


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("arg, kind", [
    (np.array([1 + 2j, 3 - 1j]), np.ndarray),
    (np.array([1 + 2j, 3 - 1j], np.complex64), np.ndarray),
    (np.array(1 + 2j), np.ndarray),
    (np.complex128(1 + 2j), np.complex128),
    (np.complex64(1 + 2j), np.complex64),
    (1 + 2j, complex),
], ids=["complex128", "complex64", "0-d", "np.complex128", "np.complex64", "python complex"])
def test_kinds_and_dtypes_are_kept(arg, kind, mode):
    f = lambda z: np.sum(np.abs(z) ** 2 + np.real(z))  # noqa: E731
    again = np.asarray(arg * 2) if isinstance(arg, np.ndarray) else type(arg)(arg * 2)
    for a in (arg, again):   # a replay in static mode
        value, g = grad_in(mode, f, a)
        assert type(g[0]) is kind
        if kind is not complex:
            assert g[0].dtype == np.asarray(a).dtype
            assert np.shape(g[0]) == np.shape(a)
        np.testing.assert_allclose(g[0], 2 * np.conj(a) + 1, rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_containers_and_attrs_fields(mode):
    m = Model(w=np.array([1 + 1j, 2 - 1j]), b=0.5j, scale=2.0)
    data = {"z": [np.array([1j]), np.float64(3.0)]}

    def f(m, data):
        return (m.scale * np.sum(np.abs(m.w + m.b) ** 2)
                + np.sum(np.real(data["z"][0] * data["z"][1] * 1j)))

    _, g = grad_in(mode, f, m, data)
    np.testing.assert_allclose(g[0][("w",)], 2 * 2 * np.conj(m.w + m.b))
    assert g[0][("b",)] == pytest.approx(2 * 2 * np.sum(np.conj(m.w + m.b)))
    assert g[0][("scale",)] == pytest.approx(np.sum(np.abs(m.w + m.b) ** 2))
    # Re(i z s) = -Im(z) s: d/dx = 0, d/dy = -s = -3, so 0 - i(-3) = 3i; d/ds = -Im(z) = -1
    np.testing.assert_allclose(g[1][("z", 0)], [3j])
    assert g[1][("z", 1)] == pytest.approx(-1.0)


def test_static_mode_keys_complex_arguments_by_shape_and_dtype():
    class Count:
        n = 0

    counter = Count()

    def f(z):
        counter.n += 1
        return np.sum(np.abs(z) ** 2)

    z = cplx(3)
    for arg in (z, z * 2, z + 1j):
        yota.grad(f, arg)
    assert counter.n == 1                      # traced once, replayed twice
    _, g = yota.grad(f, z.astype(np.complex64))
    assert counter.n == 2 and g[0].dtype == np.complex64
    yota.grad(f, cplx(4))
    assert counter.n == 3
    yota.grad(f, z.real.copy())                # a real array of the same shape: its own entry
    assert counter.n == 4
    for arg in (1 + 1j, 2 - 1j):
        yota.grad(f, arg)
    assert counter.n == 5


def test_a_non_differentiated_complex_argument_is_a_constant():
    def f(x, c):
        return np.sum(np.abs(x * c) ** 2)

    x, c = np.array([1.0, 2.0]), np.array([1j, 1 + 1j])
    for mode in MODES:
        for cc in (c, c * 2):
            _, g = grad_in(mode, f, x, cc, argnums=0)
            np.testing.assert_allclose(g[0], 2 * x * np.abs(cc) ** 2)


@pytest.mark.parametrize("mode", MODES)
def test_a_complex_loss_is_refused_with_a_hint(mode):
    with pytest.raises(yota.NotScalarError,
                       match=r"returned a complex.*np\.real\(z\) or np\.abs\(z\)"):
        grad_in(mode, lambda z: np.sum(z * z), cplx(2))


def test_object_arrays_are_still_refused():
    with pytest.raises(yota.InputError, match="an object array as argument 0"):
        yota.grad(lambda z: 1.0, np.array([1j, None]))


# --- functions on complex inputs, first and second order, both modes ---------------------------
ELEMENTWISE = {
    "real_imag_conj": lambda z: np.sum(np.real(z) ** 2 * np.imag(z) + np.real(np.conj(z) * z)),
    "abs": lambda z: np.sum(np.abs(z) ** 3),
    "angle": lambda z: np.sum(np.angle(z) ** 2 + np.angle(z, deg=True)),
    "real_if_close": lambda z: np.sum(np.abs(np.real_if_close(z)) ** 2),
    "power": lambda z: np.sum(np.abs(z ** 2.5 + z ** (1 + 1j) + 2 ** z + z ** 3)),
    "exp_log_sqrt": lambda z: np.sum(np.abs(np.exp(z) + np.log(z) * np.sqrt(z))),
    "trig": lambda z: np.sum(np.abs(np.sin(z) + np.cos(z) * np.tan(z))),
    "inverse_trig": lambda z: np.sum(np.abs(np.arcsin(z / 3) + np.arccos(z / 3) * np.arctan(z))),
    "hyperbolic": lambda z: np.sum(np.abs(np.sinh(z) + np.cosh(z) * np.tanh(z))),
    "inverse_hyperbolic": lambda z: np.sum(np.abs(np.arcsinh(z) + np.arccosh(z + 3)
                                                  * np.arctanh(z / 3))),
    "divide_reciprocal": lambda z: np.sum(np.abs(1 / z + z / (z[::-1] + 2j))),
    "reductions": lambda z: np.abs(np.sum(z)) + np.abs(np.mean(z * z)) + np.abs(np.prod(z)),
    "dot_matmul": lambda z: np.abs(np.dot(z, np.conj(z)) + z @ np.arange(4.0) + z @ z),
    "einsum": lambda z: np.abs(np.einsum("i,i->", z, z) + np.einsum("i,j->ij", z, z).sum()),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_and_products(name, order):
    check_grads(ELEMENTWISE[name], cplx(4), order=order, name=name)


@pytest.mark.parametrize("name", ["abs", "exp_log_sqrt", "trig", "dot_matmul"])
def test_complex64_keeps_its_dtype(name):
    z = cplx(4, dtype=np.complex64)
    _, g = check_grads(ELEMENTWISE[name], z, name=name)
    assert g[0].dtype == np.complex64


def hermitian(w):
    return w + np.conj(w.T)


def projector_loss(v):
    """|sum(c * v v^H)|: the projector on v does not depend on v's phase."""
    return np.abs(np.sum(v * np.conj(v.T) * np.arange(1.0, 4.0)))


LINALG = {
    "matmul": (lambda w: np.sum(np.abs(w @ w.T @ np.conj(w)) ** 2), (3, 3)),
    "einsum": (lambda w: np.abs(np.einsum("ij,jk->", w, np.conj(w.T))), (3, 3)),
    "solve": (lambda w: np.sum(np.abs(np.linalg.solve(w, w[0])) ** 2), (3, 3)),
    "inv": (lambda w: np.sum(np.abs(np.linalg.inv(w)) ** 2), (3, 3)),
    "det": (lambda w: np.abs(np.linalg.det(w)) + np.real(np.linalg.det(w)), (3, 3)),
    "slogdet": (lambda w: np.linalg.slogdet(w)[1] + np.real(np.linalg.slogdet(w)[0] * (1 + 2j)),
                (3, 3)),
    "norm": (lambda w: np.linalg.norm(w) + np.linalg.norm(w[0]), (3, 3)),
    "norm_ords": (lambda w: np.linalg.norm(w, 1) + np.linalg.norm(w, np.inf)
                  + np.linalg.norm(w[0], 3) + np.linalg.norm(w[1], 1), (3, 3)),
    "norm_svd": (lambda w: np.linalg.norm(w, 2) + np.linalg.norm(w, "nuc")
                 + np.linalg.norm(w, -2), (3, 3)),
    "eigh_values": (lambda w: np.sum(np.linalg.eigh(hermitian(w))[0] ** 3)
                    + np.sum(np.linalg.eigvalsh(w, UPLO="U") ** 2), (3, 3)),
    # eigenvectors: each has a free phase (the gauge); the losses here do not depend on it
    "eigh_vectors": (lambda w: np.sum(np.abs(np.linalg.eigh(hermitian(w))[1]) ** 4), (3, 3)),
    "eigh_projector": (lambda w: projector_loss(np.linalg.eigh(hermitian(w))[1][:, :1]), (3, 3)),
    "svd_values": (lambda w: np.sum(np.linalg.svd(w)[1] ** 3), (3, 2)),
    "svd_vectors": (lambda w: np.sum(np.abs(np.linalg.svd(w)[0]) ** 4)
                    + np.sum(np.abs(np.linalg.svd(w)[2]) ** 4), (3, 3)),
    "svd_full_tall": (lambda w: np.sum(np.abs(np.linalg.svd(w)[0]) ** 4), (3, 2)),
    "svd_full_wide": (lambda w: np.sum(np.abs(np.linalg.svd(w)[2]) ** 4), (2, 3)),
    # u_i v_i^H is gauge invariant: the pair turns together
    "svd_pairs": (lambda w: np.sum(np.abs(np.linalg.svd(w, full_matrices=False)[0]
                                          @ np.linalg.svd(w, full_matrices=False)[2]) ** 3),
                  (4, 3)),
    "qr": (lambda w: np.sum(np.abs(np.linalg.qr(w)[0]) ** 3)
           + np.sum(np.abs(np.linalg.qr(w)[1]) ** 3), (3, 3)),
    "qr_tall": (lambda w: np.sum(np.real(np.linalg.qr(w)[0] * (1 + 1j)))
                + np.sum(np.imag(np.linalg.qr(w)[1])), (4, 3)),
    "qr_wide": (lambda w: np.sum(np.abs(np.linalg.qr(w)[1]) ** 3)
                + np.sum(np.real(np.linalg.qr(w)[0])), (2, 4)),
    "qr_complete": (lambda w: np.sum(np.abs(np.linalg.qr(w, mode="complete")[0]) ** 3), (3, 2)),
    "fft": (lambda w: np.sum(np.abs(np.fft.fft(w)) ** 2 + np.real(np.fft.ifft2(w) * w)), (3, 3)),
    "fftn": (lambda w: np.sum(np.abs(np.fft.fftn(w, s=(4, 2), axes=(0, 1))) ** 3)
             + np.sum(np.real(np.fft.ifftn(w))), (3, 3)),
    "hfft_irfft": (lambda w: np.sum(np.fft.hfft(w) ** 2) + np.sum(np.fft.irfft(w) ** 3)
                   + np.sum(np.abs(np.fft.fftshift(w))), (3, 3)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg_and_fft(name, order):
    f, shape = LINALG[name]
    check_grads(f, cplx(*shape), order=order, name=name)


def test_hermitian_svd_of_a_complex_matrix_is_refused():
    with pytest.raises(yota.InputError, match="svd of a complex matrix has no gradient rule"):
        yota.grad(lambda w: np.sum(np.linalg.svd(w, hermitian=True)[1]), cplx(2, 2))


# --- check_grads on complex arguments ----------------------------------------------------------
@yota.primitive
def twice_conj(z):
    return 2 * np.conj(z)


twice_conj.defgrad(lambda dy, y, z: 2 * dy)        # wrong: conj(2 dy) is the rule


def test_check_grads_catches_a_wrong_complex_rule():
    with pytest.raises(GradientMismatch, match=r"argument 0.*finite differences"):
        check_grads(lambda z: np.sum(np.imag(twice_conj(z))), cplx(3), modes="dynamic")


def test_check_grads_perturbs_in_random_complex_directions_for_large_arguments():
    check_grads(lambda z: np.sum(np.abs(z) ** 3), cplx(40))
    with pytest.raises(GradientMismatch, match="along a random direction"):
        check_grads(lambda z: np.sum(np.imag(twice_conj(z))), cplx(40), modes="dynamic")


def test_numerical_grad_follows_the_convention():
    f = lambda z: np.sum(np.real(z) ** 2 - 3 * np.imag(z))  # noqa: E731
    z = cplx(2)
    (path, g), = numerical_grad(f, [z], 0).items()
    np.testing.assert_allclose(g, 2 * z.real + 3j, rtol=1e-6)
    assert numerical_grad(f, [1 + 1j], 0)[()] == pytest.approx(2 + 3j)


# --- optimizers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: optim.SGD(0.1), lambda: optim.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: optim.Adam(0.1), lambda: optim.AdamW(0.1, weight_decay=0.0),
    lambda: optim.RMSProp(0.02), lambda: optim.SGD(0.1, clip_norm=1.0),
    lambda: optim.Adam(0.1, clip_value=0.5),
], ids=["sgd", "nesterov", "adam", "adamw", "rmsprop", "clip_norm", "clip_value"])
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_optimizers_minimize_a_distance_to_a_complex_target(make, dtype):
    c = np.array([1 + 2j, -3 + 0.5j, 0.25 - 1j], dtype)
    loss = lambda z: np.sum(np.abs(z - c) ** 2)  # noqa: E731
    opt, z = make(), np.zeros(3, dtype)
    for _ in range(600):
        z = opt(z, yota.grad(loss, z))
    assert z.dtype == dtype
    np.testing.assert_allclose(z, c, atol=1e-3 if dtype == np.complex64 else 1e-6)


def test_adam_keeps_a_real_second_moment():
    opt = optim.Adam(0.1)
    opt(np.zeros(2, complex), np.array([1 + 1j, 2j]))
    v = opt.state[()]["v"]
    assert v.dtype == np.float64
    np.testing.assert_allclose(v, 0.001 * np.array([2.0, 4.0]))


def test_sgd_steps_along_the_conjugate_for_python_and_attrs_parameters():
    z = optim.sgd(1 + 1j, (0.0, yota.GradientResult([2 - 4j])), lr=0.5)
    assert z == 0 - 1j and type(z) is complex
    m = Model(w=np.array([1j]), b=1j, scale=1.0)
    m = optim.sgd(m, {("w",): np.array([2 + 2j]), ("b",): 2j}, lr=0.5)
    np.testing.assert_allclose(m.w, [-1 + 2j])
    assert m.b == 2j


@pytest.mark.parametrize("z", [np.complex128(0.7 - 0.4j), 0.7 - 0.4j], ids=["numpy", "python"])
def test_second_order_checks_of_a_complex_scalar(z):
    """The projected gradient of a Python complex is complex too (it was cast to float)."""
    check_grads(lambda z: np.abs(np.abs(z)) ** 2, z, order=2)
    check_grads(lambda z: np.real(z ** 3 * np.conj(z)), z, order=3)
