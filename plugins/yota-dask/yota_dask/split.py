"""Which arguments are split across workers, and how: dask arrays, by their chunks along axis 0.

Every dask argument must have the same number of rows; the chunks of the first one set the
shards, and the others are rechunked to match (lazily: persist arrays chunked alike to avoid
moving rows every step). Chunks along the other axes are merged, since a shard is a block of
whole rows.
"""
from __future__ import annotations

import math

import dask.array as da
import yota

from .errors import argument as _arg, describe


class Layout:
    """The split arguments (their positions or keywords) and their chunks, one list per shard."""

    def __init__(self, split_at, shards, rows):
        self.split_at = split_at    # tuple of int positions and str keywords
        self.shards = shards        # per shard: a list of Delayed chunks, one per split argument
        self.rows = rows            # rows per shard


def find_split(name, f, args, kwargs):
    """``{position or keyword: dask array}`` for the arguments that are dask arrays."""
    found = {i: a for i, a in enumerate(args) if isinstance(a, da.Array)}
    found.update((k, a) for k, a in kwargs.items() if isinstance(a, da.Array))
    for where, a in [*enumerate(args), *kwargs.items()]:
        if isinstance(a, (list, tuple, dict)):
            items = a.values() if isinstance(a, dict) else a
            if any(isinstance(x, da.Array) for x in items):
                raise yota.InputError(
                    f"{name}({describe(f)}): {_arg(f, where)} holds a dask array inside a "
                    f"{type(a).__name__}; only dask arrays passed directly as arguments are "
                    "split across workers. Pass each dask array as its own argument")
    if not found:
        raise yota.InputError(
            f"{name}({describe(f)}): no argument is a dask array, so there is nothing to split "
            "across workers. Wrap the data with dask.array.from_array(X, chunks=(rows, -1)) "
            "(and .persist() it), or call yota.grad for data in this process")
    return found


def layout(name, f, split):
    """Check and align the dask arguments; returns a Layout."""
    rows = check(name, f, split)
    aligned = align(split, rows)
    per_arg = [a.to_delayed().ravel() for a in aligned.values()]
    keep = [i for i, n in enumerate(rows) if n > 0]   # empty chunks hold nothing to add
    shards = [[chunks[i] for chunks in per_arg] for i in keep]
    return Layout(tuple(aligned), shards, [rows[i] for i in keep])


def check(name, f, split):
    """Refuse dask arguments that cannot be split alike; returns the row chunks to use."""
    first_at, first = next(iter(split.items()))
    for where, a in split.items():
        if a.ndim == 0:
            raise yota.InputError(
                f"{name}({describe(f)}): {_arg(f, where)} is a 0-d dask array, which has no rows "
                "to split; pass it as a NumPy array or a number (it then goes to every worker)")
        if any(math.isnan(c) for c in a.chunks[0]):
            raise yota.InputError(
                f"{name}({describe(f)}): {_arg(f, where)} has chunks of unknown size along axis "
                "0 (after boolean indexing, say); call .compute_chunk_sizes() on it first")
        if a.shape[0] != first.shape[0]:
            raise yota.InputError(
                f"{name}({describe(f)}): {_arg(f, where)} has {a.shape[0]} rows but "
                f"{_arg(f, first_at)} has {first.shape[0]}; the dask arguments are split by "
                "rows, so they must all have the same number of rows (axis 0)")
    if first.shape[0] == 0:
        raise yota.InputError(
            f"{name}({describe(f)}): {_arg(f, first_at)} has no rows; there is nothing to "
            "differentiate over")
    return first.chunks[0]


def align(split, rows):
    """The dask arguments with ``rows`` as their chunks along axis 0 and whole rows."""
    out = {}
    for where, a in split.items():
        if a.chunks[0] != rows or any(len(c) > 1 for c in a.chunks[1:]):
            a = a.rechunk({0: rows, **{axis: -1 for axis in range(1, a.ndim)}})
        out[where] = a
    return out
