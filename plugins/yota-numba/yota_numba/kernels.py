"""One fused loop nest as numba source: a cluster (fuse.py) becomes ``kernel(ins..., outs...)``.

The loop runs over the cluster's shape in C order; an input of a smaller shape is read with the
broadcast index (0 on its length-1 axes, leading axes dropped), as NumPy broadcasts. Each member
is one line on scalars: its arguments cast to NumPy's loop dtypes, its result cast to its
output dtype, so float32 stays float32 and weak Python scalars follow NumPy 2. Values read
outside the loop are stored to output arrays; reductions add into theirs (or into a float64 /
int64 accumulator when they reduce everything). Constants are spelled in the source, so the
source and the helpers it names identify a kernel (``compiled`` reuses it within the process).

A kernel returns whether any float it computed was NaN or infinite. Every floating-point error
NumPy reports (invalid, divide by zero, overflow; underflow it ignores by default) leaves such
a value, so when one appears the host function (lower.py) hands the call to the NumPy program,
which warns or raises exactly as NumPy's error state says (``np.errstate``).
"""
from __future__ import annotations

import math
import threading

import numba
import numpy as np

from yota.compile.ir import Var

from . import cache, mathlib

# numba's ``error_model="numpy"``: 1.0 / 0.0 is inf and 0.0 / 0.0 nan, as in NumPy (the default
# "python" model raises ZeroDivisionError); no fastmath: results round as NumPy's do.
JIT_OPTIONS = dict(error_model="numpy", nogil=True)


# NaN in, NaN out: one of these returns NaN or inf when an argument is NaN or inf (inf * 0 and
# inf - inf are NaN, sin(inf) and sqrt(-inf) too), so a temporary only they read need not be
# checked by itself (kernels report the values that leave these chains).
PROPAGATING = frozenset([np.add, np.subtract, np.multiply, np.negative, np.positive, np.square,
                         np.absolute, np.fabs, np.sqrt, np.log, np.sin, np.cos])


def cast_name(dtype):
    return "np.bool_" if dtype.kind == "b" else f"np.{dtype.name}"


def literal(value, dtype):
    """Source for the scalar ``value`` converted to ``dtype`` (as NumPy converts a weak
    Python scalar or casts a strong one). float64 and bool are plain literals (no call for
    numba to type: compile time grows with every call in the loop body)."""
    if not isinstance(dtype, np.dtype):
        return repr(value)
    v = dtype.type(value)
    if dtype.kind == "b":
        return repr(bool(v))
    if dtype.kind == "f":
        f = float(v)
        text = repr(f) if math.isfinite(f) else (
            "math.nan" if f != f else ("math.inf" if f > 0 else "(-math.inf)"))
        return text if dtype == np.float64 else f"{cast_name(dtype)}({text})"
    return f"{cast_name(dtype)}({int(v)})"


def needs_cast(in_dtypes, out_dtype):
    """Does numba's result type possibly differ from NumPy's? Not for float64 from float64
    operands (every lowering returns float64 then), nor for booleans (comparisons and logic
    return bool)."""
    if out_dtype.kind == "b":
        return False
    return not (out_dtype == np.float64 and all(
        not isinstance(d, np.dtype) or d == np.float64 for d in in_dtypes))


def index(shape, loop_shape):
    """The broadcast index of an array of ``shape`` inside the loop over ``loop_shape``."""
    lead = len(loop_shape) - len(shape)
    parts = ["0" if n == 1 else f"i{lead + d}" for d, n in enumerate(shape)]
    return "()" if not parts else ", ".join(parts)


