"""Tracing for static mode: every input leaf becomes a tape input, and the result a template.

Unlike dynamic mode, static tracing also lifts the arrays that are not differentiated (integer
labels, arrays of arguments left out of ``argnums``, arrays in keyword arguments and in the
function's closure cells) into tape inputs, so the compiled program reads them at call time
instead of baking their first values in. ``trace_program`` runs the function, lets a ``build``
callback record more on the tape (a transform's description, run by the static executor of
``yota.transforms``) and returns a Program plus a ``Template`` that turns the program's outputs
into what the caller gets, by the same rules as dynamic mode (``yota.tracing.hand_over``).
"""
from __future__ import annotations

import numpy as np

from .. import tree
from ..kernel.tape import Tape, reentered, tracing
from ..packs.host import ensure_loaded
from ..result import GradientResult
from ..tracing import _wrap_argument, hand_over, normalize_argnums, zeros
from .ir import GuardCheck, NotCompilable, Var, arg_avals, from_tape
from . import scalars as scalars_mod
from .key import Lifter


class Param:
    """One lifted input: its tape variable, whether it is differentiated, where it came from."""

    __slots__ = ("tracked", "diff", "where", "value")

    def __init__(self, tracked, diff, where, value):
        self.tracked, self.diff, self.where, self.value = tracked, diff, where, value

    @property
    def var(self):
        return self.tracked._var


class Traced:
    """What tracing produced: the tape, the lifted parameters, the function's output.

    ``structure`` and ``nums`` are those of a dynamic ``yota.tracing.Trace``, so a transform
    describes its outputs once for both executors."""

    def __init__(self, fn, tape, params, output, args, nums):
        self.fn, self.tape, self.params, self.output = fn, tape, params, output
        self.args, self.nums = args, nums

    def diff_params(self, argpos):
        return [p for p in self.params
                if p.diff and p.where[:2] == ("arg", argpos)]

    @property
    def structure(self):
        """Per argument: None (not differentiated), or ``[(path, tracked input)]``."""
        out = []
        for i, arg in enumerate(self.args):
            inputs = [(p.where[2:], p.tracked) for p in self.diff_params(i)] \
                if i in self.nums else []
            out.append(inputs if inputs or (i in self.nums and tree.is_node(arg)) else None)
        return out


def trace_program(f, args, kwargs, argnums, inputs, build, lift=True, scalars=None):
    """Trace ``f(*args, **kwargs)`` on lifted inputs, then ``build(traced)`` -> Template.

    ``inputs`` is the list ``key.signature`` returned; the lifted leaves must be exactly those
    objects, in that order (checked). Returns ``(program, template)``.

    ``lift=False`` passes the arrays that are not differentiated to ``f`` as they are (code that
    calls ``np.asarray`` on them needs that): they become constants of the program, guarded by
    their content, so a call with other values re-traces instead of returning stale results.

    ``scalars`` lifts those Python ints and floats (see ``key.signature``): they enter the tape
    as Python scalars, non-differentiated, and ``program.lifted`` lists their variables.
    """
    ensure_loaded()
    nums, explicit = normalize_argnums(f, argnums, len(args))
    scratch = Tape()
    for i in nums:  # the same argument checks (and messages) as dynamic mode
        _wrap_argument(scratch, f, i, args[i], explicit)
    params, baked = [], []
    with tracing() as tape:
        def make(x, diff, where):
            kind = getattr(x, "dtype", None)
            is_float = type(x) is float or type(x) is complex or (
                kind is not None and kind.kind in "fc")
            t = tape.input(x)
            params.append(Param(t, diff and is_float, where, x))
            if not (diff and is_float):   # data read at call time: float(X[0]) drops nothing
                tape.constant_inputs.add(t._var)
            if not lift and not diff and isinstance(x, np.ndarray):
                baked.append(t)
                return x
            return t

        lifted = []

        def make_scalar(x, where):
            t = tape.input(x, python_scalar=True)
            params.append(Param(t, False, where, x))
            tape.constant_inputs.add(t._var)
            lifted.append(t._var)
            return t

        lifter = Lifter(make, scalars, make_scalar)
        g = lifter.function(f, where=("fn",))
        new_args = [lifter.walk(a, i in nums, 0, ("arg", i)) for i, a in enumerate(args)]
        new_kwargs = {k: lifter.walk(v, False, 0, ("kw", k)) for k, v in kwargs.items()}
        if len(params) != len(inputs) or any(p.value is not v for p, v in zip(params, inputs)):
            raise NotCompilable("the key and the tracer walked the inputs differently")
        out = g(*new_args, **new_kwargs)
        written = lifter.written()
        if written:
            raise NotCompilable(f"the function sets {written}, an attribute of an object it "
                                "reads arrays from; a compiled program would not repeat that")
        tape.end_forward(out)
    traced = Traced(f, tape, params, out, args, nums)
    with reentered(tape):
        template = build(traced)
    outputs = template.outputs
    program = from_tape(tape, [p.tracked for p in params], outputs,
                        param_names=[_param_name(f, p.where) for p in params])
    template.float_params = {p.var: np.complex128 if type(p.value) is complex else np.float64
                             for p in params
                             if p.diff and type(p.value) in (float, complex)}
    program.guards += [GuardCheck(t._var, "equal", t._value.copy()) for t in baked]
    program.lifted = lifted
    sized = scalars_mod.sized_by_lifted_ints(program) if lifted else ()
    program.guards += [GuardCheck(i.out, "shape", program.avals[i.out].shape)
                       for i in program.instrs
                       if i.out in sized or not _shape_fixed(i, program.avals)]
    return program, template


