"""GradientResult: the gradients of one ``grad`` call, one entry per argument."""
from __future__ import annotations

import numpy as np


class GradientResult:
    """``g[i]`` is the gradient w.r.t. argument ``i``.

    - an array argument gets an ndarray of its shape and dtype (zeros when it is not used), a
      0-d array a 0-d array;
    - a NumPy scalar argument gets a NumPy scalar of its type, a Python float a Python float
      (in both modes: ``yota.tracing.like_of``);
    - an attrs instance or a list/tuple/dict gets a dict ``path -> gradient`` holding only the
      leaves that reach the output, e.g. ``{('layers', 0, 'W'): array}``;
    - an argument that is not differentiated (integer labels, strings, None) gets ``None``.

    The arrays belong to the caller: no later call writes into them.
    """

    __slots__ = ("_grads",)

    def __init__(self, grads):
        self._grads = tuple(grads)

    def __getitem__(self, i):
        return self._grads[i]

    def __len__(self):
        return len(self._grads)

    def __iter__(self):
        return iter(self._grads)

    def __eq__(self, other):
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return "GradientResult(\n" + "".join(
            f"  [{i}] {_describe(g)}\n" for i, g in enumerate(self._grads)) + ")"


def _describe(g):
    if g is None:
        return "None (not differentiated)"
    if isinstance(g, dict):
        if not g:
            return "{} (no field reaches the output)"
        inner = ", ".join(f"{p!r}: {_describe(v)}" for p, v in g.items())
        return "{" + inner + "}"
    if isinstance(g, np.ndarray):
        if g.size <= 6:
            return f"array({np.array2string(g, separator=', ')}, dtype={g.dtype})"
        return f"<{g.dtype} array of shape {g.shape}>"
    return repr(g)
