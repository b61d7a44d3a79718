#!/usr/bin/env bash
# The local cloud: Microsoft's Azurite (blob storage) and rhelazure-emulator
# (ARM, Entra ID, Red Hat APIs), wired together on free loopback ports.
#
#   scripts/local-cloud.sh run          foreground (make emulator): print the
#                                       environment, serve until Ctrl-C
#   scripts/local-cloud.sh start DIR    background: writes DIR/env (export lines),
#                                       DIR/emulator.json, DIR/pids
#   scripts/local-cloud.sh stop DIR     stops what `start DIR` started
#
# State persists in .tools/local-cloud/state.json for `run`, so a session
# survives a restart; `start` keeps it in DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start() {
  local dir=$1 state=$2
  mkdir -p "$dir"
  "$root/scripts/install-azurite.sh"
  # Benchmarks use an optimized emulator (RHELAZURE_EMULATOR_PROFILE=release), so
  # the figures measure the provider, not a debug build of the cloud.
  local profile=${RHELAZURE_EMULATOR_PROFILE:-debug}
  if [ "$profile" = release ]; then
    (cd "$root" && cargo build --quiet --release -p rhelazure-emulator --bin rhelazure-emulator)
  else
    (cd "$root" && cargo build --quiet -p rhelazure-emulator --bin rhelazure-emulator)
  fi
  local port
  port=$(free_port)
  local blob="https://127.0.0.1:$port/devstoreaccount1"
  # The emulator serves HTTPS with a throwaway CA (ca.pem) and writes the server
  # certificate Azurite then uses too; SSL_CERT_FILE in env trusts that CA.
  # RHELAZURE_EMULATOR_IMDS_LISTEN (the IMDS test, inside its own network
  # namespace): also serve IMDS's identity endpoint there.
  local imds=()
  [ -n "${RHELAZURE_EMULATOR_IMDS_LISTEN:-}" ] && imds=(--imds-listen "$RHELAZURE_EMULATOR_IMDS_LISTEN")
  "$root/target/$profile/rhelazure-emulator" --listen 127.0.0.1:0 --blob-endpoint "$blob" --state "$state" \
    --tls-ca-file "$dir/ca.pem" --request-log "$dir/requests.jsonl" "${imds[@]}" >"$dir/emulator.json" 2>"$dir/emulator.log" &
  echo $! >"$dir/pids"
  for _ in $(seq 1 100); do
    [ -s "$dir/emulator.json" ] && break
    sleep 0.05
  done
  [ -s "$dir/emulator.json" ] || { echo "the emulator did not start; see $dir/emulator.log" >&2; stop "$dir"; exit 1; }
  mkdir -p "$dir/azurite"
  "$root/.tools/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" \
    --cert "$dir/ca.server.pem" --key "$dir/ca.server.key" \
    --location "$dir/azurite" --skipApiVersionCheck --disableTelemetry --silent >"$dir/azurite.log" 2>&1 &
  echo $! >>"$dir/pids"
  local up=""
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
    sleep 0.1
  done
  [ -n "$up" ] || { echo "Azurite did not start within 30 s; see $dir/azurite.log" >&2; stop "$dir"; exit 1; }
  python3 - "$dir/emulator.json" "$blob" >"$dir/env" <<'PY'
import json, shlex, sys
line = json.load(open(sys.argv[1]))
for k, v in line["env"].items():
    print(f"export {k}={shlex.quote(v)}")
print(f"export RHELAZURE_BLOB_ENDPOINT={shlex.quote(sys.argv[2])}")
PY
}

stop() {
  local dir=$1
  [ -f "$dir/pids" ] || return 0
  while read -r pid; do
    kill "$pid" 2>/dev/null || true
  done <"$dir/pids"
  while read -r pid; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done <"$dir/pids"
  rm -f "$dir/pids"
}

case "${1:-}" in
  start) start "${2:?directory}" "${2}/state.json" ;;
  stop) stop "${2:?directory}" ;;
  run)
    dir="$root/.tools/local-cloud"
    stop "$dir"
    trap 'stop "$dir"' EXIT INT TERM
    start "$dir" "$dir/state.json"
    echo "The local cloud is up (state: $dir/state.json, request log: $dir/requests.jsonl)."
    echo "Point the provider at it with:"
    echo
    cat "$dir/env"
    echo
    echo "(or: source $dir/env). Ctrl-C stops Azurite and the emulator."
    while kill -0 "$(head -1 "$dir/pids")" 2>/dev/null; do sleep 1; done
    ;;
  *) echo "usage: $0 run | start DIR | stop DIR" >&2; exit 2 ;;
esac
