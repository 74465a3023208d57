"""Finite-difference checks of every numpy.fft function yota-fft implements, for real inputs and
real losses built from the complex results (abs, real, imag, products with constants)."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]


@yota.primitive
def total(y):
    """Sum of all elements: a test-local primitive, so these tests need no reductions pack."""
    return np.asarray(y).sum()


total.defgrad(lambda dy, s, y: np.broadcast_to(dy, np.shape(y)))
NORMS = [None, "ortho", "forward"]


def real_loss(z, rng):
    """A real loss that uses both parts of a complex result with non-trivial weights."""
    shape = np.shape(z)
    a, b, c = (rng.normal(size=shape) for _ in range(3))
    if np.iscomplexobj(z):
        return lambda z: (total(np.real(z) * a) + total(np.imag(z) * b)
                          + total(np.abs(z * (1 + 0.5j)) * c))
    return lambda z: total(z * a) + total(np.sin(z) * b)


# name -> (function, input shape)
CASES = {
    "fft": (lambda x, norm: np.fft.fft(x, norm=norm), (6,)),
    "fft_axis0": (lambda x, norm: np.fft.fft(x, axis=0, norm=norm), (4, 3)),
    "fft_pad": (lambda x, norm: np.fft.fft(x, n=9, norm=norm), (2, 6)),
    "fft_crop": (lambda x, norm: np.fft.fft(x, n=4, norm=norm), (2, 6)),
    "ifft": (lambda x, norm: np.fft.ifft(x, norm=norm), (2, 5)),
    "ifft_pad": (lambda x, norm: np.fft.ifft(x, 7, axis=0, norm=norm), (5, 2)),
    "fft2": (lambda x, norm: np.fft.fft2(x, norm=norm), (3, 4)),
    "fft2_s": (lambda x, norm: np.fft.fft2(x, s=(5, 2), norm=norm), (3, 4)),
    "ifft2": (lambda x, norm: np.fft.ifft2(x, norm=norm), (2, 3, 4)),
    "fftn": (lambda x, norm: np.fft.fftn(x, norm=norm), (2, 3, 4)),
    "fftn_axes": (lambda x, norm: np.fft.fftn(x, axes=(0, 2), norm=norm), (2, 3, 4)),
    "fftn_repeated_axis": (lambda x, norm: np.fft.fftn(x, axes=(1, 1), norm=norm), (2, 3)),
    "ifftn_s": (lambda x, norm: np.fft.ifftn(x, s=(3, 5), axes=(1, 2), norm=norm), (2, 3, 4)),
    "rfft": (lambda x, norm: np.fft.rfft(x, norm=norm), (8,)),
    "rfft_odd": (lambda x, norm: np.fft.rfft(x, norm=norm), (2, 7)),
    "rfft_n": (lambda x, norm: np.fft.rfft(x, n=10, axis=0, norm=norm), (6, 2)),
    "rfft_crop": (lambda x, norm: np.fft.rfft(x, n=5, norm=norm), (8,)),
    "irfft": (lambda x, norm: np.fft.irfft(np.fft.rfft(x) * (1 + 1j), norm=norm), (2, 8)),
    "irfft_odd_n": (lambda x, norm: np.fft.irfft(np.fft.fft(x), n=7, norm=norm), (6,)),
    "irfft_real_input": (lambda x, norm: np.fft.irfft(x, norm=norm), (5,)),
    "irfft_pad": (lambda x, norm: np.fft.irfft(np.fft.rfft(x, axis=0), n=12, axis=0,
                                                norm=norm), (6, 2)),
    "rfft2": (lambda x, norm: np.fft.rfft2(x, norm=norm), (3, 4)),
    "irfft2": (lambda x, norm: np.fft.irfft2(np.fft.rfft2(x) * 1j, norm=norm), (4, 6)),
    "rfftn": (lambda x, norm: np.fft.rfftn(x, s=(3, 5), axes=(0, 2), norm=norm), (2, 4, 4)),
    "irfftn": (lambda x, norm: np.fft.irfftn(np.exp(1j * x), norm=norm), (2, 3, 4)),
    "hfft": (lambda x, norm: np.fft.hfft(x * (1 - 2j), norm=norm), (5,)),
    "ihfft": (lambda x, norm: np.fft.ihfft(x, norm=norm), (6,)),
    "fftshift": (lambda x, norm: np.fft.fftshift(np.fft.fft(x, norm=norm)), (2, 5)),
    "fftshift_axes": (lambda x, norm: np.fft.fftshift(x, axes=1), (2, 5)),
    "ifftshift": (lambda x, norm: np.fft.ifftshift(x), (3, 4)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_fft_gradient(name, norm, dtype):
    fn, shape = CASES[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(dtype)
    expected = fn(x, norm)
    loss = real_loss(expected, rng)

    def f(x):
        out = fn(x, norm)
        assert out.shape == expected.shape
        return loss(out)

    check_grads(f, x, modes=("dynamic",))


@pytest.mark.parametrize("name", ["fft_pad", "ifft2", "rfft_odd", "irfft", "irfftn", "hfft"])
def test_fft_static_mode_and_higher_order(name):
    fn, shape = CASES[name]
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    loss = real_loss(fn(x, None), rng)
    check_grads(lambda x: loss(fn(x, None)) * total(x * x), x, order=2)


def test_float32_stays_single_precision():
    x = np.linspace(0, 1, 8, dtype=np.float32)
    seen = {}

    def f(x):
        z = np.fft.rfft(x)
        seen["dtype"] = z.dtype
        return total(np.abs(z))

    _, g = yota.grad(f, x, dynamic=True)
    assert seen["dtype"] == np.complex64 and g[0].dtype == np.float32


def test_power_spectrum_matches_the_analytic_gradient():
    # d/dx |rfft(x)[k]|^2 = 2 Re(conj(X_k) * e^{-2 pi i k t / n}) elementwise in t
    x = np.random.default_rng(3).normal(size=16)
    k = 3
    value, g = yota.grad(lambda x: np.abs(np.fft.rfft(x)[k]) ** 2, x, dynamic=True)
    X = np.fft.rfft(x)[k]
    t = np.arange(16)
    np.testing.assert_allclose(g[0], 2 * np.real(np.conj(X) * np.exp(-2j * np.pi * k * t / 16)))
    assert value == pytest.approx(abs(X) ** 2)


def test_convolution_by_fft():
    rng = np.random.default_rng(4)
    x, h = rng.normal(size=6), rng.normal(size=3)

    def conv(x, h):
        n = 8
        y = np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(h, n), n)
        return total(y * np.arange(8.0))

    check_grads(conv, x, h)
    np.testing.assert_allclose(np.fft.irfft(np.fft.rfft(x, 8) * np.fft.rfft(h, 8), 8),
                               np.convolve(x, h))


def test_zero_d_and_errors():
    _, g = yota.grad(lambda z: np.abs(np.fft.fft(z)[0]), np.ones(3, complex))   # complex: fine
    np.testing.assert_allclose(g[0], np.ones(3))   # d abs(sum z) / dx_i = 1, dy_i = 0
    with pytest.raises(ValueError, match="Invalid number of FFT data points"):
        yota.grad(lambda x: np.abs(np.fft.fft(x, n=0)[0]), np.ones(3), dynamic=True)
    with pytest.raises(ValueError, match="Invalid norm"):
        yota.grad(lambda x: np.abs(np.fft.fft(x, norm="bad")[0]), np.ones(3), dynamic=True)
    with pytest.raises(yota.NotScalarError, match="complex"):
        yota.grad(lambda x: np.fft.fft(x)[0], np.ones(3), dynamic=True)


def test_registered_through_the_entry_point():
    from yota.plugins import PLUGINS, ensure_loaded

    ensure_loaded()
    assert PLUGINS["yota-fft"].status == "loaded"
    from yota.testing import check_rules_complete

    check_rules_complete("yota-fft")


def test_exported_primitives_refuse_tracked_values_while_disabled(yota_disable_packs):
    from yota_fft import rfft_p

    yota_disable_packs("yota-fft")
    x = np.arange(4.0)
    with pytest.raises(yota.NoRuleError, match=r"yota_fft\.rfft_p was called on a tracked value, "
                                               r"but the yota-fft pack is disabled"):
        yota.grad(lambda x: total(rfft_p(x, n=4, axis=-1, norm=None).real), x)
    np.testing.assert_allclose(rfft_p(x, n=4, axis=-1, norm=None), np.fft.rfft(x))
