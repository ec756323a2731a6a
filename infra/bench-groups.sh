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
#      (after a restart: loaded, not activated), of a silo process the load generator starts; a
#      startup hook in it (Tests/OrleansMQ.Broker.Benchmarks.Probe) reads the heap after forced
#      full GCs and the activation count ("n/a" when it cannot).
#   4. startup: 10,000 groups x 3 committed offsets, clean stop, restart: time from the silo
#      process's creation to the Kafka port accepting, to the group coordinator answering
#      FindCoordinator + OffsetFetch of the last group with its offsets (not
#      COORDINATOR_LOAD_IN_PROGRESS), and to /readyz 200 (ready = the later two; target <= 3 s);
#      then new offsets for every group, kill -9, and the same restart timed again (unclean).
# Everything runs on this machine over 127.0.0.1: the silo and the clients share its cores, so
# compare figures of one run with each other (ratios), not with another machine's.
#
#   infra/bench-groups.sh                           full run (~8 min here; twice that with BASELINE)
#   QUICK=1 infra/bench-groups.sh                   smoke run (~2 min)
#   BASELINE=ad91637 infra/bench-groups.sh          every scenario also against commit ad91637's silo
#   QUICK=1 BASELINE=ad91637 infra/bench-groups.sh  smoke run of both (~5 min with the baseline build)
#
# BASELINE=<commit> (default: none): builds that commit's silo (dotnet build -c Release) in a
# temporary git worktree under the data folder (removed at the end) and runs each scenario
# against both silos in turn — baseline, current, baseline, current... (RUNS times each) — with
# the load generator of the current tree for both, so only the silo differs; the summary gives
# both figures and the ratio current ÷ baseline. Pass the commit before the Orleans change
# explicitly (ad91637).
#
# Knobs (environment): BASELINE (none), RUNS (3), MEMBERS (100), PARTITIONS (1000),
# HEARTBEAT_MS (3000), SCALE_MEMBERS ("300 1000": extra rebalance runs, last run only),
# CONNECTIONS (32), COMMIT_GROUPS (8), IN_FLIGHT (16), COMMIT_SECONDS (10), COMMIT_WARMUP (2),
# MEM_GROUPS (10000), MEM_OFFSETS (10), START_GROUPS (10000), START_OFFSETS (3), START_UNCLEAN
# (1: also the kill -9 restart; 0: not), READY_TIMEOUT (120 s a silo may take to get ready in the
# memory and startup scenarios), BENCH_DATA (default a new temp folder; deleted at the end unless
# BENCH_KEEP is set). QUICK=1 defaults RUNS=1, COMMIT_SECONDS=2, COMMIT_WARMUP=0.5, MEM_GROUPS=1000,
# no SCALE_MEMBERS (START_GROUPS stays 10,000: the target's figure).
# Other OrleansMQ__* environment variables reach every silo. Each silo also gets free ports in
# OrleansMQ__Cluster__SiloPort and OrleansMQ__Cluster__GatewayPort (Orleans' own; ignored by a
# silo without Orleans).
# Prints machine info first and a markdown summary at the end (progress on stderr); exits 1 if a
# scenario failed (the summary says which). docs/benchmarks.md, "Consumer groups (issue 4)", has
# the figures of a reference run.
set -uo pipefail
BENCH_NAME=bench-groups
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ "${QUICK:-0}" = 1 ]; then
  : "${RUNS:=1}" "${COMMIT_SECONDS:=2}" "${COMMIT_WARMUP:=0.5}" "${MEM_GROUPS:=1000}" "${SCALE_MEMBERS:=}"
fi
BASELINE=${BASELINE:-}
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
START_GROUPS=${START_GROUPS:-10000}
START_OFFSETS=${START_OFFSETS:-3}
START_UNCLEAN=${START_UNCLEAN:-1}
READY_TIMEOUT=${READY_TIMEOUT:-120}

