#!/usr/bin/env bash
# Prints the highest glibc symbol version an ELF binary needs (for example
# 2.28), read from its version-needs section (readelf, binutils), or nothing
# when it needs none (a static binary).
#   scripts/glibc-needed.sh BINARY
set -euo pipefail
bin=${1:?usage: glibc-needed.sh BINARY}
# Only the .gnu.version_r entries ("Name: GLIBC_2.28  Flags: ...") count: a
# string that merely looks like a version elsewhere in the binary does not.
readelf --wide --version-info "$bin" \
  | awk '/^Version needs section/ { needs = 1; next } /^Version (symbols|definition) section/ { needs = 0 }
         needs && match($0, /Name: GLIBC_[0-9.]+/) { print substr($0, RSTART + 12, RLENGTH - 12) }' \
  | sort -V | tail -n 1
