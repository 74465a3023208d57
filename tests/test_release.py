"""Release checks: every distribution builds a wheel and an sdist whose metadata is complete
(``twine check``), and the wheels (not editable) install into a fresh virtual environment where
yota and every pack import, ``yota plugins`` lists the packs and a gradient goes through each.

Slow (about a minute and a half with pip's cache warm: most of it installs NumPy, SciPy, numba
and Dask into the fresh environment), so marked ``release``: ``pytest -m "not release"`` skips
it locally; ``bash scripts/test.sh`` and CI run it.
"""
from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import yota

pytestmark = pytest.mark.release

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTIONS = [ROOT] + sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml")) + [
    ROOT / "examples" / "yota-special"]
PACKS = ["reductions", "linalg", "nn", "fft", "scipy", "numba", "special"]

SMOKE = r'''
import subprocess, sys
import numpy as np
import scipy.special
import yota, yota_reductions, yota_linalg, yota_nn, yota_fft, yota_scipy, yota_dask, yota_numba
import yota_special
import yota.testing
from importlib import metadata

assert yota.__version__ == metadata.version("yota-ad") == "0.2.0", yota.__version__
assert "site-packages" in yota.__file__, yota.__file__   # the wheel, not the source tree
out = subprocess.run([sys.executable, "-m", "yota", "plugins"], capture_output=True, text=True,
                     check=True).stdout
for name in PACKS:
    assert name in out, (name, out)

x = np.array([0.5, 1.5, 2.0])
A = np.array([[2.0, 1.0], [1.0, 3.0]])
cases = {
    "reductions": (lambda x: np.sum(np.cumprod(x)), x),
    "linalg": (lambda A: np.linalg.det(A) + np.linalg.norm(A), A),
    "nn": (lambda x: np.sum(yota_nn.softmax(x) * x), x),
    "fft": (lambda x: np.sum(np.abs(np.fft.rfft(x)) ** 2), x),
    "scipy": (lambda x: np.sum(scipy.special.gammaln(x)), x),
    "special": (lambda x: np.sum(scipy.special.erfcx(x)), x),
}
for name, (f, arg) in cases.items():
    v, g = yota.grad(f, arg)
    assert np.all(np.isfinite(g[0])) and np.shape(g[0]) == np.shape(arg), name
    yota.testing.check_grads(f, arg)

v, g = yota.grad(lambda x: np.sum(np.tanh(x) * np.exp(x)), x, backend="numba")
assert np.allclose(g[0], (1 - np.tanh(x) ** 2) * np.exp(x) + np.tanh(x) * np.exp(x))

from dask.distributed import Client
import dask.array as da
with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None):
    X = da.from_array(np.arange(12.0).reshape(6, 2), chunks=(3, 2))
    w = np.array([0.1, -0.2])
    v, g = yota_dask.grad(lambda w, X: np.mean((X @ w) ** 2), w, X, argnums=0)
    Xn = np.arange(12.0).reshape(6, 2)
    assert np.allclose(g[0], 2 * Xn.T @ (Xn @ w) / 6), g[0]
print("smoke ok")
'''.replace("PACKS", repr(PACKS))


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """Every distribution's sdist and wheel (the wheel built from the sdist), in one directory."""
    out = tmp_path_factory.mktemp("dist")
    for d in DISTRIBUTIONS:
        # --no-isolation: the test environment has the build backend (setuptools>=77, the
        # test extra), which saves a fresh build environment per distribution.
        run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, d])
    return out


def test_version_is_read_from_one_place():
    assert yota.__version__ == metadata.version("yota-ad") == "0.2.0"
    for d in DISTRIBUTIONS[1:]:
        assert 'version = "0.2.0"' in (d / "pyproject.toml").read_text(), d
        for init in d.glob("yota_*/__init__.py"):   # a pack's own __version__, where it has one
            for line in init.read_text().splitlines():
                if line.startswith("__version__ = "):
                    assert line.split("=", 1)[1].split("#")[0].strip() == '"0.2.0"', init


def test_every_distribution_builds_a_wheel_and_an_sdist(dist):
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    assert len(wheels) == len(sdists) == len(DISTRIBUTIONS), [p.name for p in dist.iterdir()]
    assert all("-0.2.0" in p.name for p in wheels + sdists)


def test_twine_check_passes(dist):
    run([sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir())])


def test_metadata_is_complete(dist):
    for wheel in sorted(dist.glob("*.whl")):
        with zipfile.ZipFile(wheel) as z:
            names = z.namelist()
            meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
            meta = email.parser.Parser().parsestr(z.read(meta_name).decode())
        assert meta["License-Expression"] == "MIT", wheel.name
        assert any(n.endswith("licenses/LICENSE") for n in names), wheel.name
        assert any(n.endswith("/py.typed") for n in names), f"{wheel.name} lacks py.typed"
        assert meta["Requires-Python"] == ">=3.10", wheel.name
        assert meta["Description-Content-Type"] == "text/markdown", wheel.name
        assert len(meta.get_payload()) > 200, f"{wheel.name}: no README"
        urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
        assert {"Repository", "Documentation", "Changelog"} <= set(urls), wheel.name
        assert "Typing :: Typed" in meta.get_all("Classifier"), wheel.name
        for req in meta.get_all("Requires-Dist") or []:
            if "extra ==" in req:
                continue
            assert ">=" in req, f"{wheel.name}: {req!r} has no lower bound"
    for sdist in sorted(dist.glob("*.tar.gz")):
        with tarfile.open(sdist) as t:
            names = t.getnames()
        for needed in ("LICENSE", "README.md", "pyproject.toml"):
            assert any(n.endswith("/" + needed) for n in names), f"{sdist.name} lacks {needed}"


def test_wheels_install_into_a_fresh_environment(dist, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    py = venv / "bin" / "python"
    # The wheels by path (yota's own distributions never come from an index); their
    # third-party dependencies from the package index, through pip's cache.
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    run([py, "-m", "pip", "install", "-q", *sorted(dist.glob("*.whl"))], env=env)
    out = run([py, "-c", SMOKE], cwd=tmp_path, env={k: v for k, v in env.items()
                                                   if k != "PYTHONPATH"})
    assert "smoke ok" in out
