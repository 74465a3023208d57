"""Pack primitives (yota.packs): a function users import from a pack works while its pack is
loaded and registers it (whatever other packs register), and refuses tracked values otherwise,
with a message saying why; and readable names for ufunc methods
in "no implementation" messages."""
import types

import numpy as np
import pytest

import yota
from yota.packs import host as plugins
from yota.errors import NoRuleError
from yota.packs import PackPrimitive, pack_primitive
from yota.registry import KNOWN_PACKS, REGISTRY, numpy_name, pack_for, short_name



@pack_primitive(pack="yota-throwaway")
def cube(x):
    return x * x * x


cube.defgrad(lambda dy, y, x: dy * 3 * x * x)


def _load(hook, name="yota-throwaway"):
    module = types.ModuleType(name)
    module.yota_register_primitives = yota.hookimpl(hook)
    plugins._explicit.append((name, module))
    plugins.reload()


def test_works_while_the_pack_registers_it(fresh_plugins):
    _load(lambda registry: registry.add_primitive(cube))
    assert isinstance(cube, PackPrimitive) and cube.pack == "yota-throwaway"
    value, g = yota.grad(cube, 2.0)
    assert value == 8.0 and g[0] == 12.0
    _, g = yota.grad(lambda x: cube(x), 2.0, dynamic=False)
    assert g[0] == 12.0


@pytest.mark.parametrize("dynamic", [True, False])
def test_refused_when_the_pack_is_not_loaded(fresh_plugins, dynamic):
    plugins.reload()
    with pytest.raises(NoRuleError, match=r"yota: [\w.]*\.cube was called on a "
                                          r"tracked value, but the yota-throwaway pack is not "
                                          r"loaded .* pip install yota-throwaway"):
        yota.grad(cube, 2.0, dynamic=dynamic)
    assert cube(2.0) == 8.0  # plain values: just NumPy


def test_refused_when_the_pack_is_disabled(fresh_plugins, monkeypatch):
    plugins.PLUGINS["yota-throwaway"] = plugins.PluginInfo("yota-throwaway", None, "disabled")
    with pytest.raises(NoRuleError, match=r"the yota-throwaway pack is disabled "
                                          r"\(YOTA_DISABLE_PLUGINS\), so yota will not use its "
                                          r"gradient rule\. Enable the pack"):
        yota.grad(cube, 2.0)


def test_refused_when_the_pack_forgets_to_register_it(fresh_plugins):
    _load(lambda registry: None)
    with pytest.raises(NoRuleError, match=r"the yota-throwaway pack does not register it "
                                          r"\(registry.add_primitive\)"):
        yota.grad(cube, 2.0)


def test_works_when_another_pack_has_a_primitive_of_the_same_name(fresh_plugins):
    other = yota.primitive(lambda x: x, name="cube")
    other.defgrad(lambda dy, y, x: dy)
    _load(lambda registry: registry.add_primitive(other), name="yota-other")
    _load(lambda registry: registry.add_primitive(cube))
    assert yota.grad(cube, 2.0)[1][0] == 12.0      # the pack the user imported it from
    assert yota.grad(other, 2.0)[1][0] == 1.0
    assert REGISTRY.shared["cube"] == ("yota-other", "yota-throwaway")
    assert REGISTRY.primitive("yota-throwaway:cube") is cube
    assert REGISTRY.primitive("yota-other:cube") is other


def test_works_when_another_pack_overrides_its_numpy_function(fresh_plugins):
    mine = yota.primitive(lambda x: x ** 3, name="cube")
    mine.defgrad(lambda dy, y, x: dy * 0.0)
    _load(lambda registry: registry.implement(np.i0, cube))
    _load(lambda registry: registry.implement(np.i0, mine, override=True), name="yota-other")
    assert plugins.plugin_of(np.i0) == "yota-other"
    assert yota.grad(cube, 2.0)[1][0] == 12.0      # displaced for np.i0, not for its own name


def test_pack_name_is_required():
    with pytest.raises(TypeError, match=r"pack_primitive: pack must be the distribution name"):
        pack_primitive(lambda x: x, pack=None)


# --- names of ufunc methods ----------------------------------------------------------------
def test_ufunc_methods_read_as_numpy_names():
    assert numpy_name((np.add, "reduce")) == "numpy.add.reduce"
    assert short_name((np.maximum, "accumulate")) == "maximum.accumulate"
    assert numpy_name(np.add) == "numpy.add" and short_name(np.sum) == "sum"
    for ufunc in ("add", "multiply", "maximum", "minimum"):
        for method in ("reduce", "accumulate"):
            assert pack_for(f"{ufunc}.{method}") == "yota-reductions"


def test_missing_ufunc_method_says_numpy_add_reduceat():
    with pytest.raises(NoRuleError, match=r"numpy\.add\.reduceat has no yota implementation.*"
                                          r"no known pack provides it"):
        REGISTRY.function((np.add, "reduceat"))


def test_missing_ufunc_method_names_the_reductions_pack(monkeypatch, fresh_plugins):
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "yota-reductions")
    plugins.reload()
    for call, name in ((lambda x: np.add.reduce(x), "add.reduce"),
                       (lambda x: np.multiply.accumulate(x)[-1], "multiply.accumulate")):
        with pytest.raises(NoRuleError, match=rf"numpy\.{name} has no yota implementation, so "
                                              r"it cannot be traced; it is provided by the "
                                              r"yota-reductions pack"):
            yota.grad(call, np.arange(3.0))


def test_known_pack_names_are_unique():
    names = [n for ns in KNOWN_PACKS.values() for n in ns]
    assert len(names) == len(set(names))
