#!/usr/bin/env bash
# Debian tools the tests use to validate what the provider renders for hosts:
# `cloud-init schema` (cloud-config) and `shellcheck` (Run Command scripts);
# `unshare` + `ip`, which give the IMDS test a private network namespace; and
# `gpg` and `readelf` for the release tests (signing, glibc baseline).
# Installed with apt when missing (needs root, as on CI machines).
set -euo pipefail
missing=()
command -v cloud-init >/dev/null || missing+=(cloud-init)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v unshare >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
command -v gpg >/dev/null || missing+=(gnupg)        # the release signing test
command -v readelf >/dev/null || missing+=(binutils) # the glibc baseline check
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (Debian packages, to validate rendered cloud-init and scripts)"
if [ "$(id -u)" -ne 0 ]; then
  echo "need root to apt-get install ${missing[*]}; install them and re-run" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
