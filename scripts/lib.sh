# Shared by scripts/start and scripts/test: install what Quietroom needs, or stop and say what
# is missing. Every step is idempotent and quick when nothing changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# apt_install PKG... : install Debian packages that are missing (as root), else name them.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! is_root; then
    die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})"
  fi
  say "installing Debian packages: ${missing[*]}"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
    apt-get update -q >/dev/null
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

require_toolchain() {
  command -v python3.11 >/dev/null || die "python3.11 is missing (Debian: apt-get install python3.11 python3.11-venv)"
  command -v node >/dev/null || die "node is missing: Quietroom needs Node.js 20 or newer"
  command -v npm >/dev/null || die "npm is missing: Quietroom needs npm with Node.js 20 or newer"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node.js $major is too old: Quietroom needs Node.js 20 or newer"
  if ! python3.11 -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3.11-venv
  fi
}

# python_env LOCKFILE : a virtualenv in .venv with exactly the hashed, pinned dependencies.
python_env() {
  local lock="$1" stamp="$VENV/.installed"
  local want
  want="$(sha256sum "$lock" pyproject.toml | sha256sum | cut -c1-64)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  say "installing Python packages from $(basename "$lock") (hash-checked)"
  [ -x "$VENV/bin/python" ] || python3.11 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==0.13.9"
  "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --require-hashes -r "$lock"
  "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --no-deps -e .
  echo "$want" >"$stamp"
}

# web_build : npm dependencies from the lockfile (integrity-checked) and the built client.
web_build() {
  local stamp="web/node_modules/.installed" want
  want="$(sha256sum web/package-lock.json | cut -c1-64)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing npm packages (npm ci)"
    (cd web && npm ci --no-fund --no-audit --loglevel=error)
    echo "$want" >"$stamp"
  fi
  say "building the web client"
  (cd web && npm run --silent build -- --logLevel error)
}
