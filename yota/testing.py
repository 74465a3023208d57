"""Checking gradients against central finite differences: for yota's tests and pack authors.

- ``check_grads(f, *args, order=1, modes=("static", "dynamic"))``: yota's gradients of scalar
  ``f`` (and, with ``order=2, 3``, of its projected gradients) against finite differences
  computed in float64;
- ``check_primitive(fn, *args)``: the same for one primitive (or a NumPy function a pack
  implements) with any output shape, naming the primitive and its pack when it fails;
- ``pack_primitives(pack)``, ``missing_rules(prim)``, ``check_rules_complete(pack)``: does every
  primitive a pack registers have a rule for every differentiable argument?

Hypothesis strategies for shapes, broadcasting and dtypes are in ``yota.strategies``; the pytest
plugin (``yota.pytest_plugin``) offers all of this as fixtures.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from . import tree
from .kernel.primitive import Primitive
from .kernel.tracked import Tracked
from .kernel.unbroadcast import real, sum_to
from .packs import host as plugins
from .packs.host import PLUGINS, ensure_loaded
from .registry import REGISTRY, install_hint
from .transforms import grad

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["check_grads", "check_primitive", "numerical_grad", "GradientMismatch",
           "MissingRules", "PackNotLoaded", "pack_primitives", "missing_rules",
           "check_rules_complete", "find_primitive", "primitives_used_by", "vdot", "parameters"]

MODES = ("static", "dynamic")
# Leaves up to this size are checked element by element (the report names the worst index);
# larger ones along random directions (cheap, and a wrong entry still shows).
ELEMENTWISE_MAX = 32
DIRECTIONS = 3


class GradientMismatch(AssertionError):
    """yota's gradient and the finite-difference estimate disagree."""


class MissingRules(AssertionError):
    """A primitive has no gradient rule for an argument that can carry a gradient."""


class PackNotLoaded(LookupError, AssertionError):
    """The pack to check is not loaded (not installed, disabled or failed): checking it would
    check nothing, so this fails instead (an AssertionError, for test suites)."""


# --- finite differences ------------------------------------------------------------------------
def _step(base, eps):
    return eps if eps is not None else 1e-6 * max(1.0, float(np.max(np.abs(base), initial=0.0)))


def _with_leaf(args, argnum, path, value):
    new_args = list(args)
    new_args[argnum] = tree.replace_paths(args[argnum], {path: value}) if path else value
    return new_args


def _leaf_value(leaf, probe):
    if isinstance(leaf, np.ndarray):
        return probe
    return complex(probe) if _is_complex(leaf) else float(probe)


def _is_complex(leaf):
    return np.iscomplexobj(leaf)


def _difference(f, args, argnum, path, leaf, base, direction, h):
    """Central difference of ``f`` when the leaf moves from ``base`` along ``direction``."""
    vals = [float(f(*_with_leaf(args, argnum, path, _leaf_value(leaf, base + sign * h * direction))))
            for sign in (1, -1)]
    return (vals[0] - vals[1]) / (2 * h)


def numerical_grad(f: Callable[..., Any], args: Sequence[Any], argnum: int,
                   eps: float | None = None) -> Any:
    """Central finite differences of scalar ``f(*args)`` w.r.t. every float or complex leaf of
    ``args[argnum]``, computed in float64 (complex128). Returns ``{path: gradient}``; a complex
    leaf z = x + iy gets dL/dx - i dL/dy, the convention ``grad`` follows (docs/complex.md)."""
    args = [_to64(a) for a in args]
    return {path: _numerical_leaf(f, args, argnum, path, leaf, eps)
            for path, leaf in tree.leaves(args[argnum]) if _is_float(leaf)}


def _directional(f, args, argnum, path, leaf, u, eps):
    """Central difference of ``f`` along ``u`` (complex for a complex leaf) at the leaf
    ``path`` of argument ``argnum``."""
    base = np.array(leaf, dtype=np.complex128 if _is_complex(leaf) else np.float64)
    return _difference(f, args, argnum, path, leaf, base, u, _step(base, eps))


