#!/usr/bin/env bash
# Consumer-group benchmarks (issue 4), over the wire against a real silo with raw Kafka clients
# built on the silo's own codec (Tests/OrleansMQ.Broker.Benchmarks, "groups" scenarios):
#   1. rebalance: 100 consumers (one connection each) join one group over a 1,000-partition topic
#      (JoinGroup v5 with MEMBER_ID_REQUIRED, the leader's range assignment, SyncGroup v3), then a
#      101st joins and the others rejoin on their next heartbeat. Silo with
#      OrleansMQ:Groups:InitialRebalanceDelayMs=0, then once more with Kafka's default 3 s delay.
#   2. commit: 32 connections x 16 in flight; OffsetCommit v7 of 1 and of 10 partitions per request
#      from members of 8 groups, and standalone (generation -1) commits, against the same run's
#      Produce of one 16-byte record per request (the baseline); a fresh silo per run.
#   3. memory: managed heap per group (10,000 groups x 10 committed offsets), activated and idle
#      (after a restart: loaded, not activated), with the silo hosted in the load generator.
# Everything runs on this machine over 127.0.0.1: the silo and the clients share its cores, so
# compare figures of one run with each other (ratios), not with another machine's.
#
#   infra/bench-groups.sh            full run (~5.5 min here)
#   QUICK=1 infra/bench-groups.sh    smoke run (~1 min)
#
# Knobs (environment): RUNS (3), MEMBERS (100), PARTITIONS (1000), HEARTBEAT_MS (3000),
# SCALE_MEMBERS ("300 1000": extra rebalance runs, once each), CONNECTIONS (32), COMMIT_GROUPS (8),
# IN_FLIGHT (16), COMMIT_SECONDS (10), COMMIT_WARMUP (2), MEM_GROUPS (10000), MEM_OFFSETS (10),
# BENCH_DATA (default a new temp folder; deleted at the end unless BENCH_KEEP is set).
# Prints machine info first and a markdown summary at the end (progress on stderr);
# docs/benchmarks.md, "Consumer groups (issue 4)", has the figures of a reference run.
set -uo pipefail
BENCH_NAME=bench-groups
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ "${QUICK:-0}" = 1 ]; then
  : "${RUNS:=1}" "${COMMIT_SECONDS:=2}" "${COMMIT_WARMUP:=0.5}" "${MEM_GROUPS:=1000}" "${SCALE_MEMBERS:=}"
fi
RUNS=${RUNS:-3}
MEMBERS=${MEMBERS:-100}
PARTITIONS=${PARTITIONS:-1000}
HEARTBEAT_MS=${HEARTBEAT_MS:-3000}
SCALE_MEMBERS=${SCALE_MEMBERS-300 1000}
CONNECTIONS=${CONNECTIONS:-32}
COMMIT_GROUPS=${COMMIT_GROUPS:-8}
IN_FLIGHT=${IN_FLIGHT:-16}
COMMIT_SECONDS=${COMMIT_SECONDS:-10}
COMMIT_WARMUP=${COMMIT_WARMUP:-2}
MEM_GROUPS=${MEM_GROUPS:-10000}
MEM_OFFSETS=${MEM_OFFSETS:-10}

command -v dotnet >/dev/null 2>&1 || die "dotnet SDK 10 is required (see README)"
# 1,000 members keep 1,000 connections open on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- machine --------------------------------------------------------------------------------
make_data_dir
machine_info "dotnet $(dotnet --version)" "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- build ----------------------------------------------------------------------------------
build_release

# --- processes ------------------------------------------------------------------------------
# start_silo NAME ARGS... / stop_silo and the cleanup at exit are bench-lib.sh's.
install_cleanup

# gen OUT ARGS... : runs the load generator's groups scenario; stdout to OUT and stderr.
gen() {
  local out=$1
  shift
  "${LOADGEN[@]}" groups "$@" | tee "$out" >&2
  [ "${PIPESTATUS[0]}" = 0 ] || die "load generator failed: groups $*"
}

# val LINE KEY : the value of KEY=... in a RESULT line.
val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

RB_ROWS=()
CM_ROWS=()
MEM_ROWS=()

