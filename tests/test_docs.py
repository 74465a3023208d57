"""The docs stay true: every page's snippets run, the site builds strictly (mkdocs.yml),
docs/supported-functions.md matches the registry, and the messages users read name what happened."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import yota
from yota.cli import GENERATE

ROOT = Path(__file__).resolve().parents[1]


PAGES = sorted((ROOT / "docs").rglob("*.md"))
NOT_RUN = re.compile(r"# not run: \S")


def _blocks(path):
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def test_every_page_is_collected():
    assert len(PAGES) >= 20 and any(p.name == "porting.md" for p in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT / "docs").as_posix())
def test_page_code_blocks_run(page, monkeypatch, tmp_path):
    """Every ```python block of the page, in order, in one namespace per page. A block that
    cannot run alone says so in its first line (`# not run: <reason>`) and is counted."""
    monkeypatch.chdir(tmp_path)              # a snippet that writes files writes them here
    rel = page.relative_to(ROOT).as_posix()
    namespace = {"__name__": "docs_" + re.sub(r"\W", "_", rel)}
    ran, skipped = 0, []
    for i, code in enumerate(_blocks(page)):
        first = code.lstrip().splitlines()[0] if code.strip() else ""
        if first.startswith("# not run"):
            assert NOT_RUN.match(first), f"{rel} block {i}: say why it is not run"
            skipped.append(f"block {i}: {first[len('# not run: '):]}")
            continue
        exec(compile(code, f"{rel} block {i}", "exec"), namespace)
        ran += 1
    print(f"{rel}: {ran} block(s) run, {len(skipped)} not run", *skipped, sep="\n  ")
    if rel == "docs/porting.md":
        assert ran >= 6


def test_few_blocks_are_not_run():
    skipped = [(p.name, b) for p in PAGES for b in _blocks(p) if b.lstrip().startswith("# not run")]
    total = sum(len(_blocks(p)) for p in PAGES)
    assert len(skipped) <= 6 and total >= 30, (len(skipped), total, skipped)


def test_site_builds_strictly(tmp_path):
    """`mkdocs build --strict`: a broken link, a missing page in the nav or a reference
    mkdocstrings cannot resolve fails the build (needs the `docs` extra and every pack)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOTA_")}
    env["NO_MKDOCS_2_WARNING"] = "1"         # Material's banner about its successor
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                          "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0, (f"mkdocs build --strict failed (the docs extra installs "
                                 f"mkdocs):\n{out.stdout}\n{out.stderr}")
    assert (tmp_path / "site" / "api" / "packs" / "index.html").exists()


def test_supported_functions_doc_is_current():
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOTA_")}
    out = subprocess.run([sys.executable, "-m", "yota", "rules", "--all", "--markdown"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    current = (ROOT / "docs" / "supported-functions.md").read_text()
    assert out.stdout == current, (
        f"docs/supported-functions.md is out of date; regenerate it with `{GENERATE}` "
        "(with every pack of this repository installed: bash scripts/test.sh installs them)")


# --- messages ---------------------------------------------------------------------------------
TABLE = np.ones(5)


@pytest.mark.parametrize("dynamic", [True, False], ids=["dynamic", "static"])
@pytest.mark.parametrize("f, cause", [
    (lambda x: np.sum(np.asarray(x)), r"^yota: np\.asarray\(\.\.\.\) converts it to a plain "
                                      r"ndarray \(`.*`, test_docs\.py:\d+\); converting a "),
    (lambda x: np.sum(TABLE[x]), r"^yota: indexing a plain array with it converts it"),
    (lambda x: np.sum(np.vectorize(lambda v: v * 2)(x)),
     r"^yota: numpy\.vectorize converts its arguments with np\.asarray and yota does not "
     r"intercept it"),
], ids=["asarray", "index", "vectorize"])
def test_a_conversion_names_its_cause(f, cause, dynamic):
    with pytest.raises(yota.YotaError, match=cause):
        yota.grad(f, np.ones(3), dynamic=dynamic)


@pytest.mark.parametrize("dynamic", [True, False], ids=["dynamic", "static"])
def test_an_fstring_of_a_tracked_value_names_the_formatting(dynamic):
    def f(x):
        loss = np.sum(x * x)
        print(f"{loss:.3f}")
        return loss

    with pytest.raises(yota.ConcretizationError,
                       match=r'^yota: f"\{x:\.3f\}" on a tracked value .*'
                             r'f"\{yota\.stop_gradient\(x\):\.3f\}"'):
        yota.grad(f, np.ones(3), dynamic=dynamic)


@pytest.mark.parametrize("dynamic", [True, False], ids=["dynamic", "static"])
def test_an_error_inside_a_rule_names_the_rule_and_the_primitive(dynamic):
    @yota.primitive
    def cube(x):
        return x ** 3

    @cube.defgrad
    def cube_grad(dy, y, x):
        return dy * 3 * x.no_such_attribute

    with pytest.raises(AttributeError) as exc:
        yota.grad(lambda x: np.sum(cube(x)), np.ones(3), dynamic=dynamic)
    assert ("yota: raised by the gradient rule test_an_error_inside_a_rule_names_the_rule_and_"
            "the_primitive.<locals>.cube_grad of primitive cube for argument 0"
            ) in exc.value.__notes__


def _cli(*argv):
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOTA_")}
    return subprocess.run([sys.executable, "-m", "yota", *argv], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300).stdout


def test_writing_a_pack_shows_current_output():
    """The guide's sample output, as the commands print it today (with every pack of this
    repository installed, yota plugins lists more packs than the guide's two)."""
    text = (ROOT / "docs" / "writing-a-pack.md").read_text()
    plugins = re.search(r"yota plugins +# or.*?\n```\n\n```\n(.*?)```", text, re.S).group(1)
    actual = _cli("plugins").splitlines()
    installed_here = {line.split()[0] for line in actual if " loaded " in line}
    for line in plugins.splitlines():
        # the guide's reader has no yota-numba: its backend row reads "no: ... install it"
        not_theirs = " no: " in line and line.split()[1] in installed_here
        if line and not line.endswith("pack(s) loaded") and not not_theirs:
            assert line in actual, f"docs/writing-a-pack.md shows {line!r}; yota plugins prints " \
                                   f"{actual}"
    rules = re.search(r"yota rules scipy\.special\.jv\n```\n\n```\n(.*?)```", text, re.S).group(1)
    assert _cli("rules", "scipy.special.jv") == rules
