"""Cache keys: what a compiled program depends on, computed in a few microseconds per call.

``signature(f, args, kwargs, argnums)`` walks the function and the arguments once and returns
``(key, inputs)``:

- arrays contribute their shape and dtype to the key and their value to ``inputs`` (the compiled
  program reads them at call time, whether they are differentiated or not);
- differentiated Python/NumPy floats contribute their type, and their value to ``inputs``;
- other plain values (ints, bools, strings, None, non-differentiated floats, functions, classes,
  any hashable object) are part of the key by value;
- lists, tuples, dicts, attrs and dataclass instances contribute their type and layout and are
  walked (a field marked constant as a value that is not differentiated);
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
import sys
import types

import numpy as np

from .. import tree
from ..errors import a_or_an
from ..tree import constant_names, field_names
from ..kernel.primitive import Primitive as _Primitive
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
_CHAINS = {}          # code object -> the attribute chains it reads (attribute_chains)


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
    if type(argnums) is int and -nargs <= argnums < nargs:   # the common case, no generator
        return (argnums % nargs,)
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
        if dt.kind not in "biufc":
            raise Unsupported(f"an array of dtype {dt}")
        k.append(x.shape)
        k.append(dt)
        vals.append(x)
    elif t is float or t is complex:
        if diff:
            k.append(t)
            vals.append(x)
        else:
            k.append((t, x) if x and x == x else _zero_or_nan(t, x))
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
            constants = constant_names(t) if diff else ()
            for n in names:   # a constant field is keyed like a value that is not differentiated
                v = getattr(x, n)
                if type(v) is _ndarray and v.dtype.kind in "biufc":   # the leaf, inlined
                    k.append(v.shape)
                    k.append(v.dtype)
                    vals.append(v)
                else:
                    _walk(v, diff and n not in constants, k, vals, depth)
        else:
            _other(x, t, diff, k, vals, depth)


def _other(x, t, diff, k, vals, depth):
    if isinstance(x, _generic):
        kind = x.dtype.kind
        if (kind == "f" or kind == "c") and diff:
            k.append(t)
            vals.append(x)
            return
        if kind not in "biufc":
            raise Unsupported(f"a NumPy {t.__name__} value")
        k.append((t, x) if x and x == x else _zero_or_nan(t, x))
        return
    if isinstance(x, _ndarray) or t is Tracked:
        raise Unsupported(f"{a_or_an(t.__name__)} value")
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
        _self_chains(f.__func__, f.__self__, k, vals, depth - 1)
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
    info = _CODE_INFO.get(id(code))
    if info is None or info[0] is not code:
        info = _code_info(code)
    names, chains = info[1], info[2]
    if names:
        g = f.__globals__
        inner = depth - 1
        for name in names:   # _global, with its two common cases inlined: the hot path
            v = g.get(name, _MISSING)
            t = type(v)
            if t is _ModuleType or v is _MISSING:
                k.append(v)
            elif t is _FunctionType and inner > 0:
                _function(v, k, vals, inner)
            else:
                _global(v, k, vals, inner)
    if chains:
        g = f.__globals__
        for kind, name, attrs in chains:
            if kind == "global":
                root = g.get(name, _MISSING)
                if type(root) is _ModuleType and len(attrs) == 1:   # np.sum: the hot case
                    v = root.__dict__.get(attrs[0], _MISSING)
                    if v is _MISSING or callable(v):
                        continue
            else:
                root = _cell(cl, code, name)
            if _chained(root):
                _chain(root, attrs, k, vals, depth - 1)


_CODE_INFO = {}   # id(code) -> (code, its global names, its chains not rooted at self)


def _code_info(code):
    """What ``_function`` reads of a code object, found by ``id`` on the hot path (hashing a
    code object hashes its bytecode and constants, every time). Chains rooted at ``self`` are
    left out: a bound method walks those (_self_chains). Computed once per code object; the
    entry holds the code, so its id is not reused while the entry lives."""
    chains = tuple(c for c in attribute_chains(code) if c[0] != "self")
    if len(_CODE_INFO) >= 4096:
        _CODE_INFO.clear()
    info = _CODE_INFO[id(code)] = (code, global_names(code), chains)
    return info


def _self_chains(func, obj, k, vals, depth):
    """The attribute chains a bound method's code reads from ``self`` (``self.W``)."""
    if type(func) is not _FunctionType or depth <= 0 or not _chained(obj):
        return
    chains = _CHAINS.get(func.__code__)
    if chains is None:
        chains = attribute_chains(func.__code__)
    for kind, name, attrs in chains:
        if kind == "self":
            _chain(obj, attrs, k, vals, depth)


