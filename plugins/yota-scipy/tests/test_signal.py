"""scipy.signal convolutions: every mode, 1-D to 3-D, against SciPy, gradients to second order."""
import numpy as np
import pytest
import scipy.signal as ss

import yota_scipy.signal as ysig
from yota.testing import check_grads, vdot

SHAPES = [((5,), (3,)), ((3,), (5,)), ((4,), (4,)), ((4, 5), (2, 3)), ((2, 2), (3, 4)),
          ((3, 4, 2), (2, 2, 2))]
MODES = ["full", "same", "valid"]


def _valid_ok(sa, sv):
    return all(m >= n for m, n in zip(sa, sv)) or all(n >= m for m, n in zip(sa, sv))


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sa,sv", SHAPES, ids=[f"{a}*{v}" for a, v in SHAPES])
def test_convolve_and_correlate(sa, sv, mode, name, rng):
    if mode == "valid" and not _valid_ok(sa, sv):
        pytest.skip("SciPy rejects it too")
    ours, theirs = getattr(ysig, name), getattr(ss, name)
    a, v = rng.normal(size=sa), rng.normal(size=sv)
    want = theirs(a, v, mode=mode)
    got = ours(a, v, mode=mode)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    w = rng.normal(size=want.shape)
    check_grads(lambda a, v: vdot(ours(a, v, mode=mode), w), a, v,
                order=2 if len(sa) == 1 else 1)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sa,sv", [((4, 5), (2, 3)), ((3, 3), (3, 3)), ((2, 3), (4, 4))])
def test_two_d(sa, sv, mode, name, rng):
    ours, theirs = getattr(ysig, name), getattr(ss, name)
    a, v = rng.normal(size=sa), rng.normal(size=sv)
    want = theirs(a, v, mode=mode)
    np.testing.assert_allclose(ours(a, v, mode=mode), want, rtol=1e-10, atol=1e-12)
    w = rng.normal(size=want.shape)
    check_grads(lambda a, v: vdot(ours(a, v, mode=mode), w), a, v, order=2)


def test_float32_stays_float32(rng):
    a, v = rng.normal(size=(6,)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)
    assert ysig.convolve(a, v).dtype == np.float32
    check_grads(lambda a, v: vdot(ysig.convolve(a, v, mode="same"), np.ones(6)), a, v)


def test_errors(rng):
    with pytest.raises(ValueError, match="mode must be one of"):
        ysig.convolve(np.ones(3), np.ones(2), mode="circular")
    with pytest.raises(ValueError, match="same dimensionality"):
        ysig.correlate(np.ones(3), np.ones((2, 2)))
    with pytest.raises(NotImplementedError, match="boundary='fill'"):
        ysig.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="wrap")
