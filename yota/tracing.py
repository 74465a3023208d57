"""Tracing a user function: its arguments become tape inputs, its output is checked, and
per-variable gradients become the GradientResult users see.

Both executors use it: the dynamic one (transforms, every call) and the static one
(``yota.compile``, once per signature).
"""
from __future__ import annotations

import numbers

import numpy as np

from . import tree
from .errors import InputError, NotScalarError, YotaError
from .kernel.tape import tracing
from .kernel.tracked import Tracked
from .packs.host import ensure_loaded
from .result import GradientResult

__all__ = ["trace", "Trace", "check_scalar_output", "gradient_result", "normalize_argnums"]


def _fn_name(f):
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def normalize_argnums(f, argnums, nargs):
    """A tuple of argument positions to differentiate (all by default)."""
    if argnums is None:
        return tuple(range(nargs)), False
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise InputError(
                f"yota: argnums={argnums!r} for {_fn_name(f)} is out of range: it was called "
                f"with {nargs} positional argument(s)"
            )
    return tuple(n % nargs for n in nums), True


def leaf_kind(leaf):
    """'diff' for a float leaf we differentiate, 'const' otherwise; raises for complex/object."""
    if type(leaf) is Tracked:
        return "diff" if leaf.dtype.kind == "f" else "const"
    if isinstance(leaf, np.ndarray):
        kind = leaf.dtype.kind
        if kind == "f":
            return "diff"
        if kind == "c":
            return "complex"
        if kind == "O":
            return "object"
        return "const"
    if isinstance(leaf, (float, np.floating)):
        return "diff"
    if isinstance(leaf, (complex, np.complexfloating)):
        return "complex"
    return "const"


class Trace:
    """The result of tracing ``f``: the tape, the wrapped arguments, the output."""

    def __init__(self, tape, structure, output):
        self.tape = tape
        self.structure = structure  # per argument: None (constant), or list of (path, Tracked)
        self.output = output


def _wrap_argument(tape, f, i, arg, explicit):
    """Replace the argument's float leaves by tape inputs; returns (wrapped, [(path, input)])."""
    inputs = []

    def wrap(path, leaf):
        kind = leaf_kind(leaf)
        if kind == "diff":
            t = tape.input(leaf)
            inputs.append((path, t))
            return t
        if kind in ("complex", "object"):
            where = f"argument {i}" + (f" at path {path!r}" if path else "")
            raise InputError(
                f"yota: {_fn_name(f)} was given a {kind} array as {where}; yota differentiates "
                f"real floating-point arrays. Pass float32/float64 values"
                + (" (take .real/.imag or abs as needed)" if kind == "complex" else "")
            )
        if explicit and path == () and isinstance(leaf, (np.ndarray, numbers.Number)):
            raise InputError(
                f"yota: argument {i} of {_fn_name(f)} has dtype "
                f"{getattr(leaf, 'dtype', type(leaf).__name__)}, which cannot be differentiated; "
                "pass a float array (e.g. x.astype(float)) or leave it out of argnums"
            )
        if explicit and path == ():  # a plain object, a dataclass, a string, None...
            raise InputError(
                f"yota: argument {i} of {_fn_name(f)} is a {type(leaf).__name__}, which yota "
                "cannot differentiate: it walks floats, float arrays, attrs classes, lists, "
                "tuples and dicts of them. Make the class an attrs class (@attrs.define) or "
                "pass its arrays, or leave the argument out of argnums"
            )
        return leaf

    wrapped = tree.map_leaves(wrap, arg)
    return wrapped, inputs