def _chain(obj, attrs, k, vals, depth):
    """Walk the value at the end of ``obj.a.b``: plain objects and modules on the way are
    followed; values and containers are walked (arrays become inputs); other values of a plain
    object are keyed by identity; functions, classes and other code read through a module
    (``np.sum``) are left out, as before: they are code, not data."""
    last = len(attrs) - 1
    for i, name in enumerate(attrs):
        if type(obj) is _ModuleType:
            v = obj.__dict__.get(name, _MISSING)
            if callable(v):   # np.sum: code read through a module (the common case, fast)
                return
        else:
            v = static_attribute(obj, name)
        if i < last and _chained(v):
            obj = v
            continue
        t = type(v)
        if _walked_global(v, t):
            _walk(v, False, k, vals, depth)
        elif type(obj) is not _ModuleType and v is not _SKIP:
            try:
                hash(v)
            except TypeError:
                v = _Ident(v)
            k.append(v)
        return


def _cell(cl, code, name):
    try:
        return cl[code.co_freevars.index(name)].cell_contents
    except (ValueError, TypeError, IndexError):
        return _MISSING


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


_LOAD_ROOT = {"LOAD_GLOBAL": "global", "LOAD_NAME": "global", "LOAD_DEREF": "deref",
              "LOAD_CLASSDEREF": "deref", "LOAD_FAST": "fast", "LOAD_FAST_CHECK": "fast"}


def attribute_chains(code):
    """The attribute chains ``code`` reads, as ``(kind, root name, (attr, ...))``: rooted at a
    global (``cfg.scale``), a closure cell (kind "free") or the first parameter (kind "self",
    ``self.W``), in the code itself and in its comprehensions and inner functions. A method
    call's name (``np.sum(x)``, ``self.layer.forward(x)``) ends a chain before it: the chain is
    what is read as a value. Computed once per code object."""
    chains = _CHAINS.get(code)
    if chains is not None:
        return chains
    first = code.co_varnames[0] if code.co_argcount else None
    found, stack = {}, [code]
    while stack:
        c = stack.pop()
        root, attrs = None, []
        for ins in dis.get_instructions(c):
            op = ins.opname
            if op == "LOAD_ATTR" and root is not None and not _method_load(ins):
                attrs.append(ins.argval)
                continue
            if root is not None and attrs:
                found[root + (tuple(attrs),)] = None
            root, attrs = None, []
            kind = _LOAD_ROOT.get(op)
            if kind == "global":
                root = ("global", ins.argval)
            elif kind == "deref" and ins.argval in code.co_freevars:
                root = ("free", ins.argval)
            elif kind is not None and ins.argval == first and (c is code or kind == "deref"):
                root = ("self", first)
        if root is not None and attrs:
            found[root + (tuple(attrs),)] = None
        stack.extend(x for x in c.co_consts if isinstance(x, types.CodeType))
    if len(_CHAINS) >= 4096:
        _CHAINS.clear()
    chains = _CHAINS[code] = tuple(found)
    return chains


def _method_load(ins):
    """Python 3.12 folds LOAD_METHOD into LOAD_ATTR with the low bit of its argument set."""
    return _ATTR_METHOD_BIT and ins.arg & 1


