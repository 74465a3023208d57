"""Plugin isolation with real distributions: throwaway packs installed into a temporary folder.

Each pack is a module plus a ``<name>-<version>.dist-info`` folder with ``METADATA`` and an
``entry_points.txt`` declaring it in the group ``yota``, on a folder prepended to ``sys.path``:
exactly what ``pip install`` leaves behind, found by ``importlib.metadata`` like any installed
pack. A pack that breaks (at import, in its hook, by registering something invalid) is skipped
with a warning naming it while every other pack keeps working; two packs claiming one function
stop loading with one error naming both distributions; the environment variables disable a
named pack or every entry point. Also: importing yota and the first ``grad`` stay cheap.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import yota
from yota.packs import host as plugins
from yota.errors import NoRuleError, PluginError

HOOK = """
import numpy as np
import yota

{body}
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """``site.install(dist, module, source)`` writes an installed distribution with an entry
    point ``group yota``; plugins reload on the way in and out."""
    root = tmp_path / "site-packages"
    root.mkdir()
    modules = []

    class Site:
        path = root

        def install(self, dist, module, body, entry=None, version="0.1"):
            (root / f"{module}.py").write_text(HOOK.format(body=textwrap.dedent(body)))
            info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
            info.mkdir()
            (info / "METADATA").write_text(
                f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
            (info / "entry_points.txt").write_text(f"[yota]\n{entry or module} = {module}\n")
            modules.append(module)
            importlib.invalidate_caches()

        def reload(self):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                plugins.reload()
            return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]

    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(plugins, "_explicit", [])
    yield Site()
    monkeypatch.undo()
    for m in modules:
        sys.modules.pop(m, None)
    importlib.invalidate_caches()
    plugins.reload()


# Pack bodies -------------------------------------------------------------------------------------
GOOD = """
@yota.primitive
def cube(x):
    return x ** 3

cube.defgrad(lambda dy, y, x: dy * 3 * x ** 2)

@yota.hookimpl
def yota_register_primitives(registry):
    registry.implement(np.i0, cube)        # a silly mapping, easy to observe
"""

BROKEN_AT_IMPORT = """
raise ImportError("this pack needs a library that is not installed")
"""

BROKEN_IN_HOOK = """
@yota.primitive
def half(x):
    return x / 2

@yota.hookimpl
def yota_register_primitives(registry):
    registry.implement(np.unwrap, half)    # registered, then the hook fails: rolled back
    raise RuntimeError("hook exploded")
"""

INVALID_REGISTRATION = """
@yota.hookimpl
def yota_register_primitives(registry):
    registry.add_primitive(np.sin)         # not a Primitive
"""

CLAIMS_SIN = """
@yota.primitive
def my_sin(x):
    return np.sin(x)

my_sin.defgrad(lambda dy, y, x: dy * np.cos(x))

@yota.hookimpl
def yota_register_primitives(registry):
    registry.implement(np.{func}, my_sin)
"""


def cube_works():
    def f(x):
        y = np.i0(x)            # the core alone (no reductions pack) sums two entries
        return y[0] + y[1]

    value, g = yota.grad(f, np.array([1.0, 2.0]))
    return value == 9.0 and g[0].tolist() == [3.0, 12.0]


def core_and_packs_work():
    value, g = yota.grad(lambda x: np.sum(np.sin(x) ** 2), np.array([0.5]))
    assert g[0][0] == pytest.approx(np.sin(1.0))
    value, g = yota.grad(lambda x: np.mean(x @ x.T), np.ones((2, 2)))   # linalg, reductions
    assert g[0].tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_a_real_distribution_is_found_and_loaded(site):
    site.install("yota-cube", "yota_cube_pack", GOOD)
    assert site.reload() == []
    info = plugins.PLUGINS["yota-cube"]
    assert (info.status, info.version, info.primitives, info.functions) == ("loaded", "0.1", 1, 1)
    assert plugins.plugin_of(np.i0) == "yota-cube"
    assert cube_works()


@pytest.mark.parametrize("body, when, detail", [
    (BROKEN_AT_IMPORT, "importing it", r"ImportError: this pack needs a library"),
    (BROKEN_IN_HOOK, "running its yota_register_primitives hook", r"RuntimeError: hook exploded"),
    (INVALID_REGISTRATION, "running its yota_register_primitives hook",
     r"PluginError: .*registered <ufunc 'sin'>, not a Primitive"),
], ids=["import", "hook", "invalid registration"])
def test_a_broken_pack_is_skipped_with_a_warning_naming_it(site, body, when, detail):
    site.install("yota-cube", "yota_cube_pack", GOOD)
    site.install("yota-broken", "yota_broken_pack", body)
    messages = site.reload()
    assert len(messages) == 1, messages
    import re

    assert re.search(rf"plugin 'yota-broken' was skipped because it raised while {when} "
                     rf"\({detail}.*\); the other plugins still work\. Disable it with "
                     r"YOTA_DISABLE_PLUGINS=yota-broken", messages[0]), messages[0]
    info = plugins.PLUGINS["yota-broken"]
    assert info.status == "failed" and info.version == "0.1"
    assert cube_works()
    core_and_packs_work()
    if body is BROKEN_IN_HOOK:   # what it registered before failing was rolled back
        with pytest.raises(NoRuleError, match=r"numpy\.unwrap has no yota implementation"):
            yota.grad(lambda x: np.sum(np.unwrap(x)), np.ones(2))
    assert site.reload() == messages   # the same on every reload, never silently different


