#!/usr/bin/env bash
# Microsoft's Python SDK for Azure Storage (azure-storage-blob, from PyPI) in
# the project-local, git-ignored .tools/bench-venv: the reference the VHD
# upload benchmark measures our uploader against. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.tools/bench-venv"
version="12.31.1"
if "$venv/bin/python" -c "import azure.storage.blob" 2>/dev/null; then
  exit 0
fi
echo "Installing azure-storage-blob==$version (PyPI) into .tools/bench-venv for the upload benchmark ..." >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "azure-storage-blob==$version"
