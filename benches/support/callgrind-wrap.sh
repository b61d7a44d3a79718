#!/usr/bin/env bash
# Bench helper: stands in for terraform-provider-rhelazure (put in a
# dev_overrides directory under that name) and runs the real binary
# ($RHELAZURE_REAL_PROVIDER) under valgrind's callgrind, which counts the
# instructions the process executes: the same count for the same binary and
# inputs whatever else the machine is doing, unlike CPU seconds. One output
# file per process in $RHELAZURE_CALLGRIND_DIR; valgrind's own messages go
# to a log there, so stdout stays the plugin's handshake.
set -euo pipefail
exec valgrind --tool=callgrind --log-file="$RHELAZURE_CALLGRIND_DIR/valgrind.log" \
  --callgrind-out-file="$RHELAZURE_CALLGRIND_DIR/callgrind.out.%p" \
  "$RHELAZURE_REAL_PROVIDER" "$@"
