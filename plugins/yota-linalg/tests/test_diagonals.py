"""trace (offset, axes) and diag (1-D -> 2-D, 2-D -> 1-D, with k)."""
import numpy as np
import pytest

import yota

DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kwargs", [
    ((3, 3), {}), ((3, 4), {"offset": 1}), ((4, 3), {"offset": -2}),
    ((2, 3, 3), {"axis1": 1, "axis2": 2}), ((3, 2, 4), {"axis1": 2, "axis2": 0, "offset": 1}),
    ((3, 4, 2), {}), ((3, 3), {"offset": 5}),
])
def test_trace(shape, kwargs, dtype, check, draw):
    x = draw(shape, dtype)
    out = check(lambda x: np.trace(x, **kwargs), x)
    np.testing.assert_allclose(out, np.trace(x, **kwargs), rtol=1e-5)


def test_trace_method_and_linalg_trace(check, draw):
    check(lambda x: x.trace(), draw((3, 3)))
    if hasattr(np.linalg, "trace"):
        check(lambda x: np.linalg.trace(x, offset=1), draw((2, 3, 3)))


def test_trace_needs_two_dimensions(draw):
    with pytest.raises(ValueError, match="at least 2 dimensions, got 1"):
        yota.grad(lambda x: np.trace(x), draw((3,)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,k", [((3,), 0), ((3,), 1), ((2,), -2), ((3, 3), 0),
                                     ((3, 4), 1), ((4, 3), -1), ((2, 3), 3)])
def test_diag(shape, k, dtype, check, draw):
    x = draw(shape, dtype)
    out = check(lambda x: np.diag(x, k), x)
    np.testing.assert_allclose(out, np.diag(x, k))


def test_diag_rejects_3d(draw):
    with pytest.raises(ValueError, match="1-D or 2-D array, got 3-D"):
        yota.grad(lambda x: np.diag(x)[0, 0], draw((2, 2, 2)))


def test_linalg_diagonal_and_matrix_transpose(check, draw):
    if not hasattr(np.linalg, "matrix_transpose"):
        pytest.skip("NumPy < 2")
    x = draw((2, 3, 4))
    for offset in (0, 1, -2):
        out = check(lambda x: np.linalg.diagonal(x, offset=offset), x)
        np.testing.assert_allclose(out, np.linalg.diagonal(x, offset=offset))
    out = check(np.linalg.matrix_transpose, x)
    np.testing.assert_allclose(out, np.swapaxes(x, -1, -2))
    with pytest.raises(ValueError, match="matrix_transpose needs at least 2 dimensions"):
        yota.grad(lambda x: np.linalg.matrix_transpose(x)[0], draw((3,)))
