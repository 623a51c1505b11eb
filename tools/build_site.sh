#!/usr/bin/env bash
# The course site in one command: every solution notebook executed (real outputs), the docs
# pages and the API reference, built with Sphinx + myst-nb into _site/. Options are those of
# tools/build_site.py (--check opens every page in Chromium afterwards; --fast, --only for a
# small build). Needs the site extra: pip install -c constraints-ci.txt -e ".[site]".
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tools/build_site.py "$@"
