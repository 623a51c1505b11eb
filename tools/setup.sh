#!/usr/bin/env bash
# Set-up for the tests and the site: the package with its dev and site extras (exact versions from
# constraints-ci.txt; a working CPU build of torch already installed stays, see
# tools/ci_constraints.py), onnxruntime-web for the site's playground (npm ci, at the versions of
# site/playground/package-lock.json) and, on Debian as root, the system Chromium that the browser
# tests drive. Where Chromium or npm is missing the browser tests are skipped and say why.
set -euo pipefail
cd "$(dirname "$0")/.."
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
python3 tools/ci_constraints.py "$constraints"
python3 -m pip install -q -c "$constraints" -e ".[dev,site]"
if command -v npm >/dev/null 2>&1; then
  (cd site/playground && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
else
  echo "setup: npm not found; the site's playground (and its browser test) needs it (apt-get install npm)"
fi
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >/dev/null 2>&1 \
      || echo "setup: could not install chromium; the browser tests will be skipped"
  else
    echo "setup: chromium not found and apt-get unavailable (or not root); the browser tests will be skipped"
  fi
fi
