"""The exceptions yota raises. Every message names the function, the argument and a way out."""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType

_YOTA_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class YotaError(Exception):
    """Base class of every error yota raises on purpose."""


class NoRuleError(YotaError, TypeError):
    """A function reached during tracing or backward has no primitive or no gradient rule."""


class NotScalarError(YotaError, ValueError):
    """``grad`` was asked to differentiate an output that is not one real float."""


class InPlaceError(YotaError, TypeError):
    """A tracked array was written to in place, which would make its recorded value a lie."""


class InputError(YotaError, TypeError):
    """An argument cannot be differentiated (complex, object, integer where floats are needed)."""


class RuleError(YotaError, ValueError):
    """A gradient rule returned something of the wrong shape or kind."""


class ConcretizationError(YotaError, TypeError):
    """A tracked float value was turned into a Python number (``float(x)``, ``x.item()``,
    ``math.exp(x)``...), which would silently drop its gradient."""


class PluginError(YotaError):
    """Plugins conflict, or a plugin registered something invalid."""


class BackendError(YotaError, ValueError):
    """A compile backend was asked for that is unknown, not installed, or whose pack failed."""


class PluginConflictError(PluginError):
    """Kept for code written against 0.1, which caught it; yota no longer raises it: since
    packs register data, a conflict disables only the contested function, with a warning
    (``yota.packs.conflicts``)."""


def reject_out(name: str, out: object) -> None:
    """NumPy's ``out=`` writes in place; a recorded value must never change under the tape."""
    if out is not None:
        raise InPlaceError(
            f"yota: numpy.{name}(..., out=...) writes into an array in place, which cannot be "
            "recorded; drop out= and use the returned value"
        )


def a_or_an(word: object) -> str:
    """``word`` with its indefinite article, for messages: ``a_or_an(type(x).__name__)`` gives
    "an int", "a float", "an Adam", "a ndarray"... (a vowel sound by its first letter; "an
    ndarray" is how NumPy's own messages read it)."""
    text = str(word)
    first = text[:1].lower()
    vowel = first in "aeiou" or text.startswith(("nd", "NaN", "SGD", "RMS", "MLP"))
    if text.lower().startswith(("uint", "uni", "use", "one")):   # "a uint8", "a user class"
        vowel = False
    return f"{'an' if vowel else 'a'} {text}"


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` called from the function calling this one that
    points at the first frame outside yota: a warning names the user's line, not yota's."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_YOTA_DIR):
        frame, level = frame.f_back, level + 1
    return level
