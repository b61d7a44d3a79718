#!/usr/bin/env bash
# make install: put a release build into a Terraform filesystem mirror so
# `terraform init` finds it without dev_overrides. Reinstalling a different
# build under the same version prints how to update workspaces' lock files.
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
target="$dest/terraform-provider-rhelazure_v$version"
# A rebuilt binary under the same version has another checksum than the one
# each workspace's .terraform.lock.hcl recorded at `terraform init`, and
# Terraform then refuses it (even with -upgrade). Say so, and what to do.
replaced=false
if [ -f "$target" ] && ! cmp -s "$bin" "$target"; then replaced=true; fi
mkdir -p "$dest"
install -m 0755 "$bin" "$target"
echo "installed $target"
if $replaced; then
  cat <<EOF
note: this replaced a different build of version $version. Workspaces that ran
'terraform init' with the previous build recorded its checksum in
.terraform.lock.hcl, and 'terraform init' there now fails with "doesn't match
any of the checksums previously recorded". In each of them, delete the
provider "registry.terraform.io/rhel-on-azure/rhelazure" block from
.terraform.lock.hcl (or the file, if it holds nothing else) and run
'terraform init' again. To avoid this while developing, use dev_overrides
(see README.md, "Using a locally built provider"): it needs no lock file.
EOF
fi
