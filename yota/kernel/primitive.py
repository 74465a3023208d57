"""Primitives: the functions yota knows how to differentiate, each with its table of rules.

A primitive wraps a plain NumPy implementation. Called on tracked values it records itself on the
innermost tape; called on plain values it just runs the implementation.

Everything a transformation needs to know about a primitive lives in the primitive itself, one
entry per transformation (as in JAX's autodidax), declared beside it through the same public API
by the core and by every pack:

- ``rules``: gradient rules, one per argument, ``rule(dy, y, *args, **kwargs)``, written with
  primitives themselves so the backward pass is recorded too (``defgrad``);
- ``static_shape``: the output's shape and dtype follow from the inputs' shapes and dtypes (so a
  compiled program needs no shape guard), ``True``/``False`` or ``fn(args, kwargs, avals)``;
  unknown (the default for all but ufuncs) means a guard checks the shape on every replay;
- ``fresh``: the output is always a new buffer that shares memory with no input (ufuncs by
  default; unknown means "may be a view", so the compiler never writes into it);
- ``noop``: ``fn(args, kwargs, avals, out_aval)`` -> the argument the call merely passes on at
  these shapes and dtypes (a reshape to the same shape), or None (``emit.passes_first_on``);
- ``writes_through``: for a view-making primitive, ``fn(op, new)`` writes ``new`` (the view's
  new content) into the view's base (``x[0][1] = 5`` writes into ``x``);
- ``emitters``: per compile backend, how to emit a call (``defemit("numpy", fn)``);
- ``zero_gradient``: positions in ``nondiff_argnums`` where a float may carry a gradient that is
  zero almost everywhere (a mask ``y > 0``, a tie test, the sign of ``b``). Elsewhere a gradient
  reaching a ``nondiff_argnums`` position is an error, never silently zero;
- ``pack``: the distribution that provides the primitive (the plugin host records it when a
  pack registers it), named in error messages; None for a user's own primitive.

``declare(...)`` sets the flags; a code generator or pass asks the primitive, never a list.
In these rules ``avals`` has one entry per positional argument: the type, shape and dtype
(``.type``, ``.shape``, ``.dtype``, ``.same(other)``) of an argument that is a variable of the
program, None for a constant. Ready-made entries live in ``yota.kernel.emit``.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from .tracked import Tracked

__all__ = ["Primitive", "primitive", "defgrad", "nondifferentiable", "stop_gradient"]


class Primitive:
    """A named NumPy function with a vector-Jacobian product (a "rule") per argument."""

    __slots__ = ("impl", "name", "rules", "differentiable", "nondiff_argnums",
                 "static_shape", "fresh", "noop", "writes_through", "emitters",
                 "zero_gradient", "pack",
                 "__dict__")  # __dict__ holds functools.wraps' metadata (__doc__...) only

    def __init__(self, impl, name=None, differentiable=True, nondiff_argnums=()):
        self.impl = impl
        self.name = name or getattr(impl, "__name__", repr(impl))
        self.rules = {}
        self.differentiable = differentiable
        self.nondiff_argnums = frozenset(nondiff_argnums)
        ufunc = isinstance(impl, np.ufunc)
        self.static_shape = ufunc          # NumPy's ufuncs broadcast: shapes follow from shapes
        self.fresh = ufunc and impl.nout == 1
        self.noop = None
        self.writes_through = None
        self.emitters = {}
        self.zero_gradient = frozenset()
        self.pack = None
        functools.update_wrapper(self, impl, updated=())

    def __call__(self, *args, **kwargs):
        # Hot path: find the innermost tape among the arguments, else run NumPy directly.
        tape = None
        for a in args:
            if type(a) is Tracked:
                t = a._tape
                if tape is None or t.depth > tape.depth:
                    tape = t
        if tape is None:
            return self.impl(*args, **kwargs)
        return tape.record(self, args, kwargs)

    def defgrad(self, rule=None, argnum=0):
        """Attach ``rule(dy, y, *args, **kwargs)`` as the gradient for argument ``argnum``.

        Usable as ``@p.defgrad``, ``@p.defgrad(argnum=1)`` or ``p.defgrad(rule, argnum=1)``.
        """
        if rule is None:
            return lambda r: self.defgrad(r, argnum)
        if not isinstance(argnum, int) or argnum < 0:
            raise ValueError(f"defgrad for {self.name}: argnum must be an int >= 0, got {argnum!r}")
        self.rules[argnum] = rule
        return rule

    def defgrad_each(self, rule):
        """One rule for every argument, for primitives taking any number of arrays.

        ``rule(argnum, dy, y, *args, **kwargs)`` (concatenate, stack, einsum...)."""
        self.rules = _EveryArgument(rule)
        return rule

    def defgrads(self, *rules):
        """Attach rules for arguments 0, 1, ... in order; ``None`` leaves an argument without one."""
        for argnum, rule in enumerate(rules):
            if rule is not None:
                self.rules[argnum] = rule
        return self

    def __setattr__(self, name, value):
        # The table is closed: a misspelt or invented entry is an error, not a silent no-op.
        if name not in _WRAPPER and type(getattr(type(self), name, None)) is not _SLOT:
            raise AttributeError(
                f"yota: primitive {getattr(self, 'name', '?')} has no table entry {name!r}; "
                "set its entries with prim.declare(static_shape=..., fresh=..., noop=..., "
                "writes_through=...), prim.defgrad(...) and prim.defemit(backend, ...)")
        object.__setattr__(self, name, value)

    def declare(self, *, static_shape=None, fresh=None, noop=None, writes_through=None,
                zero_gradient=None):
        """Set entries of the primitive's table (see the module docstring); returns self."""
        if zero_gradient is not None:
            zero = frozenset(zero_gradient)
            if not zero <= self.nondiff_argnums:
                raise ValueError(
                    f"yota: {self.name}.declare(zero_gradient={tuple(sorted(zero))}): only "
                    f"positions in nondiff_argnums={tuple(sorted(self.nondiff_argnums))} can "
                    "have a zero gradient; others need a rule")
            self.zero_gradient = zero
        if static_shape is not None:
            self.static_shape = static_shape
        if fresh is not None:
            self.fresh = bool(fresh)
        if noop is not None:
            self.noop = noop
        if writes_through is not None:
            self.writes_through = writes_through
        return self

    def defemit(self, backend, emitter=None):
        """How the compile backend ``backend`` ("numpy", ...) emits a call of this primitive:
        ``emitter(em, ins)`` returns the expression's source, or None to call ``impl``.
        Usable as a decorator: ``@prim.defemit("numpy")``."""
        if emitter is None:
            return lambda e: self.defemit(backend, e)
        self.emitters[backend] = emitter
        return emitter

    def output_shape_is_static(self, args, kwargs, avals):
        """Does the output's shape follow from the inputs' shapes and dtypes?"""
        fixed = self.static_shape
        return fixed(args, kwargs, avals) if callable(fixed) else bool(fixed)

    def __get__(self, obj, objtype=None):
        # Used as a method (e.g. a primitive stored on a class) it binds like a function.
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __repr__(self):
        kind = "primitive" if self.differentiable else "non-differentiable primitive"
        return f"<yota {kind} {self.name}>"


