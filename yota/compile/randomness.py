"""Random draws while tracing: detect them, and undo them before the function runs eagerly.

A compiled program replays the numbers tracing drew, forever; a function that draws (a
Monte-Carlo objective, reparameterization noise, a dropout mask) must instead get fresh numbers
on every call, exactly as running it eagerly would. Static mode therefore watches every trace:

- before it, the state of every live NumPy generator (``RandomState``, the global ``np.random``
  one included, and every ``BitGenerator``, which ``Generator`` objects draw from), found with
  ``gc.get_objects()`` wherever it lives (closure, global, argument, attribute);
- after it, whether any of those states changed, whether a generator created during the trace is
  still alive (its state would carry over to the next call), and whether a generator was seeded
  from OS entropy (``np.random.default_rng()`` inside the function: fresh numbers each call).

A generator created inside the function from a fixed seed and dropped gives the same numbers on
every call, so replaying them is right. Legacy ``RandomState(seed)`` draws OS entropy before
seeding itself, so it counts as a draw (on the safe side). When the function drew, ``restore``
puts every generator back as it was before tracing, so the eager run that replaces the compiled
program leaves the user's random streams exactly where plain NumPy would.

While other threads run, only the generators reachable from the function and its arguments
(and the global one) are watched, a generator created during the trace is not looked for, and
nothing is put back (a change may be another thread's draw): a function found drawing still
runs in dynamic mode with fresh draws, but its tracing draws are lost from its stream.

Only the slow path (tracing) pays for this: a scan of the garbage collector's objects before
tracing, and after it a scan of the young generations (of all, if a collection of generation 1
or older ran meanwhile).
"""
from __future__ import annotations

import ctypes
import gc
import itertools
import sys
import threading
import types as types_module

import numpy as np
import numpy.random.bit_generator as _bit_generator_module

_RandomState = np.random.RandomState
_BitGenerator = _bit_generator_module.BitGenerator
_entropy_draws = 0   # how many times a generator was seeded from OS entropy (process-wide)


def _count_entropy(original):
    def randbits(k):
        global _entropy_draws
        _entropy_draws += 1
        return original(k)

    randbits.yota_counts_entropy = True
    return randbits


def _hook_entropy():
    """Count OS-entropy seedings: NumPy's SeedSequence reads its module's ``randbits`` at call
    time when it gets no seed. Installed once; it only counts."""
    original = getattr(_bit_generator_module, "randbits", None)
    if original is not None and not getattr(original, "yota_counts_entropy", False):
        _bit_generator_module.randbits = _count_entropy(original)
        return True
    return original is not None


def _generator_types():
    types, stack = {_RandomState}, [_BitGenerator]
    while stack:
        t = stack.pop()
        types.add(t)
        stack.extend(t.__subclasses__())
    return types


def live_generators(young_only=False):
    """Every RandomState and BitGenerator alive now (C-speed filter over the gc's objects);
    ``young_only``: only those in the two youngest generations."""
    types = _generator_types()
    objs = gc.get_objects(0) + gc.get_objects(1) if young_only else gc.get_objects()
    return list(itertools.compress(objs, map(types.__contains__, map(type, objs))))


# Objects created since a point in time are in the two youngest generations until a collection
# of generation 1 or older promotes them (CPython's generational gc up to 3.13; 3.14's
# incremental gc moves objects differently, so there every scan is a full one).
_GENERATIONAL = sys.version_info < (3, 14)


def _initialized(bg):
    """Has this BitGenerator's constructor set its state pointer? ``gc.get_objects()`` also
    returns generators another thread is still constructing; reading their state would crash."""
    capsule = bg.capsule
    if capsule is None:
        return False
    address = _capsule_pointer(capsule, b"BitGenerator")
    return bool(address) and ctypes.c_void_p.from_address(address).value is not None


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _state(g):
    """The generator's state, or None while another thread is still constructing it."""
    try:
        if isinstance(g, _RandomState):
            bg = g._bit_generator
            return g.get_state(legacy=False) if bg is not None and _initialized(bg) else None
        return g.state if _initialized(g) else None
    except Exception:
        return None


