# Shared by scripts/run and scripts/test: install whatever is missing, and nothing twice.
# Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_python_deps() {
  # $1: the pip extra to install ("" for the portal alone, "dev" for the test suite too)
  local extra="$1" spec="" stamp want
  [ -n "$extra" ] && spec="[$extra]"
  if [ ! -x "$PY" ]; then
    say "creating the virtual environment in .venv"
    python3 -m venv "$VENV"
  fi
  stamp="$VENV/.installed-${extra:-base}"
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing Python packages${spec:+ $spec}"
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 \
      | grep -v '^WARNING: Location' || true
    "$PY" -m pip install --quiet --disable-pip-version-check -e "$ROOT$spec" 2>&1 \
      | grep -v '^WARNING: Location' || true
    "$PY" -c "import flask, app" >/dev/null 2>&1 || { echo "installation failed" >&2; exit 1; }
    echo "$want" > "$stamp"
  fi
}

compile_translations() {
  "$VENV/bin/pybabel" compile --directory "$ROOT/translations" --domain messages >/dev/null
}
