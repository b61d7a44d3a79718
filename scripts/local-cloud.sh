#!/usr/bin/env bash
# The local cloud: Microsoft's Azurite (blob storage) and rhelazure-emulator
# (ARM, Entra ID, Red Hat APIs), wired together on free loopback ports.
#
#   scripts/local-cloud.sh run          foreground (make emulator): print the
#                                       environment, serve until Ctrl-C
#   scripts/local-cloud.sh start DIR    background: writes DIR/env (export lines),
#                                       DIR/emulator.json, DIR/pids
#   scripts/local-cloud.sh stop DIR     stops what `start DIR` started
#   scripts/local-cloud.sh storage-account DIR NAME
#                                       makes a storage account NAME in the
#                                       demo resource group through ARM (as
#                                       `az storage account create` would on
#                                       Azure) and prints its id
#
# `start` also writes DIR/cli.tfrc: a Terraform CLI configuration whose
# dev_overrides use this checkout's debug build of the provider
# (TF_CLI_CONFIG_FILE=DIR/cli.tfrc; no `terraform init` needed).
#
# State persists in .tools/local-cloud/state.json for `run`, so a session
# survives a restart; `start` keeps it in DIR.
set -euo pipefail
# The checkout this script is in, also when called through a symlink.
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)

# A port for Azurite, which needs it before it starts (the emulator advertises
# the blob endpoint). It is taken below the kernel's ephemeral range, where no
# outgoing connection can hold it, at random so parallel local clouds rarely
# meet; when another process still has it, start() tries another.
pick_port() {
  python3 - <<'PY'
import random
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
print(random.randrange(max(1024, low - 12000), low) if low > 2048 else random.randrange(20000, 32000))
PY
}

# Waits until FILE holds a complete line matching PATTERN while PID lives.
# Returns 0 when it does, 1 when PID exited first, 2 after SECS seconds.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3 secs=$4
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$deadline" ]; do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { grep -q -- "$pattern" "$file" 2>/dev/null && return 0; return 1; }
    sleep 0.05
  done
  return 2
}

# One attempt: emulator, then Azurite on a picked port. Returns 0 when both
# listen, 3 when Azurite found its port taken (try again), 1 otherwise.
start_once() {
  local dir=$1 state=$2 profile=$3 port
  port=$(pick_port)
  local blob="https://127.0.0.1:$port/devstoreaccount1"
  # The emulator serves HTTPS with a throwaway CA (ca.pem) and writes the server
  # certificate Azurite then uses too; SSL_CERT_FILE in env trusts that CA.
  # RHELAZURE_EMULATOR_IMDS_LISTEN (the IMDS test, inside its own network
  # namespace): also serve IMDS's identity endpoint there.
  local imds=()
  [ -n "${RHELAZURE_EMULATOR_IMDS_LISTEN:-}" ] && imds=(--imds-listen "$RHELAZURE_EMULATOR_IMDS_LISTEN")
  : >"$dir/emulator.json"
  "$root/target/$profile/rhelazure-emulator" --listen 127.0.0.1:0 --blob-endpoint "$blob" --state "$state" \
    --tls-ca-file "$dir/ca.pem" --request-log "$dir/requests.jsonl" "${imds[@]}" >"$dir/emulator.json" 2>"$dir/emulator.log" &
  local emulator=$!
  echo "$emulator" >"$dir/pids"
  # The emulator prints its one JSON line (ending in '}') once it listens,
  # with its signal handlers already in place.
  if ! wait_for_line "$dir/emulator.json" '}$' "$emulator" 60; then
    echo "the emulator did not start; see $dir/emulator.log" >&2
    return 1
  fi
  mkdir -p "$dir/azurite"
  "$root/.tools/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" \
    --cert "$dir/ca.server.pem" --key "$dir/ca.server.key" \
    --location "$dir/azurite" --skipApiVersionCheck --disableTelemetry --silent >"$dir/azurite.log" 2>&1 &
  local azurite=$!
  echo "$azurite" >>"$dir/pids"
  # Azurite prints this once its server listens (with --silent too); a
  # connect() alone could reach another process that holds the port.
  local rc=0
  wait_for_line "$dir/azurite.log" "successfully listens on https://127.0.0.1:$port" "$azurite" 60 || rc=$?
  case $rc in
    0) echo "$blob" >"$dir/blob-endpoint"; return 0 ;;
    1) if grep -q EADDRINUSE "$dir/azurite.log"; then return 3; fi
       echo "Azurite exited at start; see $dir/azurite.log" >&2; return 1 ;;
    *) echo "Azurite did not start within 60 s; see $dir/azurite.log" >&2; return 1 ;;
  esac
}

