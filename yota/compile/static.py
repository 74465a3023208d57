"""Static mode: trace once per signature, compile, cache, and replay the compiled code.

The hot path of a cached call is: compute the key (key.py), one dict lookup, call the compiled
function (which checks its guards and wraps the GradientResult itself). Everything else (tracing,
passes, code generation, guard failures, fallbacks, logging) is on the slow path.
"""
from __future__ import annotations

import functools
import logging
import threading
import warnings

from ..errors import user_stacklevel
from ..kernel.tape import current_depth
from ..tracing import _fn_name
from . import backends, passes, randomness, tiers
from . import guards as guards_mod
from . import scalars as scalars_mod
from .cache import CACHE, MAX_VARIANTS, Entry, Variant
from .ir import NotCompilable
from .key import Unsupported, changed_scalars, signature
from .trace import trace_program

log = logging.getLogger("yota.compile")

# "codegen" (the selected backend) or "interpret": the reference op-by-op replay whatever the
# backend (the same as backend="interpret"; kept for code that set it).
MODE = "codegen"
OPTIMIZE = True
# Past this many traced instructions a signature runs in dynamic mode: compiling 225,000
# instructions (100,000 forward ops) took 11 s and 1 GB here, the dynamic call 1 s and 110 MB.
MAX_INSTRUCTIONS = 50_000


class TooLarge(NotCompilable):
    """The traced program is too long to compile (see MAX_INSTRUCTIONS)."""

_key_locks = {}


def static_call(spec, f, args, kwargs, argnums):
    """Run what ``spec`` describes on ``f(*args, **kwargs)``, compiled once per signature.

    ``spec`` is a transform as the static executor sees it (``yota.transforms`` defines them):
    ``spec.tag`` (hashable, part of the cache key), ``spec.build(traced)`` records the transform
    on a ``trace.Traced`` (tape re-entered, so rules record on it) and returns a
    ``trace.Template``, and ``spec.dynamic(f, args, kwargs, argnums)`` computes the same result
    without compiling: it runs whenever static mode cannot apply (inside another trace,
    unkeyable arguments, a graph it cannot build). Returns what the template describes, with
    fresh arrays.
    """
    if current_depth():
        return spec.dynamic(f, args, kwargs, argnums)   # inside another trace: record, don't run
    try:
        key, inputs = signature(f, args, kwargs, argnums, spec.tag)
    except Unsupported as exc:
        _unsupported(f, exc)
        return spec.dynamic(f, args, kwargs, argnums)
    entry = CACHE.get(key)
    if entry is not None:
        for fn in entry.fns:
            r = fn(*inputs)
            if r.__class__ is not int:
                return r
    elif CACHE.lifted:
        scalars = CACHE.lifted.get(_identity(f))
        if scalars is not None:   # keyed with its changing Python scalars as inputs
            key, inputs = signature(f, args, kwargs, argnums, spec.tag, scalars)
            entry = CACHE.get(key)
            if entry is not None:
                for fn in entry.fns:
                    r = fn(*inputs)
                    if r.__class__ is not int:
                        return r
            return _slow(spec, f, args, kwargs, argnums, key, inputs, scalars)
    return _slow(spec, f, args, kwargs, argnums, key, inputs)


class Spec:
    """An ad-hoc ``spec`` for ``static_call``: compile what ``build`` chooses, fall back on
    ``dynamic()``."""

    def __init__(self, tag, build, dynamic):
        self.tag, self.build, self._dynamic = tag, build, dynamic

    def dynamic(self, f, args, kwargs, argnums):
        return self._dynamic()


class ScalarsNotLiftable(NotCompilable):
    """A lifted Python scalar does more than arithmetic (see scalars.py)."""


