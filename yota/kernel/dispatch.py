"""Dispatch: which implementation runs when a NumPy callable meets a tracked value.

The kernel owns the table, not its contents: it knows no NumPy function by name. Packs fill it
through the plugin host (``yota.packs``), which resolves conflicts first and then installs the
result here in one go. Dispatching an operation is a single dictionary lookup.
"""
from __future__ import annotations

import numpy as np

from ..errors import NoRuleError

__all__ = ["Dispatch", "DISPATCH"]


def _no_implementation(func):
    """The kernel's own message; the plugin host installs one that knows the packs."""
    name = getattr(func, "__name__", repr(func))
    return (f"yota: {name} has no yota implementation, so it cannot be traced; write a "
            "primitive with @yota.primitive and a rule with .defgrad, or compute it from "
            "functions yota knows.")


def _as_is(message):
    return message


class Dispatch:
    """NumPy callable -> implementation. ``ufuncs`` and ``functions`` are plain dicts, replaced
    in place (``install``) so that holders of a reference see every change."""

    def __init__(self):
        self.ufuncs = {}        # np.ufunc -> callable taking the ufunc's arguments
        self.functions = {}     # NumPy function, (ufunc, method), or a method name -> callable
        self.explain_missing = _no_implementation
        # message -> message, for a tracked value converted to an ndarray (the plugin host
        # installs one naming the SciPy function that did it)
        self.explain_conversion = _as_is

    def install(self, ufuncs, functions):
        """Replace the whole table (the plugin host calls this once per load)."""
        self.ufuncs.clear()
        self.ufuncs.update(ufuncs)
        self.functions.clear()
        self.functions.update(functions)

    def ufunc(self, ufunc):
        impl = self.ufuncs.get(ufunc)
        if impl is None:
            raise NoRuleError(self.explain_missing(ufunc))
        return impl

    def function(self, func):
        impl = self.functions.get(func)
        if impl is None:
            raise NoRuleError(self.explain_missing(func))
        return impl

    def lookup(self, func):
        """The implementation of a ufunc or function, or None."""
        table = self.ufuncs if isinstance(func, np.ufunc) else self.functions
        return table.get(func)


DISPATCH = Dispatch()