_ATTR_METHOD_BIT = sys.version_info >= (3, 12)


def _chained(v):
    """Is ``v`` an object whose attributes are followed (a plain instance or a module), rather
    than a value walked as a whole, a function, a class or a primitive (keyed by identity)?"""
    t = type(v)
    try:
        return _CHAINED_TYPES[t]
    except KeyError:
        pass
    chained = t is _ModuleType or not (
        t is object or t in _NOT_CHAINED or issubclass(t, (type, Tracked, _Primitive, _ndarray,
                                                           _generic))
        or _walked_global(v, t) or callable(getattr(t, "__get__", None)))
    if len(_CHAINED_TYPES) >= 4096:
        _CHAINED_TYPES.clear()
    _CHAINED_TYPES[t] = chained
    return chained


_CHAINED_TYPES = {}   # type -> are its instances' attributes followed (decided by type alone)


_NOT_CHAINED = frozenset({_FunctionType, _MethodType, _partial, types.BuiltinFunctionType,
                          np.ufunc})


def static_attribute(obj, name):
    """``obj.name`` looked up without running code: the instance's ``__dict__`` or slot, then
    a plain class attribute. Properties, methods and other descriptors (code, keyed through the
    object's identity if at all) and ``__getattr__`` fall-backs give ``_SKIP``/``_MISSING``."""
    if type(obj) is _ModuleType:
        return obj.__dict__.get(name, _MISSING)
    t = type(obj)
    try:
        plain = _PLAIN_NAMES[t, name]
    except (KeyError, TypeError):
        plain = _plain_name(t, name)
    if plain:   # the class defines nothing of that name: the instance's __dict__ decides
        d = getattr(obj, "__dict__", None)
        return d.get(name, _MISSING) if type(d) is dict else _MISSING
    cls_attr = _MISSING
    for base in t.__mro__:
        d = base.__dict__
        if name in d:
            cls_attr = d[name]
            break
    if cls_attr is not _MISSING:
        ct = type(cls_attr)
        if ct is _SlotMember:
            try:
                return cls_attr.__get__(obj, type(obj))
            except AttributeError:
                return _MISSING
        if hasattr(ct, "__set__") or hasattr(ct, "__delete__"):
            return _SKIP   # a property or another data descriptor: code
    d = getattr(obj, "__dict__", None)
    if type(d) is dict and name in d:
        return d[name]
    if cls_attr is _MISSING:
        return _MISSING
    return _SKIP if hasattr(type(cls_attr), "__get__") else cls_attr


_PLAIN_NAMES = {}   # (class, name) -> no class in its MRO defines the name (per class, cached)


def _plain_name(t, name):
    plain = not any(name in base.__dict__ for base in t.__mro__)
    if len(_PLAIN_NAMES) >= 4096:
        _PLAIN_NAMES.clear()
    _PLAIN_NAMES[t, name] = plain
    return plain


class _SlotMember:
    __slots__ = ("x",)


