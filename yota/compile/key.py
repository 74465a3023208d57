"""Cache keys: what a compiled program depends on, computed in a few microseconds per call.

``signature(f, args, kwargs, argnums)`` walks the function and the arguments once and returns
``(key, inputs)``:

- arrays contribute their shape and dtype to the key and their value to ``inputs`` (the compiled
  program reads them at call time, whether they are differentiated or not);
- differentiated Python/NumPy floats contribute their type, and their value to ``inputs``;
- other plain values (ints, bools, strings, None, non-differentiated floats, functions, classes,
  any hashable object) are part of the key by value;
- lists, tuples, dicts and attrs instances contribute their type and layout and are walked;
- a plain function contributes its code object, and the values held in its closure cells and
  default arguments are walked the same way (arrays there become inputs read at call time), so a
  lambda re-created on every call, ``lambda m: loss(m, X, y)``, shares one compiled program and
  never returns results for stale ``X`` and ``y``. Bound methods walk ``__self__`` and
  ``functools.partial`` walks its arguments.
- the globals a function's code names (``LOAD_GLOBAL``) are walked like closure cells, so the
  same lambda written at module level (``for X, y in batches: grad(lambda m: loss(m, X, y),
  m)``, where ``X``, ``y`` are globals) or ``for f in fs: grad(lambda x: np.sum(f(x)), x)``
  never replays a program traced for other values. Modules, and objects that are neither
  values nor containers (classes, primitives, plain objects), are keyed by identity.

``lift`` repeats the same walk at tracing time and rebuilds the values with tape inputs in place
of the leaves that ``signature`` put in ``inputs``: both walks live here, side by side, so they
cannot drift apart.
"""
from __future__ import annotations

import copy
import dis
import functools
import types

import numpy as np

from .. import tree
from ..tree import field_names
from ..kernel.tracked import Tracked

FUNCTION_DEPTH = 3    # closures of closures of closures are walked; deeper ones key by identity

_ndarray = np.ndarray
_FunctionType = types.FunctionType
_MethodType = types.MethodType
_partial = functools.partial
_generic = np.generic
_ModuleType = types.ModuleType
_EMPTY_CELL = object()
_MISSING = object()   # a global name that is not bound (a builtin, or defined later)
_GLOBAL_NAMES = {}    # code object -> the global names it loads, nested code included


class Unsupported(Exception):
    """The call holds a value the static path does not key (it runs in dynamic mode)."""


def signature(f, args, kwargs, argnums, tag="grad", scalars=None):
    """``(key, inputs)`` for a call of ``grad(f, *args, argnums=argnums, **kwargs)``; ``tag``
    (any hashable) separates what different users of the cache compile for the same call.

    ``scalars`` (a set of scalar ordinals, see ``changed_scalars``) lifts those Python ints and
    floats: the key holds their type, ``inputs`` their value, like differentiated floats."""
    try:
        k = [tag, argnums if argnums is None or type(argnums) is int else tuple(argnums)]
    except TypeError:
        raise Unsupported("argnums is not a tuple of ints") from None
    vals = []
    if scalars is not None:
        k = _LiftingKey(k, scalars, vals)
    if type(f) is _FunctionType:
        _function(f, k, vals, FUNCTION_DEPTH)
    else:
        _callable(f, k, vals, FUNCTION_DEPTH)
    if argnums is None:
        for a in args:
            _walk(a, True, k, vals, 0)
    else:
        nums = _positions(k[1], len(args))
        for i, a in enumerate(args):
            _walk(a, i in nums, k, vals, 0)
    k.append(len(args))
    if kwargs:
        k.append(tuple(kwargs))
        for v in kwargs.values():
            _walk(v, False, k, vals, 0)
    return tuple(k), vals


def _positions(argnums, nargs):
    nums = (argnums,) if type(argnums) is int else argnums
    try:
        if not all(type(n) is int and -nargs <= n < nargs for n in nums):
            raise Unsupported("argnums out of range")  # dynamic mode raises the clear error
        return {n % nargs for n in nums}
    except TypeError:
        raise Unsupported("argnums is not a tuple of ints") from None


