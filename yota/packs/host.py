"""Finding, loading and listing plugins. Runs once per process, never per operation.

Plugins are distributions that declare an entry point in the group ``yota``. The core's own
primitives are registered through the same hook, first. Environment variables, as in pytest:

- ``YOTA_DISABLE_PLUGINS=yota-nn,yota-linalg`` skips the named plugins (distribution or entry-point
  names);
- ``YOTA_DISABLE_PLUGIN_AUTOLOAD=1`` loads no entry points: only the core and plugins registered
  with :func:`register`.
"""
from __future__ import annotations

import os
import threading
import warnings
from importlib import metadata

import attrs
import pluggy

from .. import core_pack
from .. import hookspecs
from ..errors import PluginError, user_stacklevel
from ..kernel.primitive import Primitive
from ..registry import REGISTRY, Registration
from .conflicts import resolve

ENTRY_POINT_GROUP = "yota"
CORE_NAME = "yota-core"

_lock = threading.RLock()
_loaded = False
_manager = None
_explicit = []          # (name, plugin object) registered by hand
_on_reload = []         # callbacks run when the packs are loaded again (the static cache's clear)
_core_parts = []        # hook objects of the core from layers above this one (compile backends)
_registrations = {}     # name -> Registration of every pack whose hook ran
PLUGINS = {}            # name -> PluginInfo, for `yota plugins`
UNKNOWN_DISABLED = []   # YOTA_DISABLE_PLUGINS names that match no installed pack


@attrs.define
class PluginInfo:
    name: str
    version: str | None
    status: str                  # "loaded", "disabled", "failed"
    primitives: int = 0
    functions: int = 0
    error: str | None = None
    conflicts: list = attrs.Factory(list)   # messages about this pack's contested functions
    backends: list = attrs.Factory(list)    # names of the compile backends it provides


def _disabled_names():
    raw = os.environ.get("YOTA_DISABLE_PLUGINS", "")
    return {n.strip() for n in raw.split(",") if n.strip()}


def _autoload():
    return os.environ.get("YOTA_DISABLE_PLUGIN_AUTOLOAD", "").strip() in ("", "0", "false")


def register(plugin, name=None):
    """Register a plugin object (module or class instance with hook implementations) by hand.

    Before the first use of yota it joins the normal loading; afterwards it registers at once
    (and every pack's registration is decided again, as if it had been there from the start).
    """
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    with _lock:
        _explicit.append((name, plugin))
        if _loaded:
            try:
                collected = _collect(_manager, name, plugin, version=None)
            except PluginError:
                _explicit.remove((name, plugin))   # said once, to the caller; not at each reload
                raise
            if collected:
                for callback in _on_reload:
                    callback()
                _install()


def ensure_loaded():
    """Load every plugin once (cheap after the first call)."""
    if not _loaded:
        _load()
    return REGISTRY


def on_reload(callback):
    """Call ``callback()`` whenever the packs are loaded again: the static cache registers its
    ``clear_cache`` here, since compiled graphs call the old primitives' code directly."""
    _on_reload.append(callback)


def add_core_part(plugin):
    """Collect ``plugin``'s hooks as part of the core pack (yota-core). The built-in compile
    backends live in the compile layer, above this one: it hands them in here, as the static
    cache hands in ``on_reload``. Takes effect at the next load."""
    with _lock:
        if plugin not in _core_parts:
            _core_parts.append(plugin)
            if _loaded:
                reload()


def reload():
    """Forget what was loaded and load again (tests; after changing the environment variables)."""
    global _loaded

    with _lock:
        for callback in _on_reload:
            callback()
        _loaded = False
        _load()


def _load():
    """Collect every pack's registration, then decide and install them in one go."""
    global _loaded, _manager
    with _lock:
        if _loaded:
            return
        REGISTRY.clear()
        PLUGINS.clear()
        _registrations.clear()
        UNKNOWN_DISABLED.clear()
        pm = pluggy.PluginManager("yota")
        pm.add_hookspecs(hookspecs)
        _manager = pm
        _collect(pm, CORE_NAME, core_pack, version=_version("yota-ad"))
        disabled = _disabled_names()
        known = {CORE_NAME}
        if _autoload():
            eps = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
            for ep in eps:
                dist = getattr(ep, "dist", None)
                dist_name = dist.name if dist is not None else ep.name
                known.update((dist_name, ep.name))
                if ep.value.split(":")[0] == core_pack.__name__:
                    continue
                if dist_name in disabled or ep.name in disabled:
                    PLUGINS[dist_name] = PluginInfo(dist_name, _dist_version(dist), "disabled")
                    continue
                if dist_name in PLUGINS:
                    # pluggy would skip a second entry point silently; we say so.
                    _warn(f"yota: two entry points in group 'yota' are named {dist_name!r}; "
                          "only the first is loaded. Rename one "
                          "of the distributions' entry points.")
                    continue
                try:
                    plugin = ep.load()
                except Exception as exc:  # a broken pack must not take the others down
                    _failed(dist_name, _dist_version(dist), exc, "importing it")
                    continue
                _collect(pm, dist_name, plugin, version=_dist_version(dist), strict=False)
        for name, plugin in _explicit:
            known.add(name)
            if name not in disabled:
                _collect(pm, name, plugin, version=None, strict=False)
        if _autoload():
            _warn_unknown(disabled - known, known)
        _install()
        _loaded = True


