"""Tiers for ``backend="auto"``: NumPy code serves the first calls at once while a fused backend
compiles the same program in a background thread; the fused function then replaces the NumPy
one in its cache entry, as a JIT's tiers do.

The background job also makes the first call of the new function, on the inputs of the call that
compiled the NumPy program, and drops its result: a backend may finish compiling on a first call
(numba specializes its kernels on the arrays' layouts), and that belongs here, not on the
caller's hot path.

One daemon worker thread, fed in order. The hot path never looks here: the swap replaces the
entry's ``fns`` tuple whole (cache.Entry.replace), which readers pick up without a lock. A
program past AUTO_MAX_INSTRUCTIONS, or one the backend declines (NotCompilable) or fails on,
stays on NumPy (the latter two with one warning). ``wait_for_background()`` waits for the queue
to drain: tests, and benchmarks that want the fused tier.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
import warnings

import numpy as np

from .cache import Variant
from .ir import NotCompilable

log = logging.getLogger("yota.compile")

# Past this many instructions "auto" keeps the NumPy program: compiling a very long program
# can take longer than the run it would speed up (400 array statements took numba 22 s here).
AUTO_MAX_INSTRUCTIONS = 20_000

_jobs = queue.Queue()
_state = threading.Condition()
_pending = 0
_worker = None


def promote(entry, variant, backend, fname, inputs):
    """Compile ``variant``'s program with ``backend`` in the background (and call the result
    once on ``inputs``) and swap it into ``entry`` when ready. Returns the note ``show_code``
    shows meanwhile."""
    n = len(variant.program.instrs)
    if n > AUTO_MAX_INSTRUCTIONS:
        return (f"auto: stays on numpy, the program has {n} instructions, more than "
                f"yota.compile.tiers.AUTO_MAX_INSTRUCTIONS = {AUTO_MAX_INSTRUCTIONS}")
    _submit(lambda: _lower(entry, variant, backend, fname, inputs))
    return f"auto: {backend.name} compiling in the background"


def _lower(entry, variant, backend, fname, inputs):
    start = time.perf_counter()
    try:
        fn, source = backend.lower(variant.program, variant.template, fname)
        with np.errstate(all="ignore"):   # per thread: the caller's warnings are untouched
            fn(*inputs)
    except NotCompilable as exc:
        _stay(variant, backend, f"{backend.name} declined it ({exc})")
        return
    except Exception as exc:
        _stay(variant, backend, f"{backend.name} raised {type(exc).__name__}: {exc}")
        return
    seconds = time.perf_counter() - start
    new = Variant(fn, source, variant.program, variant.template, variant.name, backend.name,
                  f"auto: switched from numpy after compiling for {seconds:.2f} s")
    if entry.replace(variant, new):
        log.info("yota: %s now runs %s code (compiled in %.2f s)", variant.name, backend.name,
                 seconds)


def _stay(variant, backend, why):
    variant.note = f"auto: stays on numpy, {why}"
    message = (f"yota: {variant.name} stays on the numpy backend: the background compile "
               f"with the {backend.name!r} backend failed: {why}. Results are unaffected")
    log.warning(message)
    warnings.warn(message, RuntimeWarning, stacklevel=2)


def _submit(job):
    global _pending, _worker
    with _state:
        _pending += 1
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="yota-background-compile",
                                       daemon=True)
            _worker.start()
    _jobs.put(job)


def _work():
    global _pending
    while True:
        job = _jobs.get()
        try:
            job()
        except Exception:   # never lose the worker: a job's own failures are reported in it
            log.exception("yota: background compile job failed")
        finally:
            with _state:
                _pending -= 1
                _state.notify_all()


def _forget_after_fork():
    """A forked child has no worker thread: it must not wait for the parent's jobs."""
    global _jobs, _state, _pending, _worker
    _jobs, _state, _pending, _worker = queue.Queue(), threading.Condition(), 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def wait_for_background(timeout=None):
    """Block until every background compile queued so far has finished (or ``timeout``
    seconds passed); True if none is left."""
    with _state:
        return _state.wait_for(lambda: _pending == 0, timeout)


def pending():
    """How many background compiles are queued or running."""
    return _pending