# --- check_grads -------------------------------------------------------------------------------
def check_grads(f: Callable[..., Any], *args: Any, order: int = 1,
                modes: Sequence[str] = MODES, rtol: float | None = None,
                atol: float | None = None, dynamic: bool | None = None,
                argnums: int | Sequence[int] | None = None, eps: float | None = None,
                seed: int = 0, name: str | None = None,
                arg_names: Sequence[str] | None = None, backend: str | None = None) -> Any:
    """Compare yota's gradients of scalar ``f(*args)`` with central finite differences.

    ``modes`` are "static" (compiled graphs; warmed up on nearby inputs, then replayed) and
    "dynamic" (traced every call); both by default. ``dynamic=True``/``False`` picks one mode
    (the older spelling); ``backend`` is the compile backend of static mode ("numba", "auto";
    None: the process default), so a pack's lowerings are checked against finite differences
    too. ``order=2`` also checks the gradient of ``<grad f, u>`` for random
    directions ``u``, and so on up. Finite differences run in float64; float32 arguments get
    looser tolerances. A complex argument z = x + iy is moved in the real and in the imaginary
    direction, and its gradient must be dL/dx - i dL/dy (JAX's and autograd's convention;
    random directions are complex). Checks the value, and each gradient's shape and dtype. Raises
    GradientMismatch naming the function, mode, order, argument, path and worst relative error.
    Returns ``(value, GradientResult)`` of the first mode.
    """
    if dynamic is not None:
        modes = ("dynamic",) if dynamic else ("static",)
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise ValueError(f"check_grads: modes must be a non-empty subset of {MODES}, got {modes!r}")
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"check_grads: order must be an int >= 1, got {order!r}")
    low = any(_is_float(leaf) and np.result_type(leaf) not in (np.float64, np.complex128)
              for a in args for _, leaf in tree.leaves(a))
    rtol = rtol if rtol is not None else (2e-2 if low else 1e-5)
    atol = atol if atol is not None else (2e-3 if low else 1e-6)
    name = name or getattr(f, "__name__", None) or repr(f)
    nums = range(len(args)) if argnums is None else (
        (argnums,) if isinstance(argnums, int) else argnums)
    ctx = _Context(name, rtol, atol, eps, arg_names)
    first = None
    for mode in modes:
        rng = np.random.default_rng(seed)
        fj = f
        for level in range(1, order + 1):
            where = (f"check_grads({name}): mode {mode!r}"
                     + (f" (backend {backend!r})" if backend and mode == "static" else "")
                     + (f", order {level}" if order > 1 else ""))
            value, g = _grad_in_mode(fj, args, mode, rng, backend)
            if level == 1:
                _check_value(where, value, f(*args), rtol, atol)
                first = first or (value, g)
            for i in nums:
                _compare_argument(ctx, where, fj, args, i, g[i], rng, check_dtype=level == 1)
            if level < order:
                fj = _projected(fj, args, nums, mode, rng, backend)
    return first


class _Context:
    def __init__(self, name, rtol, atol, eps, arg_names):
        self.name, self.rtol, self.atol, self.eps = name, rtol, atol, eps
        self.arg_names = arg_names


def _grad_in_mode(f, args, mode, rng, backend=None):
    if mode == "dynamic":
        return grad(f, *args, dynamic=True)
    # Static: trace (and compile) on nearby inputs first, then replay on the real ones, so a
    # graph that baked a value in, or did not replay at all, shows up.
    try:
        grad(f, *[_nearby(a, rng) for a in args], dynamic=False, backend=backend)
    except Exception:  # the check below reports what the real inputs do
        pass
    return grad(f, *args, dynamic=False, backend=backend)


def _nearby(arg, rng):
    def move(path, leaf):
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fc":
            return (leaf * (1 + 1e-3 * rng.standard_normal(leaf.shape))).astype(leaf.dtype)
        if isinstance(leaf, (float, complex, np.floating, np.complexfloating)):
            return type(leaf)(leaf * (1 + 1e-3 * rng.standard_normal()))
        return leaf

    return tree.map_leaves(move, arg)


def _check_value(where, value, expected, rtol, atol):
    if not np.allclose(value, expected, rtol=rtol, atol=atol, equal_nan=True):
        raise GradientMismatch(f"{where}: value {value!r} differs from f(*args) = {expected!r}")