def trace(f, args, kwargs, argnums=None):
    """Run ``f`` on tracked copies of the differentiated arguments; records the forward pass."""
    ensure_loaded()
    nums, explicit = normalize_argnums(f, argnums, len(args))
    with tracing() as tape:
        wrapped, structure = [], []
        for i, arg in enumerate(args):
            if i in nums:
                w, inputs = _wrap_argument(tape, f, i, arg, explicit)
                wrapped.append(w)
                structure.append(inputs if (inputs or tree.is_node(arg)) else None)
            else:
                wrapped.append(arg)
                structure.append(None)
        try:
            out = f(*wrapped, **kwargs)
        except YotaError as exc:
            _name_the_function(exc, f)
            raise
        tape.end_forward()
    # An in-place write into an input rebinds the user's object to the new value; tape.inputs
    # keeps a Tracked of each input's original variable, in the order they were made.
    originals = iter(tape.inputs)
    structure = [s if s is None else [(p, next(originals)) for p, _ in s] for s in structure]
    return Trace(tape, structure, out), tape


def _name_the_function(exc, f):
    """Say which user function was being traced when yota raised (once, innermost first)."""
    if exc.args and isinstance(exc.args[0], str) and "[while tracing" not in exc.args[0]:
        exc.args = (f"{exc.args[0]} [while tracing {_fn_name(f)}]",) + exc.args[1:]


def check_scalar_output(f, out):
    """The output of ``grad``'s function must be one real float."""
    value = out._value if type(out) is Tracked else out
    shape = getattr(value, "shape", ())
    dtype = getattr(value, "dtype", None)
    if shape == () and dtype is not None and dtype.kind == "f":
        return
    if isinstance(value, bool) or (dtype is not None and dtype.kind == "b"):
        kind = "bool"
    elif dtype is not None:
        kind = {"f": "float", "c": "complex", "i": "int", "u": "int"}.get(dtype.kind) or str(dtype)
    elif isinstance(value, float):
        kind = "float"
    elif isinstance(value, int):
        kind = "int"
    else:
        kind = type(value).__name__
    if kind != "float" or shape != ():
        what = f"an array of shape {shape}" if shape != () else f"a {kind}"
        hint = (
            "reduce it to one number, e.g. np.sum(...) or np.mean(...), or use yota.vjp for "
            "non-scalar outputs" if shape != () else
            "return a real float (e.g. np.real(z) or np.abs(z) for complex results, "
            "a float expression for ints and bools)"
        )
        raise NotScalarError(
            f"yota.grad: {_fn_name(f)} must return a scalar float to be differentiated, but "
            f"returned {what}; {hint}"
        )


def gradient_result(tr, grads):
    """Turn per-variable gradients into what users see: arrays, floats, or path dicts."""
    out = []
    for inputs in tr.structure:
        if inputs is None:
            out.append(None)
            continue
        if len(inputs) == 1 and inputs[0][0] == ():
            (path, t), = inputs
            out.append(_owned(grads.get(t._var), t))
            continue
        out.append({path: _owned(grads[t._var], t) for path, t in inputs if t._var in grads})
    return GradientResult(out)


def _owned(g, t):
    """A gradient value the caller owns; zeros for unused inputs; a float for float inputs."""
    if g is None:
        value = t._value
        if type(value) is Tracked:
            return np.zeros(value.shape, value.dtype) if value.shape else value.dtype.type(0)
        if isinstance(value, np.ndarray):
            return np.zeros(value.shape, value.dtype)
        return _scalar_like(value, 0.0)
    if type(g) is Tracked and g._tape is t._tape:
        g = g._value
    if type(g) is Tracked:
        return g
    if type(t._value) is Tracked:  # nested grad, gradient constant w.r.t. the outer tape
        value = t._value
        return np.array(g, dtype=value.dtype) if value.shape else value.dtype.type(g)
    if isinstance(t._value, np.ndarray):
        if not isinstance(g, np.ndarray):
            return np.array(g, dtype=t._value.dtype)
        if g.base is not None or not g.flags.writeable or not g.flags.owndata:
            return g.copy()
        return g
    return _scalar_like(t._value, g)


def _scalar_like(value, g):
    if type(value) is np.float64 or not isinstance(value, np.generic):
        return float(g)
    return value.dtype.type(g)


def unwrap(tape, x):
    return x._value if type(x) is Tracked and x._tape is tape else x
