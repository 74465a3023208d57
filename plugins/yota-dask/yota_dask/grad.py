"""``yota_dask.grad``: ``yota.grad`` over data held by Dask workers.

One step: the loss and the broadcast arguments are scattered to every worker once; one task per
shard runs where its chunks live and returns weighted gradients; the partial results are summed
in a tree of tasks on the workers; only the total comes back to the client.
"""
from __future__ import annotations

import hashlib
import numbers
import uuid

import attrs
import dask
import numpy as np
import yota

from . import combine, pickling
from .errors import argument, describe
from .split import find_split, layout
from .worker import Step, shard_gradient

REDUCTIONS = ("mean", "sum")
FAN_IN = 4   # partial results summed per task of the reduction tree


def grad(f, *args, dynamic=False, argnums=None, reduction="mean", client=None, **kwargs):
    """``(value, GradientResult)`` of ``f`` over all rows of its dask-array arguments.

    Arguments that are dask arrays are split by their chunks along axis 0, one task per chunk;
    every other argument goes to every worker. ``f`` must be a mean over rows
    (``reduction="mean"``, the default: shards are weighted by their rows) or a sum
    (``reduction="sum"``). Dask arguments are data and are never differentiated (their ``g[i]``
    is None). ``client`` defaults to the current Dask client.
    """
    return _run("yota_dask.grad", f, args, kwargs, dynamic, argnums, reduction, client)


class value_and_grad:
    """``value_and_grad(f, argnums=0)(*args)`` -> ``(value, GradientResult)``, like
    ``yota.value_and_grad``, with the data split across Dask workers as in ``yota_dask.grad``."""

    def __init__(self, f, argnums=0, *, dynamic=False, reduction="mean", client=None):
        self.f, self.argnums, self.dynamic = f, argnums, dynamic
        self.reduction, self.client = reduction, client

    def __call__(self, *args, **kwargs):
        return _run("yota_dask.value_and_grad", self.f, args, kwargs, self.dynamic,
                    self.argnums, self.reduction, self.client)

    def __repr__(self):
        return f"<yota_dask.value_and_grad of {describe(self.f)}>"


def _run(name, f, args, kwargs, dynamic, argnums, reduction, client):
    if reduction not in REDUCTIONS:
        raise yota.InputError(
            f"{name}({describe(f)}): reduction={reduction!r}; say how the loss reduces over "
            "rows: reduction='mean' (the default) or reduction='sum'")
    split = find_split(name, f, args, kwargs)
    nums = _argnums(name, f, args, argnums, split)
    shape = layout(name, f, split)
    client = _client(name, f, client)
    rest = [None if i in split else a for i, a in enumerate(args)]
    rest_kw = {k: v for k, v in kwargs.items() if k not in split}
    pickled = _pickle(name, f)
    step = Step(hashlib.sha256(pickled).hexdigest(), pickled, rest, rest_kw, shape.split_at,
                nums, dynamic, reduction)
    [step_future] = client.scatter([step], broadcast=True, hash=False)
    try:
        homes = _homes(client, shape.shards)
        total = client.compute(_graph(step_future, shape.shards, homes)).result()
    finally:
        step_future.release()
    value, grads = combine.finish(total, reduction)
    out = [None] * len(args)
    for i, g in enumerate(grads):
        if i < len(out) and i not in split:
            out[i] = g
    return value, yota.GradientResult(out)


def _homes(client, shards):
    """Per shard, the worker holding most of its chunks (None when they are not in memory).

    A shard task's dependencies are few task groups, so the scheduler treats the shard tasks as
    "root-ish" and may hand them to any free worker, ignoring where the chunks are: rows would
    then move every step. A loose worker restriction keeps each task beside its data and still
    lets another worker take over when that one dies.
    """
    keys = [chunk.key for chunks in shards for chunk in chunks]
    who_has = client.who_has(keys)
    homes = []
    for chunks in shards:
        count = {}
        for chunk in chunks:
            for worker in who_has.get(chunk.key, ()):
                count[worker] = count.get(worker, 0) + 1
        homes.append(max(count, key=count.get) if count else None)
    return homes


def _graph(step_future, shards, homes):
    """One task per shard (beside its chunks), then sums of FAN_IN partials until one is
    left."""
    token = uuid.uuid4().hex
    level = []
    for i, (chunks, home) in enumerate(zip(shards, homes)):
        where = {} if home is None else {"workers": [home], "allow_other_workers": True}
        with dask.annotate(**where):
            level.append(dask.delayed(shard_gradient, pure=False)(
                step_future, *chunks, dask_key_name=f"yota-shard-{token}-{i}"))
    depth = 0
    while len(level) > 1:
        depth += 1
        level = [dask.delayed(combine.combine, pure=False)(
            *level[i:i + FAN_IN], dask_key_name=f"yota-sum-{token}-{depth}-{i}")
            for i in range(0, len(level), FAN_IN)]
    return level[0]


def _argnums(name, f, args, argnums, split):
    """The positions to differentiate: the given ones, which must not be dask arrays, or
    (argnums=None) every argument yota would differentiate that is not a dask array."""
    n = len(args)
    if argnums is None:
        nums = tuple(i for i, a in enumerate(args) if i not in split and _differentiable(a))
        if not nums:
            raise yota.InputError(
                f"{name}({describe(f)}): no argument to differentiate: the dask arrays are data, "
                "and no other argument holds floats. Pass the parameters (an array, a float, an "
                "attrs model) as positional arguments")
        return nums
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not isinstance(i, int) or not -n <= i < n:
            raise yota.InputError(
                f"{name}({describe(f)}): argnums={argnums!r} is out of range: it was called "
                f"with {n} positional argument(s)")
        if i % n in split:
            raise yota.InputError(
                f"{name}({describe(f)}): argnums={argnums!r} names {argument(f, i % n)}, a "
                "dask array; its rows are split across workers and are data, not parameters. "
                "Leave it out of argnums, or compute it and call yota.grad to differentiate it")
    return argnums if isinstance(argnums, int) else tuple(i % n for i in nums)


def _differentiable(a):
    """What yota.grad with argnums=None would walk for float leaves."""
    if isinstance(a, (list, tuple, dict)) or attrs.has(type(a)):
        return True
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype.kind == "f"
    return isinstance(a, numbers.Real) and not isinstance(a, numbers.Integral)


def _client(name, f, client):
    if client is not None:
        return client
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        raise yota.YotaError(
            f"{name}({describe(f)}): no Dask client is running; start one first: "
            "dask.distributed.Client() for a LocalCluster on this machine, "
            "Client('tcp://scheduler:8786') for a cluster, or pass client=") from None


def _pickle(name, f):
    try:
        return pickling.dumps(f)
    except Exception as e:
        raise yota.InputError(
            f"{name}({describe(f)}): the loss function cannot be pickled for the workers "
            f"({type(e).__name__}: {e}); define it at module level or in __main__ and keep "
            "unpicklable objects (locks, open files, clients) out of its closure") from e