def _compare_argument(ctx, where, f, args, i, gi, rng, check_dtype):
    args64 = [_to64(a) for a in args]
    label = f"argument {i}"
    if ctx.arg_names and i < len(ctx.arg_names) and ctx.arg_names[i]:
        label += f" ({ctx.arg_names[i]})"
    for path, leaf in tree.leaves(args[i]):
        if not _is_float(leaf):
            continue
        at = f"{where}, {label}" + (f" at path {path!r}" if path else "")
        got = gi.get(path) if isinstance(gi, dict) else gi
        got = np.zeros(np.shape(leaf)) if got is None else got
        if type(got) is Tracked:
            raise GradientMismatch(f"{at}: the gradient is still a tracked value")
        got = np.asarray(got)
        if got.shape != np.shape(leaf):
            raise GradientMismatch(f"{at}: gradient has shape {got.shape}, argument has shape "
                                   f"{np.shape(leaf)}")
        if check_dtype and isinstance(leaf, np.ndarray) and got.dtype != leaf.dtype:
            raise GradientMismatch(f"{at}: gradient has dtype {got.dtype}, argument has dtype "
                                   f"{leaf.dtype}")
        leaf64 = tree.get_path(args64[i], path)
        if got.size <= ELEMENTWISE_MAX:
            expected = _numerical_leaf(f, args64, i, path, leaf64, ctx.eps)
            _report(ctx, at, got.astype(expected.dtype), expected)
        else:
            for _ in range(DIRECTIONS):
                u = _direction(rng, got.shape, _is_complex(leaf))
                expected = _directional(f, args64, i, path, leaf64, u, ctx.eps)
                got_u = float(np.sum(got.astype(np.complex128) * u).real)
                _report(ctx, at, np.array(got_u), np.array(expected), direction=True)


def _numerical_leaf(f, args, argnum, path, leaf, eps):
    """Element by element; a complex element is moved in the real and in the imaginary
    direction, and the two differences combine as dL/dx - i dL/dy."""
    cplx = _is_complex(leaf)
    base = np.array(leaf, dtype=np.complex128 if cplx else np.float64)
    h = _step(base, eps)
    g = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        unit = np.zeros_like(base)
        unit[idx] = 1
        g[idx] = _difference(f, args, argnum, path, leaf, base, unit, h)
        if cplx:
            g[idx] -= 1j * _difference(f, args, argnum, path, leaf, base, 1j * unit, h)
    return g


def _report(ctx, at, got, expected, direction=False):
    rtol, atol = ctx.rtol, ctx.atol
    if np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
        return
    diff = np.abs(got - expected)
    err = diff / np.maximum(np.abs(expected), atol)
    err = np.where(np.isnan(err), np.inf, err)
    worst = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    what = "along a random direction" if direction else (
        f"at index {tuple(int(k) for k in worst)}" if worst else "")
    msg = (f"{at}: gradient differs from central finite differences, worst relative error "
           f"{float(err[worst]):.3g} {what} (yota {_number(got[worst])}, finite differences "
           f"{_number(expected[worst])}; rtol={rtol:g}, atol={atol:g})").replace("  ", " ")
    if not direction and got.size <= 16:
        msg += f"\nyota:\n{got}\nfinite differences:\n{expected}"
    raise GradientMismatch(msg)


def _number(v):
    return f"{complex(v):.6g}" if np.iscomplexobj(v) else f"{float(v):.6g}"


def _direction(rng, shape, cplx):
    u = rng.standard_normal(shape)
    return u + 1j * rng.standard_normal(shape) if cplx else u


def _projected(f, args, nums, mode, rng, backend=None):
    """``x -> sum_i <grad_i f(x), u_i>`` for fixed random ``u_i``: checking its gradient checks
    the second derivatives (a Hessian-vector product) without forming them. For a complex
    leaf, ``Re sum(g * u)`` is the derivative along the complex direction ``u``."""
    dirs = {i: {path: _direction(rng, np.shape(leaf), _is_complex(leaf))
                for path, leaf in tree.leaves(args[i]) if _is_float(leaf)} for i in nums}
    dynamic = mode == "dynamic"

    def projected(*a):
        _, g = grad(f, *a, dynamic=dynamic, backend=None if dynamic else backend)
        total = 0.0
        for i, d in dirs.items():
            for path, u in d.items():
                gi = g[i].get(path) if isinstance(g[i], dict) else g[i]
                if gi is not None:
                    total = total + vdot(gi, u)
        return total

    projected.__name__ = f"<grad {getattr(f, '__name__', 'f')}, u>"
    return projected


def vdot(a, u):
    """``sum(a * u)`` with core primitives only (no reductions pack needed); ``u`` is constant
    and takes ``a``'s dtype. Its real part when complex: a real number to differentiate."""
    dtype = getattr(a, "dtype", None) or np.dtype(complex if isinstance(a, complex) else float)
    total = sum_to(a * np.asarray(u, dtype=dtype), ())
    return real(total) if dtype.kind == "c" else total


