#!/usr/bin/env bash
# Installs the OpenAPI 3 validator openapi-core (PyPI, pinned) into a
# project-local, git-ignored virtualenv, .tools/openapi-venv: it judges every
# Red Hat request and response the acceptance suite records against the
# vendored Red Hat specs (scripts/validate-redhat-traffic.py). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.tools/openapi-venv"
version="0.19.5"
if "$venv/bin/python" -c "import openapi_core, yaml, sys; sys.exit(openapi_core.__version__ != '$version')" 2>/dev/null; then
  exit 0
fi
echo "Installing openapi-core $version (PyPI) into .tools/openapi-venv ..." >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-core==$version" "PyYAML==6.0.2"