def _walk(x, diff, k, vals, depth):
    t = type(x)
    if t is _ndarray:
        dt = x.dtype
        if dt.kind not in "biuf":
            raise Unsupported(f"an array of dtype {dt}")
        k.append(x.shape)
        k.append(dt)
        vals.append(x)
    elif t is float:
        if diff:
            k.append(float)
            vals.append(x)
        else:
            k.append((float, x) if x and x == x else _zero_or_nan(float, x))
    elif t is int or t is bool or t is str or x is None:
        k.append((t, x))
    elif t is list or t is tuple:
        k.append((t, len(x)))
        for e in x:
            _walk(e, diff, k, vals, depth)
    elif t is dict:
        k.append((dict, tuple(x)))
        for e in x.values():
            _walk(e, diff, k, vals, depth)
    else:
        names = field_names(t)
        if names is not None:
            k.append(t)
            for n in names:
                _walk(getattr(x, n), diff, k, vals, depth)
        else:
            _other(x, t, diff, k, vals, depth)


def _other(x, t, diff, k, vals, depth):
    if isinstance(x, _generic):
        kind = x.dtype.kind
        if kind == "f" and diff:
            k.append(t)
            vals.append(x)
            return
        if kind not in "biuf":
            raise Unsupported(f"a NumPy {t.__name__} value")
        k.append((t, x) if x and x == x else _zero_or_nan(t, x))
        return
    if isinstance(x, _ndarray) or t is Tracked:
        raise Unsupported(f"a {t.__name__} value")
    if isinstance(x, (list, tuple)):
        k.append((t, len(x)))
        for e in x:
            _walk(e, diff, k, vals, depth)
        return
    if isinstance(x, dict):
        k.append((t, tuple(x)))
        for e in x.values():
            _walk(e, diff, k, vals, depth)
        return
    if depth and (t is _FunctionType or t is _MethodType or t is _partial):
        _callable(x, k, vals, depth)
        return
    if isinstance(x, complex) and diff:
        raise Unsupported("a complex value")
    try:
        hash(x)
    except TypeError:
        raise Unsupported(f"an unhashable {t.__name__} value") from None
    if isinstance(x, (float, int, complex)):
        k.append((t, x) if x and x == x else _zero_or_nan(t, x))
    else:
        k.append(x)


def _zero_or_nan(t, x):
    """Key part of a number keyed by value that is 0 or NaN: 0.0 and -0.0 are equal but not
    the same value (1 / x, arctan2 and copysign tell them apart), and NaN equals no NaN."""
    return (t, repr(x))


def _callable(f, k, vals, depth):
    t = type(f)
    if t is _FunctionType:
        _function(f, k, vals, depth)
    elif t is _MethodType:
        k.append(_MethodType)
        _callable(f.__func__, k, vals, depth)
        _walk(f.__self__, False, k, vals, depth - 1)
    elif t is _partial:
        k.append(_partial)
        _callable(f.func, k, vals, depth)
        _walk(f.args, False, k, vals, depth - 1)
        _walk(f.keywords, False, k, vals, depth - 1)
    else:
        _walk(f, False, k, vals, 0)


def _function(f, k, vals, depth):
    if depth <= 0:
        k.append(f)   # identity; the key holds it, so its id cannot be reused meanwhile
        return
    code = f.__code__
    k.append(code)
    k.append(id(f.__globals__))
    d = f.__defaults__
    if d:
        _walk(d, False, k, vals, depth - 1)
    kd = f.__kwdefaults__
    if kd:
        _walk(kd, False, k, vals, depth - 1)
    cl = f.__closure__
    if cl:
        for cell in cl:
            try:
                v = cell.cell_contents
            except ValueError:
                k.append(_EMPTY_CELL)
                continue
            _walk(v, False, k, vals, depth - 1)
    try:
        names = _GLOBAL_NAMES[code]
    except KeyError:
        names = global_names(code)
    if names:
        g = f.__globals__
        for name in names:
            _global(g.get(name, _MISSING), k, vals, depth - 1)