def compile_variant(f, args, kwargs, argnums, inputs, build, mode=None, optimize=None,
                    lift=True, backend=None, scalars=None):
    """Trace and compile one variant (no caching). ``backend``: a backend object or name
    (default: the numpy backend); ``mode="interpret"`` is ``backend="interpret"``; ``scalars``
    as for ``key.signature``."""
    program, template = trace_program(f, args, kwargs, argnums, inputs, build, lift, scalars)
    why = scalars_mod.unsafe(program)
    if why is not None:
        raise ScalarsNotLiftable(why)
    if len(program.instrs) > MAX_INSTRUCTIONS:
        raise TooLarge(f"the traced program has {len(program.instrs)} instructions, more than "
                       f"yota.compile.static.MAX_INSTRUCTIONS = {MAX_INSTRUCTIONS}")
    if OPTIMIZE if optimize is None else optimize:
        program = passes.optimize(program)
    name = _fn_name(f)
    fname = _fname(name)
    if (mode or MODE) == "interpret":
        backend = backends.INTERPRET
    elif backend is None or isinstance(backend, str):
        backend = backends.get(backend or backends.NUMPY.name)
    return lower(backend, program, template, name, fname)


def lower(backend, program, template, name, fname):
    """A Variant of ``program`` lowered by ``backend``; a backend that declines it
    (NotCompilable) or fails (with a warning) leaves it to the numpy backend."""
    note = None
    if backend is not backends.NUMPY:
        try:
            fn, src = backend.lower(program, template, fname)
            return Variant(fn, src, program, template, name, backend.name)
        except NotCompilable as exc:
            note = f"{backend.name} declined it ({exc})"
            log.info("yota: %s runs numpy code: the %s backend declined it (%s)",
                     name, backend.name, exc)
        except Exception as exc:
            note = f"{backend.name} raised {type(exc).__name__}: {exc}"
            message = (f"yota: {name} runs on the numpy backend: the {backend.name!r} backend "
                       f"raised {type(exc).__name__}: {exc}. Results are unaffected")
            log.info(message)   # reported once, by the warning
            warnings.warn(message, RuntimeWarning, stacklevel=user_stacklevel())
    fn, src = backends.NUMPY.lower(program, template, fname)
    return Variant(fn, src, program, template, name, backends.NUMPY.name, note)


def _fname(name):
    return "yota_" + "".join(c if c.isalnum() else "_" for c in name.split(".")[-1])


def _identity(f):
    """What static mode's records per function (fallbacks, warnings, lifted scalars) are
    kept under: the code object, shared by a lambda re-created on every call. A transform
    that traces a ``functools.partial`` wrapper of the user's function (``hvp``) sets its
    ``__wrapped__``: the wrapper's code and the wrapped function's identity, stable across
    calls and apart from the function's own records."""
    if type(f) is functools.partial and hasattr(f, "__wrapped__"):
        return (_identity(f.func), _identity(f.__wrapped__))
    code = getattr(getattr(f, "__func__", f), "__code__", None)
    return code if code is not None else f


def _slow(spec, f, args, kwargs, argnums, key, inputs, scalars=None):
    with CACHE.lock:
        lock = _key_locks.setdefault(key, threading.Lock())
    try:
        with lock:
            return _trace_or_run(spec, f, args, kwargs, argnums, key, inputs, scalars)
    finally:  # also when f raises or runs dynamically: a lock per failed key would pile up
        with CACHE.lock:
            _key_locks.pop(key, None)


def _lift_scalars(spec, f, args, kwargs, argnums, key, fid):
    """The lifted ``(key, inputs, scalars)`` when this first call of a signature is the
    ``LIFT_AFTER``-th re-trace of ``f`` that only Python scalars' values caused; else None."""
    if fid in CACHE.never_lift:
        return None
    last = CACHE.last_keys.get(fid)
    CACHE.last_keys[fid] = key
    changed = changed_scalars(last, key) if last is not None else None
    if changed is None:
        return None
    count, seen = CACHE.scalar_retraces.get(fid, (0, frozenset()))
    count, seen = count + 1, seen | changed
    CACHE.scalar_retraces[fid] = (count, seen)
    if count < scalars_mod.LIFT_AFTER:
        return None
    CACHE.lifted[fid] = seen
    log.info("yota: %s was traced again %d times for new values of Python scalars: they "
             "become inputs of its compiled program", _fn_name(f), count)
    key, inputs = signature(f, args, kwargs, argnums, spec.tag, seen)
    return key, inputs, seen


