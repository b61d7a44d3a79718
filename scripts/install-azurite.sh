#!/usr/bin/env bash
# Installs Microsoft's storage emulator Azurite (npm, pinned: 3.35.0 is the
# last release that runs on Node 20) into the project-local, git-ignored
# .tools/azurite. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.tools/azurite"
version="3.35.0"
bin="$dir/node_modules/.bin/azurite-blob"
if [ -x "$bin" ] && grep -q "\"version\": \"$version\"" "$dir/node_modules/azurite/package.json" 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to install Azurite (Node.js 20+)" >&2; exit 1; }
echo "Installing Azurite $version (npm) into .tools/azurite ..." >&2
mkdir -p "$dir"
(cd "$dir" && npm install --no-audit --no-fund --silent --no-save "azurite@$version")
