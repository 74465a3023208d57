#!/usr/bin/env bash
# The main job: set everything up on a fresh machine, then train the digits MLP with its
# defaults (extra arguments go to examples/mlp/train.py, e.g. --epochs 5 --optimizer sgd).
# Installs yota with its example extras and every pack under plugins/ into a virtual
# environment (.venv, or $YOTA_VENV), as a user would.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${YOTA_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pkgs=(-e ".[examples]")
for d in plugins/*/; do
  [ -f "$d/pyproject.toml" ] && pkgs+=(-e "$d")
done
# Editable installs follow source edits; reinstall only when the package set or a
# pyproject.toml changed since the last run.
stamp="$VENV/.yota-train-mlp"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${pkgs[*]}" ] ||
   [ -n "$(find pyproject.toml plugins -maxdepth 2 -name pyproject.toml -newer "$stamp")" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${pkgs[@]}"
  echo "${pkgs[*]}" > "$stamp"
fi
exec "$VENV/bin/python" examples/mlp/train.py "$@"