# rebalance_rows LABEL FILE : one row per RESULT rebalance line of FILE.
AFTER_LAST_JOIN=""
rebalance_rows() {
  local label=$1 file=$2 line phase
  while IFS= read -r line; do
    phase=$(val "$line" phase)
    row RB_ROWS "$label, $phase" "$(val "$line" members)" "$(val "$line" partitions)" "**$(val "$line" after_last_join_ms)**" \
      "$(val "$line" join_phase_ms)" "$(val "$line" sync_phase_ms)" "$(val "$line" assign_ms)" "$(val "$line" from_trigger_ms)" "$(val "$line" generation)"
    [ "$3" = target ] && AFTER_LAST_JOIN+=" $(val "$line" after_last_join_ms)"
  done < <(grep '^RESULT rebalance' "$file")
}

# --- 1. rebalance, no initial delay ---------------------------------------------------------
start_silo rebalance --OrleansMQ:Groups:InitialRebalanceDelayMs 0
log "rebalance, cold (first group of this silo, no warm-up group)"
gen "$DATA/rb-cold.out" rebalance --bootstrap "127.0.0.1:$PORT" --members "$MEMBERS" --partitions "$PARTITIONS" --heartbeat-ms "$HEARTBEAT_MS" --warmup false
rebalance_rows "delay 0, cold silo" "$DATA/rb-cold.out" cold
for r in $(seq 1 "$RUNS"); do
  log "rebalance run $r"
  gen "$DATA/rb-$r.out" rebalance --bootstrap "127.0.0.1:$PORT" --members "$MEMBERS" --partitions "$PARTITIONS" --heartbeat-ms "$HEARTBEAT_MS"
  rebalance_rows "delay 0, run $r" "$DATA/rb-$r.out" target
done
for m in $SCALE_MEMBERS; do
  log "rebalance with $m members"
  gen "$DATA/rb-m$m.out" rebalance --bootstrap "127.0.0.1:$PORT" --members "$m" --partitions "$PARTITIONS" --heartbeat-ms "$HEARTBEAT_MS"
  rebalance_rows "delay 0, $m members (scaling)" "$DATA/rb-m$m.out" scale
done
stop_silo

# --- 1b. rebalance, Kafka's default initial delay (3 s) -------------------------------------
start_silo rebalance-default
for r in $(seq 1 "$RUNS"); do
  log "rebalance with the default initial delay, run $r"
  gen "$DATA/rbd-$r.out" rebalance --bootstrap "127.0.0.1:$PORT" --members "$MEMBERS" --partitions "$PARTITIONS" --phases initial
  rebalance_rows "default delay (3,000 ms), run $r" "$DATA/rbd-$r.out" default
done
stop_silo
rm -rf "$DATA/rebalance" "$DATA/rebalance-default"

# --- 2. offset commits vs produce -----------------------------------------------------------
declare -A COMMIT_RATES
commit_rows() {
  local label=$1 file=$2 line name produce_sum=0 produce_n=0 base ratio
  while IFS= read -r line; do
    if [ "$(val "$line" case)" = produce ]; then
      produce_sum=$(awk -v a="$produce_sum" -v b="$(val "$line" requests_per_s)" 'BEGIN{print a + b}')
      produce_n=$((produce_n + 1))
    fi
  done < <(grep '^RESULT commit' "$file")
  base=$(awk -v s="$produce_sum" -v n="$produce_n" 'BEGIN{if (n > 0) printf "%.0f", s / n; else print 0}')
  while IFS= read -r line; do
    name=$(val "$line" case)
    ratio=$(awk -v a="$(val "$line" requests_per_s)" -v b="$base" 'BEGIN{if (b > 0) printf "%.2f", a / b; else print "-"}')
    row CM_ROWS "$name, $label" "$(val "$line" connections) x $(val "$line" in_flight)" "$(fmt "$(val "$line" requests_per_s)")" "$(fmt "$(val "$line" units_per_s)")" \
      "$ratio" "$(val "$line" silo_us_per_request)" "$(val "$line" silo_us_per_unit)" "$(val "$line" gen_cpu_s) / $(val "$line" silo_cpu_s)" "$(val "$line" errors)"
    [ "$3" = main ] && COMMIT_RATES[$name]="${COMMIT_RATES[$name]:-} $(val "$line" units_per_s)"
  done < <(grep '^RESULT commit' "$file")
}
for r in $(seq 1 "$RUNS"); do
  start_silo "commit-$r" --OrleansMQ:Groups:InitialRebalanceDelayMs 0
  log "commit run $r"
  gen "$DATA/commit-$r.out" commit --bootstrap "127.0.0.1:$PORT" --silo-pid "$SILO_PID" --connections "$CONNECTIONS" --groups "$COMMIT_GROUPS" \
    --in-flight "$IN_FLIGHT" --seconds "$COMMIT_SECONDS" --warmup-seconds "$COMMIT_WARMUP" --partitions "$PARTITIONS"
  commit_rows "run $r" "$DATA/commit-$r.out" main
  if [ "$r" = "$RUNS" ]; then
    # Latency-bound: one request at a time on one connection (round trip, not throughput).
    log "commit, 1 connection x 1 in flight"
    gen "$DATA/commit-1x1.out" commit --bootstrap "127.0.0.1:$PORT" --silo-pid "$SILO_PID" --connections 1 --groups 1 --in-flight 1 \
      --seconds "$COMMIT_SECONDS" --warmup-seconds "$COMMIT_WARMUP" --partitions "$PARTITIONS" --cases produce,member1,standalone1
    commit_rows "1 connection, 1 in flight" "$DATA/commit-1x1.out" single
  fi
  stop_silo
  rm -rf "$DATA/commit-$r"
