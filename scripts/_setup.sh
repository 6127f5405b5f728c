# Shared by scripts/run and scripts/test: install whatever is missing, and nothing twice.
# Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_python_deps() {
  # $1: "" for the portal alone, "dev" for the test suite too. The versions come from the
  # lock files (every package pinned, with its hashes), so every machine runs what CI ran;
  # `bash scripts/lock` writes them anew after a change to pyproject.toml.
  local extra="$1" lock stamp want
  lock="$ROOT/requirements.lock"
  [ "$extra" = "dev" ] && lock="$ROOT/requirements-dev.lock"
  if [ ! -x "$PY" ]; then
    say "creating the virtual environment in .venv"
    python3 -m venv "$VENV"
  fi
  stamp="$VENV/.installed-${extra:-base}"
  want="$(cat "$lock" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing Python packages from $(basename "$lock")"
    "$PY" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock" 2>&1 \
      | grep -v '^WARNING: Location' || true
    "$PY" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT" 2>&1 \
      | grep -v '^WARNING: Location' || true
    "$PY" -c "import flask, app" >/dev/null 2>&1 || { echo "installation failed" >&2; exit 1; }
    echo "$want" > "$stamp"
  fi
}

compile_translations() {
  "$VENV/bin/pybabel" compile --directory "$ROOT/app/translations" --domain messages >/dev/null
}
