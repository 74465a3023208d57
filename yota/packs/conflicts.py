"""Deciding, once every pack's registration is collected, which version of each NumPy function
is used. The rule depends only on what the packs registered, never on load or install order:

1. a function one pack implements is that pack's;
2. exactly one ``override=True`` claim wins over every plain claim (the others are displaced,
   which is listed but is not a warning: the pack asked for it);
3. two or more ``override=True`` claims cancel out: none of them is used (a warning names them)
   and the plain claims decide as if the overrides were not there;
4. among plain claims, the core keeps its own functions (a pack must say ``override=True`` to
   replace one); two packs claiming a function the core does not have are both left out, with a
   warning, and that function has no yota implementation until one pack is disabled or
   overrides. Every other function of both packs keeps working.

Primitive names never conflict: they are namespaced by their pack (``yota-nn:sigmoid``).
"""
from __future__ import annotations

import attrs
import numpy as np

from ..registry import numpy_name

__all__ = ["Conflict", "resolve"]


@attrs.frozen
class Conflict:
    """One contested NumPy function: who claimed it, who (if anyone) won, and why."""

    key: object
    kind: str                    # "override", "overrides cancel", "core kept", "both disabled"
    losers: tuple                # packs whose version is not used, sorted
    winner: str | None = None    # the pack whose version is used, or None

    @property
    def warns(self):
        return self.kind != "override"

    def message(self):
        name = numpy_name(self.key)
        losers = _names(self.losers)
        if self.kind == "override":
            versions = "version of" if len(self.losers) == 1 else "versions of"
            verb = "is" if len(self.losers) == 1 else "are"
            return (f"yota: plugin {self.winner!r} overrides {name} (override=True); the "
                    f"{versions} {losers} {verb} not used")
        if self.winner is None:
            fallback = f"{name} has no yota implementation until one of them is disabled"
        else:
            fallback = f"{name} uses the version of {self.winner!r}"
        if self.kind == "overrides cancel":
            both = "both" if len(self.losers) == 2 else "all"
            return (f"yota: plugins {losers} {both} override {name} (override=True), so none of "
                    f"these overrides is used and {fallback}; disable all but one "
                    f"(YOTA_DISABLE_PLUGINS={self.losers[-1]}). Their other functions still "
                    "work.")
        if self.kind == "core kept":
            return (f"yota: plugin {losers} implements {name}, which {self.winner!r} already "
                    f"implements, without override=True, so {fallback}; register it with "
                    "override=True to replace it on purpose. Its other functions still work.")
        both, neither = ("both", "neither") if len(self.losers) == 2 else ("all", "none")
        return (f"yota: plugins {losers} {both} implement {name}, so {neither} of their versions "
                f"is used and "
                f"{fallback} (YOTA_DISABLE_PLUGINS={self.losers[-1]}) or registers it with "
                "override=True. Every other function of these packs still works.")


def _names(packs):
    quoted = [repr(p) for p in packs]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def resolve(registrations, core):
    """``{pack: Registration}`` -> ``(ufuncs, functions, provider, conflicts)``."""
    claims = {}
    for pack in sorted(registrations):
        for key, (impl, override) in registrations[pack].claims.items():
            claims.setdefault(key, []).append((pack, impl, override))
    winners, conflicts = {}, []
    for key, claimed in claims.items():
        winner, found = _decide(key, claimed, core)
        conflicts += found
        if winner is not None:
            winners[key] = winner
    ufuncs, functions, provider = {}, {}, {}
    for key, (pack, impl) in winners.items():
        (ufuncs if _is_ufunc(key) else functions)[key] = impl
        provider[key] = pack
    return ufuncs, functions, provider, conflicts


def _decide(key, claimed, core):
    """``((pack, impl) or None, [Conflict])`` for one function's claims (sorted by pack)."""
    if len(claimed) == 1:
        pack, impl, _ = claimed[0]
        return (pack, impl), []
    overrides = [c for c in claimed if c[2]]
    plain = [c for c in claimed if not c[2]]
    if len(overrides) == 1:
        pack, impl, _ = overrides[0]
        losers = tuple(c[0] for c in plain)
        return (pack, impl), [Conflict(key, "override", losers, pack)]
    winner, found = None, []
    if len(plain) == 1:
        winner = (plain[0][0], plain[0][1])
    elif any(c[0] == core for c in plain):
        core_claim = next(c for c in plain if c[0] == core)
        winner = (core, core_claim[1])
        found.append(Conflict(key, "core kept", tuple(c[0] for c in plain if c[0] != core),
                              core))
    elif plain:
        found.append(Conflict(key, "both disabled", tuple(c[0] for c in plain)))
    if overrides:
        found.insert(0, Conflict(key, "overrides cancel", tuple(c[0] for c in overrides),
                                 winner[0] if winner else None))
    return winner, found


def _is_ufunc(key):
    return isinstance(key, np.ufunc)
