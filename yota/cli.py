"""The ``yota`` command (also ``python -m yota``): what packs are loaded and who provides a rule.

    yota plugins        packs with their distribution versions and primitive counts; disabled
                        and failed packs are listed with the reason, never fatal; then the
                        compile backends, with their pack and whether they are available
    yota rules NAME     which pack implements NAME (``sin``, ``np.linalg.inv``,
                        ``scipy.special.erf``, a primitive name) and for which arguments it has
                        gradient rules
"""
from __future__ import annotations

import argparse
import operator
import sys
import warnings

import numpy as np

from . import __version__
from .compile import backends
from .kernel.primitive import Primitive
from .packs import host as plugins
from .registry import REGISTRY, missing_rule_message, numpy_name
from .testing import missing_rules, parameters, primitives_used_by

__all__ = ["main"]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="yota", description="yota: reverse-mode automatic differentiation for NumPy code")
    parser.add_argument("--version", action="store_true", help="print yota's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("plugins", help="list the loaded packs (plugins), their primitives and "
                                       "the compile backends")
    rules = sub.add_parser("rules", help="show which pack provides a function and its rules")
    rules.add_argument("name", nargs="?",
                       help="e.g. sin, np.sum, numpy.linalg.inv, scipy.special.erf")
    rules.add_argument("--all", action="store_true",
                       help="every function yota differentiates, per pack, with its rules")
    rules.add_argument("--markdown", action="store_true",
                       help="with --all: as the Markdown of docs/supported-functions.md")
    args = parser.parse_args(argv)
    if args.command == "rules" and (args.name is None) == (not args.all):
        parser.error("yota rules: give a NAME or --all")
    try:
        return _run(parser, args, sys.stdout)
    except BrokenPipeError:  # `yota plugins | head`
        return 0


def _run(parser, args, out):
    if args.version:
        print(f"yota {__version__}", file=out)
        return 0
    if args.command == "plugins":
        return cmd_plugins(out)
    if args.command == "rules" and args.all:
        return cmd_rules_all(out, args.markdown)
    if args.command == "rules":
        return cmd_rules(args.name, out)
    parser.print_help(out)
    return 2