def _keep_scalars_keyed(spec, f, args, kwargs, argnums, fid, why):
    """Lifting ``f``'s scalars failed: key them by value again, for good."""
    CACHE.lifted.pop(fid, None)
    CACHE.never_lift.add(fid)
    log.info("yota: %s keys its Python scalars by value again: %s", _fn_name(f), why)
    key, inputs = signature(f, args, kwargs, argnums, spec.tag)
    return _trace_or_run(spec, f, args, kwargs, argnums, key, inputs)  # may hold key's lock


def _trace_or_run(spec, f, args, kwargs, argnums, key, inputs, scalars=None):
    build = spec.build

    def dynamic():
        return spec.dynamic(f, args, kwargs, argnums)

    name = _fn_name(f)
    entry = CACHE.get(key)
    reasons = []
    if entry is not None:
        if entry.dynamic:
            return dynamic()
        for variant in entry.variants:
            r = variant.fn(*inputs)
            if r.__class__ is not int:
                return r
            g = variant.program.guards[r]
            reasons.append(guards_mod.describe(g))
    fid = _identity(f)
    if fid in CACHE.dynamic_functions:
        return dynamic()
    if entry is not None and len(entry.variants) >= MAX_VARIANTS:
        why = (f"{len(entry.variants)} compiled variants for one signature and the guards "
               f"of all of them failed (last: {reasons[-1] if reasons else '?'})")
        _fall_back(f, name, entry, fid, why, spec=spec)
        return dynamic()
    if entry is None and scalars is None:
        lifted = _lift_scalars(spec, f, args, kwargs, argnums, key, fid)
        if lifted is not None:
            return _slow(spec, f, args, kwargs, argnums, *lifted)
    reason = "first call with this signature" if entry is None else \
        "guard failed: " + "; ".join(reasons)
    # An unknown or missing backend is the caller's error (BackendError), not a fallback.
    first, later = backends.plan(getattr(spec, "backend", None))
    CACHE.misses += 1
    log.info("yota: tracing %s (%s)", name, reason)
    watch = randomness.Watch((f, args, kwargs))
    variant = failure = None
    try:
        variant = compile_variant(f, args, kwargs, argnums, inputs, build, backend=first,
                                  scalars=scalars)
    except Exception as exc:
        failure = exc
    if failure is not None and scalars is not None and not isinstance(failure, TooLarge):
        # A lifted scalar does more than arithmetic (an axis, a shape, a branch): key the
        # scalars by value again (tracing that way watches draws afresh).
        watch.restore()
        return _keep_scalars_keyed(spec, f, args, kwargs, argnums, fid,
                                   f"{type(failure).__name__}: {failure}")
    if failure is not None and not isinstance(failure, TooLarge):
        # Code may need its constant arrays as ndarrays (np.asarray(X), ndarray[y]): try again
        # with them baked in and guarded by their values.
        log.info("yota: tracing %s again with its non-differentiated arrays as constants "
                 "(tracing them as inputs failed with %s: %s)",
                 name, type(failure).__name__, failure)
        try:
            variant, failure = compile_variant(f, args, kwargs, argnums, inputs, build,
                                               lift=False, backend=first), None
        except Exception as exc:
            failure = exc
    if failure is not None:
        # The eager run starts from the random state tracing started from.
        drew = watch.drew()
        watch.restore()
        if drew is not None:
            entry = entry or Entry(_refs(f))
            CACHE.put(key, entry)
            _fall_back(f, name, entry, fid, _drew_why(drew), _DRAW_HINT, spec=spec)
            return dynamic()
        # The user's own error comes out of dynamic mode unchanged, and alone: dynamic mode
        # runs outside any handler, so the static attempts are not chained to it. Otherwise
        # remember that this signature runs dynamically.
        result = dynamic()
        entry = entry or Entry(_refs(f))
        entry.dynamic = True
        CACHE.put(key, entry)
        _not_compiled(f, name, fid, failure, spec)
        return result
    drew = watch.drew()
    if drew is not None:
        # Replaying the numbers tracing drew would be wrong from the second call on: run
        # eagerly, on the random state from before tracing, as plain NumPy would.
        watch.restore()
        entry = entry or Entry(_refs(f))
        CACHE.put(key, entry)
        _fall_back(f, name, entry, fid, _drew_why(drew), _DRAW_HINT, spec=spec)
        return dynamic()
    r = variant.fn(*inputs)
    if r.__class__ is int:
        # A guard failed on the very inputs it was traced with: the function is not
        # deterministic (random draws, global state); compiling it would be wrong.
        why = f"a guard failed on the inputs it was traced with ({variant.program.guards[r]})"
        entry = entry or Entry(_refs(f))
        CACHE.put(key, entry)
        _fall_back(f, name, entry, fid, why, spec=spec)
        return dynamic()
    entry = entry or Entry(_refs(f))
    entry.add(variant)
    CACHE.put(key, entry)
    if later is not None and variant.backend != later.name:
        variant.note = tiers.promote(entry, variant, later, _fname(name), inputs)
    return r