def _same(a, b):
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b


def reachable_generators(roots, limit=20_000):
    """The generators reachable from ``roots`` through references (modules and classes not
    followed; at most ``limit`` objects visited), and the global ``np.random`` one."""
    types = _generator_types()
    found, seen, stack = [np.random.mtrand._rand], set(), list(roots)
    while stack and len(seen) < limit:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        t = type(o)
        if t in types:
            found.append(o)
            if t is _RandomState or isinstance(o, _RandomState):
                found.append(o._bit_generator)
            continue
        if t is types_module.ModuleType or isinstance(o, type):
            continue
        stack.extend(gc.get_referents(o))
    return found


def _other_threads():
    """Do threads other than this one run user code? yota's own background compiler (an idle
    daemon most of the time, and it never draws) does not count."""
    if threading.active_count() == 1:
        return False
    me = threading.current_thread()
    return any(t is not me and not t.name.startswith(_OWN_THREADS)
               for t in threading.enumerate())


_OWN_THREADS = "yota-"


class Watch:
    """The generators' states before tracing ``roots`` (the function and its arguments);
    ``drew()`` says after it whether the traced code drew random numbers (and how),
    ``restore()`` undoes the draws."""

    def __init__(self, roots=()):
        self.hooked = _hook_entropy()
        self.entropy = _entropy_draws
        # Other threads may create generators meanwhile, or draw from theirs: then only the
        # generators the call reaches are watched, new ones are not looked for, and nothing is
        # put back (the change may be another thread's draw).
        self.threads = _other_threads()
        gens = reachable_generators(roots) if self.threads else live_generators()
        self.before = [(g, state) for g in gens
                       for state in (_state(g),) if state is not None]
        self.promoted = not _GENERATIONAL   # may objects made since have left the young gens?
        self.created = None
        gc.callbacks.append(self._collecting)

    def _collecting(self, phase, info):
        if phase == "start" and info["generation"] >= 1:
            self.promoted = True

    def _stop(self):
        if self._collecting in gc.callbacks:
            gc.callbacks.remove(self._collecting)

    def drew(self):
        """None if tracing drew nothing; otherwise why we think it did, for the warning."""
        self._stop()
        if not self.hooked:
            return "this NumPy does not let yota see generators seeded from OS entropy"
        if _entropy_draws != self.entropy:
            return "a random generator was seeded from OS entropy while tracing"
        for g, state in self.before:
            now = _state(g)
            if now is not None and not _same(now, state):
                return f"the state of {_kind(g)} changed while tracing"
        for g in self._created():
            return f"{_kind(g)} created while tracing outlives the call"
        return None

    def _created(self):
        """Generators created while tracing and still alive (found once, after tracing)."""
        if self.created is None and self.threads:
            self._stop()
            self.created = []
        if self.created is None:
            self._stop()
            known = {id(g) for g, _ in self.before}
            self.created = [g for g in live_generators(young_only=not self.promoted)
                            if id(g) not in known]
        return self.created

    def restore(self):
        """Put every generator back in the state it had before tracing; one created while
        tracing goes back to the state its seed gave it (as if it had just been created).
        Not while other threads run: the change may be theirs."""
        if self.threads:
            self._stop()
            return
        for g, state in self.before:
            if not _same(_state(g), state):
                if isinstance(g, _RandomState):
                    g.set_state(state)
                else:
                    g.state = state
        for g in self._created():
            seed = getattr(g, "seed_seq", None)
            if isinstance(g, _BitGenerator) and isinstance(seed, np.random.SeedSequence):
                g.state = type(g)(seed).state


def _kind(g):
    if g is np.random.mtrand._rand:
        return "the global np.random generator"
    return f"a numpy.random.{type(g).__name__}"
