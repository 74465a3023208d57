"""Drive the compiler pieces directly: trace, optimize, lower with yota-numba, and compare with
the "numpy" code generator and the reference interpreter."""
from __future__ import annotations

import numpy as np

from yota.result import GradientResult
from yota.compile import codegen, interpret, passes
from yota.compile.key import signature
from yota.compile.trace import trace_program
from yota.compile.ir import Var
from yota.transforms.gradients import GRAD

from yota_numba import BACKEND


class Compiled:
    """One traced program with its three executions."""

    def __init__(self, f, args, spec=GRAD, argnums=None, kwargs=None):
        kwargs = kwargs or {}
        self.f, self.spec, self.argnums, self.kwargs = f, spec, argnums, kwargs
        key, inputs = signature(f, args, kwargs, argnums, spec.tag)
        program, template = trace_program(f, args, kwargs, argnums, inputs, spec.build)
        self.program = passes.optimize(program)
        self.template = template
        self.inputs = inputs
        source, ns = codegen.generate(self.program, template, "ref")
        self.numpy = codegen.build(source, ns, "ref")
        self.numba, self.source = BACKEND.lower(self.program, template, "fused")

    def interpret(self, *values):
        try:
            outs = interpret.run(self.program, values)
        except interpret.GuardFailed as exc:
            return exc.index
        protect = [id(v) for v in values] + [id(o) for o in self.program.outputs
                                             if type(o) is not Var]
        return self.template.finish(outs, protect)

    def inputs_for(self, args):
        """The program's parameters for a call with ``args`` (same signature)."""
        return signature(self.f, tuple(args), self.kwargs, self.argnums, self.spec.tag)[1]

    def check(self, args=None, rtol=None, atol=0.0):
        """All three agree on the call with ``args`` (default: the traced call); returns
        numba's result."""
        inputs = self.inputs if args is None else self.inputs_for(args)
        got = self.numba(*inputs)
        want = self.numpy(*inputs)
        ref = self.interpret(*inputs)
        assert_same(got, want, rtol, atol)
        assert_same(got, ref, rtol, atol)
        return got


def leaves(x):
    out = []

    def walk(v):
        if isinstance(v, (list, tuple, GradientResult)):
            for e in v:
                walk(e)
        elif isinstance(v, dict):
            for k in sorted(v, key=repr):
                walk(v[k])
        else:
            out.append(v)

    walk(x)
    return out


def assert_same(got, want, rtol=None, atol=0.0):
    """Same structure, types, dtypes and shapes; values equal up to rounding (NaN == NaN)."""
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(got, int) and not isinstance(got, bool):
        assert got == want
        return
    g, w = leaves(got), leaves(want)
    assert len(g) == len(w)
    for a, b in zip(g, w):
        assert type(a) is type(b), (type(a), type(b), a, b)
        if isinstance(b, (np.ndarray, np.generic)):
            assert a.dtype == b.dtype, (a.dtype, b.dtype)
            assert np.shape(a) == np.shape(b)
            tol = rtol if rtol is not None else (2e-4 if b.dtype == np.float32 else 1e-10)
            if b.dtype.kind in "fc":
                np.testing.assert_allclose(a, b, rtol=tol, atol=atol, equal_nan=True)
            else:
                np.testing.assert_array_equal(a, b)
        elif isinstance(b, float):
            np.testing.assert_allclose(a, b, rtol=rtol or 1e-10, equal_nan=True)
        else:
            assert a == b or (a is None and b is None)


class Value:
    """A spec compiling ``f``'s own output (no gradient): for integer and boolean programs."""

    name = "value"
    tag = ("yota-numba test value",)

    @staticmethod
    def build(traced):
        from yota.transforms.executors import Static
        ex = Static(traced.tape)
        ex.template.tree = ex.tree(traced.output)
        return ex.template


VALUE = Value()
_shared = {}


def compiled(key, f, args, **kw):
    """A Compiled shared across tests (numba compiles take a while)."""
    c = _shared.get(key)
    if c is None:
        c = _shared[key] = Compiled(f, args, **kw)
    return c


def ulp_distance(a, b):
    """ULPs between ``a`` and ``b`` (same float dtype); 0 where both are NaN or identical."""
    a, b = np.asarray(a), np.asarray(b)
    ints = {np.float64: np.int64, np.float32: np.int32}[a.dtype.type]
    low = np.iinfo(ints).min
    ia, ib = a.view(ints).astype(np.int64), b.view(ints).astype(np.int64)
    ia = np.where(ia < 0, low - ia, ia)
    ib = np.where(ib < 0, low - ib, ib)
    d = np.abs(ia - ib).astype(np.float64)
    d[(np.isnan(a) & np.isnan(b)) | ((a == b) & (np.signbit(a) == np.signbit(b)))] = 0
    return d
