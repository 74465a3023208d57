"""Walking arguments: attrs classes, dataclasses, lists, tuples and dicts, down to their leaves.

A path names a leaf from the argument down: attribute names for attrs and dataclass fields,
positions for lists and tuples, keys for dicts, e.g. ``('layers', 0, 'W')``. Rebuilding copies
containers and instances (frozen ones too) and never mutates what the user passed in.

A field marked constant (``constant_field()``, or ``metadata={"yota": "constant"}``) is walked
like the others but is never differentiated nor updated: an ``eps`` or a fixed scale.
"""
from __future__ import annotations

import copy
import dataclasses

import attrs

CONSTANT_KEY = "yota"
CONSTANT = "constant"

_FIELDS = {}     # class -> its attrs/dataclass field names, or None for any other class
_CONSTANTS = {}  # class -> the names of its fields marked constant (a frozenset)


def _fields_of(cls):
    if attrs.has(cls):
        return attrs.fields(cls)
    if dataclasses.is_dataclass(cls) and isinstance(cls, type):
        return dataclasses.fields(cls)
    return None


def field_names(cls):
    """The attrs or dataclass field names of ``cls`` (None for other classes), looked up once."""
    try:
        return _FIELDS[cls]
    except KeyError:
        fields = _fields_of(cls)
        _FIELDS[cls] = names = None if fields is None else tuple(f.name for f in fields)
        _CONSTANTS[cls] = frozenset(
            f.name for f in fields or () if (f.metadata or {}).get(CONSTANT_KEY) == CONSTANT)
        return names


def constant_names(cls):
    """The names of the fields of ``cls`` marked constant (never differentiated or updated)."""
    try:
        return _CONSTANTS[cls]
    except KeyError:
        field_names(cls)
        return _CONSTANTS[cls]


def constant_field(*, metadata=None, dataclass=False, **kwargs):
    """A field that is part of the model but is not trained: ``eps: float =
    yota.constant_field(default=1e-5)`` in an attrs class (``attrs.field`` arguments), or
    ``yota.constant_field(default=1e-5, dataclass=True)`` in a dataclass (same as
    ``dataclasses.field(default=1e-5, metadata={"yota": "constant"})``)."""
    metadata = {**(metadata or {}), CONSTANT_KEY: CONSTANT}
    make = dataclasses.field if dataclass else attrs.field
    return make(metadata=metadata, **kwargs)


def is_node(x):
    """Does ``x`` contain leaves (attrs or dataclass instance, list, tuple or dict)?"""
    return isinstance(x, (list, tuple, dict)) or field_names(type(x)) is not None


def children(x):
    """``(key, child)`` pairs of a node."""
    if isinstance(x, dict):
        return list(x.items())
    if isinstance(x, (list, tuple)):
        return list(enumerate(x))
    return [(name, getattr(x, name)) for name in field_names(type(x))]


_SLOTS = {}  # class -> every slot name along its MRO (attrs slotted classes keep state there)


def _slot_names(cls):
    try:
        return _SLOTS[cls]
    except KeyError:
        names = []
        for klass in cls.__mro__:
            slots = klass.__dict__.get("__slots__", ())
            names += [slots] if isinstance(slots, str) else list(slots)
        names = tuple(n for n in dict.fromkeys(names) if n not in ("__dict__", "__weakref__"))
        _SLOTS[cls] = names
        return names


def _shallow_clone(x):
    """What copy.copy does for an attrs instance, without its pickle-protocol detour (this runs
    on every call of grad and of an optimizer)."""
    cls = type(x)
    clone = object.__new__(cls)
    state = getattr(x, "__dict__", None)
    if state is not None:
        clone.__dict__.update(state)
    for name in _slot_names(cls):
        try:
            object.__setattr__(clone, name, object.__getattribute__(x, name))
        except AttributeError:  # an unset slot (e.g. a cached_property not computed yet)
            pass
    return clone


def leaves(x, path=(), trainable=False):
    """Yield ``(path, leaf)`` for every leaf of ``x``, depth first, in field order;
    ``trainable=True`` leaves out fields marked constant (and everything under them)."""
    if is_node(x):
        skip = constant_names(type(x)) if trainable else ()
        for key, child in children(x):
            if key not in skip or isinstance(x, (dict, list, tuple)):
                yield from leaves(child, path + (key,), trainable)
    else:
        yield path, x


def map_leaves(fn, x, path=(), trainable=False):
    """A copy of ``x`` with every leaf replaced by ``fn(path, leaf)``; ``trainable=True`` keeps
    fields marked constant as they are (``fn`` does not see them)."""
    if not is_node(x):
        return fn(path, x)
    if isinstance(x, dict):
        new = {k: map_leaves(fn, v, path + (k,), trainable) for k, v in x.items()}
        return new if type(x) is dict else _rebuild_mapping(x, new)
    if isinstance(x, list):
        new = [map_leaves(fn, v, path + (i,), trainable) for i, v in enumerate(x)]
        return new if type(x) is list else _rebuild_sequence(x, new)
    if isinstance(x, tuple):
        new = [map_leaves(fn, v, path + (i,), trainable) for i, v in enumerate(x)]
        if type(x) is tuple:
            return tuple(new)
        if hasattr(x, "_fields"):  # namedtuple
            return type(x)(*new)
        return _rebuild_sequence(x, new)
    clone = _shallow_clone(x)
    skip = constant_names(type(x)) if trainable else ()
    for name in field_names(type(x)):
        if name in skip:
            continue
        # object.__setattr__ works for frozen and slotted classes and skips validators and
        # converters, which may not accept tracked values.
        object.__setattr__(clone, name,
                           map_leaves(fn, getattr(x, name), path + (name,), trainable))
    return clone


def _rebuild_mapping(x, new):
    try:
        clone = copy.copy(x)
        clone.clear()
        clone.update(new)
        return clone
    except Exception:
        return type(x)(new)


def _rebuild_sequence(x, new):
    try:
        return type(x)(new)
    except Exception:
        return list(new) if isinstance(x, list) else tuple(new)


def get_path(x, path):
    """The leaf of ``x`` at ``path``."""
    for key in path:
        x = x[key] if isinstance(x, (list, tuple, dict)) else getattr(x, key)
    return x


def replace_paths(x, updates):
    """A copy of ``x`` where the leaf at each path of the dict ``updates`` takes its value."""
    return map_leaves(lambda p, leaf: updates[p] if p in updates else leaf, x)
