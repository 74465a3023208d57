"""Row-wise kernels for the reductions pack's ``logsumexp`` and ``shifted_exp`` over the last axis.

A softmax or cross-entropy tail (W2, W4) runs these as NumPy steps: ``logsumexp`` alone is a
max, an isfinite test, a subtraction, an exp, a sum and a log, each a NumPy call, about 15 us on
32 rows of 10 where one pass over the rows takes under 2. A step whose primitive has a kernel
here runs as one numba call instead (``emit``); anything else stays the NumPy step it was.

NumPy's semantics, as the pack's implementation computes them: the shift is the row's maximum
(NaN propagates), 0 where it is not finite (a row of -inf gives -inf, +inf gives inf); ``x -
shift`` is rounded in the array's dtype as NumPy rounds it, then exp and the row sum run in
float64 (mathlib's vectorizable exp, 1 ULP) and round once; ``shifted_exp`` uses 0 for a -inf
log-sum-exp. Sums are sequential, so they differ from NumPy's pairwise sums by rounding.
"""
from __future__ import annotations

import math
import threading

import numba
import numpy as np

from yota.compile.ir import Var

from . import mathlib
from .kernels import JIT_OPTIONS

# Long rows: NumPy's SIMD max and exp over a whole row beat the sequential max and sum of one
# row (64 rows of 1,000 here: 170 us NumPy against 230); W2 and W4 rows have 10 elements.
MAX_ROW = 256

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _make(T):
    """The two kernels for arrays of NumPy type ``T`` (float32 arithmetic stays float32)."""
    zero = T(0.0)
    neg_inf = T(-math.inf)

    @numba.njit(**JIT_OPTIONS)
    def logsumexp_rows(x, out):
        rows, n = x.shape
        if out.shape[0] != rows:                 # numba does not check bounds: we do
            raise ValueError("yota-numba logsumexp_rows: out has the wrong number of rows")
        e = np.empty(n, np.float64)
        for r in range(rows):
            m = neg_inf
            for j in range(n):
                v = x[r, j]
                m = v if (v > m) | (v != v) else m
            if not math.isfinite(m):
                m = zero
            for j in range(n):            # no loop-carried value: this loop vectorizes
                e[j] = mathlib.exp64(np.float64(x[r, j] - m))
            s = 0.0
            for j in range(n):
                s += e[j]
            out[r] = T(np.log(s)) + m       # once per row: libm (mathlib.log64 compiles slower)

    @numba.njit(**JIT_OPTIONS)
    def shifted_exp_rows(x, y, out):
        rows, n = x.shape
        if y.shape[0] != rows or out.shape != x.shape:
            raise ValueError("yota-numba shifted_exp_rows: y or out does not match x's shape")
        for r in range(rows):
            c = y[r]
            if c == neg_inf:
                c = zero
            for j in range(n):
                out[r, j] = T(mathlib.exp64(np.float64(x[r, j] - c)))

    return logsumexp_rows, shifted_exp_rows


_kernels = {}
_lock = threading.Lock()


def kernels(dtype):
    """``(logsumexp_rows, shifted_exp_rows)`` for ``dtype`` (made once per process)."""
    with _lock:
        pair = _kernels.get(dtype)
        if pair is None:
            pair = _kernels[dtype] = _make(dtype.type)
    return pair


def _is(ins, name):
    return ins.prim.name == name and \
        getattr(ins.prim.impl, "__module__", "") == "yota_reductions.logsumexp"


def _last_axis(axis, ndim):
    axes = axis if isinstance(axis, tuple) else (axis,)
    try:
        return len(axes) == 1 and int(axes[0]) % ndim == ndim - 1
    except TypeError:
        return False


def _matrix(a, avals):
    """The aval of a 2-D float32/float64 array variable with short rows, else None."""
    if type(a) is not Var:
        return None
    av = avals[a.n]
    if not av.is_array or len(av.shape) != 2 or av.dtype not in _FLOATS \
            or av.shape[1] > MAX_ROW:
        return None
    return av


def plan(ins, avals):
    """``("logsumexp" | "shifted_exp", dtype)`` when the step runs as a row kernel, else None."""
    if ins.inplace is not None or not ins.args:
        return None
    x = _matrix(ins.args[0], avals)
    if x is None:
        return None
    out = avals[ins.out]
    if not out.is_array or out.dtype != x.dtype:
        return None
    rows = x.shape[0]
    if _is(ins, "logsumexp") and len(ins.args) == 1 \
            and set(ins.kwargs) <= {"axis", "keepdims"} \
            and _last_axis(ins.kwargs.get("axis"), 2) \
            and tuple(out.shape) in ((rows,), (rows, 1)):
        return "logsumexp", x.dtype
    if _is(ins, "shifted_exp") and len(ins.args) == 3 and not ins.kwargs \
            and _last_axis(ins.args[2], 2) and type(ins.args[1]) is Var:
        y = avals[ins.args[1].n]
        if y.is_array and y.dtype == x.dtype and tuple(y.shape) in ((rows,), (rows, 1)) \
                and tuple(out.shape) == tuple(x.shape):
            return "shifted_exp", x.dtype
    return None


def emit(em, ins):
    """Write the step as a kernel call into the host emitter ``em``; False if it has none."""
    how = plan(ins, em.avals)
    if how is None:
        return False
    name, dtype = how
    lse, sexp = kernels(dtype)
    x = em.ref(ins.args[0])
    out = em.avals[ins.out]
    target = em.names[ins.out] = f"v{ins.out}"
    em.ns.setdefault("empty", np.empty)
    rows = out.shape[0]
    if name == "logsumexp":
        kernel = em.glob("logsumexp_rows", lse)
        em.lines.append(f"{target} = empty({em.const((rows,))}, {em.const(dtype)})")
        em.lines.append(f"{kernel}({x}, {target})")
        if len(out.shape) == 2:
            em.lines.append(f"{target} = {target}.reshape({em.const(tuple(out.shape))})")
    else:
        kernel = em.glob("shifted_exp_rows", sexp)
        y = em.ref(ins.args[1])
        if len(em.avals[ins.args[1].n].shape) == 2:
            y = f"{y}.reshape({em.const((rows,))})"
        em.lines.append(f"{target} = empty({em.const(tuple(out.shape))}, {em.const(dtype)})")
        em.lines.append(f"{kernel}({x}, {y}, {target})")
    return True
