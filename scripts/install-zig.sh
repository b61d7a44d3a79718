#!/usr/bin/env bash
# Installs what release builds link with: Zig (PyPI `ziglang`, pinned) and
# cargo-zigbuild (crates.io, pinned), into the git-ignored .tools/. Zig's
# linker targets an older glibc than the build machine's, so the provider
# runs on RHEL 8 (glibc 2.28), where many RHEL teams' jump hosts are.
# Idempotent. Prints nothing when both are already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
zig_version="0.17.1"
zigbuild_version="0.24.1"
venv="$root/.tools/zig"
if ! "$venv/bin/python" -m ziglang version 2>/dev/null | grep -qx "$zig_version"; then
  echo "Installing Zig $zig_version (PyPI ziglang) into .tools/zig ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ziglang==$zig_version"
fi
bin="$root/.tools/cargo-zigbuild/bin/cargo-zigbuild"
if ! "$bin" --version 2>/dev/null | grep -q " $zigbuild_version\$"; then
  echo "Installing cargo-zigbuild $zigbuild_version into .tools/cargo-zigbuild (about a minute) ..." >&2
  cargo install --quiet --locked --version "$zigbuild_version" --root "$root/.tools/cargo-zigbuild" cargo-zigbuild
fi
