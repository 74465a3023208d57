"""Compile backends: what turns an optimized Program into the function static mode calls.

A backend is an object with a ``name`` and ``lower(program, template, fname) -> (fn, source)``
(the contract: docs/writing-a-pack.md, "Compile backends"). Packs provide them through the
``yota_register_backends`` hook (or ``registry.add_backend`` in ``yota_register_primitives``);
the two built-in ones, ``"numpy"`` (generated straight-line NumPy code, codegen.py) and
``"interpret"`` (the op-by-op replay, interpret.py), are registered by the core pack the same
way. Selection: ``backend=`` on every transform that compiles, else ``YOTA_BACKEND`` (read
once, at import), else ``"numpy"``. ``"auto"`` serves NumPy code at once and swaps in a fused
backend's program when the background compile finishes (tiers.py).
"""
from __future__ import annotations

import os
import sys

from ..errors import BackendError
from ..hookspecs import hookimpl
from ..packs import host
from ..registry import REGISTRY, install_hint
from . import codegen, interpret
from .ir import Var

ENV = "YOTA_BACKEND"
DEFAULT = os.environ.get(ENV, "").strip() or "numpy"   # read once: nothing per call
AUTO = "auto"
# Backends a known pack provides, so a missing one can say what to install; "auto" tries them
# in this order.
KNOWN = {"numba": "yota-numba"}
AUTO_TARGETS = ("numba",)


class NumpyBackend:
    """Straight-line NumPy code (codegen.py): every instruction one NumPy call."""

    name = "numpy"

    def lower(self, program, template, fname):
        source, ns = codegen.generate(program, template, fname)
        return codegen.build(source, ns, source.split("(", 1)[0][len("def "):]), source

    def available(self):
        return True, ""


class InterpretBackend:
    """The reference replay (interpret.py): slower, plain; what ``MODE = "interpret"`` chose."""

    name = "interpret"

    def lower(self, program, template, fname):
        def run(*values):
            try:
                outs = interpret.run(program, values)
            except interpret.GuardFailed as exc:
                return exc.index
            protect = [id(v) for v in values]
            protect += [id(o) for o in program.outputs if type(o) is not Var]
            return template.finish(outs, protect)

        return run, None

    def available(self):
        return True, ""


NUMPY = NumpyBackend()
INTERPRET = InterpretBackend()


@hookimpl
def yota_register_backends(registry):
    registry.add_backend(NUMPY)
    registry.add_backend(INTERPRET)


host.add_core_part(sys.modules[__name__])


def available(backend):
    """``(ok, reason)`` from the backend's optional ``available()``; one that raises is not."""
    check = getattr(backend, "available", None)
    if check is None:
        return True, ""
    try:
        ok, reason = check()
    except Exception as exc:
        return False, f"its available() raised {type(exc).__name__}: {exc}"
    return bool(ok), reason or ""


def get(name, where=None):
    """The backend named ``name``, ready to lower; else a BackendError saying what to do.
    ``where`` says where the name came from, for the message (``YOTA_BACKEND``)."""
    host.ensure_loaded()
    found = REGISTRY.backends.get(name)
    said = f"{where}={name}" if where else f"backend={name!r}"
    if found is None:
        raise BackendError(f"yota: {said}: {missing_reason(name)}")
    backend, pack = found
    ok, reason = available(backend)
    if not ok:
        raise BackendError(f"yota: {said}: the {name!r} compile backend of pack {pack} is not "
                           f"available here: {reason}")
    return backend


def missing_reason(name):
    """Why no backend is named ``name``, and what to do about it."""
    if name in REGISTRY.shared_backends:
        packs = REGISTRY.shared_backends[name]
        return (f"packs {' and '.join(packs)} both provide a compile backend named {name!r}, "
                f"so neither is used; disable one with YOTA_DISABLE_PLUGINS={packs[-1]}")
    pack = KNOWN.get(name)
    info = host.PLUGINS.get(pack) if pack else None
    if info is not None and info.status == "failed":
        return (f"the {name!r} compile backend comes from the {pack} pack, which failed to load "
                f"({info.error}); `yota plugins` lists the packs")
    if info is not None and info.status == "disabled":
        return (f"the {name!r} compile backend comes from the {pack} pack, which "
                "YOTA_DISABLE_PLUGINS disables")
    if pack is not None:
        return (f"the {name!r} compile backend is provided by the {pack} pack: install it with "
                f"{install_hint(pack)}")
    names = ", ".join(sorted(REGISTRY.backends) + [AUTO])
    failed = sorted(n for n, i in host.PLUGINS.items() if i.status == "failed")
    extra = (f"; pack(s) {', '.join(failed)} failed to load and may provide it (`yota plugins` "
             "says why)") if failed else ""
    return (f"no compile backend is named {name!r}; the installed ones are {names}{extra}. A "
            "pack provides one with registry.add_backend (docs/writing-a-pack.md)")


def check(name):
    """Validate a ``backend=`` argument once, when a transform is made: returns the name."""
    if not isinstance(name, str):
        raise BackendError(f"yota: backend={name!r}: expected the name of a compile backend "
                           "(a str such as 'numpy', 'numba' or 'auto')")
    plan(name)
    return name


def plan(name=None):
    """``(first, later)`` for a backend name (None: the process default): ``first`` lowers on
    the first call; ``later``, for ``"auto"``, is compiled in the background and replaces it
    (None when there is nothing to wait for)."""
    where = None
    if name is None:
        name, where = DEFAULT, ENV
    if name == AUTO:
        return NUMPY, auto_target()
    if name.startswith(AUTO + ":"):
        return NUMPY, get(name[len(AUTO) + 1:], where)
    return get(name, where), None


def auto_target():
    """The fused backend ``"auto"`` switches to: the first of AUTO_TARGETS installed and
    available, else None (NumPy code alone)."""
    host.ensure_loaded()
    for name in AUTO_TARGETS:
        found = REGISTRY.backends.get(name)
        if found is not None and available(found[0])[0]:
            return found[0]
    return None


def listing():
    """``(name, pack, available, reason)`` for every installed backend, for ``yota plugins``."""
    host.ensure_loaded()
    rows = []
    for name, (backend, pack) in sorted(REGISTRY.backends.items()):
        ok, reason = available(backend)
        rows.append((name, pack, ok, reason))
    for name, packs in sorted(REGISTRY.shared_backends.items()):
        rows.append((name, " and ".join(packs), False, "provided by two packs: neither is used"))
    for name, pack in sorted(KNOWN.items()):
        if name not in REGISTRY.backends and name not in REGISTRY.shared_backends:
            rows.append((name, pack, False, missing_reason(name)))
    return rows
