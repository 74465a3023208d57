"""mypy over yota/ and plugins/ with the configuration in pyproject.toml ([tool.mypy]): strict
on the public modules, the internals as annotated. A failure shows mypy's own output."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_passes():
    pytest.importorskip("mypy", reason="mypy is in the test extra")
    r = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, f"mypy found errors:\n{r.stdout}{r.stderr}"


def test_every_distribution_ships_py_typed():
    for pkg in [ROOT / "yota", *ROOT.glob("plugins/*/yota_*/"),
                ROOT / "examples" / "yota-special" / "yota_special"]:
        if pkg.is_dir() and not pkg.name.endswith(".egg-info"):
            assert (pkg / "py.typed").exists(), pkg
