"""``yota_dask.persist``: put the rows of several arrays on the workers so that each shard's
chunks are on one worker and every worker holds an equal run of consecutive shards.

``client.persist`` places each array's chunks independently: chunk i of ``X`` and of ``y`` can
land on different workers (so a step moves one of them), and a worker can get most of the
chunks (so it does most of the work). Data that is persisted once and used for many steps is
worth placing on purpose.
"""
from __future__ import annotations

import dask.array as da
from dask.highlevelgraph import HighLevelGraph

from .split import align, check, find_split


def persist(*arrays, client=None):
    """The dask arrays, chunked alike along axis 0 (as ``yota_dask.grad`` splits them),
    computed and held on the workers: chunk i of every array on the same worker, consecutive
    chunks on the same worker, as many chunks per worker as possible alike. A worker that dies
    loses nothing for good: the chunks are recomputed elsewhere from their lineage."""
    from .grad import _client

    name = "yota_dask.persist"
    split = find_split(name, persist, arrays, {})
    non_dask = [i for i in range(len(arrays)) if i not in split]
    if non_dask:
        import yota

        raise yota.InputError(
            f"{name}: argument {non_dask[0]} is a {type(arrays[non_dask[0]]).__name__}, not a "
            "dask array; wrap it with dask.array.from_array(a, chunks=(rows, -1))")
    client = _client(name, persist, client)
    aligned = align(split, check(name, persist, split))
    workers = sorted(client.scheduler_info()["workers"])
    out = []
    for a in aligned.values():
        blocks = a.to_delayed().ravel()
        owners = [workers[i * len(workers) // len(blocks)] for i in range(len(blocks))]
        futures = [client.compute(b, workers=[w], allow_other_workers=True)
                   for b, w in zip(blocks, owners)]
        # The array's own keys now name futures: an array like client.persist returns.
        graph = HighLevelGraph.from_collections(a.name, {f.key: f for f in futures})
        out.append(da.Array(graph, a.name, a.chunks, meta=a._meta))
    return out if len(out) > 1 else out[0]
