"""The numba backend's ``lower``: a Program becomes a Python function that runs its NumPy steps
as the "numpy" code generator writes them and each fused cluster as one numba kernel call.

The host function is generated like yota.compile.codegen's (same names, constants, guards,
return statement through the template), so it returns exactly what that function returns: the
caller's result, or the index of the first failing guard.

Floating-point errors: a kernel reports whether it met NaN or inf (kernels.py). Then, unless
NumPy's error state ignores invalid values, division by zero and overflow alike, the host hands
the call to the same program as the "numpy" backend runs it, so a warning, a
``FloatingPointError`` under ``np.errstate(all="raise")`` or an ``np.seterrcall`` handler
happens exactly as without fusion. Such a call costs both programs; one without NaN or inf
costs a flag test per loop.
"""
from __future__ import annotations

import threading

import numpy as np

from yota.compile import codegen
from yota.compile.ir import Var, iter_vars

from . import fuse, kernels, rows


def _materialized(cluster, program, readers):
    """Member vars read after the loop: by another step, as an output or by a guard."""
    outside = set()
    for o in program.outputs:
        outside.update(iter_vars(o))
    outside.update(g.var for g in program.guards)
    inside = {id(m.ins) for m in cluster.members}
    return {n for n in cluster.owned
            if n in outside or any(id(r) not in inside for r in readers.get(n, ()))}


def _dying_buffers(cluster, i, program, last):
    """Inputs of the loop at step ``i`` whose buffer (this program's own, fresh array) nothing
    reads after it, nor through another variable (a view: ``y.T``) in the loop itself: an output
    of the same shape and dtype can be written into it. Each iteration loads its inputs before
    storing, which protects reads of the same element only; ``y * 2 + y.T`` reads others."""
    memory = getattr(program, "memory", None)
    if memory is None:
        return set()
    inputs = {n for m in cluster.members for a in m.ins.args for n in iter_vars(a)
              if n not in cluster.owned}
    out = set()
    for n in inputs:
        if not memory.fresh.get(n) or last.get(n, -1) != i or n in program.params:
            continue
        buf = memory.storage.get(n, frozenset())
        if any(m != n and (s & buf) and last.get(m, -1) >= i for m, s in memory.storage.items()):
            continue
        out.add(n)
    return out


def _last_reads(steps, program):
    """var -> index of the last step reading it; outputs are read after every step."""
    last = {}
    for i, (kind, step) in enumerate(steps):
        instrs = [step] if kind == "numpy" else [m.ins for m in step.members]
        for ins in instrs:
            for a in list(ins.args) + list(ins.kwargs.values()):
                for n in iter_vars(a):
                    last[n] = i
    for o in program.outputs:
        for n in iter_vars(o):
            last[n] = len(steps)
    return last


def _readers(program):
    readers = {}
    for ins in program.instrs:
        for a in ins.args:
            for n in iter_vars(a):
                readers.setdefault(n, []).append(ins)
        for v in ins.kwargs.values():
            for n in iter_vars(v):
                readers.setdefault(n, []).append(ins)
    return readers


def numpy_reports():
    """Would NumPy's error state do anything (warn, raise, call, log) about a NaN or inf?"""
    err = np.geterr()
    return err["invalid"] != "ignore" or err["divide"] != "ignore" or err["over"] != "ignore"


class NumpyProgram:
    """The program as the "numpy" backend runs it, generated on its first call (most programs
    never need it): it reruns a call whose fused loops met NaN or inf."""

    def __init__(self, program, template, fname):
        self.args = (program, template, f"{fname}_numpy")
        self.fn = None
        self.lock = threading.Lock()

    def __call__(self, *inputs):
        if self.fn is None:
            with self.lock:
                if self.fn is None:
                    source, ns = codegen.generate(*self.args)
                    self.fn = codegen.build(source, ns, self.args[2])
        return self.fn(*inputs)