def _warn_unknown(unknown, known):
    UNKNOWN_DISABLED[:] = sorted(unknown)
    if unknown:
        names = ", ".join(repr(n) for n in UNKNOWN_DISABLED)
        _warn(f"yota: YOTA_DISABLE_PLUGINS names {names}, which matches no installed pack, so "
              f"it disables nothing; the packs are: {', '.join(sorted(known))}. Check the "
              "spelling (distribution or entry-point names, separated by commas).")


def _collect(pm, name, plugin, version, strict=True):
    """Run one plugin's hook on a Registration of its own: it records, so a failing hook leaves
    nothing behind. A failure while loading (``strict=False``) skips the pack with a warning; a
    pack registered by hand after loading raises its PluginError to the caller. True if the pack
    was collected."""
    if pm.is_registered(plugin) and pm.get_name(plugin) != name:
        return False  # an installed pack also registered by hand: it is loaded already
    if pm.get_plugin(name) is None:
        pm.register(plugin, name=name)
    names = {name}
    if name == CORE_NAME:
        for i, part in enumerate(_core_parts):
            part_name = f"{CORE_NAME}+{i}"
            if pm.get_plugin(part_name) is None:
                pm.register(part, name=part_name)
            names.add(part_name)
    hooks = ("yota_register_primitives", "yota_register_backends")
    impls = [(hook, i) for hook in hooks for i in getattr(pm.hook, hook).get_hookimpls()
             if i.plugin_name in names]
    registration = Registration(name)
    hook = hooks[0]
    try:
        for hook, impl in impls:
            _call(hook, impl, registration)
    except Exception as exc:
        pm.unregister(name=name)
        if strict and isinstance(exc, PluginError):
            raise
        _failed(name, version, exc, f"running its {hook} hook")
        return False
    _registrations[name] = registration
    PLUGINS[name] = PluginInfo(name, version, "loaded", primitives=len(registration.primitives),
                               backends=sorted(registration.backends))
    return True


def _call(hook, impl, registration):
    """Run one hook implementation on the pack's Registration. pluggy lets an implementation
    take fewer arguments than the spec: a ``yota_register_backends()`` without ``registry``
    returns its backends instead."""
    takes = "registry" in impl.argnames
    result = impl.function(registry=registration) if takes else impl.function()
    if hook == "yota_register_backends" and result is not None:
        for backend in result:
            registration.add_backend(backend)


def _install():
    """Decide every contested function (``yota.packs.conflicts``) and install the result."""
    ufuncs, functions, provider, conflicts = resolve(_registrations, core=CORE_NAME)
    by_pack = {name: r.primitives for name, r in _registrations.items()}
    REGISTRY.install(ufuncs, functions, provider, by_pack, conflicts, _registrations)
    REGISTRY.install_backends({name: r.backends for name, r in _registrations.items()})
    for info in PLUGINS.values():
        info.conflicts = []
        if info.status == "loaded":
            info.functions = sum(1 for p in provider.values() if p == info.name)
    for conflict in conflicts:
        for pack in {*conflict.losers, conflict.winner} - {None}:
            PLUGINS[pack].conflicts.append(conflict.message())
        if conflict.warns:
            _warn(conflict.message())


def _warn(message):
    warnings.warn(message, RuntimeWarning, stacklevel=user_stacklevel())


def _failed(name, version, exc, when):
    message = f"{type(exc).__name__}: {exc}"
    PLUGINS[name] = PluginInfo(name, version, "failed", error=message)
    warnings.warn(
        f"yota: plugin {name!r} was skipped because it raised while {when} ({message}); "
        f"the other plugins still work. Disable it with YOTA_DISABLE_PLUGINS={name}.",
        RuntimeWarning,
        stacklevel=user_stacklevel(),
    )


def _dist_version(dist):
    try:
        return dist.version if dist is not None else None
    except Exception:
        return None


def _version(dist_name):
    try:
        return metadata.version(dist_name)
    except metadata.PackageNotFoundError:
        return None


def plugin_of(key):
    """Which plugin supplied a NumPy callable, a Primitive, or a primitive name (``pack:name``
    for a name several packs use; the bare name then gives None)."""
    ensure_loaded()
    if isinstance(key, Primitive):
        return REGISTRY.active.get(key)
    if isinstance(key, str) and ":" in key:
        return key.partition(":")[0] if REGISTRY.primitive(key) is not None else None
    return REGISTRY.provider.get(key)
