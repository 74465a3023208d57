"""yota's pytest plugin, for pack authors: fixtures that check primitives and their rules.

Installed with yota through the ``pytest11`` entry point, so any test suite can use:

- ``yota_kit``: ``check_grads``, ``check_primitive``, ``primitives(pack)``,
  ``check_rules_complete(pack)``, ``missing_rules(prim)`` and ``strategies`` (hypothesis
  strategies for shapes, broadcasting pairs, dtypes and inputs) in one object;
- ``yota_register_pack``: register a plugin object (a module or class with a
  ``yota_register_primitives`` hook) for one test, unregistered afterwards;
- ``yota_disable_packs``: reload yota with some packs disabled for one test.

The pytest header lists the yota packs that loaded and counts the conflicts between them
(``--yota-no-header`` to leave it out).
"""
from __future__ import annotations

import pytest


class Kit:
    """The pack author's helpers, one attribute each (see yota.testing)."""

    def __init__(self):
        from . import testing

        self.check_grads = testing.check_grads
        self.check_primitive = testing.check_primitive
        self.primitives = testing.pack_primitives
        self.check_rules_complete = testing.check_rules_complete
        self.missing_rules = testing.missing_rules
        self.find_primitive = testing.find_primitive
        self.GradientMismatch = testing.GradientMismatch
        self.MissingRules = testing.MissingRules

    @property
    def strategies(self):
        from . import strategies  # needs hypothesis, only imported when used

        return strategies


@pytest.fixture
def yota_kit():
    """check_grads, check_primitive, primitives(pack), check_rules_complete(pack), strategies."""
    return Kit()


@pytest.fixture
def yota_register_pack():
    """``yota_register_pack(plugin, name)`` registers a pack for this test only."""
    from .packs import host as plugins

    added = []

    def register(plugin, name):
        plugins.ensure_loaded()
        plugins.register(plugin, name=name)
        added.append(name)
        return plugins.PLUGINS.get(name)

    yield register
    if added:
        plugins._explicit[:] = [(n, p) for n, p in plugins._explicit if n not in added]
        plugins.reload()


@pytest.fixture
def yota_disable_packs(monkeypatch):
    """``yota_disable_packs("yota-nn", ...)`` reloads yota without those packs for this test."""
    from .packs import host as plugins

    used = []

    def disable(*names):
        monkeypatch.setenv("YOTA_DISABLE_PLUGINS", ",".join(names))
        used.append(names)
        plugins.reload()
        return plugins.PLUGINS

    yield disable
    if used:
        monkeypatch.undo()
        plugins.reload()


def pytest_addoption(parser):
    parser.addoption("--yota-no-header", action="store_true", default=False,
                     help="do not list the loaded yota packs in the pytest header")


def pytest_report_header(config):
    if config.getoption("--yota-no-header", default=False):
        return None
    try:
        from .packs import host as plugins

        plugins.ensure_loaded()
        parts = []
        for name, info in sorted(plugins.PLUGINS.items()):
            version = f" {info.version}" if info.version else ""
            state = "" if info.status == "loaded" else f" ({info.status})"
            parts.append(f"{name}{version}{state}")
        header = "yota packs: " + (", ".join(parts) or "none")
        conflicts = sum(c.warns for c in plugins.REGISTRY.conflicts)
        if conflicts:
            header += f"; {conflicts} conflict(s) between packs (run `yota plugins` to see them)"
        return header
    except Exception as exc:  # the header must never break a test run
        return f"yota packs: could not be listed ({type(exc).__name__}: {exc})"
