"""Adding shard results: values and gradients (arrays, floats, path dicts, None) weighted,
summed in a tree on the workers, and divided once at the end."""
from __future__ import annotations

import collections

Partial = collections.namedtuple("Partial", "rows value grads")
Partial.__doc__ = "A shard's (or a sum of shards') rows, weighted value and weighted gradients."


def scale(g, weight):
    """``g * weight`` for every leaf; 1 leaves ``g`` as it is."""
    if g is None or weight == 1:
        return g
    if isinstance(g, dict):
        return {path: leaf * weight for path, leaf in g.items()}
    return g * weight


def add(a, b):
    """The sum of two gradients of one argument. A path missing from one side (a leaf that did
    not reach that shard's loss) counts as zero."""
    if a is None or b is None:
        return a if b is None else b
    if isinstance(a, dict):
        out = dict(a)
        for path, leaf in b.items():
            out[path] = out[path] + leaf if path in out else leaf
        return out
    return a + b


def combine(*parts):
    """The sum of several partials (one node of the reduction tree)."""
    rows, value, grads = parts[0]
    for p in parts[1:]:
        rows += p.rows
        value = value + p.value
        grads = [add(a, b) for a, b in zip(grads, p.grads)]
    return Partial(rows, value, grads)


def finish(total, reduction):
    """``(value, grads)`` of the whole data: divided by the number of rows for ``"mean"``."""
    if reduction == "sum":
        return total.value, total.grads
    n = total.rows
    return total.value / n, [None if g is None else _divide(g, n) for g in total.grads]


def _divide(g, n):
    if isinstance(g, dict):
        return {path: leaf / n for path, leaf in g.items()}
    return g / n
