#!/usr/bin/env bash
# The real Azure CLI (PyPI azure-cli, pinned) in the project-local, git-ignored
# .tools/azure-cli venv: the acceptance test of the provider's Azure CLI
# credential (use_cli) logs it in to the local cloud and lets the provider run
# `az account get-access-token` through it. Idempotent; about 45 s and 730 MB
# the first time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.tools/azure-cli"
version="2.91.0"
stamp="$venv/.installed-$version"
if [ -f "$stamp" ] && [ -x "$venv/bin/az" ]; then
  exit 0
fi
echo "Installing azure-cli==$version (PyPI) into .tools/azure-cli for the Azure CLI credential test ..." >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "azure-cli==$version"
AZURE_CONFIG_DIR=$(mktemp -d) AZURE_CORE_COLLECT_TELEMETRY=false "$venv/bin/az" version --output tsv >/dev/null
touch "$stamp"