def test_two_packs_claiming_one_function_name_both_distributions(site):
    site.install("yota-sin-a", "yota_sin_a", CLAIMS_SIN.format(func="i0"))
    site.install("yota-sin-b", "yota_sin_b", CLAIMS_SIN.format(func="i0"))
    message = (r"plugins 'yota-sin-a' and 'yota-sin-b' both implement numpy\.i0; uninstall "
               r"or disable one \(YOTA_DISABLE_PLUGINS\), or register with override=True")
    with pytest.raises(PluginError, match=message):
        plugins.reload()
    with pytest.raises(PluginError, match=message):   # every use says so, none picks one
        cube_works()


ADDS_SOFTSIGN = """
@yota.primitive
def softsign(x):
    return x / (1 + np.abs(x))

softsign.defgrad(lambda dy, y, x: dy / (1 + np.abs(x)) ** 2)

@yota.hookimpl
def yota_register_primitives(registry):
    registry.add_primitive(softsign)
"""


def test_two_packs_adding_primitives_of_one_name_name_both_distributions(site):
    site.install("yota-soft-a", "yota_soft_a", ADDS_SOFTSIGN)
    site.install("yota-soft-b", "yota_soft_b", ADDS_SOFTSIGN)
    with pytest.raises(PluginError, match=r"plugins 'yota-soft-a' and 'yota-soft-b' both "
                                          r"register a primitive named 'softsign'"):
        plugins.reload()


def test_a_pack_claiming_a_core_function_names_the_core(site):
    site.install("yota-sin-a", "yota_sin_a", CLAIMS_SIN.format(func="sin"))
    with pytest.raises(PluginError, match=r"plugins 'yota-core' and 'yota-sin-a' both "
                                          r"implement numpy\.sin"):
        plugins.reload()


def test_disabling_the_conflicting_pack_resolves_the_conflict(site, monkeypatch):
    site.install("yota-sin-a", "yota_sin_a", CLAIMS_SIN.format(func="i0"))
    site.install("yota-sin-b", "yota_sin_b", CLAIMS_SIN.format(func="i0"))
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "yota-sin-b")
    assert site.reload() == []
    assert plugins.PLUGINS["yota-sin-b"].status == "disabled"
    assert plugins.plugin_of(np.i0) == "yota-sin-a"


def test_environment_variables_disable_a_named_pack_or_every_entry_point(site, monkeypatch):
    site.install("yota-cube", "yota_cube_pack", GOOD, entry="cube")
    for name in ("yota-cube", "cube", " cube , yota-nn "):   # distribution or entry point name
        monkeypatch.setenv("YOTA_DISABLE_PLUGINS", name)
        site.reload()
        assert plugins.PLUGINS["yota-cube"].status == "disabled"
        with pytest.raises(NoRuleError, match=r"numpy\.i0 has no yota implementation"):
            cube_works()
    assert plugins.PLUGINS["yota-nn"].status == "disabled"
    monkeypatch.delenv("YOTA_DISABLE_PLUGINS")
    for value in ("1", "true", "yes"):
        monkeypatch.setenv("YOTA_DISABLE_PLUGIN_AUTOLOAD", value)
        site.reload()
        assert set(plugins.PLUGINS) == {"yota-core"}
        with pytest.raises(NoRuleError, match=r"numpy\.sum .*yota-reductions pack"):
            yota.grad(lambda x: np.sum(x), np.ones(2))
    # explicitly registered packs still load without autoloading
    import yota_cube_pack

    plugins.register(yota_cube_pack, name="by-hand")
    assert cube_works()
    for value in ("", "0", "false"):
        monkeypatch.setenv("YOTA_DISABLE_PLUGIN_AUTOLOAD", value)
        site.reload()
        assert plugins.PLUGINS["yota-cube"].status == "loaded"


# --- import and first-grad cost ------------------------------------------------------------------
IMPORT_AND_FIRST_GRAD = """
import time
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
import yota
t2 = time.perf_counter()
yota.grad(lambda x: np.sum(np.tanh(x) ** 2), np.ones(3))
t3 = time.perf_counter()
yota.grad(lambda x: np.sum(np.tanh(x) ** 2), np.ones(3))
t4 = time.perf_counter()
from yota.plugins import PLUGINS
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, len(PLUGINS))
"""

BUDGET_S = 1.5   # 3x the README budget (0.5 s; measured 0.2-0.4 s), for busy machines


def test_import_and_first_grad_stay_within_the_budget():
    """Measured in a fresh interpreter with every installed pack (the best of three runs, so a
    busy machine does not fail it); the README states the budget and the measured figure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOTA_")}
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", IMPORT_AND_FIRST_GRAD], env=env,
                             capture_output=True, text=True, timeout=120, check=True).stdout
        t_np, t_import, t_first, t_second, n = out.split()
        runs.append((float(t_import) + float(t_first), float(t_second), int(n)))
    best = min(runs)
    assert best[2] >= 5, "not every pack was loaded"
    assert best[0] < BUDGET_S, f"import yota + first grad took {best[0]:.3f} s"
