"""What runs on a Dask worker: the gradient of one shard, with yota in static mode.

The client scatters one ``Step`` per step to every worker; each shard task receives it (by key,
not pickled into the task) together with its chunks, calls ``yota.grad`` and returns a
``Partial``: the shard's value and gradients, already weighted for the reduction.
"""
from __future__ import annotations

import collections
import threading

import cloudpickle
import numpy as np
import yota

from . import pickling
from .combine import Partial, scale

MAX_FUNCTIONS = 64   # loss functions kept per worker process (one per distinct pickled form)

_functions = collections.OrderedDict()
_lock = threading.Lock()


class Step:
    """Everything a shard needs besides its chunks: the loss (pickled, with a digest of the
    pickle), the broadcast arguments, and where the chunks go."""

    __slots__ = ("digest", "pickled_f", "args", "kwargs", "split_at", "argnums", "dynamic",
                 "reduction")

    def __init__(self, digest, pickled_f, args, kwargs, split_at, argnums, dynamic, reduction):
        self.digest = digest
        self.pickled_f = pickled_f
        self.args = args
        self.kwargs = kwargs
        self.split_at = split_at      # per chunk: a position (int) or a keyword (str)
        self.argnums = argnums
        self.dynamic = dynamic
        self.reduction = reduction

    def __reduce__(self):
        # Pickled with cloudpickle (see pickling.py) whatever pickler Dask picks: a model whose
        # class lives in __main__ or a test module must travel by value, primitives by name.
        return _load_step, (pickling.dumps([getattr(self, k) for k in self.__slots__]),)


def _load_step(pickled):
    return Step(*cloudpickle.loads(pickled))


def loss_function(step):
    """The same function object for the same pickled bytes.

    A function pickled by value (defined in ``__main__`` or a notebook) unpickles as a new object
    with new globals every step, and yota's static cache would then compile every step. Keying
    by the pickle's digest gives back the first copy, so a worker compiles once per shard shape;
    a function whose closure or globals changed pickles differently and gets its own entry.
    """
    with _lock:
        f = _functions.get(step.digest)
        if f is not None:
            _functions.move_to_end(step.digest)
            return f
    f = cloudpickle.loads(step.pickled_f)
    with _lock:
        f = _functions.setdefault(step.digest, f)
        while len(_functions) > MAX_FUNCTIONS:
            _functions.popitem(last=False)
    return f


def shard_gradient(step, *chunks):
    """``yota.grad`` of the loss on one shard, weighted by its rows for ``reduction="mean"``."""
    f = loss_function(step)
    args = list(step.args)
    kwargs = dict(step.kwargs)
    chunks = [_aligned(c) for c in chunks]
    for where, chunk in zip(step.split_at, chunks):
        if isinstance(where, int):
            args[where] = chunk
        else:
            kwargs[where] = chunk
    value, g = yota.grad(f, *args, dynamic=step.dynamic, argnums=step.argnums, **kwargs)
    rows = len(chunks[0])
    weight = rows if step.reduction == "mean" else 1
    return Partial(rows, scale(value, weight), [scale(x, weight) for x in g])


def _aligned(chunk):
    """The chunk, copied if unaligned: arrays unpickled from Dask's wire format can start at
    any byte, and BLAS is then several times slower than copying them is."""
    if isinstance(chunk, np.ndarray) and not chunk.flags.aligned:
        return chunk.copy()
    return chunk
