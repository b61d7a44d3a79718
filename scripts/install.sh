#!/usr/bin/env bash
# make install: put a release build into a Terraform filesystem mirror so
# `terraform init` finds it without dev_overrides.
#   scripts/install.sh [MIRROR_DIR]   (default ~/.terraform.d/plugins)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mirror=${1:-$HOME/.terraform.d/plugins}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | sed -n 1p)
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
dest="$mirror/registry.terraform.io/rhel-on-azure/rhelazure/$version/${os}_$arch"
# RHELAZURE_INSTALL_BIN installs an existing build instead (the tests use the debug one).
bin=${RHELAZURE_INSTALL_BIN:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --quiet --bin terraform-provider-rhelazure)
  bin="$root/target/release/terraform-provider-rhelazure"
fi
mkdir -p "$dest"
install -m 0755 "$bin" "$dest/terraform-provider-rhelazure_v$version"
echo "installed $dest/terraform-provider-rhelazure_v$version"
