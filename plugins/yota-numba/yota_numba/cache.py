"""Compiled kernels kept on disk, so a second process loads them instead of compiling again.

The kernels are generated source, so numba's ``cache=True`` (keyed by a source file and its
time stamp) cannot serve them; numba's machinery can. A numba Dispatcher asks its ``_cache``
for an overload before compiling (``load_overload``) and gives it every new compile result
(``save_overload``): ``KernelCache`` is that object, storing numba's own ``CompileResult``
reduction (object code, function descriptor, environment) in yota's secure on-disk cache
(``yota.compile.diskcache``: per-user owner-only directory, checksummed entries, atomic writes;
``YOTA_CACHE_DIR`` moves it, ``YOTA_NO_DISK_CACHE=1`` turns it off).

An entry's key covers everything the machine code depends on: the kernel's source, the modules
of the numba functions it calls, the argument types, numba's CPU description (target triple, CPU
name and features) and the versions of numba, llvmlite, numpy, Python, yota and yota-numba
(with a hash of the pack's own source, so an edited checkout never loads old code). Anything
wrong with an entry (damaged, not loadable, built for another CPU or signature) makes it a miss:
the kernel is compiled again and the entry replaced.
"""
from __future__ import annotations

import collections
import functools
import hashlib
import inspect
import logging
import os
import pickle
from importlib import metadata

import llvmlite
import numba
from numba.core import compiler, serialize
from numba.core.runtime import rtsys

from yota.compile.diskcache import DiskCache

log = logging.getLogger("yota.compile")

STORE = DiskCache("numba")
# What happened to kernels in this process: "compiled" (numba ran), "loaded" (from disk),
# "stored", "rejected" (an entry was there but not usable). Tests and benchmarks read it.
counts = collections.Counter()


@functools.lru_cache(maxsize=None)
def _pack_identity():
    """yota-numba's version and a hash of its source files (the kernels' helpers live there)."""
    try:
        version = metadata.version("yota-numba")
    except metadata.PackageNotFoundError:
        version = "unknown"
    h = hashlib.sha256()
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        if name.endswith(".py"):
            with open(os.path.join(here, name), "rb") as fh:
                h.update(name.encode() + b"\0" + fh.read())
    return (f"yota-numba {version}", h.hexdigest(), f"numba {numba.__version__}",
            f"llvmlite {llvmlite.__version__}")


@functools.lru_cache(maxsize=None)
def _file_hash(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _helper_identity(fn):
    """What a helper's compiled code depends on: its module's source file (which holds the
    helper, the globals numba freezes into it and, usually, what it calls). None for a helper
    without a source file (defined interactively or by exec): its globals could change with
    its code unchanged, so kernels calling it are not kept on disk."""
    py = getattr(fn, "py_func", fn)
    try:
        path = inspect.getfile(py)
        return (getattr(py, "__module__", None), getattr(py, "__qualname__", None),
                _file_hash(path))
    except (TypeError, OSError):
        return None


def kernel_key(source, helpers):
    """The key of a kernel's entries (before the argument types and CPU are added), or None
    when a helper's code cannot be identified (that kernel is then not kept on disk)."""
    idents = []
    for name, fn in sorted(helpers.items()):
        ident = _helper_identity(fn)
        if ident is None:
            log.info("yota-numba: a kernel calling %s is not cached on disk (the helper has "
                     "no source file to key it by)", name)
            return None
        idents.append((name,) + ident)
    return STORE.key(source, tuple(idents), _pack_identity())


class KernelCache:
    """A numba Dispatcher's ``_cache`` backed by ``yota.compile.diskcache``."""

    def __init__(self, key):
        self.key = key         # None: this kernel is not kept on disk

    @property
    def cache_path(self):
        return STORE.directory

    def _entry_key(self, sig, codegen):
        return STORE.key(self.key, str(sig), codegen.magic_tuple())

    def load_overload(self, sig, target_context):
        """The compile result stored for ``sig`` on this CPU, or None (then numba compiles)."""
        # numba's own cache calls target_context.refresh() here, importing every lowering numba
        # has (about 0.5 s): loading machine code needs only the runtime (NRT) it links to
        rtsys.initialize(target_context)
        codegen = target_context.codegen()
        key = None if self.key is None else self._entry_key(sig, codegen)
        data = None if key is None else STORE.load(key)
        if data is None:
            counts["compiled"] += 1            # numba compiles next
            return None
        try:
            magic, stored_sig, payload = pickle.loads(data)
            if magic != codegen.magic_tuple() or stored_sig != str(sig):
                raise ValueError(f"built for {magic} {stored_sig}")
            cres = compiler.CompileResult._rebuild(target_context, *payload)
        except Exception as exc:               # a bad entry is a miss, never a crash
            log.info("yota-numba: cache entry %s not used (%s: %s); compiling again", key,
                     type(exc).__name__, exc)
            counts["rejected"] += 1
            counts["compiled"] += 1
            return None
        counts["loaded"] += 1
        return cres

    def save_overload(self, sig, cres):
        """Keep ``cres`` for the next process (skipped for what numba cannot cache)."""
        if self.key is None:
            return
        if any(not f.can_cache for f in cres.lifted) or cres.library.has_dynamic_globals:
            log.info("yota-numba: kernel %s is not cached on disk (dynamic globals)",
                     cres.fndesc.qualname)
            return
        try:
            data = serialize.dumps((cres.codegen.magic_tuple(), str(sig), cres._reduce()))
        except Exception as exc:
            log.info("yota-numba: kernel %s does not serialize (%s)", cres.fndesc.qualname,
                     exc)
            return
        if STORE.store(self._entry_key(sig, cres.codegen), data):
            counts["stored"] += 1

    # the rest of numba's cache interface
    def enable(self):
        pass

    def disable(self):
        pass

    def flush(self):
        pass
