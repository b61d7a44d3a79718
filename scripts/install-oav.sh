#!/usr/bin/env bash
# Installs Microsoft's OpenAPI validator oav (npm, pinned) into the
# project-local, git-ignored .tools/oav: its LiveValidator judges every ARM
# request and response the acceptance suite records against the vendored
# specs (scripts/validate-arm-traffic.js). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.tools/oav"
version="4.0.3"
if grep -q "\"version\": \"$version\"" "$dir/node_modules/oav/package.json" 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to install oav (Node.js 20+)" >&2; exit 1; }
echo "Installing oav $version (npm) into .tools/oav ..." >&2
mkdir -p "$dir"
(cd "$dir" && npm install --no-audit --no-fund --silent --no-save "oav@$version")