class KernelSource:
    """The source of one cluster's kernel, the globals it names, and its arguments in order:
    ``inputs`` (Vars or constant arrays) then ``outputs`` (member vars to store) and
    ``reduced`` (reduction vars)."""

    def __init__(self, cluster, avals, materialize, name):
        self.cluster, self.avals, self.name = cluster, avals, name
        self.inputs, self.outputs, self.reduced = [], [], []
        self.helpers = {}
        self.body, self.loaded, self.temps = [], {}, {}
        self.loads = []      # every input is read first: an output may reuse an input's buffer
        self.prologue, self.epilogue = [], []
        self.checked = []    # float temporaries whose NaN or inf the kernel reports
        self._build(materialize)
        self._choose_checks(materialize)

    # --- argument expressions ---------------------------------------------------------------
    def _input(self, a):
        key = ("v", a.n) if type(a) is Var else ("c", id(a))
        name = self.loaded.get(key)
        if name is not None:
            return name
        k = len(self.inputs)
        self.inputs.append(a)
        if type(a) is Var and not self.avals[a.n].is_array:   # a NumPy scalar: a number
            name = self.loaded[key] = f"in{k}"
            return name
        name = self.loaded[key] = f"x{k}"
        shape = self.avals[a.n].shape if type(a) is Var else a.shape
        self.loads.append(f"{name} = in{k}[{index(shape, self.cluster.shape)}]")
        return name

    def _dtype_of(self, a):
        if type(a) is Var:
            if a.n in self.temps:
                return self.temps[a.n][1]
            return self.avals[a.n].dtype
        return getattr(a, "dtype", None)

    def _arg(self, a, dtype):
        if type(a) is Var:
            src = self.temps[a.n][0] if a.n in self.temps else self._input(a)
        elif isinstance(a, np.ndarray) and a.ndim:
            src = self._input(a)
        else:
            value = a[()] if isinstance(a, np.ndarray) else a
            return literal(value, dtype if isinstance(dtype, np.dtype) else None)
        have = self._dtype_of(a)
        if isinstance(dtype, np.dtype) and have != dtype:
            src = f"{cast_name(dtype)}({src})"
        return src

    def _helper(self, fn):
        name = getattr(fn, "__name__", "f").lstrip("_") or "f"
        for existing, obj in self.helpers.items():
            if obj is fn:
                return existing
        name = f"{name}_{len(self.helpers)}"
        self.helpers[name] = fn
        return name

    # --- the loop ------------------------------------------------------------------------------
    def _build(self, materialize):
        shape = self.cluster.shape
        for m in self.cluster.members:
            ins = m.ins
            if m.reduction:
                self._reduce(m)
                continue
            args = [self._arg(a, d) for a, d in zip(ins.args, m.in_dtypes)]
            if isinstance(m.lowering, str):
                expr = m.lowering.format(*args)
            else:
                expr = f"{self._helper(m.lowering)}({', '.join(args)})"
            t = f"t{ins.out}"
            if needs_cast(m.in_dtypes, m.out_dtype):
                expr = f"{cast_name(m.out_dtype)}({expr})"
            self.body.append(f"{t} = {expr}")
            self.temps[ins.out] = (t, m.out_dtype)
            if ins.out in materialize:
                k = len(self.outputs)
                self.outputs.append(ins.out)
                self.body.append(f"out{k}[{index(shape, shape)}] = {t}")
        self.arity = (len(self.inputs), len(self.outputs), len(self.reduced))

    def _choose_checks(self, materialize):
        """The float temporaries to check: a NaN or inf in any of them would reach one of these.
        Those read only by PROPAGATING instructions pass theirs on; a value stored, read by
        nothing, or read by another instruction (tanh(inf) is 1, inf > 0 is True, a sum into
        an array is not checked) is checked itself."""
        passed_on = set()
        stopped = set()
        for m in self.cluster.members:
            if m.reduction:
                # a sum over everything is checked once, at the end (_reduce)
                scalar = all(i is None for i in m.index)
                (passed_on if scalar else stopped).update(
                    a.n for a in [m.x] if type(a) is Var)
                continue
            target = passed_on if getattr(m.ins.prim, "impl", None) in PROPAGATING else stopped
            target.update(a.n for a in m.ins.args if type(a) is Var)
        for n, (t, dtype) in self.temps.items():
            if dtype.kind == "f" and (n in stopped or n in materialize or n not in passed_on):
                self.checked.append(t)

    def _reduce(self, r):
        k = len(self.reduced)
        self.reduced.append(r.ins.out)
        out = r.out_aval.dtype
        value = self._arg(r.x, out)
        if all(i is None for i in r.index):          # everything: a scalar accumulator
            acc = f"acc{k}"
            wide = np.dtype(np.float64) if out.kind == "f" else np.dtype(np.int64)
            self.prologue.append(f"{acc} = {literal(0, wide)}")
            self.body.append(f"{acc} += {value}")
            if wide.kind == "f":                       # a sum can overflow to inf
                self.epilogue.append(f"nonfinite |= ({acc} - {acc}) != 0.0")
            total = acc if r.count is None else f"({acc} / {r.count})"
            where = ", ".join("0" for _ in r.index) or "()"
            self.epilogue.append(f"red{k}[{where}] = {total}")
        else:
            where = ", ".join("0" if i is None else f"i{i}" for i in r.index)
            self.body.append(f"red{k}[{where}] += {value}")
            if r.count is not None:                  # a mean: the sums divided once, at the end
                self.epilogue.append(f"red{k} /= {r.count}")

    def source(self):
        n_in, n_out, n_red = self.arity
        params = [f"in{k}" for k in range(n_in)] + [f"out{k}" for k in range(n_out)] + \
            [f"red{k}" for k in range(n_red)]
        lines = [f"def {self.name}({', '.join(params)}):", "    nonfinite = False"]
        lines += ["    " + s for s in self.prologue]
        indent = "    "
        for d, n in enumerate(self.cluster.shape):
            lines.append(f"{indent}for i{d} in range({n}):")
            indent += "    "
        lines += [indent + s for s in self.loads + self.body + self._checks()]
        lines += ["    " + s for s in self.epilogue]
        lines.append("    return nonfinite")
        return "\n".join(lines) + "\n"

    def _checks(self, per_line=32):
        """``x - x`` is 0 for a finite x and NaN otherwise; summed in groups, one comparison a
        group (an OR over the loop, which still vectorizes)."""
        out = []
        for k in range(0, len(self.checked), per_line):
            terms = " + ".join(f"({t} - {t})" for t in self.checked[k:k + per_line])
            out.append(f"nonfinite |= ({terms}) != 0.0")
        return out


_compiled = {}
_lock = threading.Lock()


def compiled(ks):
    """A numba dispatcher for the kernel (compiled on its first call, per argument layout, or
    loaded from the disk cache); the same source with the same helpers is reused within the
    process."""
    source = ks.source()
    key = (source, tuple((n, id(f)) for n, f in sorted(ks.helpers.items())))
    with _lock:
        fn = _compiled.get(key)
        if fn is None:
            disk_key = cache.kernel_key(source, ks.helpers)
            # numba rebuilds a cached kernel's environment by importing its globals' module
            ns = {"__name__": __name__, "np": np, "math": math, "mathlib": mathlib,
                  **ks.helpers}
            exec(compile(source, f"<yota-numba {ks.name}>", "exec"), ns)
            py_func = ns[ks.name]
            # machine-code symbols are named after the function: one name per kernel content,
            # so a kernel loaded from disk never shares a symbol with another one
            py_func.__qualname__ = f"{ks.name}_{(disk_key or str(len(_compiled)))[:16]}"
            fn = _compiled[key] = numba.njit(**JIT_OPTIONS)(py_func)
            fn._cache = cache.KernelCache(disk_key)
    return fn
