#!/usr/bin/env bash
# make release: the artifacts a Terraform registry publishes, in dist/:
#
#   terraform-provider-rhelazure_<version>_<os>_<arch>.zip   (holds terraform-provider-rhelazure_v<version>)
#   terraform-provider-rhelazure_<version>_manifest.json     (= terraform-registry-manifest.json: protocol 6.0)
#   terraform-provider-rhelazure_<version>_SHA256SUMS        (sha256 of the zips and the manifest)
#
#   terraform-provider-rhelazure_<version>_SHA256SUMS.sig    (detached GPG signature, with RHELAZURE_GPG_KEY)
#
# The binary is built with the `dist` profile (fat LTO, one codegen unit,
# stripped). On Linux it is linked against glibc 2.28 (RHEL 8) with Zig
# (scripts/build-baseline.sh), and a binary that needs a newer glibc is
# refused. RHELAZURE_GPG_KEY (a key id or user id in the GnuPG keyring,
# GNUPGHOME as usual) signs the SHA256SUMS as the Terraform registry expects:
# a binary detached signature, `.sig`.
#   scripts/release.sh [OUT_DIR]   (default dist/)
# RHELAZURE_RELEASE_BIN packages an existing build instead (the tests use a
# debug build linked the same way, so they do not pay for a fat-LTO build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | sed -n 1p)
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
name=terraform-provider-rhelazure
bin=${RHELAZURE_RELEASE_BIN:-}
baseline=${RHELAZURE_GLIBC_BASELINE:-2.28}
if [ -z "$bin" ]; then
  echo "building $name $version (profile dist: fat LTO, stripped; a few minutes on 2 cores)"
  if [ "$os" = linux ]; then
    bin=$("$root/scripts/build-baseline.sh" dist)
  else
    (cd "$root" && cargo build --profile dist --quiet --bin "$name")
    bin="$root/target/dist/$name"
  fi
fi
if [ "$os" = linux ]; then
  needed=$("$root/scripts/glibc-needed.sh" "$bin")
  if [ -n "$needed" ] && [ "$(printf '%s\n%s\n' "$needed" "$baseline" | sort -V | tail -n 1)" != "$baseline" ]; then
    echo "refusing to package $bin: it needs glibc $needed, newer than the $baseline baseline (RHEL 8); build it with scripts/build-baseline.sh" >&2
    exit 1
  fi
  echo "$name needs glibc ${needed:-(none)}: runs on RHEL 8 and later"
fi
mkdir -p "$out"
# Python's zipfile rather than zip(1): one less package on a fresh machine.
python3 - "$bin" "$out" "$name" "$version" "${os}_$arch" "$root/terraform-registry-manifest.json" <<'PY'
import hashlib, os, shutil, sys, zipfile
bin, out, name, version, target, manifest = sys.argv[1:]
zip_name = f"{name}_{version}_{target}.zip"
info = zipfile.ZipInfo(f"{name}_v{version}", date_time=(2020, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16  # a regular, executable file
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(os.path.join(out, zip_name), "w") as z, open(bin, "rb") as f:
    z.writestr(info, f.read())
manifest_name = f"{name}_{version}_manifest.json"
shutil.copyfile(manifest, os.path.join(out, manifest_name))
# Every zip for this version in out/ (other targets may have been built there too).
files = sorted(f for f in os.listdir(out) if f.startswith(f"{name}_{version}_") and (f.endswith(".zip") or f == manifest_name))
with open(os.path.join(out, f"{name}_{version}_SHA256SUMS"), "w") as sums:
    for f in files:
        sums.write(f"{hashlib.sha256(open(os.path.join(out, f), 'rb').read()).hexdigest()}  {f}\n")
print(f"release artifacts in {out}:")
for f in files + [f"{name}_{version}_SHA256SUMS"]:
    print(f"  {f}")
PY
sums="$out/${name}_${version}_SHA256SUMS"
if [ -n "${RHELAZURE_GPG_KEY:-}" ]; then
  gpg --batch --yes --local-user "$RHELAZURE_GPG_KEY" --detach-sign --output "$sums.sig" "$sums"
  echo "  ${name}_${version}_SHA256SUMS.sig (signed by $RHELAZURE_GPG_KEY)"
else
  rm -f "$sums.sig"  # a signature of an older SHA256SUMS would not verify
  echo "(SHA256SUMS not signed: set RHELAZURE_GPG_KEY to the publishing key)"
fi