class _Host(codegen._Emitter):
    """codegen's emitter, plus kernel calls."""

    def kernel_call(self, call):
        """A kernel call; one that met NaN or inf hands the call to the NumPy program when
        NumPy's error state would report it (the module docstring)."""
        self.lines.append(f"if {call} and numpy_reports():")
        self.lines.append(f"    return numpy_program({', '.join(self.pnames)})")

    def loop(self, cluster, program, readers, number, reusable):
        ks = kernels.KernelSource(cluster, self.avals, _materialized(cluster, program, readers),
                                  f"{self.fname}_loop{number}")
        free = [a for a in ks.inputs if type(a) is Var and a.n in reusable]
        kernel = self.glob(f"loop{number}", kernels.compiled(ks))
        self.ns.setdefault("empty", np.empty)
        self.ns.setdefault("zeros", np.zeros)
        args = [self.ref(a) for a in ks.inputs]
        unwrap = []
        for group, alloc in ((ks.outputs, "empty"), (ks.reduced, "zeros")):
            for n in group:
                av = self.avals[n]
                same = [a for a in free if alloc == "empty" and self.avals[a.n].same(av)]
                if same:                           # the input dies here: write over it
                    free.remove(same[0])
                    name = self.names[n] = self.names[same[0].n]
                    args.append(name)
                    continue
                name = self.names[n] = f"v{n}"
                self.lines.append(f"{name} = {alloc}({self.const(tuple(av.shape))}, "
                                  f"{self.const(av.dtype)})")
                args.append(name)
                if not av.is_array:
                    unwrap.append(name)
        self.kernel_call(f"{kernel}({', '.join(args)})")
        for name in unwrap:                       # NumPy returned a scalar here: so do we
            self.lines.append(f"{name} = {name}[()]")
        return ks.source()


def generate(program, template, fname):
    """Host source, its globals and the kernels' sources."""
    em = _Host(program, fname)
    pnames, by_var = codegen.emit_parameters(em, program, template)
    em.pnames = pnames
    em.ns["numpy_reports"] = numpy_reports
    em.ns["numpy_program"] = NumpyProgram(program, template, fname)
    readers = _readers(program)
    steps = fuse.plan(program).steps
    last = _last_reads(steps, program)
    kept = set(pnames)
    holders = {}                       # name -> vars it holds (in-place chains share a name)
    kernel_sources = []
    for i, (kind, step) in enumerate(steps):
        if kind == "numpy":
            if not rows.emit(em, step):            # a row kernel, else NumPy code
                em.instr(step)
            defined = [step.out]
        else:
            reusable = _dying_buffers(step, i, program, last)
            kernel_sources.append(em.loop(step, program, readers, len(kernel_sources), reusable))
            defined = [n for n in step.owned if n in em.names]
        for n in defined:
            for gi in by_var.get(n, ()):
                em.guard(gi, program.guards[gi])
            holders.setdefault(em.names[n], set()).add(n)
        dead = [name for name, held in holders.items()
                if name not in kept and all(last.get(n, i) <= i for n in held)]
        for name in dead:
            del holders[name]
        if dead:                                   # NumPy can reuse the memory at once
            em.lines.append(f"del {', '.join(dead)}")
    em.lines.append("return " + template.emit(em, program))
    header = f"def {em.fname}({', '.join(pnames)}):"
    source = "\n".join([header] + ["    " + line for line in em.lines]) + "\n"
    return source, em.ns, kernel_sources


class NumbaBackend:
    """The compile backend ``"numba"`` (see the pack's README for the contract)."""

    name = "numba"

    def available(self):
        try:
            import numba  # noqa: F401
            import scipy  # noqa: F401
        except ImportError as exc:
            return False, f"yota-numba needs {exc.name}: pip install yota-numba"
        return True, ""

    def lower(self, program, template, fname):
        """``(fn, source)``: ``fn(*inputs)`` returns what the "numpy" code generator's function
        returns; ``source`` is the host function followed by its kernels."""
        source, ns, kernel_sources = generate(program, template, fname)
        fn = codegen.build(source, ns, source.split("(", 1)[0][len("def "):])
        text = source + "".join("\n# numba kernel\n" + k for k in kernel_sources)
        return fn, text
