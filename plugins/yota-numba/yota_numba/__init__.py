"""yota-numba: a compile backend that fuses elementwise chains into numba loops.

``BACKEND`` is the backend object (``name``, ``lower(program, template, fname)``,
``available()``), provided to yota through the ``yota_register_backends`` hook below (entry point
``numba`` in the group ``yota``): ``yota.grad(f, *args, backend="numba")``, or
``YOTA_BACKEND=numba`` for the process, or ``backend="auto"`` to compile it in the background.
"""
from __future__ import annotations

import yota

from .lower import NumbaBackend

__all__ = ["BACKEND", "NumbaBackend", "yota_register_backends"]

BACKEND = NumbaBackend()


@yota.hookimpl
def yota_register_backends(registry):
    """The backend this pack provides."""
    registry.add_backend(BACKEND)
