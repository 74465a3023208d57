"""Tracing a user function: its arguments become tape inputs, its output is checked, and
results computed on the tape are handed over to the caller.

Both executors use it: the dynamic one (``yota.transforms``, every call) and the static one
(``yota.compile``, once per signature). Argument numbers (``normalize_argnums``) and handing a
result over (``like_of``, ``hand_over``, ``zeros``) are decided here and nowhere else.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from . import tree
from .errors import InputError, NotScalarError, YotaError, a_or_an
from .kernel.tape import tracing
from .kernel.tracked import Tracked
from .packs.host import ensure_loaded
from .errors import user_stacklevel

__all__ = ["trace", "Trace", "check_scalar_output", "normalize_argnums", "like_of", "hand_over",
           "zeros", "unwrap"]


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
    """'diff' for a float or complex leaf we differentiate, 'const' otherwise; 'object' for an
    object array (refused)."""
    if type(leaf) is Tracked:
        return "diff" if leaf.dtype.kind in "fc" else "const"
    if isinstance(leaf, np.ndarray):
        kind = leaf.dtype.kind
        if kind == "f" or kind == "c":
            return "diff"
        if kind == "O":
            return "object"
        return "const"
    if isinstance(leaf, (float, complex, np.floating, np.complexfloating)):
        return "diff"
    return "const"


class Trace:
    """The result of tracing ``f``: the tape, the differentiated inputs per argument, the output.

    ``structure[i]`` is None for an argument that is not differentiated, else the list of
    ``(path, tracked input)`` of its float leaves; ``nums`` the differentiated positions. The
    static tracer (``yota.compile.trace.Traced``) offers the same attributes."""

    def __init__(self, tape, structure, output, fn=None, nums=()):
        self.tape = tape
        self.structure = structure
        self.output = output
        self.fn = fn
        self.nums = nums


def _wrap_argument(tape, f, i, arg, explicit):
    """Replace the argument's float leaves by tape inputs; returns (wrapped, [(path, input)])."""
    inputs = []

    def wrap(path, leaf):
        kind = leaf_kind(leaf)
        if kind == "diff":
            t = tape.input(leaf)
            inputs.append((path, t))
            return t
        if kind == "object":
            where = f"argument {i}" + (f" at path {path!r}" if path else "")
            raise InputError(
                f"yota: {_fn_name(f)} was given an object array as {where}; yota differentiates "
                "floating-point and complex arrays. Pass float32/float64/complex64/complex128 "
                "values"
            )
        if explicit and path == () and isinstance(leaf, (np.ndarray, numbers.Number)):
            raise InputError(
                f"yota: argument {i} of {_fn_name(f)} has dtype "
                f"{getattr(leaf, 'dtype', type(leaf).__name__)}, which cannot be differentiated; "
                "pass a float array (e.g. x.astype(float)) or leave it out of argnums"
            )
        if not explicit and path == ():
            _warn_if_model_like(f, i, leaf)
        if explicit and path == ():  # a plain object, a string, None...
            raise InputError(
                f"yota: argument {i} of {_fn_name(f)} is {a_or_an(type(leaf).__name__)}, which yota "
                "cannot differentiate: it walks floats, float arrays, attrs and dataclass "
                "instances, lists, tuples and dicts of them. Make the class an attrs class "
                "(@attrs.define) or a dataclass, or pass its arrays, or leave the argument out "
                "of argnums"
            )
        return leaf

    wrapped = tree.map_leaves(wrap, arg, trainable=True)
    return wrapped, inputs


_WARNED_OBJECTS = set()   # (code, position, class) already warned about


