"""The kernel: tracked values, the tape, primitives with their rules, the backward pass, and the
dispatch table. It knows no NumPy function by name; packs (``yota.core_pack`` first) fill the
dispatch table through the plugin host.

Modules, in import order: ``dispatch`` (NumPy callable -> implementation), ``tracked`` (the value
being traced), ``writes`` (in-place writes and views: the states a tracked value goes through),
``tape`` (what was recorded), ``primitive`` (a function with its rules), ``unbroadcast`` (the
engine's own primitives), ``backward`` (the engine).
"""
from .backward import backward
from .dispatch import DISPATCH
from .primitive import Primitive, defgrad, nondifferentiable, primitive, stop_gradient
from .tape import Tape, reentered, tracing
from .tracked import Tracked

__all__ = ["DISPATCH", "Tracked", "Tape", "tracing", "reentered", "Primitive", "primitive",
           "defgrad", "nondifferentiable", "stop_gradient", "backward"]