command -v dotnet >/dev/null 2>&1 || die "dotnet SDK 10 is required (see README)"
# 1,000 members keep 1,000 connections open on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- commits ---------------------------------------------------------------------------------
resolve_revs   # CURRENT_REV, BASE_REV (bench-lib.sh)
declare -A SIDE_NAME=([current]="current ($CURRENT_REV)" [baseline]="baseline ($BASE_REV)")

# --- machine --------------------------------------------------------------------------------
make_data_dir
# At exit (after the silos stop): the baseline's worktree goes too, whatever happened.
install_cleanup
INFO=("dotnet $(dotnet --version)" "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  "current: $CURRENT_REV $(git log -1 --format=%s HEAD 2>/dev/null | cut -c1-100)")
[ -n "$BASE_REV" ] && INFO+=("baseline: $BASE_REV $(git log -1 --format=%s "$BASE_REV" | cut -c1-100)")
machine_info "${INFO[@]}"

# --- build ----------------------------------------------------------------------------------
# The current tree's silo and load generator; the load generator serves both silos.
build_release
declare -A SILO_OF=([current]=$SILO_BIN)
SIDES=(current)
if [ -n "$BASELINE" ]; then
  build_baseline   # bench-lib.sh: a temporary worktree of BASE_REV, removed at exit
  SILO_OF[baseline]=$BASE_SILO_BIN
  SIDES=(baseline current)
fi

# --- processes ------------------------------------------------------------------------------
# start_silo NAME ARGS... / stop_silo and the cleanup at exit are bench-lib.sh's; use_side SIDE
# points start_silo at that side's silo.
use_side() { SILO_BIN=${SILO_OF[$1]}; }

FAILED=()
# gen OUT ARGS... : runs the load generator's groups scenario; stdout to OUT and stderr. A
# failure is logged and listed at the end (returns 1), not fatal: the other figures still come.
gen() {
  local out=$1 rc
  shift
  "${LOADGEN[@]}" groups "$@" | tee "$out" >&2
  rc=${PIPESTATUS[0]}
  if [ "$rc" != 0 ]; then
    log "warning: load generator failed (exit $rc): groups $*"
    FAILED+=("groups $1 (${out##*/}, exit $rc)")
    return 1
  fi
}

# val LINE KEY : the value of KEY=... in a RESULT line.
val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
# num "V1 V2 ..." : the non-negative numbers among the values (drops n/a, -1 and empty ones).
num() { tr ' ' '\n' <<<"$1" | grep -E '^[0-9]+(\.[0-9]+)?$' | tr '\n' ' '; }
# med "V1 V2 ..." DECIMALS : median of the usable values, "n/a" if none.
med() { local v; v=$(num "$1"); if [ -n "${v// /}" ]; then median "$v" "$2"; else echo n/a; fi; }
# ratio A B : A ÷ B with 2 decimals, "-" if either is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-"}'; }
# f1 V : V with thousands separators, or as is if not a number.
f1() { if [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; then fmt "$1"; else echo "$1"; fi; }

RB_ROWS=()
CM_ROWS=()
MEM_ROWS=()
ST_ROWS=()
declare -A AFTER_LAST_JOIN COMMIT_RATES MEM_ACT MEM_IDLE ST_FRESH ST_CLEAN ST_UNCLEAN ST_CLEAN_COORD ST_UNCLEAN_COORD

# rebalance_rows SIDE LABEL FILE KIND : one row per RESULT rebalance line of FILE.
rebalance_rows() {
  local side=$1 label=$2 file=$3 kind=$4 line phase
  while IFS= read -r line; do
    phase=$(val "$line" phase)
    row RB_ROWS "${SIDE_NAME[$side]}" "$label, $phase" "$(val "$line" members)" "$(val "$line" partitions)" "**$(val "$line" after_last_join_ms)**" \
      "$(val "$line" join_phase_ms)" "$(val "$line" sync_phase_ms)" "$(val "$line" assign_ms)" "$(val "$line" from_trigger_ms)" "$(val "$line" generation)"
    [ "$kind" = target ] && AFTER_LAST_JOIN[$side]+=" $(val "$line" after_last_join_ms)"
  done < <(grep '^RESULT rebalance' "$file")
}

# --- 1. rebalance, no initial delay ---------------------------------------------------------
for r in $(seq 1 "$RUNS"); do
  for side in "${SIDES[@]}"; do
    use_side "$side"
    start_silo "rebalance-$side-$r" --OrleansMQ:Groups:InitialRebalanceDelayMs 0
    if [ "$r" = 1 ]; then
      log "$side: rebalance, cold (first group of this silo, no warm-up group)"
      gen "$DATA/rb-cold-$side.out" rebalance --bootstrap "127.0.0.1:$PORT" --members "$MEMBERS" --partitions "$PARTITIONS" --heartbeat-ms "$HEARTBEAT_MS" --warmup false &&
        rebalance_rows "$side" "delay 0, cold silo" "$DATA/rb-cold-$side.out" cold
    fi
    log "$side: rebalance run $r"
    gen "$DATA/rb-$side-$r.out" rebalance --bootstrap "127.0.0.1:$PORT" --members "$MEMBERS" --partitions "$PARTITIONS" --heartbeat-ms "$HEARTBEAT_MS" &&
      rebalance_rows "$side" "delay 0, run $r" "$DATA/rb-$side-$r.out" target
    if [ "$r" = "$RUNS" ]; then
      for m in $SCALE_MEMBERS; do
        log "$side: rebalance with $m members"
        gen "$DATA/rb-m$m-$side.out" rebalance --bootstrap "127.0.0.1:$PORT" --members "$m" --partitions "$PARTITIONS" --heartbeat-ms "$HEARTBEAT_MS" &&
          rebalance_rows "$side" "delay 0, $m members (scaling)" "$DATA/rb-m$m-$side.out" scale
      done
    fi
    stop_silo
    rm -rf "$DATA/rebalance-$side-$r"
  done
done

# --- 1b. rebalance, Kafka's default initial delay (3 s) -------------------------------------
for r in $(seq 1 "$RUNS"); do
  for side in "${SIDES[@]}"; do
    use_side "$side"
    start_silo "rebalance-default-$side-$r"
    log "$side: rebalance with the default initial delay, run $r"
    gen "$DATA/rbd-$side-$r.out" rebalance --bootstrap "127.0.0.1:$PORT" --members "$MEMBERS" --partitions "$PARTITIONS" --phases initial &&
      rebalance_rows "$side" "default delay (3,000 ms), run $r" "$DATA/rbd-$side-$r.out" default
    stop_silo
    rm -rf "$DATA/rebalance-default-$side-$r"
  done
done

# --- 2. offset commits vs produce -----------------------------------------------------------
commit_rows() {
  local side=$1 label=$2 file=$3 kind=$4 line name produce_sum=0 produce_n=0 base ratio
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
    row CM_ROWS "${SIDE_NAME[$side]}" "$name, $label" "$(val "$line" connections) x $(val "$line" in_flight)" "$(fmt "$(val "$line" requests_per_s)")" "$(fmt "$(val "$line" units_per_s)")" \
      "$ratio" "$(val "$line" silo_us_per_request)" "$(val "$line" silo_us_per_unit)" "$(val "$line" gen_cpu_s) / $(val "$line" silo_cpu_s)" "$(val "$line" errors)"
    [ "$kind" = main ] && COMMIT_RATES[$side:$name]+=" $(val "$line" units_per_s)"
  done < <(grep '^RESULT commit' "$file")
}
for r in $(seq 1 "$RUNS"); do
  for side in "${SIDES[@]}"; do
    use_side "$side"
    start_silo "commit-$side-$r" --OrleansMQ:Groups:InitialRebalanceDelayMs 0
    log "$side: commit run $r"
    gen "$DATA/commit-$side-$r.out" commit --bootstrap "127.0.0.1:$PORT" --silo-pid "$SILO_PID" --connections "$CONNECTIONS" --groups "$COMMIT_GROUPS" \
      --in-flight "$IN_FLIGHT" --seconds "$COMMIT_SECONDS" --warmup-seconds "$COMMIT_WARMUP" --partitions "$PARTITIONS"
    commit_rows "$side" "run $r" "$DATA/commit-$side-$r.out" main
    if [ "$r" = "$RUNS" ]; then
      # Latency-bound: one request at a time on one connection (round trip, not throughput).
      log "$side: commit, 1 connection x 1 in flight"
      gen "$DATA/commit-1x1-$side.out" commit --bootstrap "127.0.0.1:$PORT" --silo-pid "$SILO_PID" --connections 1 --groups 1 --in-flight 1 \
        --seconds "$COMMIT_SECONDS" --warmup-seconds "$COMMIT_WARMUP" --partitions "$PARTITIONS" --cases produce,member1,standalone1
      commit_rows "$side" "1 connection, 1 in flight" "$DATA/commit-1x1-$side.out" single
    fi
    stop_silo
    rm -rf "$DATA/commit-$side-$r"
  done
done

# --- 3. memory per group (a silo process with the heap probe) -------------------------------
for r in $(seq 1 "$RUNS"); do
  for side in "${SIDES[@]}"; do
    log "$side: memory run $r"
    if gen "$DATA/mem-$side-$r.out" memory --silo "${SILO_OF[$side]}" --memory-groups "$MEM_GROUPS" --offsets-per-group "$MEM_OFFSETS" \
      --data "$DATA/mem-$side-$r" --ready-timeout-s "$READY_TIMEOUT"; then
      line=$(grep '^RESULT memory' "$DATA/mem-$side-$r.out")
      row MEM_ROWS "${SIDE_NAME[$side]}" "run $r" "$(fmt "$(val "$line" groups)")" "$(val "$line" offsets_per_group)" "$(fmt "$(val "$line" activated_bytes_per_group)")" \
        "$(fmt "$(val "$line" idle_bytes_per_group)")" "$(f1 "$(val "$line" activations)") ($(val "$line" activations_source))" \
        "$(f1 "$(val "$line" ready2_ms)") / $(f1 "$(val "$line" ready3_ms)")" "$(val "$line" commit_s)"
      MEM_ACT[$side]+=" $(val "$line" activated_bytes_per_group)"
      MEM_IDLE[$side]+=" $(val "$line" idle_bytes_per_group)"
    else
      row MEM_ROWS "${SIDE_NAME[$side]}" "run $r" "**failed** (${DATA##*/}/mem-$side-$r.out)" "" "" "" "" "" ""
    fi
    rm -rf "$DATA/mem-$side-$r"
  done
done

# --- 4. start-to-ready with stored groups ---------------------------------------------------
UNCLEAN_FLAG=true
[ "$START_UNCLEAN" = 1 ] || UNCLEAN_FLAG=false
for r in $(seq 1 "$RUNS"); do
  for side in "${SIDES[@]}"; do
    log "$side: startup run $r"
    gen "$DATA/start-$side-$r.out" startup --silo "${SILO_OF[$side]}" --startup-groups "$START_GROUPS" --startup-offsets "$START_OFFSETS" \
      --unclean "$UNCLEAN_FLAG" --data "$DATA/start-$side-$r" --ready-timeout-s "$READY_TIMEOUT"
    line=$(grep '^RESULT startup' "$DATA/start-$side-$r.out")
    if [ -n "$line" ]; then
      for kind in clean unclean; do
        [ "$(val "$line" "${kind}_ready_ms")" = n/a ] && continue
        row ST_ROWS "${SIDE_NAME[$side]}" "$kind restart, run $r" "$(fmt "$(val "$line" groups)") x $(val "$line" offsets_per_group)" \
          "$(f1 "$(val "$line" "${kind}_listen_ms")")" "$(f1 "$(val "$line" "${kind}_coordinator_ms")")" "$(f1 "$(val "$line" "${kind}_readyz_ms")")" \
          "**$(f1 "$(val "$line" "${kind}_ready_ms")")**" "$(f1 "$(val "$line" fresh_ready_ms)")" "$(f1 "$(val "$line" stop_ms)")" "$(val "$line" ok)"
      done
      ST_FRESH[$side]+=" $(val "$line" fresh_ready_ms)"
      ST_CLEAN[$side]+=" $(val "$line" clean_ready_ms)"
      ST_UNCLEAN[$side]+=" $(val "$line" unclean_ready_ms)"
      ST_CLEAN_COORD[$side]+=" $(val "$line" clean_coordinator_ms)"
      ST_UNCLEAN_COORD[$side]+=" $(val "$line" unclean_coordinator_ms)"
    else
      row ST_ROWS "${SIDE_NAME[$side]}" "run $r" "**failed** (${DATA##*/}/start-$side-$r.out)" "" "" "" "" "" "" ""
    fi
    rm -rf "$DATA/start-$side-$r"
  done
done

# --- summary --------------------------------------------------------------------------------
# compare LABEL DECIMALS KEY-OF-ARRAY ARRAY-NAME TARGET : one row of the comparison table.
compare() {
  local label=$1 decimals=$2 array=$3 key=$4 target=$5 b="" c
  local -n cmp_values=$array
  c=$(med "${cmp_values[current${key}]:-}" "$decimals")
  [ -n "$BASELINE" ] && b=$(med "${cmp_values[baseline${key}]:-}" "$decimals")
  if [ -n "$BASELINE" ]; then
    echo "| $label | $(f1 "$b") | $(f1 "$c") | $(ratio "$c" "$b") | $target |"
  else
    echo "| $label | $(f1 "$c") | $target |"
  fi
}
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN{if (v !~ /^[0-9.]+$/) print "**no figure**"; else if ((op == "le" && v <= t) || (op == "ge" && v >= t)) print "**met**"; else print "**missed**"}'; }

echo "## Summary"
echo
if [ -n "$BASELINE" ]; then
  echo "### Baseline ($BASE_REV) vs current ($CURRENT_REV): medians over $RUNS run(s) each, silos alternating"
  echo
  echo "| measure | ${SIDE_NAME[baseline]} | ${SIDE_NAME[current]} | current ÷ baseline | target |"
  echo "|---|---:|---:|---:|---|"
else
  echo "### Medians over $RUNS run(s) (no BASELINE given)"
  echo
  echo "| measure | ${SIDE_NAME[current]} | target |"
  echo "|---|---:|---|"
fi
compare "rebalance: last JoinGroup → every member assigned, ms ($MEMBERS members, $PARTITIONS partitions, delay 0)" 1 AFTER_LAST_JOIN "" "≤ 1,000 ms"
compare "offset commits/s (member1: 1 partition per request)" 0 COMMIT_RATES ":member1" "≥ 50,000/s and ≥ 0.80 × baseline"
compare "offsets/s (memberN: 10 partitions per request)" 0 COMMIT_RATES ":memberN" ""
compare "standalone commits/s (generation -1)" 0 COMMIT_RATES ":standalone1" ""
compare "Produce requests/s (same silos)" 0 COMMIT_RATES ":produce" ""
compare "memory per idle group, bytes ($MEM_OFFSETS offsets, loaded after a restart)" 0 MEM_IDLE "" "reported"
compare "memory per activated group, bytes" 0 MEM_ACT "" "reported"
compare "start-to-ready, $START_GROUPS stored groups, clean restart, ms" 0 ST_CLEAN "" "≤ 3,000 ms"
compare "… of which coordinator answering with the offsets, ms" 0 ST_CLEAN_COORD "" ""
[ "$START_UNCLEAN" = 1 ] && compare "start-to-ready, $START_GROUPS stored groups, after kill -9, ms" 0 ST_UNCLEAN "" "reported"
[ "$START_UNCLEAN" = 1 ] && compare "… of which coordinator answering with the offsets, ms" 0 ST_UNCLEAN_COORD "" ""
compare "start-to-ready, fresh silo (no data), ms" 0 ST_FRESH "" ""
echo
rb=$(med "${AFTER_LAST_JOIN[current]:-}" 1)
cm=$(med "${COMMIT_RATES[current:member1]:-}" 0)
st=$(med "${ST_CLEAN[current]:-}" 0)
echo "Targets, current silo:"
echo
echo "- rebalance ≤ 1,000 ms after the last join: median $(f1 "$rb") ms → $(verdict "$rb" le 1000)"
if [ -n "$BASELINE" ]; then
  cb=$(med "${COMMIT_RATES[baseline:member1]:-}" 0)
  cr=$(ratio "$cm" "$cb")
  echo "- offset commits ≥ 50,000/s: median $(f1 "$cm")/s → $(verdict "$cm" ge 50000); ≥ 80 % of the baseline's $(f1 "$cb")/s: $cr × → $(verdict "$cr" ge 0.80)"
else
  echo "- offset commits ≥ 50,000/s: median $(f1 "$cm")/s → $(verdict "$cm" ge 50000) (the ≥ 80 % of the pre-Orleans figure part needs BASELINE)"
fi
echo "- start-to-ready ≤ 3,000 ms with $(f1 "$START_GROUPS") stored groups (clean restart): median $(f1 "$st") ms → $(verdict "$st" le 3000)"
echo
echo "### Rebalance ($PARTITIONS partitions; times in ms, measured by the clients; a fresh silo per run and side)"
echo
echo "| silo | case | members | partitions | last JoinGroup sent → every member assigned | join phase (last JoinGroup sent → last answer) | leader's SyncGroup → last assignment | leader's range assignment | newcomer's JoinGroup → every member assigned (heartbeat ${HEARTBEAT_MS} ms) | generation |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${RB_ROWS[@]}"
echo
echo "### Offset commits ($PARTITIONS-partition topic, $COMMIT_GROUPS groups; each run on a fresh silo)"
echo
echo "| silo | case | connections x in flight | requests/s | offsets (or messages)/s | requests/s ÷ same run's Produce | silo CPU µs/request | silo CPU µs/offset | CPU s generator / silo | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${CM_ROWS[@]}"
echo
for side in "${SIDES[@]}"; do
  for name in member1 memberN standalone1 produce; do
    [ -n "${COMMIT_RATES[$side:$name]:-}" ] && echo "- ${SIDE_NAME[$side]}, $name: median $(f1 "$(med "${COMMIT_RATES[$side:$name]}" 0)") units/s (${COMMIT_RATES[$side:$name]# })"
  done
done
echo
echo "### Memory per group ($MEM_OFFSETS committed offsets, no members; the silo's managed heap after forced full GCs, read by the probe in its process)"
echo
echo "| silo | run | groups | offsets/group | activated bytes/group | idle (loaded after restart) bytes/group | activations after N+100 groups (source) | start-to-ready ms (N+100 / 2N+100 groups) | commit s |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${MEM_ROWS[@]}"
echo
echo "### Start-to-ready ($(f1 "$START_GROUPS") stored groups x $START_OFFSETS offsets; ms from the silo process's creation)"
echo
echo "| silo | case | groups x offsets | Kafka port accepting | coordinator: OffsetFetch of the last group returns its offsets | /readyz 200 | ready (the later two) | fresh silo (no data) ready | clean stop (SIGTERM) ms | offsets ok |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${ST_ROWS[@]}"
echo
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "**Failed scenarios** (their output is in the data folder; BENCH_KEEP=1 keeps it):"
  printf -- '- %s\n' "${FAILED[@]}"
  echo
fi
echo "The silos and the clients share $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
[ "${#FAILED[@]}" = 0 ]
