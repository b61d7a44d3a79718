#!/usr/bin/env bash
# Builds the provider linked against the glibc baseline (default 2.28, RHEL 8)
# with Zig's linker (cargo-zigbuild), whatever glibc the build machine has,
# and checks the result needs nothing newer. Prints the binary's path.
#   scripts/build-baseline.sh [CARGO_PROFILE]   (default dev)
# Linux only: other systems have no glibc to pin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
profile=${1:-dev}
baseline=${RHELAZURE_GLIBC_BASELINE:-2.28}
"$root/scripts/install-zig.sh"
target="$(uname -m)-unknown-linux-gnu"
# cargo-zigbuild runs `python3 -m ziglang` when there is no `zig` on PATH.
PATH="$root/.tools/zig/bin:$PATH" "$root/.tools/cargo-zigbuild/bin/cargo-zigbuild" zigbuild \
  --quiet --manifest-path "$root/Cargo.toml" --profile "$profile" \
  --target "$target.$baseline" --bin terraform-provider-rhelazure >&2
dir=$profile
[ "$profile" = dev ] && dir=debug
bin="${CARGO_TARGET_DIR:-$root/target}/$target/$dir/terraform-provider-rhelazure"
needed=$("$root/scripts/glibc-needed.sh" "$bin")
if [ -n "$needed" ] && [ "$(printf '%s\n%s\n' "$needed" "$baseline" | sort -V | tail -n 1)" != "$baseline" ]; then
  echo "$bin needs glibc $needed, newer than the $baseline baseline" >&2
  exit 1
fi
echo "$bin"