_SlotMember = type(_SlotMember.x)   # the type of a __slots__ entry on a class
_SKIP = object()    # an attribute that is code (a property, a method): not walked


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
        return v.dtype.kind in "biufc"
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
        self.copies = []   # (copy, its attributes when made): objects standing in for the caller's
        self.scalars, self.make_scalar, self.count = scalars, make_scalar, 0

    def written(self):
        """The first ``obj.name`` the traced function set or deleted on a stand-in copy (a
        compiled program would not repeat that write; the caller's object never saw it)."""
        for clone, before in self.copies:
            now = getattr(clone, "__dict__", None)
            if now is None:
                continue
            for name in set(now) | set(before):
                if now.get(name, _MISSING) is not before.get(name, _MISSING):
                    return f"{type(clone).__name__}.{name}"
        return None

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
            obj = self.self_chains(f.__func__, obj, depth - 1, where + ("__self__",))
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
        chains = attribute_chains(f.__code__)
        if chains:
            roots = {}
            for kind, name, attrs in chains:
                if kind == "global":
                    root = glob.get(name, _MISSING)
                elif kind == "free":
                    root = _cell(f.__closure__, f.__code__, name)
                else:
                    continue
                if _chained(root):
                    self._chain(root, attrs, roots.setdefault((kind, name), {}), depth - 1,
                                where + (name,))
            for (kind, name), changes in roots.items():
                if not changes:
                    continue
                old = _cell(f.__closure__, f.__code__, name) if kind == "free" else glob[name]
                root = _with_changes(self.copies, old, changes)
                if kind == "global":
                    new[name] = root
                else:
                    cl = list(cl)
                    cl[f.__code__.co_freevars.index(name)] = types.CellType(root)
                    cl = tuple(cl)
                    changed = True
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

    def _chain(self, obj, attrs, changes, depth, where):
        """``_chain`` of the key: record in ``changes`` (a tree of attribute names) the lifted
        value at the end of ``obj.a.b`` when it differs from what the object holds."""
        last = len(attrs) - 1
        for i, name in enumerate(attrs):
            v = static_attribute(obj, name)
            if i == last or not _chained(v):
                if _walked_global(v, type(v)):
                    nv = self.walk(v, False, depth, where + attrs[:i + 1])
                    if nv is not v:
                        changes[name] = _Lifted(nv)
                return
            sub = changes.get(name)
            if sub is None or type(sub) is _Lifted:
                sub = changes[name] = {}
            changes, obj = sub, v

    def self_chains(self, func, obj, depth, where):
        """``obj`` with the lifted values of the chains a bound method reads from ``self``."""
        if type(func) is not _FunctionType or depth <= 0 or not _chained(obj):
            return obj
        changes = {}
        for kind, name, attrs in attribute_chains(func.__code__):
            if kind == "self":
                self._chain(obj, attrs, changes, depth, where)
        return _with_changes(self.copies, obj, changes) if changes else obj

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
        if t is complex:
            return self.make(x, diff, where) if diff else x
        if t is int:
            return x if self.scalars is None else self._scalar(x, where)
        if t is bool or t is str or x is None:
            return x
        if isinstance(x, _generic):
            return self.make(x, diff, where) if (diff and x.dtype.kind in "fc") else x
        if isinstance(x, (list, tuple, dict)) or field_names(t) is not None:
            return self._node(x, diff, depth, where)
        if depth and (t is _FunctionType or t is _MethodType or t is _partial):
            return self.function(x, depth, where)
        return x

    def _node(self, x, diff, depth, where):
        items = tree.children(x)
        constants = constant_names(type(x)) if diff else ()
        new = {key: self.walk(v, diff and key not in constants, depth, where + (key,))
               for key, v in items}
        if all(new[key] is v for key, v in items):
            return x
        return _rebuild(x, new)


class _Lifted:
    """A lifted value in a tree of attribute changes (a dict is a further object)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _with_changes(copies, obj, changes):
    """A shallow copy of ``obj`` (a plain object or a module) with ``changes`` applied: the
    function being traced reads the lifted values, and the caller's object stays untouched
    (other threads may be using it)."""
    values = {}
    for name, change in changes.items():
        if type(change) is _Lifted:
            values[name] = change.value
        elif change:
            values[name] = _with_changes(copies, static_attribute(obj, name), change)
    if not values:
        return obj
    if type(obj) is _ModuleType:
        clone = _ModuleType(obj.__name__, obj.__doc__)
        clone.__dict__.update(obj.__dict__)
        clone.__dict__.update(values)
    else:
        clone = copy.copy(obj)
        for name, value in values.items():
            object.__setattr__(clone, name, value)   # frozen dataclasses too
    copies.append((clone, dict(getattr(clone, "__dict__", None) or {})))
    return clone


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