# --- the pack author's kit ---------------------------------------------------------------------
def find_primitive(fn: Any) -> tuple[Primitive | None, str | None]:
    """``(primitive or None, provider)`` for a Primitive, a registered NumPy callable or a
    primitive name."""
    ensure_loaded()
    if isinstance(fn, Primitive):
        return fn, REGISTRY.active.get(fn)
    if isinstance(fn, str):
        prim = REGISTRY.primitive(fn)
        return prim, REGISTRY.active.get(prim) if prim is not None else None
    table = REGISTRY.ufuncs if isinstance(fn, np.ufunc) else REGISTRY.functions
    impl = table.get(fn)
    provider = REGISTRY.provider.get(fn)
    if isinstance(impl, Primitive):
        return impl, provider
    name = getattr(fn, "__name__", None)
    prim = REGISTRY.primitives.get(name) if name else None
    return prim, provider


def parameters(prim):
    """Positional parameters of a primitive's implementation: ``[(name, kind, has_default)]``;
    ``None`` when they cannot be read."""
    impl = prim.impl
    if isinstance(impl, np.ufunc):
        return [(f"x{i + 1}" if impl.nin > 1 else "x", "positional", False)
                for i in range(impl.nin)]
    try:
        sig = inspect.signature(impl)
    except (TypeError, ValueError):
        return None
    out = []
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            out.append((p.name, "positional", p.default is not p.empty))
        elif p.kind is p.VAR_POSITIONAL:
            out.append((p.name, "varargs", False))
    return out


def _has_every_rule(prim):
    return type(prim.rules).__name__ == "_EveryArgument"


def missing_rules(prim: Primitive) -> list[tuple[int, str]]:
    """Arguments of ``prim`` that may carry a gradient but have no rule: ``[(argnum, name)]``.

    A positional parameter without a default carries a gradient unless the primitive lists it
    in ``nondiff_argnums`` (or is non-differentiable as a whole); ``*args`` need
    ``defgrad_each``, or the position of ``*args`` in ``nondiff_argnums`` when none of them
    carries a gradient (index arrays). Parameters with defaults (``axis=0``) count as options.
    """
    if not prim.differentiable or _has_every_rule(prim):
        return []
    params = parameters(prim)
    if params is None:
        return []
    missing = []
    for argnum, (name, kind, has_default) in enumerate(params):
        if kind == "varargs":
            if argnum not in prim.nondiff_argnums:
                missing.append((argnum, f"*{name}"))
        elif not has_default and argnum not in prim.nondiff_argnums and \
                prim.rules.get(argnum) is None:
            missing.append((argnum, name))
    return missing


def pack_primitives(pack: str) -> dict[str, Primitive]:
    """``{name: Primitive}`` of every primitive the plugin ``pack`` registered, directly or as
    the implementation of a NumPy function, and those its implementations call (found in the
    names their code uses), so wrappers such as ``concatenate_`` count with their primitives."""
    ensure_loaded()
    info = PLUGINS.get(pack)
    if info is None or info.status != "loaded":
        raise PackNotLoaded(_not_loaded_reason(pack, info))
    found = dict(REGISTRY.by_pack.get(pack, {}))
    root = _module_root(pack)
    for table in (REGISTRY.ufuncs, REGISTRY.functions):
        for key, impl in table.items():
            if REGISTRY.provider.get(key) != pack:
                continue
            for prim in primitives_used_by(impl):
                owner = REGISTRY.active.get(prim)
                module = getattr(prim.impl, "__module__", None) or ""
                # Another pack's primitives (core's reshape...) are checked with that pack.
                if owner == pack or (owner is None and root and
                                     (module == root or module.startswith(root + "."))):
                    found.setdefault(prim.name, prim)
    return dict(sorted(found.items()))


