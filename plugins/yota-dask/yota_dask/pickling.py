"""Pickling the loss for the workers: by value where it must be, yota primitives by reference.

cloudpickle sends a function defined in ``__main__`` or a notebook by value, and with it the
objects its globals name. A yota primitive imported from a pack (``from yota_nn import relu``)
would then arrive as a copy that the worker's registry does not know, and a pack primitive refuses
tracked values unless it is the registered object. So primitives that a module makes importable
are sent as "module.name" and looked up again on the worker.
"""
from __future__ import annotations

import io
import pickle
import sys

import cloudpickle
import yota

_where = {}   # id(primitive) -> (primitive, (module, name) or None)


def dumps(obj):
    """cloudpickle.dumps with yota primitives pickled by reference when importable."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


class _Pickler(cloudpickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, yota.Primitive):
            found = importable_name(obj)
            if found is not None:
                return import_attribute, found
        return super().reducer_override(obj)


def import_attribute(module, name):
    """The object ``module.name`` on the worker (the registered primitive itself)."""
    __import__(module)
    return getattr(sys.modules[module], name)


def importable_name(prim):
    """``(module, name)`` under which an imported module holds ``prim``, or None."""
    hit = _where.get(id(prim))
    if hit is not None and hit[0] is prim:
        return hit[1]
    found = None
    impl_module = getattr(prim.impl, "__module__", None)
    for name in (prim.name, getattr(prim.impl, "__name__", None)):
        module = sys.modules.get(impl_module or "")
        if name and module is not None and getattr(module, name, None) is prim:
            found = (impl_module, name)
            break
    if found is None:
        found = _search_modules(prim)
    _where[id(prim)] = (prim, found)
    return found


def _search_modules(prim):
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name == "__main__":
            continue
        try:
            namespace = vars(module)
        except TypeError:
            continue
        for name, value in list(namespace.items()):
            if value is prim:
                return module_name, name
    return None
