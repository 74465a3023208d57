"""GradientResult: the gradients of one ``grad`` call, one entry per argument."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import tree as _tree
from .errors import InputError
from .kernel.tracked import Tracked

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator


class GradientResult:
    """``g[i]`` is the gradient w.r.t. argument ``i``.

    - an array argument gets an ndarray of its shape and dtype (zeros when it is not used), a
      0-d array a 0-d array;
    - a NumPy scalar argument gets a NumPy scalar of its type, a Python float a Python float
      (in both modes: ``yota.tracing.like_of``);
    - an attrs instance or a list/tuple/dict gets a dict ``path -> gradient`` holding only the
      leaves that reach the output, e.g. ``{('layers', 0, 'W'): array}``;
    - an argument that is not differentiated (integer labels, strings, None) gets ``None``.

    ``g.tree(i)`` gives the gradient of argument ``i`` in the argument's own structure instead
    (see ``tree``). The arrays belong to the caller: no later call writes into them.
    """

    # _like: the arguments of the call, when the caller stored them (``yota.grad`` does), for
    # ``tree``; left unset by the compiled code so the hot path does not pay for it.
    __slots__ = ("_grads", "_like")

    _grads: tuple[Any, ...]
    _like: tuple[Any, ...]

    def __init__(self, grads: Iterable[Any]) -> None:
        self._grads = tuple(grads)

    def __getitem__(self, i: int) -> Any:
        return self._grads[i]

    def __len__(self) -> int:
        return len(self._grads)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._grads)

    def tree(self, i: int, like: Any = None) -> Any:
        """The gradient of argument ``i`` in the argument's own structure: an attrs (or
        dataclass) instance, list, tuple or dict shaped like the argument, with the gradient at
        every float leaf (zeros where no gradient reached it) and ``None`` at leaves that are
        not differentiated (ints, strings...). An array or float argument gets ``g[i]``.

        ``like`` is the argument itself (only its structure and leaf shapes are read);
        ``yota.grad`` and ``vjp_fn`` remember their arguments, so it may be left out there.
        """
        g = self._grads[i]
        if type(g) is not dict:
            return g
        if like is None:
            stored = getattr(self, "_like", None)
            if stored is None:
                raise InputError(
                    f"GradientResult.tree({i}): this result does not know argument {i}'s "
                    f"structure; pass the argument: g.tree({i}, like=model)")
            like = stored[i]
        return structured(g, like)

    def __eq__(self, other: object) -> bool:
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "GradientResult(\n" + "".join(
            f"  [{i}] {_describe(g)}\n" for i, g in enumerate(self._grads)) + ")"


def structured(paths: dict[Any, Any], like: Any) -> Any:
    """A path dict of gradients -> a copy of ``like`` holding them (see GradientResult.tree)."""
    return _tree.map_leaves(
        lambda path, leaf: paths[path] if path in paths else _zeros_like(leaf), like)


def _zeros_like(leaf: Any) -> Any:
    """No gradient reached this leaf: zeros of its kind for a float, None for the rest."""
    if type(leaf) is Tracked:  # an argument that is a value of an outer tape
        if leaf.dtype.kind != "f":
            return None
        return np.zeros(leaf.shape, leaf.dtype) if leaf.shape else leaf.dtype.type(0)
    if isinstance(leaf, np.ndarray):
        return np.zeros(leaf.shape, leaf.dtype) if leaf.dtype.kind == "f" else None
    if isinstance(leaf, np.floating):
        return type(leaf)(0)
    if isinstance(leaf, float):
        return 0.0
    return None


def _describe(g: Any) -> str:
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
