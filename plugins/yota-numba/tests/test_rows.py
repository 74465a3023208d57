"""The row kernels (rows.py) for the reductions pack's logsumexp and shifted_exp: the same values
as NumPy's steps (rows of -inf, +inf and NaN included, float32 staying float32), and the steps
they do not cover (long rows, other axes) left to NumPy."""
import numpy as np
import pytest
from yota_reductions import logsumexp

import yota

from numba_testing import compiled
from yota_numba import rows


def cross_entropy(z, y):
    return np.mean(logsumexp(z, axis=1) - z[np.arange(len(y)), y])


def keepdims_tail(z):
    return np.sum(np.exp(z - logsumexp(z, axis=-1, keepdims=True)) * z)


def other_axis(z):
    return np.sum(logsumexp(z, axis=0))


def special_rows(dtype):
    z = np.random.default_rng(1).standard_normal((6, 5)).astype(dtype)
    z[1] = -np.inf                      # log-sum-exp -inf, gradient 0
    z[2, 3] = np.inf                    # inf
    z[3, 0] = np.nan                    # NaN
    z[4, :2] = -np.inf                  # some -inf: ordinary
    z[5] = [1e30, -1e30, 0.5, 0.0, -0.0] if dtype == np.float64 else [1e30, 3, 2, 1, 0]
    return z


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cross_entropy_rows_match_numpy(dtype):
    z = np.random.default_rng(0).standard_normal((6, 5)).astype(dtype)
    y = np.array([0, 4, 2, 3, 1, 0])
    c = compiled(("rows ce", dtype), cross_entropy, (z, y), argnums=0)
    assert "logsumexp_rows(" in c.source and "shifted_exp_rows(" in c.source, c.source
    got = c.check()
    assert got[1][0].dtype == dtype, "float32 must stay float32"
    c.check((special_rows(dtype), y))                     # replay: -inf, inf, NaN rows
    c.check((z * 40, y))                                  # large values: the shift matters


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_keepdims_and_negative_axis():
    z = np.random.default_rng(2).standard_normal((4, 7))
    c = compiled("rows keepdims", keepdims_tail, (z,))
    assert "logsumexp_rows(" in c.source, c.source
    c.check()
    c.check((special_rows(np.float64)[:4].repeat(2, axis=1)[:, :7],))
    c.check((np.asfortranarray(z * 3),))                  # another layout: numba specializes


@pytest.mark.parametrize("f, shape", [(other_axis, (5, 4)),
                                      (keepdims_tail, (3, rows.MAX_ROW + 1))])
def test_steps_without_a_row_kernel_stay_numpy(f, shape):
    z = np.random.default_rng(3).standard_normal(shape)
    c = compiled(("rows none", f.__name__), f, (z,))
    assert "logsumexp_rows(" not in c.source, c.source
    c.check()


def test_row_kernels_check_their_shapes():
    lse, sexp = rows.kernels_for(np.dtype(np.float64))
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="logsumexp_rows"):
        lse(x, np.empty(2))
    with pytest.raises(ValueError, match="shifted_exp_rows"):
        sexp(x, np.zeros(3), np.empty((3, 5)))


def test_numpys_error_state_holds_for_row_kernels():
    # a NaN row takes no shift, so NumPy's exp overflows on its 1000.0: under errstate(raise)
    # the row kernel reports the inf and the call goes to the NumPy program, which raises
    z = np.random.default_rng(4).standard_normal((3, 4))
    y = np.array([0, 1, 2])
    yota.grad(cross_entropy, z, y, argnums=0, backend="numba")       # compiled on clean data
    z[1, 0], z[1, 2] = np.nan, 1000.0
    with np.errstate(all="raise"):
        with pytest.raises(FloatingPointError):
            yota.grad(cross_entropy, z, y, argnums=0)
        with pytest.raises(FloatingPointError):
            yota.grad(cross_entropy, z, y, argnums=0, backend="numba")
    lse, sexp = rows.kernels_for(np.dtype(np.float64))      # the flags the host tests
    out, e = np.empty(3), np.empty((3, 4))
    assert not lse(np.ones((3, 4)), out) and not sexp(np.ones((3, 4)), out, e)
    assert lse(z, out), "a row kernel met inf and did not report it"
    assert sexp(np.full((3, 4), 1000.0), np.zeros(3), e), "exp overflowed unreported"
    with np.errstate(all="ignore"):
        got = yota.grad(cross_entropy, z, y, argnums=0, backend="numba")
        want = yota.grad(cross_entropy, z, y, argnums=0, dynamic=True)
    np.testing.assert_allclose(got[1][0], want[1][0], equal_nan=True)
