"""eig and eigvals of general square matrices: one primitive per output (eig_w, eig_v).

Both primitives always return complex arrays (complex64 for float32 input), so a static graph's
dtypes never depend on the data; ``eig``/``eigvals`` then return real arrays exactly when NumPy
does (real input, every eigenvalue real), a test that static graphs guard by value.

Rules, in yota's complex convention (the transposes of the forward derivatives, as in JAX):
with X = V^-1 dA V, dw = diag(X) and dV = V (F o X) - V Re(diag(V^H V (F o X))), where
F_ij = 1/(w_j - w_i) off the diagonal; the second term keeps each eigenvector at unit norm, as
LAPACK returns them. So the gradients are

    A-bar = V^-T (diag(w-bar) + F o (V^T G')) V^T,   G' = V-bar - conj(V) Re(sum_i V-bar_ij V_ij).

Gauge: LAPACK fixes each eigenvector's phase (for complex vectors) or sign, a choice that no
derivative sees. The gradient is that of a loss that does not depend on the choice: functions of
the eigenvalues, of |V_ij|, of V diag(f(w)) V^-1, of |v_i^H v_j|... A loss that reads a phase
gets a gradient that finite differences need not agree with. Repeated eigenvalues make the
vectors' gradient NaN where the loss meets them (as eigh's); the values stay finite.
"""
from __future__ import annotations

import numpy as np
from yota.core_pack.indexing import where
from yota.extend import primitive

from ._memo import Memo
from ._util import add_last, add_second_last, mT
from .decompositions import divide_used
from .products import matmul
from .solvers import solve

IMPLEMENTS = {}
_eig = Memo(lambda a: np.linalg.eig(a))


def _complex(x):
    return x.astype(np.result_type(x.dtype, np.complex64))


@primitive
def eig_w(a):
    """Eigenvalues, as complex numbers: numpy.linalg.eig(a)[0]."""
    return _complex(_eig(a)[0])


@primitive
def eig_v(a):
    """Unit-norm eigenvectors (columns), as complex numbers: numpy.linalg.eig(a)[1]."""
    return _complex(_eig(a)[1])


def _back(inner, v):
    """V^-T inner V^T, as solve(V^T, inner V^T)."""
    vt = mT(v)
    return solve(vt, matmul(inner, vt))


@eig_w.defgrad
def _eig_w_grad(dy, w, a):
    return _back(add_last(dy) * np.eye(w.shape[-1]), eig_v(a))


@eig_v.defgrad
def _eig_v_grad(dy, v, a):
    w = eig_w(a)
    n = w.shape[-1]
    eye = np.eye(n)
    ones = np.ones((1, n))
    norm = np.real(matmul(ones, dy * v))                   # Re(sum_i dy_ij v_ij), per column
    g = dy - np.conj(v) * norm
    den = add_second_last(w) - add_last(w) + eye           # w_j - w_i, 1 on the diagonal
    inner = divide_used(matmul(mT(v), g) * (1 - eye), den)
    return _back(inner, v)


def _check_square(name, a):
    shape = np.shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError(
            f"yota-linalg: numpy.linalg.{name} needs square matrices in the last two axes, got "
            f"shape {shape}")


def _real_input(a):
    return np.dtype(a.dtype).kind != "c"


def _all_real(w):
    """NumPy's test: every eigenvalue real (recorded, so static graphs guard on it)."""
    return bool(np.all(np.imag(w) == 0))


_EigResult = type(np.linalg.eig(np.eye(1)))


def eig(a):
    """np.linalg.eig: (eigenvalues, eigenvectors) from two primitives, real where NumPy's are."""
    _check_square("eig", a)
    w, v = eig_w(a), eig_v(a)
    if _real_input(a) and _all_real(w):
        w, v = np.real(w), np.real(v)
    return _EigResult(w, v)


def eigvals(a):
    """np.linalg.eigvals: the eigenvalues alone (their rule needs no 1/(w_j - w_i))."""
    _check_square("eigvals", a)
    w = eig_w(a)
    return np.real(w) if _real_input(a) and _all_real(w) else w


IMPLEMENTS.update({np.linalg.eig: eig, np.linalg.eigvals: eigvals})
PRIMITIVES = (eig_w, eig_v)
del where