def _not_loaded_reason(pack, info):
    """Why ``pack`` cannot be checked, and what to do."""
    if info is None:
        loaded = ", ".join(n for n, i in sorted(PLUGINS.items()) if i.status == "loaded")
        return (f"yota: no plugin named {pack!r} is loaded (loaded: {loaded or 'none'}); "
                f"install it ({install_hint(pack)}) so its entry point in group 'yota' is "
                "found, or check the name")
    if info.status == "disabled":
        why, fix = ("is disabled (YOTA_DISABLE_PLUGINS)",
                    "remove it from YOTA_DISABLE_PLUGINS, then call yota.plugins.reload()")
    else:
        why, fix = (f"failed to load ({info.error})",
                    "fix that error: yota skipped the pack, so none of its rules are in use")
    return f"yota: plugin {pack!r} {why}, so its rules cannot be checked; {fix}"


def _module_root(pack):
    """The module a plugin was loaded from (``yota_linalg``, ``yota.core_pack``)."""
    obj = plugins._manager.get_plugin(pack) if plugins._manager is not None else None
    if obj is None:
        return None
    return obj.__name__ if inspect.ismodule(obj) else type(obj).__module__


def primitives_used_by(fn, _seen=None):
    """Primitives a function calls: itself if it is one, else those named in its code (globals
    and closure cells), following the plain functions it calls in the same way."""
    seen = set() if _seen is None else _seen
    if id(fn) in seen:
        return []
    seen.add(id(fn))
    if isinstance(fn, Primitive):
        return [fn]
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    namespace = dict(getattr(fn, "__globals__", {}))
    for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            namespace[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    out = []
    for name in code.co_names + code.co_freevars:
        value = namespace.get(name)
        if isinstance(value, Primitive) or inspect.isfunction(value):
            out += primitives_used_by(value, seen)
    return out


def check_rules_complete(pack: str) -> None:
    """Raise MissingRules listing every (primitive, argument) of ``pack`` without a rule."""
    problems = []
    for name, prim in pack_primitives(pack).items():
        for argnum, arg in missing_rules(prim):
            if arg.startswith("*"):
                fix = f"use @{name}.defgrad_each for a primitive taking any number of arrays"
            else:
                fix = (f"add @{name}.defgrad(argnum={argnum}), or declare it with "
                       f"nondiff_argnums=({argnum},) if it never carries a gradient")
            problems.append(f"primitive {name!r} has no gradient rule for argument {argnum} "
                            f"({arg}); {fix}")
    if problems:
        raise MissingRules(f"pack {pack!r}: " + "\n".join(problems))


def check_primitive(fn: Callable[..., Any], *args: Any, order: int = 1,
                    modes: Sequence[str] = MODES, rtol: float | None = None,
                    atol: float | None = None, argnums: int | Sequence[int] | None = None,
                    seed: int = 0, backend: str | None = None, **kwargs: Any) -> Any:
    """check_grads for one primitive, or a NumPy/SciPy function a pack implements, with any
    output shape: its output is weighed by a fixed random cotangent, so every entry of the
    Jacobian counts. Keyword arguments go to ``fn``. Failures name the primitive, its pack and
    the argument (by number and parameter name); ``backend`` as in check_grads."""
    prim, provider = find_primitive(fn)
    label = getattr(fn, "__name__", None) or repr(fn)
    if prim is not None:
        label = f"primitive {prim.name!r}" + (f" (pack {provider!r})" if provider else "")
    params = parameters(prim) if prim is not None else None
    arg_names = _arg_names(params, len(args)) if params else None
    out = fn(*args, **kwargs)
    rng = np.random.default_rng(seed + 1)
    weights = rng.standard_normal(np.shape(out))

    def weighed(*a):
        return vdot(fn(*a, **kwargs), weights)

    weighed.__name__ = label
    return check_grads(weighed, *args, order=order, modes=modes, rtol=rtol, atol=atol,
                       argnums=argnums, seed=seed, name=label, arg_names=arg_names,
                       backend=backend)


def _arg_names(params, n):
    names = []
    for i in range(n):
        if i < len(params) and params[i][1] != "varargs":
            names.append(params[i][0])
        elif params[-1][1] == "varargs":
            names.append(f"*{params[-1][0]}[{i - len(params) + 1}]")
        else:
            names.append(None)
    return names


# --- helpers -----------------------------------------------------------------------------------
def _is_float(x):
    """A leaf that gets a gradient: float or complex."""
    return (isinstance(x, np.ndarray) and x.dtype.kind in "fc") or isinstance(
        x, (float, complex, np.floating, np.complexfloating))


def _to64(a):
    def to64(p, leaf):
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fc":
            return np.asarray(leaf, np.complex128 if leaf.dtype.kind == "c" else np.float64)
        return leaf

    return tree.map_leaves(to64, a)
