"""The cache of compiled programs: bounded, (approximately) least-recently-used, thread-safe.

A key (see key.py) maps to an ``Entry`` holding up to ``MAX_VARIANTS`` compiled variants (one per
set of guard outcomes). Reads take no lock: a lookup is one dict access and the variants live in
a tuple that writers replace whole. Writers (compiling, evicting, clearing) hold ``lock``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from ..packs import host

MAX_ENTRIES = 512
MAX_VARIANTS = 8


class Variant:
    """One compiled program: the function, its source (None for the interpreter) and guards;
    ``backend`` names who lowered it, ``note`` why it is not (yet) another backend's."""

    __slots__ = ("fn", "source", "program", "template", "name", "backend", "note")

    def __init__(self, fn, source, program, template, name, backend="numpy", note=None):
        self.fn, self.source, self.program, self.template, self.name = (
            fn, source, program, template, name)
        self.backend, self.note = backend, note


class Entry:
    """Everything compiled for one key. ``fns`` is what the hot path iterates."""

    __slots__ = ("variants", "fns", "dynamic", "refs", "used")

    def __init__(self, refs=()):
        self.used = False
        self.variants = ()
        self.fns = ()
        self.dynamic = False
        self.refs = refs       # objects whose id() is part of the key, kept alive

    def add(self, variant):
        with _entry_writes:
            self.variants = self.variants + (variant,)
            self.fns = tuple(v.fn for v in self.variants)

    def replace(self, old, new):
        """Put ``new`` where ``old`` is (a background compile finished); False if ``old`` is
        gone (evicted, fallen back). Readers see the old tuple or the new one, never a mix."""
        with _entry_writes:
            if not any(v is old for v in self.variants):
                return False
            self.variants = tuple(new if v is old else v for v in self.variants)
            self.fns = tuple(v.fn for v in self.variants)
            return True


_entry_writes = threading.Lock()   # variants and fns change together


class Cache:
    def __init__(self, max_entries=MAX_ENTRIES):
        self.max_entries = max_entries
        self.entries = OrderedDict()
        self.lock = threading.RLock()
        self.dynamic_functions = {}   # function identity -> reason it runs dynamically
        self.warned = set()           # function identities already warned about (not compiled)
        # Python scalars lifted into program inputs (scalars.py), per function identity:
        self.last_keys = {}           # the key it was last traced for
        self.scalar_retraces = {}     # (re-traces caused by scalars alone, their ordinals)
        self.lifted = {}              # the ordinals lifted now
        self.never_lift = set()       # lifting failed: keyed by value for good
        self.hits = 0
        self.misses = 0

    def get(self, key):
        entry = self.entries.get(key)
        if entry is not None:
            entry.used = True
        return entry

    def put(self, key, entry):
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            self._evict()

    def _evict(self):
        """Least recently used first, approximated the CLOCK way so that a hit costs one
        attribute write: an entry used since it last reached the front gets a second chance."""
        entries = self.entries
        chances = len(entries)
        while len(entries) > self.max_entries:
            key, entry = entries.popitem(last=False)
            if entry.used and chances > 0:
                entry.used = False
                entries[key] = entry
                chances -= 1

    def clear(self):
        with self.lock:
            self.entries.clear()
            self.dynamic_functions.clear()
            self.warned.clear()
            self.last_keys.clear()
            self.scalar_retraces.clear()
            self.lifted.clear()
            self.never_lift.clear()
            self.hits = self.misses = 0

    def __len__(self):
        return len(self.entries)


CACHE = Cache()


def clear_cache():
    """Forget every compiled program (and every function that fell back to dynamic mode)."""
    CACHE.clear()


host.on_reload(clear_cache)  # compiled graphs call the old primitives' code directly


def set_max_entries(n):
    """Bound the number of cached signatures (least recently used ones are dropped first)."""
    with CACHE.lock:
        CACHE.max_entries = int(n)
        CACHE._evict()