start() {
  local dir=$1 state=$2
  mkdir -p "$dir" "$(dirname "$state")"
  # Absolute, because env holds paths (SSL_CERT_FILE) that must work from
  # any directory the user goes to next.
  dir=$(cd "$dir" && pwd)
  state="$(cd "$(dirname "$state")" && pwd)/$(basename "$state")"
  "$root/scripts/install-azurite.sh"
  # Benchmarks use an optimized emulator (RHELAZURE_EMULATOR_PROFILE=release), so
  # the figures measure the provider, not a debug build of the cloud.
  local profile=${RHELAZURE_EMULATOR_PROFILE:-debug}
  if [ "$profile" = release ]; then
    (cd "$root" && cargo build --quiet --release -p rhelazure-emulator --bin rhelazure-emulator)
  else
    (cd "$root" && cargo build --quiet -p rhelazure-emulator --bin rhelazure-emulator)
  fi
  local attempt rc
  for attempt in 1 2 3 4 5; do
    rc=0
    start_once "$dir" "$state" "$profile" || rc=$?
    [ "$rc" -eq 0 ] && break
    stop "$dir"
    [ "$rc" -eq 3 ] || exit 1
    echo "Azurite's port was taken (attempt $attempt); trying another" >&2
  done
  [ "$rc" -eq 0 ] || { echo "Azurite found no free port in 5 attempts" >&2; exit 1; }
  python3 - "$dir/emulator.json" "$(cat "$dir/blob-endpoint")" >"$dir/env" <<'PY'
import json, shlex, sys
line = json.load(open(sys.argv[1]))
for k, v in line["env"].items():
    print(f"export {k}={shlex.quote(v)}")
print(f"export RHELAZURE_BLOB_ENDPOINT={shlex.quote(sys.argv[2])}")
PY
  cat >"$dir/cli.tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "rhel-on-azure/rhelazure" = "$root/target/debug"
  }
  direct {}
}
TFRC
}

# A storage account through ARM with the local cloud's own credentials:
# token from its Entra ID endpoint, PUT, then GET until it is provisioned.
storage_account() {
  local dir=$1 name=$2
  # shellcheck disable=SC1091
  (source "$dir/env" && python3 - "$name" <<'PY'
import json, os, ssl, sys, time, urllib.parse, urllib.request
name = sys.argv[1]
ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
def call(method, url, body=None, token=None, form=False):
    data = urllib.parse.urlencode(body).encode() if form else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/x-www-form-urlencoded" if form else "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, context=ctx) as r:
        text = r.read()
        return r.status, json.loads(text) if text else None
e = os.environ
_, tok = call("POST", f"{e['ARM_AUTHORITY_HOST']}/{e['ARM_TENANT_ID']}/oauth2/v2.0/token", {
    "grant_type": "client_credentials", "client_id": e["ARM_CLIENT_ID"],
    "client_secret": e["ARM_CLIENT_SECRET"], "scope": "https://management.azure.com/.default"}, form=True)
token = tok["access_token"]
rid = f"/subscriptions/{e['ARM_SUBSCRIPTION_ID']}/resourceGroups/rhel-demo/providers/Microsoft.Storage/storageAccounts/{name}"
url = f"{e['ARM_ENDPOINT']}{rid}?api-version=2023-05-01"
call("PUT", url, {"location": "eastus", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}, token)
for _ in range(600):
    _, acct = call("GET", url, token=token)
    if (acct or {}).get("properties", {}).get("provisioningState") == "Succeeded":
        print(rid)
        sys.exit(0)
    time.sleep(0.1)
sys.exit(f"storage account {name} was not provisioned within 60 s")
PY
  )
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
  storage-account) storage_account "${2:?directory}" "${3:?storage account name}" ;;
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
  *) echo "usage: $0 run | start DIR | stop DIR | storage-account DIR NAME" >&2; exit 2 ;;
esac
