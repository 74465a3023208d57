"""Static graphs: trace once per signature, optimize the tape, generate straight-line NumPy code.

Public pieces:

- ``static_grad(f, args, kwargs, argnums, grad_dynamic)``: ``grad`` in static mode (what
  ``yota.grad`` calls), with the dynamic ``grad`` to fall back on;
- ``static_call(tag, f, args, kwargs, argnums, build, dynamic)``: the same machinery for any
  "trace this function, record more, compile these outputs" (see static.py);
- ``clear_cache()``, ``source(f, args, kwargs, argnums, grad_dynamic)`` (``yota.show_code``);
- ``trace.Template``/``trace.build_grad`` to describe outputs; ``interpret.run`` replays a
  Program op by op (the reference for the generated code).
"""
from .cache import CACHE, clear_cache, set_max_entries
from .static import compile_variant, source, static_call, static_grad

__all__ = ["static_grad", "static_call", "clear_cache", "source", "compile_variant",
           "set_max_entries", "CACHE"]