def _shape_fixed(ins, avals):
    """Is the output's shape fixed by the input shapes (the cache key)? The primitive's
    ``static_shape`` entry says; otherwise (a boolean mask, np.nonzero, an undeclared primitive)
    a shape guard checks it on every replay."""
    return ins.prim.output_shape_is_static(ins.args, ins.kwargs, arg_avals(ins, avals))


def _param_name(f, where):
    kind, rest = where[0], where[1:]
    if kind == "arg":
        i, path = rest[0], rest[1:]
        code = getattr(f, "__code__", None)
        names = code.co_varnames[:code.co_argcount] if code is not None else ()
        if getattr(f, "__self__", None) is not None:   # a bound method: self is not passed
            names = names[1:]
        head = names[i] if i < len(names) else f"arg{i}"
    elif kind == "kw":
        head, path = rest[0], rest[1:]
    else:
        head, path = (rest[0] if rest else "fn"), rest[1:]
        if head in ("__func__", "func"):
            head, path = (path[0] if path else "fn"), path[1:]
        elif head == "__self__":
            head = "self"
    return "_".join(str(p) for p in (head,) + tuple(path))


# --- templates: how program outputs become the caller's values ---------------------------------
class Template:
    """A tree (tuple, list, dict, GradientResult) whose leaves are ``Out`` slots or constants.

    ``add(x, like)`` registers a tracked value (or constant) as a program output and returns its
    slot; ``like`` says how to hand it over (see ``Out``).
    """

    def __init__(self):
        self.outputs = []     # tracked values / constants, in program-output order
        self.tree = None
        self.float_params = {}

    def add(self, x, like="value"):
        self.outputs.append(x)
        return Out(len(self.outputs) - 1, like)

    # python path (interpreter)
    def finish(self, values, protect=()):
        """The caller's result from output ``values``; arrays whose id is in ``protect`` (the
        inputs, the program's constants) are copied, never handed over."""
        return _finish(self.tree, values, set(protect))

    # codegen path
    def emit(self, em, program):
        return _emit(self.tree, em, program, set())


class Out:
    """Slot ``index`` of the program outputs, handed over as ``like`` (``"value"`` or what
    ``yota.tracing.like_of`` says; see ``yota.tracing.hand_over``)."""

    __slots__ = ("index", "like")

    def __init__(self, index, like):
        self.index, self.like = index, like


class Zeros:
    """A gradient that does not reach the output: zeros of an input's kind, fresh per call."""

    __slots__ = ("like",)

    def __init__(self, like):
        self.like = like


def _finish(node, values, seen):
    t = type(node)
    if t is Out:
        return hand_over(values[node.index], node.like, seen)
    if t is Zeros:
        return zeros(node.like)
    if t is GradientResult:
        return GradientResult([_finish(e, values, seen) for e in node])
    if t is tuple or t is list:
        return t(_finish(e, values, seen) for e in node)
    if t is dict:
        return {k: _finish(v, values, seen) for k, v in node.items()}
    return node


def _emit(node, em, program, seen):
    t = type(node)
    if t is Out:
        return _emit_out(program.outputs[node.index], node.like, em, program, seen)
    if t is Zeros:
        like = node.like
        if like == "float":
            return "0.0"
        if like == "complex":
            return "0j"
        if like[0] == "scalar":
            return em.const(like[1](0))
        em.ns.setdefault("zeros", np.zeros)
        return f"zeros({em.const(tuple(like[1]))}, {em.const(like[2])})"
    if t is GradientResult:
        return f"GradientResult(({''.join(_emit(e, em, program, seen) + ', ' for e in node)}))"
    if t is tuple:
        return f"({''.join(_emit(e, em, program, seen) + ', ' for e in node)})"
    if t is list:
        return f"[{', '.join(_emit(e, em, program, seen) for e in node)}]"
    if t is dict:
        items = ", ".join(f"{em.const(k)}: {_emit(v, em, program, seen)}" for k, v in node.items())
        return "{" + items + "}"
    return em.const(node)


def _emit_out(ref, like, em, program, seen):
    if type(ref) is not Var:                      # a constant: convert now, copy per call
        value = hand_over(ref, like, set())
        if isinstance(value, np.ndarray):
            return f"{em.const(value)}.copy()"
        return em.const(value)
    name = em.names[ref.n]
    aval = program.avals[ref.n]
    if like == "value":
        return f"{name}[()]" if aval.is_array and aval.shape == () else name
    if like == "float":
        return f"float({name})"
    if like == "complex":
        return f"complex({name})"
    if like[0] == "scalar":
        return f"{em.const(like[1])}({name})"
    _, shape, dtype = like
    if not aval.is_array:
        em.ns.setdefault("array", np.array)
        return f"array({name}, {em.const(dtype)})"
    if shape == ():  # a 0-d array stays one even where NumPy's generated code gives a scalar
        em.ns.setdefault("array", np.array)
        return f"array({name})"
    first = ref.n not in seen
    seen.add(ref.n)
    memory = getattr(program, "memory", None)
    if first and memory is not None and memory.fresh.get(ref.n):
        return name
    if first and ref.n not in program.params:
        suspects = _suspects(ref.n, program, em)
        checks = "".join(f" and {name} is not {s}" for s in suspects)
        return f"({name} if {name}.base is None{checks} else {name}.copy())"
    return f"{name}.copy()"


def _suspects(n, program, em):
    """Names of parameters a variable might be (an implementation may return its argument)."""
    memory = getattr(program, "memory", None)
    if memory is None:
        return [em.names[p] for p in program.params]
    out = []
    for b in memory.storage.get(n, ()):
        if b[0] == "param":
            out.append(em.names[b[1]])
        elif b[0] == "const":
            for cid, cname in em.const_names.items():
                if cid == b[1]:
                    out.append(cname)
    return out
