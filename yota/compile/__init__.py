"""Static graphs: trace once per signature, optimize the tape, generate straight-line NumPy code.

Public pieces:

- ``static_call(spec, f, args, kwargs, argnums)``: the static executor of every transform
  (``yota.grad`` included): trace, let ``spec.build`` record the transform and choose the
  outputs, compile, cache, replay; ``spec.dynamic`` is the fallback (see static.py). ``Spec``
  makes an ad-hoc spec from a tag, a build callback and a dynamic thunk;
- ``clear_cache()``, ``source(spec, f, args, kwargs, argnums)`` (``yota.show_code``);
- compile backends (backends.py): ``"numpy"`` (default), ``"interpret"``, those packs provide,
  and ``"auto"``, whose fused tier compiles in the background (tiers.py:
  ``wait_for_background()``); ``diskcache`` is the secure on-disk cache backends share;
- ``trace.Template`` to describe outputs; ``interpret.run`` replays a Program op by op (the
  reference for the generated code).
"""
from .cache import CACHE, clear_cache, set_max_entries
from .static import Spec, compile_variant, source, static_call
from .tiers import wait_for_background

__all__ = ["static_call", "Spec", "clear_cache", "source", "compile_variant",
           "set_max_entries", "CACHE", "wait_for_background"]
