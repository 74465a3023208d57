#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it (arguments go to pytest).
# Installs yota, every pack under plugins/ and every example pack (examples/yota-*) into a
# virtual environment, as a user would: packs are found through their entry points.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${YOTA_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pkgs=(-e ".[test,examples]")
pkgs+=(-e ".[docs]")   # the documentation site: tests/test_docs.py runs mkdocs build --strict
for d in plugins/*/ examples/yota-*/; do
  [ -f "$d/pyproject.toml" ] && pkgs+=(-e "$d")
done
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${pkgs[@]}"
exec "$VENV/bin/python" -m pytest "$@"