def _warn_if_model_like(f, i, leaf):
    """A plain object holding float arrays looks like a model yota cannot see into: say so, once
    per function, position and class (it is left out of the gradient, as before)."""
    state = getattr(leaf, "__dict__", None)
    if not state or isinstance(leaf, type) or callable(leaf):
        return
    if not any(isinstance(v, np.ndarray) and v.dtype.kind == "f" or isinstance(v, float)
               for v in state.values()):
        return
    key = (getattr(f, "__code__", f), i, type(leaf))
    if key in _WARNED_OBJECTS:
        return
    _WARNED_OBJECTS.add(key)
    warnings.warn(
        f"yota: argument {i} of {_fn_name(f)} is {a_or_an(type(leaf).__name__)} holding float "
        "arrays, which yota does not walk, so it gets no gradient (None). Make its class an "
        "attrs class (@attrs.define) or a dataclass to train it, or pass argnums= to say which "
        "arguments to differentiate", RuntimeWarning, stacklevel=user_stacklevel())


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
        tape.end_forward(out)
    # An in-place write into an input rebinds the user's object to the new value; tape.inputs
    # keeps a Tracked of each input's original variable, in the order they were made.
    originals = iter(tape.inputs)
    structure = [s if s is None else [(p, next(originals)) for p, _ in s] for s in structure]
    return Trace(tape, structure, out, f, nums), tape


def _name_the_function(exc, f):
    """Say which user function was being traced when yota raised (once, innermost first)."""
    if exc.args and isinstance(exc.args[0], str) and "[while tracing" not in exc.args[0]:
        exc.args = (f"{exc.args[0]} [while tracing {_fn_name(f)}]",) + exc.args[1:]


def check_scalar_output(f, out):
    """The output of ``grad``'s function must be one real float: a scalar, or an array of one
    element (shape ``(1,)``, ``(1, 1)``...), which counts as its single element as in autograd
    and PyTorch's ``backward()``."""
    value = out._value if type(out) is Tracked else out
    shape = getattr(value, "shape", ())
    dtype = getattr(value, "dtype", None)
    if dtype is not None and dtype.kind == "f" and (shape == () or all(n == 1 for n in shape)):
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
        what = f"an array of shape {shape}" if shape != () else a_or_an(kind)
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


# --- handing results over: the same rules in both executors ---------------------------------------
def like_of(t, prefix=()):
    """How a result computed for input ``t`` is handed over; ``prefix`` is prepended to the
    input's shape (a Jacobian block has ``out.shape + arg.shape``). The kind follows the
    argument's, never the mode: an array for an array (0-d included), a NumPy scalar of its
    type for a NumPy scalar, a Python float for a Python float.

    - ``("array", shape, dtype)``: a fresh ndarray the caller owns (zeros when absent);
    - ``"float"``: a Python float (for Python float inputs), ``"complex"`` likewise;
    - ``("scalar", type)``: a NumPy scalar of that type (``np.float64``, ``np.float32``).

    A nested input (a value of an outer tape) is handed over like the value behind it.
    """
    v = t._value
    if type(v) is np.ndarray:
        return ("array", prefix + v.shape if prefix else v.shape, v.dtype)
    tape, var = t._tape, t._var
    while type(v) is Tracked:
        tape, var, v = v._tape, v._var, v._value
    if isinstance(v, np.ndarray):
        return ("array", prefix + v.shape, v.dtype)
    if prefix:
        return ("array", prefix, v.dtype)
    if var in tape.python_floats:
        return "complex" if v.dtype.kind == "c" else "float"
    return ("scalar", type(v))


def hand_over(v, like, seen):
    """The caller's copy of result ``v`` (see ``like_of``; ``"value"``: as computed, 0-d arrays
    as NumPy scalars). ``seen`` holds the ids of arrays already handed over or not ours to give
    (inputs, constants): those are copied. A value of an outer tape, still being traced, passes
    through as it is."""
    if type(v) is Tracked:
        return v
    if like == "value":
        if isinstance(v, np.ndarray) and v.ndim == 0:
            return v[()]
        return v
    if like == "float":
        return float(v)
    if like == "complex":
        return complex(v)
    if like[0] == "scalar":
        return like[1](v)
    _, shape, dtype = like
    if not isinstance(v, np.ndarray):
        return np.array(v, dtype=dtype)
    if id(v) in seen or v.base is not None or not v.flags.owndata or not v.flags.writeable:
        return v.copy()
    seen.add(id(v))
    return v


def zeros(like):
    """The result for an input the output does not depend on: zeros, fresh per call."""
    if like == "float":
        return 0.0
    if like == "complex":
        return 0j
    if like[0] == "scalar":
        return like[1](0)
    return np.zeros(like[1], like[2])


def unwrap(tape, x):
    return x._value if type(x) is Tracked and x._tape is tape else x