def _load():
    """Load the packs; failures are reported by the commands, so their warnings are silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plugins.ensure_loaded()
    return plugins


# --- yota plugins ------------------------------------------------------------------------------
def cmd_plugins(out):
    """List every pack with its status, then the reasons: never raises, always exits 0."""
    try:
        plugins = _load()
    except Exception as exc:  # a diagnosis tool must not die of what it diagnoses
        print(f"yota plugins: loading the packs raised {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 1
    rows = [("PACK", "VERSION", "STATUS", "PRIMITIVES", "FUNCTIONS")]
    notes = []
    infos = sorted(plugins.PLUGINS.values(), key=lambda i: (i.name != plugins.CORE_NAME, i.name))
    for info in infos:
        loaded = info.status == "loaded"
        rows.append((info.name, info.version or "-", info.status,
                     str(info.primitives) if loaded else "-",
                     str(info.functions) if loaded else "-"))
        if info.status == "failed":
            notes.append(f"{info.name} failed to load and was skipped: {info.error}")
        elif info.status == "disabled":
            notes.append(f"{info.name} is disabled by YOTA_DISABLE_PLUGINS")
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip(), file=out)
    for conflict in REGISTRY.conflicts:
        notes.append(f"{'conflict' if conflict.warns else 'override'}: {conflict.message()}")
    for name, packs in sorted(REGISTRY.shared.items()):
        own = ", ".join(f"{p}:{name}" for p in packs)
        notes.append(f"shared primitive name {name}: {', '.join(packs)} (each pack uses its "
                     f"own: {own})")
    if plugins.UNKNOWN_DISABLED:
        names = ", ".join(plugins.UNKNOWN_DISABLED)
        notes.append(f"YOTA_DISABLE_PLUGINS names {names}, which matches no installed pack")
    for note in notes:
        print(note, file=out)
    loaded = sum(i.status == "loaded" for i in infos)
    print(f"{loaded} pack(s) loaded", file=out)
    _print_backends(out)
    return 0


def _print_backends(out):
    """The compile backends: name, pack, available or why not, and which one is the default."""
    try:
        listing = backends.listing()
    except Exception as exc:
        print(f"compile backends: listing them raised {type(exc).__name__}: {exc}", file=out)
        return
    rows = [("BACKEND", "PACK", "AVAILABLE")]
    for name, pack, ok, reason in listing:
        rows.append((name, pack, "yes" if ok else f"no: {reason}"))
    widths = [max(len(r[c]) for r in rows) for c in range(2)]
    print(file=out)
    for r in rows:
        print("  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2]]).rstrip(),
              file=out)
    print(f"default backend: {backends.DEFAULT} (set with {backends.ENV}; \"auto\" switches "
          "to a fused backend once it has compiled)", file=out)


# --- yota rules NAME ---------------------------------------------------------------------------
def display_name(key):
    """How a registry key reads: numpy.sin, numpy.linalg.inv, scipy.special.erf, ndarray.astype."""
    if isinstance(key, str):
        return f"ndarray.{key}"
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "like":   # np.zeros(s, like=x)
        return f"{display_name(key[1])}(..., like=x)"
    if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], np.ufunc):
        return f"numpy.{key[0].__name__}.{key[1]}"
    if key in (operator.getitem, operator.setitem):
        return f"operator.{key.__name__}"
    if isinstance(key, np.ufunc):
        module = type(key).__module__  # ufuncs carry no module; scipy's live in scipy.special
        name = key.__name__
        if getattr(np, name, None) is key:
            return f"numpy.{name}"
        for mod_name in ("scipy.special",):
            mod = sys.modules.get(mod_name)
            if mod is not None and getattr(mod, name, None) is key:
                return f"{mod_name}.{name}"
        return f"{module}.{name}" if module and module != "numpy" else f"numpy.{name}"
    name = numpy_name(key)
    module = getattr(key, "__module__", None) or ""
    if not module.startswith("numpy"):
        name = f"{module}.{getattr(key, '__name__', repr(key))}" if module else name
    return name


def _normalize(query):
    q = query.strip()
    for short, full in (("np.", "numpy."), ("sc.", "scipy.special."), ("sp.", "scipy.")):
        if q.startswith(short):
            q = full + q[len(short):]
    return q


def resolve(query):
    """The object a dotted name refers to among the modules already imported, so NumPy's
    aliases find their function: numpy.abs -> numpy.absolute, numpy.mod -> numpy.remainder."""
    parts = _normalize(query).split(".")
    if len(parts) == 1:
        parts = ["numpy"] + parts
    for i in range(len(parts) - 1, 0, -1):
        obj = sys.modules.get(".".join(parts[:i]))
        if obj is None:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def find(query):
    """Registry keys and primitives matching ``query``: ``[(display, key_or_None, impl, pack)]``.
    ``query`` may be a NumPy name or alias, a primitive name, or ``pack:name``."""
    q = _normalize(query)
    matches, seen_prims = [], set()
    for table in (REGISTRY.ufuncs, REGISTRY.functions):
        for key, impl in table.items():
            name = display_name(key)
            if name == q or name.endswith("." + q):
                matches.append((name, key, impl, REGISTRY.provider.get(key)))
                seen_prims.update(id(p) for p in primitives_used_by(impl))
    if not matches:
        obj = resolve(query)
        try:
            impl = REGISTRY.ufuncs.get(obj) or REGISTRY.functions.get(obj)
        except TypeError:  # unhashable
            impl = None
        if impl is not None:
            matches.append((f"{display_name(obj)} (as {q})", obj, impl,
                            REGISTRY.provider.get(obj)))
            seen_prims.update(id(p) for p in primitives_used_by(impl))
    for pack, prim in _primitives_named(query) + _primitives_named(q):
        if id(prim) not in seen_prims:
            seen_prims.add(id(prim))
            matches.append((f"primitive {pack}:{prim.name}", None, prim, pack))
    matches.sort(key=lambda m: (m[0].count("."), m[0]))
    return matches


def _primitives_named(name):
    """``[(pack, primitive)]`` for a primitive name (every pack using it) or ``pack:name``."""
    if ":" in name:
        prim = REGISTRY.primitive(name)
        return [(name.partition(":")[0], prim)] if prim is not None else []
    return [(pack, prims[name]) for pack, prims in sorted(REGISTRY.by_pack.items())
            if name in prims]


def describe_rules(prim):
    """Lines saying, argument by argument, whether ``prim`` has a gradient rule."""
    if not prim.differentiable:
        return ["non-differentiable: its output carries no gradient (it is still recorded)"]
    if type(prim.rules).__name__ == "_EveryArgument":
        return ["every argument: one rule for all of them (defgrad_each)"]
    params = parameters(prim) or []
    missing = {n for n, _ in missing_rules(prim)}
    lines = []
    for argnum, (name, kind, has_default) in enumerate(params):
        if kind == "varargs":
            lines.append(f"*{name}: no rule (needs defgrad_each)")
            continue
        label = f"argument {argnum} ({name})"
        if prim.rules.get(argnum) is not None:
            lines.append(f"{label}: rule")
        elif argnum in prim.nondiff_argnums:
            lines.append(f"{label}: not differentiable (nondiff_argnums)")
        elif argnum in missing:
            lines.append(f"{label}: NO RULE")
        else:
            lines.append(f"{label}: no rule (an option with a default, never a gradient)")
    extra = sorted(a for a in prim.rules if a >= len(params)) if params else sorted(prim.rules)
    lines += [f"argument {a}: rule" for a in extra]
    return lines or ["no positional arguments"]


def cmd_rules(query, out):
    plugins = _load()
    matches = find(query)
    if not matches:
        short = _normalize(query).rsplit(".", 1)[-1]
        near = _primitives_named(short)
        if near:
            print(f"yota rules: {query} has no yota implementation, but a loaded pack has a "
                  f"primitive named {short}:", file=out)
            matches = [(f"primitive {pack}:{prim.name}", None, prim, pack) for pack, prim in near]
        else:
            print(missing_rule_message(query, short, REGISTRY.loaded)
                  .replace("yota: ", "yota rules: ", 1), file=sys.stderr)
            return 1
    for name, key, impl, provider in matches:
        info = plugins.PLUGINS.get(provider)
        version = f" {info.version}" if info is not None and info.version else ""
        print(name, file=out)
        print(f"  provided by: {provider or 'unknown'}{version}", file=out)
        prim = impl if isinstance(impl, Primitive) else None
        if prim is not None:
            print(f"  implementation: primitive {prim.name}", file=out)
            if key is None:
                module = (getattr(prim.impl, "__module__", None) or "").split(".")[0]
                if module and module != "yota":
                    print(f"  import: from {module} import {prim.name}", file=out)
            prims = [prim]
        else:
            fname = getattr(impl, "__name__", repr(impl))
            prims = primitives_used_by(impl)
            used = ", ".join(p.name for p in prims) or "no primitive found in its code"
            print(f"  implementation: function {fname}, calling {used}", file=out)
        for p in prims:
            print(f"  rules of {p.name}:", file=out)
            for line in describe_rules(p):
                print(f"    {line}", file=out)
    return 0


# --- yota rules --all ----------------------------------------------------------------------------
GENERATE = "python -m yota rules --all --markdown > docs/supported-functions.md"


def supported_functions():
    """``{pack: [(function, rules text)]}`` for every function yota differentiates: the NumPy and
    SciPy functions the registry implements and the primitives packs export, sorted."""
    by_pack = {}
    exported = set()
    for table in (REGISTRY.ufuncs, REGISTRY.functions):
        for key, impl in table.items():
            pack = REGISTRY.provider.get(key) or "unknown"
            used = primitives_used_by(impl)
            exported.update(id(p) for p in used)
            by_pack.setdefault(pack, {})[display_name(key)] = _rules_text(impl, used)
    for pack, prims in REGISTRY.by_pack.items():
        for name, prim in prims.items():
            if id(prim) not in exported:
                by_pack.setdefault(pack, {})[f"{pack}:{name}"] = _rules_text(prim, [prim])
    return {pack: sorted(rows.items()) for pack, rows in sorted(by_pack.items())}


def _rules_text(impl, used):
    if isinstance(impl, Primitive):
        return "; ".join(describe_rules(impl))
    if not used:
        return "no primitive (computed from other functions)"
    return " / ".join(f"{p.name}: " + "; ".join(describe_rules(p)) for p in used)


def cmd_rules_all(out, markdown):
    plugins = _load()
    table = supported_functions()
    if not markdown:
        for pack, rows in table.items():
            print(f"{pack} ({len(rows)} functions)", file=out)
            for name, rules in rows:
                print(f"  {name}: {rules}", file=out)
        return 0
    print("# Functions yota differentiates\n", file=out)
    print(f"Generated from the registry by `{GENERATE}` with every pack of this repository "
          "installed (`bash scripts/test.sh` installs them); do not edit by hand. "
          "`yota rules NAME` shows one function.\n", file=out)
    for pack, rows in table.items():
        status = plugins.PLUGINS.get(pack)
        print(f"## {pack} ({len(rows)} functions)\n", file=out)
        if status is not None and getattr(status, "status", "loaded") != "loaded":
            print(f"({status.status})\n", file=out)
        print("| function | gradient rules |\n|---|---|", file=out)
        for name, rules in rows:
            cell = rules.replace("|", "\\|")
            print(f"| `{name}` | {cell} |", file=out)
        print(file=out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
