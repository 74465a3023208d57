"""The yota command: `yota plugins`, `yota rules NAME`, also as `python -m yota`."""
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

import yota
from yota.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr().out


def _installed(dist):
    try:
        metadata.distribution(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


needs_special = pytest.mark.skipif(
    not _installed("yota-special"),
    reason="install examples/yota-special (scripts/test.sh installs every examples/yota-* pack)")


def test_plugins_lists_packs_with_versions_and_counts(capsys):
    code, out = run_cli(capsys, "plugins")
    assert code == 0
    header, core = out.splitlines()[:2]
    assert header.split() == ["PACK", "VERSION", "STATUS", "PRIMITIVES", "FUNCTIONS"]
    name, version, status, prims, funcs = core.split()
    assert (name, version, status) == ("yota-core", metadata.version("yota-ad"), "loaded")
    assert int(prims) == yota.plugins.PLUGINS["yota-core"].primitives > 50
    assert "pack(s) loaded" in out


@needs_special
def test_the_example_pack_is_discovered_and_listed(capsys):
    _, out = run_cli(capsys, "plugins")
    row = next(line for line in out.splitlines() if line.startswith("yota-special"))
    assert row.split()[:4] == ["yota-special", metadata.version("yota-special"), "loaded", "3"]


def test_disabled_and_failed_packs_are_reported_not_fatal(capsys, yota_disable_packs,
                                                         yota_register_pack):
    class Broken:
        @yota.hookimpl
        def yota_register_primitives(self, registry):
            raise RuntimeError("cannot find libfoo")

    yota_disable_packs("yota-linalg")
    with pytest.warns(RuntimeWarning, match=r"plugin 'yota-broken' was skipped because it "
                                            r"raised .*cannot find libfoo"):
        yota_register_pack(Broken(), "yota-broken")
    code, out = run_cli(capsys, "plugins")
    assert code == 0
    lines = out.splitlines()
    assert any(line.split()[:3] == ["yota-broken", "-", "failed"] for line in lines)
    assert "yota-broken failed to load and was skipped: RuntimeError: cannot find libfoo" in out
    if _installed("yota-linalg"):
        assert "yota-linalg is disabled by YOTA_DISABLE_PLUGINS" in out
    assert any(line.startswith("yota-core") and "loaded" in line for line in lines)
    np.testing.assert_allclose(yota.grad(np.sin, 0.5)[1][0], np.cos(0.5))  # others still work


def test_rules_of_a_core_ufunc(capsys):
    code, out = run_cli(capsys, "rules", "np.sin")
    assert code == 0
    assert out.splitlines()[:3] == ["numpy.sin", f"  provided by: yota-core "
                                    f"{metadata.version('yota-ad')}",
                                    "  implementation: primitive sin"]
    assert "argument 0 (x): rule" in out


def test_rules_of_a_wrapper_show_its_primitives(capsys):
    _, out = run_cli(capsys, "rules", "where")
    assert "implementation: function where_, calling where" in out
    assert "argument 0 (condition): not differentiable (nondiff_argnums)" in out
    assert "argument 1 (x): rule" in out and "argument 2 (y): rule" in out
    _, out = run_cli(capsys, "rules", "numpy.concatenate")
    assert "every argument: one rule for all of them (defgrad_each)" in out


@needs_special
def test_rules_name_the_pack_and_the_arguments(capsys):
    _, out = run_cli(capsys, "rules", "scipy.special.jv")
    assert out.splitlines()[0] == "scipy.special.jv"
    assert f"provided by: yota-special {metadata.version('yota-special')}" in out
    assert "argument 0 (x1): not differentiable (nondiff_argnums)" in out
    assert "argument 1 (x2): rule" in out


def test_rules_show_a_missing_rule(capsys, yota_register_pack):
    @yota.primitive
    def scale(x, s):
        return x * s

    scale.defgrad(lambda dy, y, x, s: dy * s)

    class Pack:
        @yota.hookimpl
        def yota_register_primitives(self, registry):
            registry.add_primitive(scale)

    yota_register_pack(Pack(), "yota-scale")
    _, out = run_cli(capsys, "rules", "scale")
    assert "provided by: yota-scale" in out
    assert "argument 0 (x): rule" in out and "argument 1 (s): NO RULE" in out


def run_cli_err(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_rules_of_an_unknown_name(capsys, yota_disable_packs):
    code, out, err = run_cli_err(capsys, "rules", "frobnicate")
    assert code == 1 and out == ""   # errors go to stderr
    assert err.startswith("yota rules: frobnicate has no yota implementation")
    yota_disable_packs("yota-linalg")
    code, out, err = run_cli_err(capsys, "rules", "np.linalg.inv")
    assert code == 1 and out == ""
    assert "it is provided by the yota-linalg pack" in err


def test_rules_needs_a_name_or_all(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["rules"])
    assert exc.value.code == 2 and "give a NAME or --all" in capsys.readouterr().err


def test_rules_all_lists_every_pack(capsys):
    code, out, _ = run_cli_err(capsys, "rules", "--all")
    assert code == 0
    assert "yota-core (" in out and "  numpy.sin: argument 0 (x): rule" in out


def test_version_and_help(capsys):
    code, out = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"yota {yota.__version__}"
    code, out = run_cli(capsys)
    assert code == 2 and "plugins" in out and "rules" in out


def _script():
    exe = Path(sys.executable).parent / ("yota.exe" if os.name == "nt" else "yota")
    return str(exe)


def test_python_dash_m_yota_and_the_console_script(tmp_path):
    """Also: a pack whose import fails is skipped, named, and the command still succeeds."""
    site = tmp_path / "site"
    dist = site / "yota_broken-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: yota-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[yota]\nbroken = yota_broken_mod\n")
    (site / "yota_broken_mod.py").write_text(textwrap.dedent("""
        raise ImportError("needs libbar")
    """))
    env = dict(os.environ, PYTHONPATH=str(site) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("YOTA_DISABLE_PLUGINS", None)
    for cmd in ([sys.executable, "-m", "yota", "plugins"], [_script(), "plugins"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "yota-core" in proc.stdout
        assert "yota-broken failed to load and was skipped: ImportError: needs libbar" \
            in proc.stdout
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("alias, canonical", [
    ("np.abs", "numpy.absolute"), ("np.mod", "numpy.remainder"), ("np.conj", "numpy.conjugate"),
    ("abs", "numpy.absolute"), ("numpy.absolute", "numpy.absolute"),
    ("np.remainder", "numpy.remainder"), ("np.conjugate", "numpy.conjugate"),
])
def test_rules_resolve_numpy_aliases(capsys, alias, canonical):
    code, out = run_cli(capsys, "rules", alias)
    assert code == 0, out
    assert out.splitlines()[0].startswith(canonical)
    assert "provided by: yota-core" in out and "has no yota implementation" not in out


def test_rules_never_suggest_installing_a_loaded_pack(capsys):
    code, out = run_cli(capsys, "rules", "np.logsumexp")
    assert code == 0
    assert "pip install" not in out
    assert out.splitlines()[:3] == [
        "yota rules: np.logsumexp has no yota implementation, but a loaded pack has a "
        "primitive named logsumexp:",
        "primitive yota-reductions:logsumexp",
        f"  provided by: yota-reductions {metadata.version('yota-reductions')}"]
    code, out, err = run_cli_err(capsys, "rules", "np.linalg.frobnicate_inv")
    assert code == 1 and "pip install" not in err


def test_rules_install_hint_works_from_this_repository(capsys, yota_disable_packs):
    yota_disable_packs("yota-linalg")
    code, _, err = run_cli_err(capsys, "rules", "np.linalg.inv")
    assert code == 1
    assert ("install it with pip install yota-linalg (from a yota source checkout: "
            "pip install -e plugins/yota-linalg)") in err
    assert (Path(__file__).parents[1] / "plugins" / "yota-linalg" / "pyproject.toml").is_file()


def test_rules_of_a_primitive_name_name_its_pack_and_import(capsys):
    code, out = run_cli(capsys, "rules", "yota-nn:sigmoid")
    assert code == 0
    assert out.splitlines()[:4] == [
        "primitive yota-nn:sigmoid", f"  provided by: yota-nn {metadata.version('yota-nn')}",
        "  implementation: primitive sigmoid", "  import: from yota_nn import sigmoid"]


def test_plugins_show_conflicts_overrides_and_unknown_disabled_names(capsys, monkeypatch,
                                                                     fresh_plugins):
    seven = yota.primitive(lambda x: x * 0 + 7.0, name="sigmoid")
    for name, override in (("yota-p", False), ("yota-q", False), ("yota-r", True)):
        module = __import__("types").ModuleType(name)
        module.yota_register_primitives = yota.hookimpl(
            lambda registry, o=override: (registry.implement(np.ediff1d, seven),
                                          registry.implement(np.sinc, seven, override=o)))
        fresh_plugins._explicit.append((name, module))
    monkeypatch.setenv("YOTA_DISABLE_PLUGINS", "yota-nope")
    with pytest.warns(RuntimeWarning):
        fresh_plugins.reload()
    code, out = run_cli(capsys, "plugins")
    assert code == 0
    assert ("conflict: yota: plugins 'yota-p', 'yota-q' and 'yota-r' all implement numpy.ediff1d, "
            "so none of their versions is used") in out
    assert ("override: yota: plugin 'yota-r' overrides numpy.sinc (override=True); the versions "
            "of 'yota-core', 'yota-p' and 'yota-q' are not used") in out
    assert "shared primitive name sigmoid: yota-nn, yota-p, yota-q, yota-r" in out
    assert "YOTA_DISABLE_PLUGINS names yota-nope, which matches no installed pack" in out