def _refs(f):
    return (getattr(f, "__globals__", None), f)


_BRANCH_HINT = "to compile it, pass the values it branches on as arguments"
_DRAW_HINT = ("to compile it, draw the random numbers outside and pass them in as an "
              "argument")


def _drew_why(drew):
    return (f"it draws random numbers ({drew}), and a compiled program would replay the "
            "numbers drawn while tracing on every call")


def silence_hint(spec):
    """How to ask for dynamic mode with the transform the user called, for the warnings."""
    name = getattr(spec, "name", None) or "grad"
    if name in ("grad", "hvp"):            # functions of (f, *args): the flag goes in the call
        return f"call yota.{name}(..., dynamic=True)"
    return f"make it with yota.{name}(f, dynamic=True)"


def _fall_back(f, name, entry, fid, why, hint=_BRANCH_HINT, spec=None):
    entry.dynamic = True
    entry.variants = ()
    entry.fns = ()
    CACHE.dynamic_functions[fid] = why
    message = (f"yota: {name} falls back to dynamic mode: {why}. Its results stay correct; "
               f"{hint}, or {silence_hint(spec)} to silence this warning")
    warn(message)


def _not_compiled(f, name, fid, exc, spec=None):
    """Say once per function that a signature of it could not be compiled, and why: it runs
    in dynamic mode, so "static" may be slower than ``dynamic=True``."""
    if fid in CACHE.warned:
        log.info("yota: %s runs in dynamic mode for this signature: static tracing failed "
                 "with %s: %s", name, type(exc).__name__, exc)
        return
    CACHE.warned.add(fid)
    warn(f"yota: {name} runs in dynamic mode for this signature: static mode could not compile "
         f"it ({type(exc).__name__}: {exc}). Its results stay correct but are not compiled; "
         f"{silence_hint(spec)} to silence this warning")


def warn(message):
    """Log ``message`` at INFO (the warning is what reports it, once) and issue it as a
    RuntimeWarning pointing at the first frame outside yota (the user's call of grad)."""
    log.info(message)
    warnings.warn(message, RuntimeWarning, stacklevel=user_stacklevel())


_warned_unsupported = set()


def _unsupported(f, exc):
    fid = _identity(f)
    if fid not in _warned_unsupported:
        _warned_unsupported.add(fid)
        log.info("yota: %s runs in dynamic mode: the call holds %s, which static mode does not "
                 "key", _fn_name(f), exc)


def source(spec, f, args, kwargs, argnums):
    """The generated source of every compiled variant of ``spec`` for this call's signature
    (compiling it first, as ``static_call`` would); code of a backend other than numpy, or of
    an "auto" tier, comes under a line saying so."""
    key, inputs = signature(f, args, kwargs, argnums, spec.tag)
    entry = CACHE.get(key)
    if entry is None or not entry.variants:
        static_call(spec, f, args, kwargs, argnums)
        entry = CACHE.get(key)
    if entry is None or entry.dynamic or not entry.variants:
        reason = CACHE.dynamic_functions.get(_identity(f), "static tracing failed")
        return f"# {_fn_name(f)} runs in dynamic mode for this signature ({reason})\n"
    return "\n".join(_shown(v) for v in entry.variants)


def _shown(variant):
    """The variant's code, under a line naming its backend unless it is plain numpy code."""
    text = variant.source or repr(variant.program) + "\n"
    if variant.backend == backends.NUMPY.name and not variant.note:
        return text
    note = f" ({variant.note})" if variant.note else ""
    return f"# backend: {variant.backend}{note}\n" + text