def global_names(code):
    """The names ``code`` reads as globals, its comprehensions and inner functions included
    (computed once per code object)."""
    names = _GLOBAL_NAMES.get(code)
    if names is None:
        found, stack = {}, [code]
        while stack:
            c = stack.pop()
            for ins in dis.get_instructions(c):
                if ins.opname == "LOAD_GLOBAL" or ins.opname == "LOAD_NAME":
                    found[ins.argval] = None
            stack.extend(x for x in c.co_consts if isinstance(x, types.CodeType))
        if len(_GLOBAL_NAMES) >= 4096:   # code made by exec over and over: stay bounded
            _GLOBAL_NAMES.clear()
        names = _GLOBAL_NAMES[code] = tuple(found)
    return names


# --- Python scalars lifted into program inputs (see scalars.py) ---------------------------------
LIFTED = "lifted"


def _is_scalar_part(part):
    """Is this key part a Python int or float keyed by value (``(int, 3)``, ``(float, 0.1)``,
    ``(float, '0.0')``)? The n-th such part of a key is scalar ordinal n (tag and argnums
    excluded); both walks (``signature`` and ``Lifter``) meet those leaves in the same order."""
    return type(part) is tuple and len(part) == 2 and (part[0] is int or part[0] is float)


class _LiftingKey(list):
    """A key under construction that lifts the scalars whose ordinal is in ``scalars``: the
    part becomes ``(type, LIFTED)`` and the value goes to ``vals`` in walk order. Zero and NaN
    floats stay keyed by value (their key part is their repr)."""

    def __init__(self, head, scalars, vals):
        super().__init__(head)
        self.scalars, self.vals, self.count = scalars, vals, 0

    def append(self, part):
        if _is_scalar_part(part):
            n = self.count
            self.count = n + 1
            if n in self.scalars and type(part[1]) is part[0]:
                list.append(self, (part[0], LIFTED))
                self.vals.append(part[1])
                return
        list.append(self, part)


def changed_scalars(old, new):
    """The ordinals of the scalars that differ between two keys of one function, or None when
    anything else differs too (or nothing does)."""
    if len(old) != len(new):
        return None
    changed, n = set(), 0
    for i, (a, b) in enumerate(zip(old, new)):
        scalar = i >= 2 and _is_scalar_part(a)
        try:
            same = type(a) is type(b) and bool(a == b)
        except Exception:
            return None
        if not same:
            if not (scalar and _is_scalar_part(b) and a[0] is b[0]):
                return None
            changed.add(n)
        n += scalar
    return changed or None


