"""yota-numba: a compile backend that fuses elementwise chains into numba loops.

``BACKEND`` is the backend object (``name``, ``lower(program, template, fname)``,
``available()``). Until yota's backend hook lands it is used directly; ``yota_register_backends``
below is the one place where the hook will pick it up.
"""
from __future__ import annotations

from .lower import NumbaBackend

__all__ = ["BACKEND", "NumbaBackend", "yota_register_backends"]

BACKEND = NumbaBackend()


def yota_register_backends():
    """Hook implementation stub: the backends this pack provides (wired by the backend hook)."""
    return [BACKEND]
