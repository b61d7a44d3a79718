#!/usr/bin/env bash
# make test-stress: the whole suite (`cargo test --workspace`, what `make test`
# runs) STRESS_RUNS times in a row while CPU burners keep every core busy, to
# flush out tests that pass only on an idle machine.
#
#   STRESS_RUNS=3          how many times the suite runs
#   STRESS_BURNERS=nproc   busy-loop processes started beside it
#   STRESS_MAX_MINUTES=240 hard bound: burners and runs stop after this long
#
# Each run gets its own random FUZZ_SEED (fuzz replay; the crash tests kill
# at named events, not at random times), recorded with its result, so any failure can be replayed.
# Logs and a report go to target/stress/<time>/; the exit code is non-zero
# when any run failed. The burners are stopped on every exit path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

runs=${STRESS_RUNS:-3}
burners=${STRESS_BURNERS:-$(nproc)}
max_minutes=${STRESS_MAX_MINUTES:-240}
out="$root/target/stress/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
report="$out/report.md"

# Build everything first, unloaded: the runs should test, not compile.
cargo test --workspace --no-run --quiet

pids=()
stop_burners() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_burners EXIT INT TERM
for _ in $(seq 1 "$burners"); do
  # `timeout` bounds each burner even if this script is killed with SIGKILL.
  timeout "${max_minutes}m" bash -c 'while :; do :; done' &
  pids+=($!)
done

{
  echo "# Stress report: $runs run(s) of the whole suite beside $burners CPU burner(s) on $(nproc) core(s)"
  echo
  echo "| run | FUZZ_SEED | seconds | result | failed tests |"
  echo "|---|---|---|---|---|"
} >"$report"

failures=0
deadline=$((SECONDS + max_minutes * 60))
for run in $(seq 1 "$runs"); do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "| $run | | | not run: STRESS_MAX_MINUTES reached | |" >>"$report"
    continue
  fi
  fuzz_seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
  log="$out/run-$run.log"
  echo "==> stress run $run/$runs (FUZZ_SEED=$fuzz_seed), log: $log" >&2
  started=$SECONDS
  rc=0
  FUZZ_SEED=$fuzz_seed \
    timeout "$((deadline - SECONDS))" cargo test --workspace --no-fail-fast >"$log" 2>&1 || rc=$?
  took=$((SECONDS - started))
  failed=$(grep -E '^test .* FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' | sort -u | paste -sd, - || true)
  if [ "$rc" -eq 0 ]; then
    result=passed
  else
    failures=$((failures + 1))
    result="failed (exit $rc)"
    [ "$rc" -eq 124 ] && result="stopped at STRESS_MAX_MINUTES"
  fi
  echo "| $run | $fuzz_seed | $took | $result | ${failed:-} |" >>"$report"
  echo "==> run $run: $result in ${took}s ${failed:+(failed: $failed)}" >&2
done
stop_burners

{
  echo
  echo "$failures of $runs run(s) failed. Logs: $out/run-N.log (each failure's panic message is there)."
  echo "Replay a run: FUZZ_SEED=... make test"
} >>"$report"
cat "$report"
[ "$failures" -eq 0 ]