done

# --- 3. memory per group (silo in the load generator's process) -----------------------------
MEM_IDLE=""
MEM_ACT=""
for r in $(seq 1 "$RUNS"); do
  log "memory run $r"
  gen "$DATA/mem-$r.out" memory --memory-groups "$MEM_GROUPS" --offsets-per-group "$MEM_OFFSETS" --data "$DATA/mem-$r"
  line=$(grep '^RESULT memory' "$DATA/mem-$r.out")
  row MEM_ROWS "run $r" "$(fmt "$(val "$line" groups)")" "$(val "$line" offsets_per_group)" "$(fmt "$(val "$line" activated_bytes_per_group)")" \
    "$(fmt "$(val "$line" idle_bytes_per_group)")" "$(val "$line" load2_ms) / $(val "$line" load3_ms)" "$(val "$line" commit_s)"
  MEM_ACT+=" $(val "$line" activated_bytes_per_group)"
  MEM_IDLE+=" $(val "$line" idle_bytes_per_group)"
  rm -rf "$DATA/mem-$r"
done

# --- summary --------------------------------------------------------------------------------
echo "## Summary"
echo
echo "### Rebalance ($PARTITIONS partitions; times in ms, measured by the clients)"
echo
echo "| case | members | partitions | last JoinGroup sent → every member assigned | join phase (last JoinGroup sent → last answer) | leader's SyncGroup → last assignment | leader's range assignment | newcomer's JoinGroup → every member assigned (heartbeat ${HEARTBEAT_MS} ms) | generation |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${RB_ROWS[@]}"
echo
m=$(median "$AFTER_LAST_JOIN" 1)
echo "Target (≤ 1,000 ms after the last join, $MEMBERS members, delay 0): median **$m ms** over the runs above →" \
  "$(awk -v m="$m" 'BEGIN{print (m <= 1000) ? "**met**" : "**missed**"}')."
echo
echo "### Offset commits ($PARTITIONS-partition topic, $COMMIT_GROUPS groups; each run on a fresh silo)"
echo
echo "| case | connections x in flight | requests/s | offsets (or messages)/s | requests/s ÷ same run's Produce | silo CPU µs/request | silo CPU µs/offset | CPU s generator / silo | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${CM_ROWS[@]}"
echo
for name in member1 memberN standalone1 produce; do
  [ -n "${COMMIT_RATES[$name]:-}" ] && echo "- $name: median $(fmt "$(median "${COMMIT_RATES[$name]}" 1)") units/s (${COMMIT_RATES[$name]# })"
done
m=$(median "${COMMIT_RATES[member1]:-0}" 1)
echo
echo "Target (≥ 50,000 commits/s, counted as 1-partition requests/s of members): median **$(fmt "$m")/s** →" \
  "$(awk -v m="$m" 'BEGIN{print (m >= 50000) ? "**met**" : "**missed**"}')."
echo
echo "### Memory per group ($MEM_OFFSETS committed offsets, no members; managed heap after forced full GCs)"
echo
echo "| run | groups | offsets/group | activated bytes/group | idle (loaded after restart) bytes/group | load ms (N / 2N groups) | commit s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${MEM_ROWS[@]}"
echo
echo "Median: activated $(fmt "$(median "$MEM_ACT" 1)") B/group, idle $(fmt "$(median "$MEM_IDLE" 1)") B/group."
echo
echo "The silo and the clients share $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
