"""Plugin loading: the core registers through the hook, conflicts are loud, broken packs skip."""
import types
import warnings

import numpy as np
import pytest

import yota
from yota.packs import host as plugins
from yota.errors import NoRuleError, PluginError


def _pack(name, hook):
    module = types.ModuleType(name)
    module.yota_register_primitives = yota.hookimpl(hook)
    return module


def _add(name, hook):
    """Queue a pack for the next reload (as if it had been registered before first use)."""
    plugins._explicit.append((name, _pack(name, hook)))


def test_core_registers_through_the_same_hook():
    plugins.ensure_loaded()
    info = plugins.PLUGINS["yota-core"]
    assert info.status == "loaded" and info.primitives > 50 and info.functions > 50
    assert plugins.plugin_of(np.sin) == "yota-core"
    assert plugins.plugin_of("sin") == "yota-core"


def test_registry_remembers_which_plugin_supplied_what(fresh_plugins):
    @yota.primitive
    def softsign(x):
        return x / (1 + np.abs(x))

    softsign.defgrad(lambda dy, y, x: dy / (1 + np.abs(x)) ** 2)
    _add("mypack", lambda registry: registry.add_primitive(softsign))
    plugins.reload()
    assert plugins.plugin_of("softsign") == "mypack"
    assert plugins.PLUGINS["mypack"].primitives == 1


def test_two_plugins_claiming_one_numpy_function_is_an_error(fresh_plugins):
    _add("first", lambda registry: registry.implement(np.i0, lambda x: x))
    _add("second", lambda registry: registry.implement(np.i0, lambda x: x))
    with pytest.raises(PluginError, match=r"'first' and 'second' both implement numpy\.i0.*"
                                          r"override=True"):
        plugins.reload()


def test_override_replaces_on_purpose(fresh_plugins):
    mine = yota.primitive(lambda x: np.sin(x) * 0 + 7.0)
    mine.defgrad(lambda dy, y, x: dy * 0.0)
    _add("override", lambda registry: registry.implement(np.sin, mine, override=True))
    plugins.reload()
    assert plugins.plugin_of(np.sin) == "override"
    value, _ = yota.grad(lambda x: np.sin(x)[0], np.ones(2), dynamic=True)
    assert value == 7.0


def test_a_plugin_that_raises_is_skipped_with_a_warning(fresh_plugins):
    def broken(registry):
        registry.implement(np.i0, lambda x: x)
        raise RuntimeError("kaboom")

    _add("broken", broken)
    with pytest.warns(RuntimeWarning, match=r"plugin 'broken' was skipped.*kaboom.*"
                                            r"YOTA_DISABLE_PLUGINS=broken"):
        plugins.reload()
    assert plugins.PLUGINS["broken"].status == "failed"
    assert np.i0 not in plugins.REGISTRY.functions  # its partial registrations are rolled back
    value, g = yota.grad(lambda x: np.sin(x)[0], np.zeros(2), dynamic=True)
    assert g[0][0] == 1.0


def test_disabling_a_plugin_by_environment_variable(fresh_plugins, monkeypatch):
    _add("extra", lambda registry: registry.implement(np.i0, lambda x: x))
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "other, extra")
    plugins.reload()
    assert "extra" not in plugins.PLUGINS
    with pytest.raises(NoRuleError, match=r"numpy\.i0 has no yota implementation"):
        yota.grad(lambda x: np.i0(x)[0], np.ones(2))


def test_disabling_autoload_keeps_only_the_core(fresh_plugins, monkeypatch):
    monkeypatch.setenv("YOTA_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugins.reload()
    assert set(plugins.PLUGINS) == {"yota-core"}
    with pytest.raises(NoRuleError, match=r"numpy\.sum .*pip install yota-reductions"):
        yota.grad(lambda x: np.sum(x), np.ones(2))


def test_registering_something_that_is_not_a_primitive_is_an_error(fresh_plugins):
    with pytest.raises(PluginError, match=r"plugin 'bad' registered <ufunc 'sin'>"):
        plugins.register(_pack("bad", lambda registry: registry.add_primitive(np.sin)))


def test_loading_happens_once():
    calls = []
    plugins.ensure_loaded()
    plugins.register(_pack("late", lambda registry: calls.append(1)), name="late")
    try:
        assert calls == [1]  # registered at once after loading
        for _ in range(3):
            plugins.ensure_loaded()
            yota.grad(lambda x: x[0] * 2.0, np.ones(2))
        assert calls == [1]
    finally:
        plugins._explicit.pop()
        plugins.reload()


def test_warning_free_normal_load():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plugins.reload()


def test_disabling_a_plugin_also_drops_graphs_compiled_with_it(fresh_plugins, monkeypatch):
    i0 = yota.primitive(np.i0)
    i0.defgrad(lambda dy, y, x: dy * 0.0)
    _add("extra", lambda registry: registry.implement(np.i0, i0))
    plugins.reload()

    def f(x):
        return np.i0(x)[0] * 1.0

    value, _ = yota.grad(f, np.ones(2))  # static: compiled and cached
    assert value == pytest.approx(np.i0(1.0))
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "extra")
    plugins.reload()
    with pytest.raises(NoRuleError, match=r"numpy\.i0 has no yota implementation"):
        yota.grad(f, np.ones(2))
