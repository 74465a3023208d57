"""One LAPACK call per decomposition: the outputs of eigh, svd, qr and lstsq are separate
primitives (one array each), and their rules ask for the other outputs, so without a memo a
gradient through a full SVD would run the SVD many times.

A ``Memo`` keeps the results for the last few inputs while those input arrays live (a weak
reference drops the entry when the input is freed, e.g. when a tape is released). A hit needs the
same array object *and* the same contents, compared with a copy taken at the time: a static graph
may write a later value into a dead buffer of the same shape, which keeps its identity. The output
primitives hand out copies of the results, so no holder of an output can change what the memo
hands out next.
"""
from __future__ import annotations

import weakref

import numpy as np

__all__ = ["Memo"]


class Memo:
    """``Memo(fn)(*arrays, **options)`` is ``fn(*arrays, **options)``, computed once for equal
    inputs that are still alive. ``fn`` returns a tuple of arrays."""

    def __init__(self, fn, size=4):
        self.fn = fn
        self.size = size
        self.entries = {}

    def __call__(self, *arrays, **options):
        try:
            key = (tuple(id(a) for a in arrays), tuple(sorted(options.items())))
            hash(key)
        except TypeError:            # an option that is an array (rcond per matrix): no memo
            return self.fn(*arrays, **options)
        entry = self.entries.get(key)
        if entry is not None:
            refs, saved, result = entry
            if all(r() is a for r, a in zip(refs, arrays)) and all(
                    _same(s, a) for s, a in zip(saved, arrays)):
                return result
        result = self.fn(*arrays, **options)
        try:
            drop = self._dropper(key)
            refs = tuple(weakref.ref(a, drop) for a in arrays)
        except TypeError:            # a list or a NumPy scalar: not weak-referenceable
            return result
        saved = tuple(np.array(a, copy=True) for a in arrays)
        entries = self.entries
        while len(entries) >= self.size:       # the oldest goes first
            try:
                entries.pop(next(iter(entries)))
            except (StopIteration, KeyError, RuntimeError):  # emptied by another thread
                break
        entries[key] = (refs, saved, result)
        return result

    def _dropper(self, key):
        entries = self.entries

        def drop(ref):   # may run inside any allocation (GC): no lock, one dict operation
            entry = entries.get(key)
            if entry is not None and any(r is ref for r in entry[0]):
                entries.pop(key, None)

        return drop

    def clear(self):
        self.entries.clear()


def _same(saved, a):
    return (isinstance(a, np.ndarray) and saved.shape == a.shape and saved.dtype == a.dtype
            and np.array_equal(saved, a))
