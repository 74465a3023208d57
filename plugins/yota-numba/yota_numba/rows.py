"""Row-wise kernels for the reductions pack's ``logsumexp`` and ``shifted_exp`` over the last axis.

A softmax or cross-entropy tail (W2, W4) runs these as NumPy steps: ``logsumexp`` alone is a
max, an isfinite test, a subtraction, an exp, a sum and a log, each a NumPy call, about 15 us on
32 rows of 10 where one pass over the rows takes under 2. A step whose primitive has a kernel
here runs as one numba call instead (``emit``); anything else stays the NumPy step it was.

NumPy's semantics, as the pack's implementation computes them: the shift is the row's maximum
(NaN propagates), 0 where it is not finite (a row of -inf gives -inf, +inf gives inf); ``x -
shift`` is rounded in the array's dtype as NumPy rounds it, then exp and the row sum run in
float64 (mathlib's vectorizable exp, 1 ULP) and round once; ``shifted_exp`` uses 0 for a -inf
log-sum-exp. Sums are sequential, so they differ from NumPy's pairwise sums by rounding. Like
the fused loops (kernels.py), a kernel returns whether it met NaN or inf, and the host then
hands the call to the NumPy program when NumPy's error state would report it. The kernels are
generated source compiled through ``kernels.compiled``: the disk cache keeps them too.
"""
from __future__ import annotations

import numpy as np

from yota.compile.ir import Var

from . import kernels

# Long rows: NumPy's SIMD max and exp over a whole row beat the sequential max and sum of one
# row (64 rows of 1,000 here: 170 us NumPy against 230); W2 and W4 rows have 10 elements.
MAX_ROW = 256

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

_LOGSUMEXP = """\
def {name}(x, out):
    nonfinite = False
    rows, n = x.shape
    if out.shape[0] != rows:                 # numba does not check bounds: we do
        raise ValueError("yota-numba logsumexp_rows: out has the wrong number of rows")
    e = np.empty(n, np.float64)
    for r in range(rows):
        m = {T}(-math.inf)
        for j in range(n):
            v = x[r, j]
            m = v if (v > m) | (v != v) else m
        if not math.isfinite(m):
            m = {T}(0.0)
        for j in range(n):                   # no loop-carried value: this loop vectorizes
            d = np.float64(x[r, j] - m)
            ev = mathlib.exp64(d)
            e[j] = ev
            nonfinite |= ((d - d) + (ev - ev)) != 0.0
        s = 0.0
        for j in range(n):
            s += e[j]
        out[r] = {T}(np.log(s)) + m          # once per row: libm
    return nonfinite
"""

_SHIFTED_EXP = """\
def {name}(x, y, out):
    nonfinite = False
    rows, n = x.shape
    if y.shape[0] != rows or out.shape != x.shape:
        raise ValueError("yota-numba shifted_exp_rows: y or out does not match x's shape")
    for r in range(rows):
        c = y[r]
        if c == -math.inf:
            c = {T}(0.0)
        for j in range(n):
            d = np.float64(x[r, j] - c)
            ev = mathlib.exp64(d)
            out[r, j] = {T}(ev)
            nonfinite |= ((d - d) + (ev - ev)) != 0.0
    return nonfinite
"""


class _Source:
    """What ``kernels.compiled`` needs of a kernel: its name, source and helpers."""

    helpers = {}

    def __init__(self, template, name, dtype):
        self.name = name
        self._source = template.format(name=name, T=kernels.cast_name(dtype))

    def source(self):
        return self._source


def kernels_for(dtype):
    """``(logsumexp_rows, shifted_exp_rows)`` for ``dtype`` (``kernels.compiled`` makes each
    once per process, or loads it from the disk cache)."""
    return (kernels.compiled(_Source(_LOGSUMEXP, f"logsumexp_rows_{dtype.name}", dtype)),
            kernels.compiled(_Source(_SHIFTED_EXP, f"shifted_exp_rows_{dtype.name}", dtype)))


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
    lse, sexp = kernels_for(dtype)
    x = em.ref(ins.args[0])
    out = em.avals[ins.out]
    target = em.names[ins.out] = f"v{ins.out}"
    em.ns.setdefault("empty", np.empty)
    rows = out.shape[0]
    if name == "logsumexp":
        kernel = em.glob("logsumexp_rows", lse)
        em.lines.append(f"{target} = empty({em.const((rows,))}, {em.const(dtype)})")
        em.kernel_call(f"{kernel}({x}, {target})")   # NaN/inf: as lower.py's loops
        if len(out.shape) == 2:
            em.lines.append(f"{target} = {target}.reshape({em.const(tuple(out.shape))})")
    else:
        kernel = em.glob("shifted_exp_rows", sexp)
        y = em.ref(ins.args[1])
        if len(em.avals[ins.args[1].n].shape) == 2:
            y = f"{y}.reshape({em.const((rows,))})"
        em.lines.append(f"{target} = empty({em.const(tuple(out.shape))}, {em.const(dtype)})")
        em.kernel_call(f"{kernel}({x}, {y}, {target})")
    return True