class _Ident:
    """Key part standing for an unhashable object by identity (and keeping it alive)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return type(other) is _Ident and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


def _walked_global(v, t):
    """Is this global walked like a closure cell (values and containers), not by identity?"""
    if t is _ndarray:
        return v.dtype.kind in "biuf"
    return (t is float or t is int or t is bool or t is str or v is None or t is list
            or t is tuple or t is dict or isinstance(v, _generic) or field_names(t) is not None)


def _global(v, k, vals, depth):
    t = type(v)
    if t is _ModuleType or v is _MISSING:
        k.append(v)
    elif t is _FunctionType or t is _MethodType or t is _partial:
        if depth > 0:
            _callable(v, k, vals, depth)
        else:
            k.append(v)
    elif _walked_global(v, t):
        _walk(v, False, k, vals, depth)
    else:
        try:
            hash(v)
        except TypeError:
            v = _Ident(v)
        k.append(v)


# --- the same walk at tracing time, rebuilding with tape inputs --------------------------------
class Lifter:
    """Rebuild values with ``make(value, diff, where)`` in place of every input leaf."""

    def __init__(self, make, scalars=None, make_scalar=None):
        self.make = make
        self.scalars, self.make_scalar, self.count = scalars, make_scalar, 0

    def _scalar(self, x, where):
        """A Python int or float leaf keyed by value: lifted when its ordinal is in
        ``scalars``, exactly as ``_LiftingKey`` decides."""
        n = self.count
        self.count = n + 1
        if n in self.scalars and (type(x) is int or (x and x == x)):
            return self.make_scalar(x, where)
        return x

    def function(self, f, depth=FUNCTION_DEPTH, where=()):
        t = type(f)
        if t is _FunctionType:
            return self._function(f, depth, where)
        if t is _MethodType:
            func = self.function(f.__func__, depth, where + ("__func__",))
            obj = self.walk(f.__self__, False, depth - 1, where + ("__self__",))
            return f if func is f.__func__ and obj is f.__self__ else _MethodType(func, obj)
        if t is _partial:
            func = self.function(f.func, depth, where + ("func",))
            args = self.walk(f.args, False, depth - 1, where + ("args",))
            kw = self.walk(f.keywords, False, depth - 1, where + ("keywords",))
            if func is f.func and args is f.args and kw is f.keywords:
                return f
            return _partial(func, *args, **kw)
        return self.walk(f, False, 0, where)

    def _function(self, f, depth, where):
        if depth <= 0:
            return f
        changed = False
        d = f.__defaults__
        if d:
            nd = self.walk(d, False, depth - 1, where + ("__defaults__",))
            changed |= nd is not d
            d = nd
        kd = f.__kwdefaults__
        if kd:
            nkd = self.walk(kd, False, depth - 1, where + ("__kwdefaults__",))
            changed |= nkd is not kd
            kd = nkd
        cl = f.__closure__
        if cl:
            cells = []
            for name, cell in zip(f.__code__.co_freevars, cl):
                try:
                    v = cell.cell_contents
                except ValueError:
                    cells.append(cell)
                    continue
                nv = self.walk(v, False, depth - 1, where + (name,))
                if nv is v:
                    cells.append(cell)
                else:
                    cells.append(types.CellType(nv))
                    changed = True
            cl = tuple(cells)
        glob = f.__globals__
        new = {}
        for name in global_names(f.__code__):
            v = glob.get(name, _MISSING)
            nv = self._global(v, depth - 1, where + (name,))
            if nv is not v:
                new[name] = nv
        if new:   # the function reads these globals from a copy of its module's namespace
            glob = dict(glob)
            glob.update(new)
            changed = True
        if not changed:
            return f
        g = _FunctionType(f.__code__, glob, f.__name__, d, cl)
        g.__kwdefaults__ = kd
        g.__qualname__ = f.__qualname__
        g.__dict__.update(f.__dict__)
        return g

    def _global(self, v, depth, where):
        t = type(v)
        if t is _ModuleType or v is _MISSING:
            return v
        if t is _FunctionType or t is _MethodType or t is _partial:
            return self.function(v, depth, where) if depth > 0 else v
        if _walked_global(v, t):
            return self.walk(v, False, depth, where)
        return v

    def walk(self, x, diff, depth, where):
        t = type(x)
        if t is _ndarray:
            return self.make(x, diff, where)
        if t is float:
            if diff:
                return self.make(x, diff, where)
            return x if self.scalars is None else self._scalar(x, where)
        if t is int:
            return x if self.scalars is None else self._scalar(x, where)
        if t is bool or t is str or x is None:
            return x
        if isinstance(x, _generic):
            return self.make(x, diff, where) if (diff and x.dtype.kind == "f") else x
        if isinstance(x, (list, tuple, dict)) or field_names(t) is not None:
            return self._node(x, diff, depth, where)
        if depth and (t is _FunctionType or t is _MethodType or t is _partial):
            return self.function(x, depth, where)
        return x

    def _node(self, x, diff, depth, where):
        items = tree.children(x)
        new = {key: self.walk(v, diff, depth, where + (key,)) for key, v in items}
        if all(new[key] is v for key, v in items):
            return x
        return _rebuild(x, new)


def _rebuild(x, new):
    """A copy of node ``x`` with children ``new`` (key -> value), as tree.map_leaves builds it."""
    if isinstance(x, dict):
        return new if type(x) is dict else tree._rebuild_mapping(x, new)
    if isinstance(x, list):
        values = [new[i] for i in range(len(x))]
        return values if type(x) is list else tree._rebuild_sequence(x, values)
    if isinstance(x, tuple):
        values = [new[i] for i in range(len(x))]
        if type(x) is tuple:
            return tuple(values)
        if hasattr(x, "_fields"):
            return type(x)(*values)
        return tree._rebuild_sequence(x, values)
    clone = copy.copy(x)
    for name, value in new.items():
        object.__setattr__(clone, name, value)
    return clone