def describe_argument(prim, argnum):
    """``primitive scale (pack yota-foo), argument 1 (s)``, for error messages (the pack when
    the host recorded one)."""
    pack = f" (pack {prim.pack})" if prim.pack else ""
    name = _parameter_name(prim.impl, argnum)
    arg = f"argument {argnum} ({name})" if name else f"argument {argnum}"
    return f"primitive {prim.name}{pack}, {arg}"


def _parameter_name(fn, argnum):
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):   # builtins and ufuncs without a signature
        return None
    for i, p in enumerate(params):
        if p.kind is p.VAR_POSITIONAL:
            return "*" + p.name
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and i == argnum:
            return p.name
    return None


_WRAPPER = frozenset(functools.WRAPPER_ASSIGNMENTS) | {"__wrapped__"}
_SLOT = type(Primitive.impl)  # the descriptor type of a __slots__ entry


class _EveryArgument(dict):
    """Rules table whose every entry is one rule told which argument it serves."""

    def __init__(self, rule):
        super().__init__()
        self.rule = rule

    def get(self, argnum, default=None):
        return functools.partial(self.rule, argnum)


def primitive(fn=None, *, name=None, differentiable=True, nondiff_argnums=()):
    """Make ``fn`` a primitive. ``@primitive`` or ``@primitive(nondiff_argnums=(1,))``."""
    if fn is None:
        return lambda f: Primitive(f, name, differentiable, nondiff_argnums)
    return Primitive(fn, name, differentiable, nondiff_argnums)


def nondifferentiable(fn=None, *, name=None):
    """A primitive whose output carries no gradient (argmax, masks, integer results...).

    It is still recorded, so static graphs recompute it from the inputs on every call.
    """
    if fn is None:
        return lambda f: Primitive(f, name, differentiable=False)
    return Primitive(fn, name, differentiable=False)


def _identity(x):
    return x


stop_gradient = Primitive(_identity, name="stop_gradient", differentiable=False)
stop_gradient.__doc__ = """``x`` itself, with no gradient: use a value as a constant, explicitly.

Recorded like any primitive, so static graphs recompute it from the inputs on every call (a
value taken out of the computation by hand would be baked in). ``float(yota.stop_gradient(x))``
is how to get a Python number from a tracked float on purpose: ``float(x)`` itself raises
ConcretizationError, since it would silently drop the gradient."""
stop_gradient.declare(static_shape=True)  # the output's shape is the input's


def defgrad(fn, rule, argnum=0):
    """Functional form of ``fn.defgrad(rule, argnum)``."""
    if not isinstance(fn, Primitive):
        raise TypeError(
            f"yota.defgrad: {getattr(fn, '__name__', fn)!r} is not a primitive; "
            "decorate it with @yota.primitive first"
        )
    return fn.defgrad(rule, argnum)
