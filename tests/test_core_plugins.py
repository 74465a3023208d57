"""Plugin loading: the core registers through the hook, conflicts are decided after every pack
is collected (order-independent, warned about, local to the contested function), broken packs
skip."""
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


def test_two_plugins_claiming_one_numpy_function_disable_it_and_nothing_else(fresh_plugins):
    _add("first", lambda registry: registry.implement(np.ediff1d, lambda x: x))
    _add("second", lambda registry: (registry.implement(np.ediff1d, lambda x: x),
                                     registry.implement(np.unwrap, yota.primitive(np.unwrap))))
    message = (r"plugins 'first' and 'second' both implement numpy\.ediff1d, so neither of their "
               r"versions is used and numpy\.ediff1d has no yota implementation until one of them is disabled "
               r"\(YOTA_DISABLE_PLUGINS=second\) or registers it with override=True\. Every "
               r"other function of these packs still works\.")
    with pytest.warns(RuntimeWarning, match=message):
        plugins.reload()
    with pytest.raises(NoRuleError, match=message):   # every use says why, none picks one
        yota.grad(lambda x: np.ediff1d(x)[0], np.ones(2))
    assert plugins.plugin_of(np.unwrap) == "second"      # the pack's other function works
    value, g = yota.grad(lambda x: np.sin(x)[0], np.zeros(2))
    assert g[0][0] == 1.0
    assert plugins.PLUGINS["first"].status == plugins.PLUGINS["second"].status == "loaded"


def test_a_pack_claiming_a_core_function_without_override_leaves_the_core_in_place(
        fresh_plugins):
    _add("mine", lambda registry: registry.implement(np.sin, lambda x: x * 0.0))
    with pytest.warns(RuntimeWarning, match=r"plugin 'mine' implements numpy\.sin, which "
                                            r"'yota-core' already implements, without "
                                            r"override=True, so numpy\.sin uses the version "
                                            r"of 'yota-core'; register it with override=True"):
        plugins.reload()
    assert plugins.plugin_of(np.sin) == "yota-core"
    assert yota.grad(lambda x: np.sin(x)[0], np.zeros(2))[1][0][0] == 1.0


def test_two_overrides_cancel_and_the_plain_version_stays(fresh_plugins):
    seven = yota.primitive(lambda x: np.sin(x) * 0 + 7.0)
    _add("a", lambda registry: registry.implement(np.sin, seven, override=True))
    _add("b", lambda registry: registry.implement(np.sin, seven, override=True))
    with pytest.warns(RuntimeWarning, match=r"plugins 'a' and 'b' both override numpy\.sin "
                                            r"\(override=True\), so none of these overrides is "
                                            r"used and numpy\.sin uses the version of 'yota-core'"):
        plugins.reload()
    assert plugins.plugin_of(np.sin) == "yota-core"


def test_the_outcome_does_not_depend_on_registration_order(fresh_plugins):
    seven = yota.primitive(lambda x: np.sin(x) * 0 + 7.0)
    seven.defgrad(lambda dy, y, x: dy * 0.0)
    outcomes = []
    for order in (("plain", "override"), ("override", "plain")):
        plugins._explicit.clear()
        for name in order:
            _add(name, lambda registry, n=name: registry.implement(np.ediff1d, seven,
                                                                   override=n == "override"))
        plugins.reload()
        outcomes.append(plugins.plugin_of(np.ediff1d))
    assert outcomes == ["override", "override"]
    assert "yota: plugin 'override' overrides numpy.ediff1d (override=True); the version of 'plain' is " \
           "not used" in plugins.PLUGINS["plain"].conflicts


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
        registry.implement(np.ediff1d, lambda x: x)
        raise RuntimeError("kaboom")

    _add("broken", broken)
    with pytest.warns(RuntimeWarning, match=r"plugin 'broken' was skipped.*kaboom.*"
                                            r"YOTA_DISABLE_PLUGINS=broken"):
        plugins.reload()
    assert plugins.PLUGINS["broken"].status == "failed"
    assert np.ediff1d not in plugins.REGISTRY.functions  # its partial registrations are rolled back
    value, g = yota.grad(lambda x: np.sin(x)[0], np.zeros(2), dynamic=True)
    assert g[0][0] == 1.0


def test_disabling_a_plugin_by_environment_variable(fresh_plugins, monkeypatch):
    _add("extra", lambda registry: registry.implement(np.ediff1d, lambda x: x))
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "extra")
    plugins.reload()
    assert "extra" not in plugins.PLUGINS
    with pytest.raises(NoRuleError, match=r"numpy\.ediff1d has no yota implementation"):
        yota.grad(lambda x: np.ediff1d(x)[0], np.ones(2))


def test_disabling_autoload_keeps_only_the_core(fresh_plugins, monkeypatch):
    monkeypatch.setenv("YOTA_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugins.reload()
    assert set(plugins.PLUGINS) == {"yota-core"}
    with pytest.raises(NoRuleError, match=r"numpy\.sum .*pip install yota-reductions"):
        yota.grad(lambda x: np.sum(x), np.ones(2))


def test_disabling_a_name_no_pack_has_is_warned_about(fresh_plugins, monkeypatch):
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "yota-nn, yota-nnn")
    with pytest.warns(RuntimeWarning, match=r"YOTA_DISABLE_PLUGINS names 'yota-nnn', which "
                                            r"matches no installed pack, so it disables nothing; "
                                            r"the packs are: .*yota-core.*Check the spelling"):
        plugins.reload()
    assert plugins.UNKNOWN_DISABLED == ["yota-nnn"]


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
    unwrap = yota.primitive(np.unwrap)
    unwrap.defgrad(lambda dy, y, x: dy * 0.0)
    _add("extra", lambda registry: registry.implement(np.unwrap, unwrap))
    plugins.reload()

    def f(x):
        return np.unwrap(x)[0] * 1.0

    value, _ = yota.grad(f, np.ones(2))  # static: compiled and cached
    assert value == pytest.approx(np.unwrap(np.ones(2))[0])
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "extra")
    plugins.reload()
    with pytest.raises(NoRuleError, match=r"numpy\.unwrap has no yota implementation"):
        yota.grad(f, np.ones(2))
