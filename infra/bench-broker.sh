#!/usr/bin/env bash
# Broker benchmarks (issue 3): kcat produce/consume throughput, the Redis XADD peer, zero-copy
# on vs off (silo CPU seconds per GiB delivered, sendfile counted with strace), and open-loop
# p99 produce latency at half the peak rate (async and sync flush). Everything runs on this
# machine over 127.0.0.1: the silo, the clients and the peer share its cores, so compare the
# figures of one run with each other (ratios), not with another machine's.
#
#   infra/bench-broker.sh                                full run (~6 min here, up to ~7 GB of temporary data)
#   QUICK=1 infra/bench-broker.sh                        smoke run with tiny volumes (~3 min)
#   BASELINE=ad91637 ONLY=produce infra/bench-broker.sh  kcat produce only, against commit ad91637's
#                                                        silo and the current one, alternating (~5 min)
#   BASELINE=ad91637 infra/bench-broker.sh               the same produce part, then the rest as usual
#
# BASELINE=<commit> (default: none): builds that commit's silo (dotnet build -c Release) in a
# temporary git worktree under the data folder (removed at the end; bench-lib.sh's
# build_baseline, as in bench-groups.sh) and runs the kcat produce part (1) against both silos in
# turn — baseline, current, baseline, current... (RUNS times each, RUNS default 5) — each run on a
# fresh silo of that side: an untimed warm-up (WARMUP_N x 100 B into topic "warm", twice), then the
# timed 100 B and 1 KiB files into new topics, then an untimed consume of "warm". The summary gives
# both sides' medians and the ratio current ÷ baseline (target: 100 B within 5 %). /metrics is
# scraped between these steps; the grain calls of the current silo (orleansmq_grain_calls_total)
# are set against its Produce and Fetch requests in the same intervals (a silo without that metric
# shows "n/a"). Without BASELINE, part 1 runs RUNS times on one silo, as before. The other parts
# run against the current silo only; with BASELINE their consume reads the topics of current run 1
# (its silo is restarted on them).
# ONLY=produce: part 1 only (and only kcat is needed).
#
# Knobs (environment): BASELINE (none), ONLY (all), RUNS (3; 5 with BASELINE), N100 (5000000),
# N1K (1000000), WARMUP_N (N100 / 5; with BASELINE only), ZC_COPIES (2: the 1 KiB file
# is produced this many times into each zero-copy silo's topic), ZC_PASSES (5), LAT_SECONDS (20),
# LAT_PEAK_SECONDS (10), LAT_BATCH (100), REDIS_N (2000000), BENCH_DATA (default a new temp
# folder; deleted at the end unless BENCH_KEEP is set).
# Prints machine info first and a markdown summary at the end (progress and the latency
# generator's per-second timeline go to stderr); docs/benchmarks.md, "Broker (issue 3)", has the
# figures of a reference run and what they mean.
set -uo pipefail
BENCH_NAME=bench-broker
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ "${QUICK:-0}" = 1 ]; then
  : "${RUNS:=1}" "${ZC_PASSES:=2}" "${N100:=200000}" "${N1K:=50000}" "${ZC_COPIES:=2}" "${LAT_SECONDS:=3}" "${LAT_PEAK_SECONDS:=2}" "${REDIS_N:=200000}"
fi
BASELINE=${BASELINE:-}
ONLY=${ONLY:-}
case "$ONLY" in "" | produce) ;; *) die "ONLY=$ONLY: the only part that runs alone is ONLY=produce" ;; esac
[ -n "$BASELINE" ] && : "${RUNS:=5}"
RUNS=${RUNS:-3}
N100=${N100:-5000000}
N1K=${N1K:-1000000}
WARMUP_N=${WARMUP_N:-$((N100 / 5))}
ZC_COPIES=${ZC_COPIES:-2}
ZC_PASSES=${ZC_PASSES:-5}
LAT_SECONDS=${LAT_SECONDS:-20}
LAT_BATCH=${LAT_BATCH:-100}
LAT_PEAK_SECONDS=${LAT_PEAK_SECONDS:-10}
REDIS_N=${REDIS_N:-2000000}

# The exact client settings reported in docs/benchmarks.md.
KCAT_PRODUCE_FLAGS=(-X acks=1 -X linger.ms=5 -X batch.num.messages=10000 -X queue.buffering.max.messages=1000000)
KCAT_CONSUME_FLAGS=(-o beginning -e -q -f '%s\n')

# --- tools ----------------------------------------------------------------------------------
command -v dotnet >/dev/null 2>&1 || die "dotnet SDK 10 is required (see README)"
need_apt=()
command -v kcat >/dev/null 2>&1 || need_apt+=(kcat)
if [ -z "$ONLY" ]; then
  command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
  command -v redis-benchmark >/dev/null 2>&1 || need_apt+=(redis-tools)
  command -v strace >/dev/null 2>&1 || need_apt+=(strace)
fi
command -v curl >/dev/null 2>&1 || [ -z "$BASELINE" ] || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "installing ${need_apt[*]} (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null \
      || die "apt-get install ${need_apt[*]} failed"
  else
    die "not root: install ${need_apt[*]} first"
  fi
fi

# --- machine --------------------------------------------------------------------------------
resolve_revs
declare -A SIDE_NAME=([current]="current ($CURRENT_REV)" [baseline]="baseline ($BASE_REV)")
make_data_dir
INFO=("$(df -h "$DATA" | sed 's/^/disk: /')"
  "dotnet $(dotnet --version); $(kcat -V 2>&1 | awk '/librdkafka/{print; exit}' || true)$(command -v redis-server >/dev/null && redis-server --version | awk '{print "; " $1, $2, $3}')"
  "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  "current: $CURRENT_REV $(git log -1 --format=%s HEAD 2>/dev/null | cut -c1-100)")
[ -n "$BASE_REV" ] && INFO+=("baseline: $BASE_REV $(git log -1 --format=%s "$BASE_REV" | cut -c1-100)")
machine_info "${INFO[@]}"

# --- build ----------------------------------------------------------------------------------
build_release

# --- processes ------------------------------------------------------------------------------
# The silos (start_silo, stop_silo, cleanup at exit) are bench-lib.sh's; the Redis peer is ours.
REDIS_PID=""
cleanup_extra() { [ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null; }
install_cleanup

# The baseline's silo (after install_cleanup: its worktree goes at exit, whatever happens).
declare -A SILO_OF=([current]=$SILO_BIN)
SIDES=(current)
if [ -n "$BASELINE" ]; then
  build_baseline
  SILO_OF[baseline]=$BASE_SILO_BIN
  SIDES=(baseline current)
fi
# use_side SIDE : points start_silo at that side's silo.
use_side() { SILO_BIN=${SILO_OF[$1]}; }

end_offset() { kcat -b "127.0.0.1:$PORT" -Q -t "$1:0:-1" 2>/dev/null | awk '{print $NF}'; }

rate() { awk -v n="$1" -v t="$2" 'BEGIN{printf "%.0f", n / t}'; }                    # n / t
mbps() { awk -v n="$1" -v b="$2" -v t="$3" 'BEGIN{printf "%.1f", n * b / t / 1e6}'; } # MB/s (10^6)

ROWS=()   # markdown rows of the summary

# --- data -----------------------------------------------------------------------------------
# One message per line: base64 of random bytes, exactly 100 or 1024 characters.
log "generating $N100 x 100 B and $N1K x 1 KiB messages"
head -c $((N100 * 75)) /dev/urandom | base64 -w 100 >"$DATA/m100.txt"
head -c $((N1K * 768)) /dev/urandom | base64 -w 1024 >"$DATA/m1k.txt"

# --- summary (print_summary: at the end, or after part 1 with ONLY=produce) -------------------
# ratio A B : A ÷ B with 2 decimals, "-" if either is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-"}'; }
# slash "V1 V2 ..." : "V1 / V2 / ...".
slash() { local v; v=$(tr -s ' ' <<<"$1"); v=${v# }; echo "${v// / / }"; }
# pair_ratios KEY : current ÷ baseline of each run (run r of one side against run r of the other).
pair_ratios() {
  paste -d' ' <(tr ' ' '\n' <<<"${PRODUCE_RATE[current:$1]}" | grep .) <(tr ' ' '\n' <<<"${PRODUCE_RATE[baseline:$1]}" | grep .) |
    awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2}'
}
print_summary() {
  echo "## Summary"
  echo
  if [ -n "$BASELINE" ]; then
    local size bytes b c bu cu pr target verdict
    echo "### kcat produce, baseline ($BASE_REV) vs current ($CURRENT_REV): medians over $RUNS run(s) each, a fresh silo per run, silos alternating"
    echo
    echo "| measure | ${SIDE_NAME[baseline]} | ${SIDE_NAME[current]} | current ÷ baseline | per-run ratios (median) | target |"
    echo "|---|---:|---:|---:|---|---|"
    for size in 100 1k; do
      bytes=100
      [ "$size" = 1k ] && bytes=1024
      b=$(median "${PRODUCE_RATE[baseline:$size]}" 0)
      c=$(median "${PRODUCE_RATE[current:$size]}" 0)
      pr=$(pair_ratios "$size")
      target=""
      if [ "$size" = 100 ]; then
        verdict=$(awk -v r="$(ratio "$c" "$b")" 'BEGIN{print (r >= 0.95 ? "**met**" : "**missed**")}')
        target="within 5 % (≥ 0.95): $verdict"
      fi
      echo "| kcat produce $bytes B, msg/s | $(fmt "$b") | $(fmt "$c") | **$(ratio "$c" "$b")** | $pr ($(median "$pr" 2)) | $target |"
      bu=$(median "${PRODUCE_SILO_US[baseline:$size]}" 3)
      cu=$(median "${PRODUCE_SILO_US[current:$size]}" 3)
      echo "| … silo CPU µs per message | $bu | $cu | $(ratio "$cu" "$bu") | | |"
    done
    echo
    for size in 100 1k; do
      for side in "${SIDES[@]}"; do
        echo "- ${SIDE_NAME[$side]}, $size: msg/s${PRODUCE_RATE[$side:$size]}; silo µs/msg${PRODUCE_SILO_US[$side:$size]}"
      done
    done
    echo
    echo "### Grain calls vs Kafka requests, ${SIDE_NAME[current]} (deltas of its /metrics around each step; runs 1 / 2 / ...)"
    echo
    echo "| step | Produce requests | Fetch requests | Metadata requests | **grain calls** | by grain class (last run) |"
    echo "|---|---|---|---|---|---|"
    local step k
    declare -A STEP_NAME=([warm1]="first warm-up produce, $(fmt "$WARMUP_N") x 100 B (creates topic warm)" [warm2]="second warm-up produce, the same (topic exists)"
      [p100]="timed produce, $(fmt "$N100") x 100 B (creates p100-R)" [p1k]="timed produce, $(fmt "$N1K") x 1 KiB (creates p1k-R)" [fetch]="consume of warm (topic exists)")
    for step in "${GRAIN_STEPS[@]}"; do
      k="current:$step"
      echo "| ${STEP_NAME[$step]} | $(slash "${GRAIN_PRODUCE[$k]}") | $(slash "${GRAIN_FETCH[$k]}") | $(slash "${GRAIN_METADATA[$k]}") | **$(slash "${GRAIN_CALLS[$k]}")** | ${GRAIN_TYPES[$k]} |"
    done
    echo
    echo "${SIDE_NAME[baseline]}: grain calls $(slash "${GRAIN_CALLS[baseline:p100]:-n/a}") in the timed 100 B produce ${GRAIN_TYPES[baseline:p100]:-}."
    echo
  fi
  echo "| test | volume | time | rate | throughput | notes |"
  echo "|---|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "kcat produce flags: ${KCAT_PRODUCE_FLAGS[*]} -l FILE; consume flags: -C ${KCAT_CONSUME_FLAGS[*]} >/dev/null"
  echo "MB = 10^6 bytes of message payload; the silo, the clients and the peer share $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
}

# --- 1. kcat produce ------------------------------------------------------------------------
declare -A PRODUCE_RATE PRODUCE_SILO_US
# produce_timed SIZE TOPIC LABEL : kcat produces the SIZE (100 or 1k) file into TOPIC, timed; checks
# the count; adds the rate to PRODUCE_RATE[SIZE] (and with BASELINE to PRODUCE_RATE[SIDE:SIZE] and
# the silo's CPU µs per message to PRODUCE_SILO_US[SIDE:SIZE]) and a summary row.
produce_timed() {
  local size=$1 topic=$2 label=$3 n=$N100 bytes=100 file="$DATA/m100.txt" got m us
  [ "$size" = 1k ] && { n=$N1K; bytes=1024; file="$DATA/m1k.txt"; }
  log "kcat produce $n x $bytes B -> $topic ($label)"
  timed /dev/null kcat -P -b "127.0.0.1:$PORT" -t "$topic" "${KCAT_PRODUCE_FLAGS[@]}" -l "$file"
  got=$(end_offset "$topic")
  [ "$got" = "$n" ] || die "$topic holds $got messages, expected $n"
  m=$(rate "$n" "$ELAPSED")
  us=$(awk -v c="$SILO_CPU" -v n="$n" 'BEGIN{printf "%.3f", c * 1e6 / n}')
  PRODUCE_RATE[$size]="${PRODUCE_RATE[$size]:-} $m"
  if [ -n "$BASELINE" ]; then
    PRODUCE_RATE[$SIDE:$size]="${PRODUCE_RATE[$SIDE:$size]:-} $m"
    PRODUCE_SILO_US[$SIDE:$size]="${PRODUCE_SILO_US[$SIDE:$size]:-} $us"
  fi
  row ROWS "kcat produce $bytes B, $label" "$(fmt "$n") msgs" "$ELAPSED s" "$(fmt "$m") msg/s" "$(mbps "$n" "$bytes" "$ELAPSED") MB/s" \
    "kcat CPU $CLIENT_CPU s, silo CPU $SILO_CPU s ($us µs/msg)"
}

# scrape NAME : the silo's /metrics into $DATA/metrics-NAME.txt (empty if it has none).
scrape() { curl -s -m 10 "http://127.0.0.1:$HTTP_PORT/metrics" >"$DATA/metrics-$1.txt" 2>/dev/null || : >"$DATA/metrics-$1.txt"; }
# counters FILE : "name{labels} value" of the counters compared below, one a line.
counters() { grep -E '^orleansmq_(grain_calls_total|kafka_api_requests_total\{api="(Produce|Fetch|Metadata)"\})' "$1" | awk '{print $1, $2}'; }
# delta A B : per counter of B, its value minus A's (A's missing counters count 0); "name value" lines.
delta() { awk 'NR == FNR {a[$1] = $2; next} {d = $2 - a[$1]; printf "%s %.0f\n", $1, d}' <(counters "$DATA/metrics-$1.txt") <(counters "$DATA/metrics-$2.txt"); }
# grain_step SIDE STEP A B : between scrapes A and B, the Produce/Fetch/Metadata requests and the
# grain calls (sum, and by grain class) of the silo, added to the GRAIN_* arrays under SIDE:STEP
# (one value per run); grain calls "n/a" if the silo has no such metric (the pre-Orleans one).
declare -A GRAIN_PRODUCE GRAIN_FETCH GRAIN_METADATA GRAIN_CALLS GRAIN_TYPES
GRAIN_STEPS=()
grain_step() {
  local key="$1:$2" d calls types
  [ "$1" = current ] && [[ " ${GRAIN_STEPS[*]} " != *" $2 "* ]] && GRAIN_STEPS+=("$2")
  d=$(delta "$3" "$4")
  get_api() { awk -v k="orleansmq_kafka_api_requests_total{api=\"$1\"}" '$1 == k {v = $2} END {print v + 0}' <<<"$d"; }
  GRAIN_PRODUCE[$key]+=" $(get_api Produce)"
  GRAIN_FETCH[$key]+=" $(get_api Fetch)"
  GRAIN_METADATA[$key]+=" $(get_api Metadata)"
  if grep -q '^# TYPE orleansmq_grain_calls_total' "$DATA/metrics-$4.txt"; then
    calls=$(awk '$1 ~ /^orleansmq_grain_calls_total/ {s += $2} END {print s + 0}' <<<"$d")
    types=$(awk '$1 ~ /^orleansmq_grain_calls_total/ && $2 != 0 {t = $1; sub(/.*type="/, "", t); sub(/".*/, "", t); printf "%s%s %s", sep, t, $2; sep = ", "}' <<<"$d")
  else
    calls=n/a types="(no grain call metric)"
  fi
  GRAIN_CALLS[$key]+=" $calls"
  GRAIN_TYPES[$key]=${types:-none}   # the last run's
}

if [ -z "$BASELINE" ]; then
  MAIN=main
  start_silo "$MAIN" --zero-copy true --flush async
  SIDE=current
  for size in 100 1k; do
    for r in $(seq 1 "$RUNS"); do
      produce_timed "$size" "p$size-$r" "run $r"
    done
  done
else
  # A fresh silo per run and side, baseline and current alternating. Before each: the previous
  # silo's data deleted (dropping its dirty pages) and sync, so one side's write-back does not run
  # in the other's window.
  head -n "$WARMUP_N" "$DATA/m100.txt" >"$DATA/warm.txt"
  MAIN=produce-current-1
  for r in $(seq 1 "$RUNS"); do
    for SIDE in "${SIDES[@]}"; do
      use_side "$SIDE"
      sync
      start_silo "produce-$SIDE-$r" --zero-copy true --flush async
      name="$SIDE-$r"
      scrape "$name-0"
      log "$SIDE: warm-up, $WARMUP_N x 100 B into topic warm, twice (untimed)"
      kcat -P -b "127.0.0.1:$PORT" -t warm "${KCAT_PRODUCE_FLAGS[@]}" -l "$DATA/warm.txt" || die "warm-up produce failed"
      scrape "$name-1"
      kcat -P -b "127.0.0.1:$PORT" -t warm "${KCAT_PRODUCE_FLAGS[@]}" -l "$DATA/warm.txt" || die "warm-up produce failed"
      scrape "$name-2"
      sync
      produce_timed 100 "p100-$r" "${SIDE_NAME[$SIDE]}, run $r"
      scrape "$name-3"
      produce_timed 1k "p1k-$r" "${SIDE_NAME[$SIDE]}, run $r"
      scrape "$name-4"
      kcat -C -b "127.0.0.1:$PORT" -t warm -o beginning -e -q -f '' >/dev/null || die "consume of warm failed"
      scrape "$name-5"
      grain_step "$SIDE" warm1 "$name-0" "$name-1"
      grain_step "$SIDE" warm2 "$name-1" "$name-2"
      grain_step "$SIDE" p100 "$name-2" "$name-3"
      grain_step "$SIDE" p1k "$name-3" "$name-4"
      grain_step "$SIDE" fetch "$name-4" "$name-5"
      stop_silo
      # Current run 1's topics stay for the consume part (unless that part is skipped).
      [ "$SIDE-$r" = current-1 ] && [ -z "$ONLY" ] || rm -rf "$DATA/produce-$SIDE-$r"
    done
  done
  if [ -z "$ONLY" ]; then start_silo "$MAIN" --zero-copy true --flush async; fi
fi
[ "$ONLY" = produce ] && { print_summary; exit 0; }

# --- 1b. kcat consume -----------------------------------------------------------------------
# Untimed warm-up so the first timed run does not include JIT-compiling the fetch path.
kcat -C -b "127.0.0.1:$PORT" -t p100-1 -o beginning -c 100000 -e -q -f '' >/dev/null
for size in 100 1k; do
  n=$N100; bytes=100
  [ $size = 1k ] && { n=$N1K; bytes=1024; }
  for r in $(seq 1 "$RUNS"); do
    log "kcat consume p$size-1 (run $r)"
    timed /dev/null kcat -C -b "127.0.0.1:$PORT" -t "p$size-1" "${KCAT_CONSUME_FLAGS[@]}"
    row ROWS "kcat consume $bytes B, run $r" "$(fmt "$n") msgs" "$ELAPSED s" "$(fmt "$(rate "$n" "$ELAPSED")") msg/s" "$(mbps "$n" "$bytes" "$ELAPSED") MB/s" "kcat CPU $CLIENT_CPU s, silo CPU $SILO_CPU s"
  done
done

# One kcat consumer keeps one fetch in flight, so it is bound by its own per-fetch turnaround
# and message handling; two in parallel show what the broker can deliver beyond one client.
consume_two() {
  local pids=() pid status=0
  kcat -C -b "127.0.0.1:$PORT" -t "$1" "${KCAT_CONSUME_FLAGS[@]}" >/dev/null &
  pids+=($!)
  kcat -C -b "127.0.0.1:$PORT" -t "$1" "${KCAT_CONSUME_FLAGS[@]}" >/dev/null &
  pids+=($!)
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  return $status
}
for size in 100 1k; do
  n=$((2 * N100)); bytes=100
  [ $size = 1k ] && { n=$((2 * N1K)); bytes=1024; }
  for r in $(seq 1 "$RUNS"); do
    log "2 x kcat consume p$size-1 in parallel (run $r)"
    timed /dev/null consume_two "p$size-1"
    row ROWS "2 kcat consumers in parallel, $bytes B, run $r" "$(fmt "$n") msgs" "$ELAPSED s" "$(fmt "$(rate "$n" "$ELAPSED")") msg/s" "$(mbps "$n" "$bytes" "$ELAPSED") MB/s" "kcat CPU $CLIENT_CPU s, silo CPU $SILO_CPU s"
  done
done

# --- 2. peer: Redis XADD --------------------------------------------------------------------
REDIS_PORT=""
for p in $(seq 26379 26479); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then REDIS_PORT=$p; break; fi
done
[ -n "$REDIS_PORT" ] || die "no free port for redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DATA" >"$DATA/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
for bytes in 100 1024; do
  value=$(head -c "$bytes" "$DATA/m1k.txt")
  [ "$bytes" = 100 ] && value=$(head -c 100 "$DATA/m100.txt")
  for r in $(seq 1 "$RUNS"); do
    redis-cli -p "$REDIS_PORT" del s >/dev/null
    log "redis-benchmark XADD $bytes B (run $r)"
    r0=$(cpu_ticks "$REDIS_PID")
    out=$( { TIMEFORMAT='%U %S'; time redis-benchmark -p "$REDIS_PORT" -n "$REDIS_N" -P 256 -q XADD s '*' f "$value" 2>/dev/null; } 2>&1 )
    r1=$(cpu_ticks "$REDIS_PID")
    eps=$(printf '%s\n' "$out" | tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
    bcpu=$(printf '%s\n' "$out" | tail -1 | awk '{printf "%.2f", $1 + $2}')
    rcpu=$(awk -v a="$r0" -v b="$r1" -v t="$TICKS" 'BEGIN{printf "%.2f", (b - a) / t}')
    row ROWS "redis XADD $bytes B (peer), run $r" "$(fmt "$REDIS_N") entries" "" "$(fmt "$eps") entries/s" "$(mbps "$eps" "$bytes" 1) MB/s" "redis-benchmark CPU $bcpu s, redis-server CPU $rcpu s"
  done
done
kill -TERM "$REDIS_PID" && wait "$REDIS_PID"
REDIS_PID=""

# --- 3. zero-copy on vs off -----------------------------------------------------------------
# Two silos side by side, one per mode, each with its own copy of the same ~2 GiB topic, so
# their consumes can alternate (on, off, on, off, ...) without restarts: the VM's noise then
# hits both modes alike. Each silo gets one untimed warm-up pass (JIT) first.
stop_silo
rm -rf "${DATA:?}/$MAIN"
declare -A ZC_PORT ZC_PID
for mode in true false; do
  start_silo "zc-$mode" --zero-copy "$mode" --flush async
  ZC_PORT[$mode]=$PORT
  ZC_PID[$mode]=$SILO_PID
  log "producing $ZC_COPIES x $N1K x 1 KiB into topic zc (zero-copy $mode silo)"
  for _ in $(seq 1 "$ZC_COPIES"); do
    timed /dev/null kcat -P -b "127.0.0.1:$PORT" -t zc "${KCAT_PRODUCE_FLAGS[@]}" -l "$DATA/m1k.txt"
  done
  ZC_N=$((ZC_COPIES * N1K))
  got=$(end_offset zc)
  [ "$got" = "$ZC_N" ] || die "zc holds $got messages, expected $ZC_N"
done
sync
ZC_GIB=$(awk -v n="$ZC_N" 'BEGIN{printf "%.3f", n * 1024 / 2^30}')
for mode in true false; do
  kcat -C -b "127.0.0.1:${ZC_PORT[$mode]}" -t zc "${KCAT_CONSUME_FLAGS[@]}" >/dev/null
done
declare -A ZC_PER ZC_RATE
for pass in $(seq 1 "$ZC_PASSES"); do
  for mode in true false; do
    SILO_PID=${ZC_PID[$mode]}
    PORT=${ZC_PORT[$mode]}
    timed /dev/null kcat -C -b "127.0.0.1:$PORT" -t zc "${KCAT_CONSUME_FLAGS[@]}"
    per=$(awk -v c="$SILO_CPU" -v g="$ZC_GIB" 'BEGIN{printf "%.3f", c / g}')
    ZC_PER[$mode]="${ZC_PER[$mode]:-} $per"
    ZC_RATE[$mode]="${ZC_RATE[$mode]:-} $(awk -v n="$ZC_N" -v t="$ELAPSED" 'BEGIN{printf "%.0f", n * 1024 / t / 1e6}')"
    log "zero-copy $mode pass $pass: $ELAPSED s, silo CPU $SILO_CPU s ($per s/GiB), kcat CPU $CLIENT_CPU s"
  done
done
for mode in true false; do
  row ROWS "consume ${ZC_GIB} GiB of 1 KiB, zero-copy $mode, $ZC_PASSES passes" "$(fmt "$ZC_N") msgs" "" "" "MB/s:${ZC_RATE[$mode]}" \
    "silo CPU s/GiB:${ZC_PER[$mode]}; median **$(median "${ZC_PER[$mode]}" 3)**"
done
ON=$(median "${ZC_PER[true]}" 3)
OFF=$(median "${ZC_PER[false]}" 3)
row ROWS "**zero-copy CPU/GiB on ÷ off** (medians)" "" "" "" "" "$ON ÷ $OFF = **$(awk -v a="$ON" -v b="$OFF" 'BEGIN{printf "%.2f", a / b}')** (target ≤ 0.5)"

# sendfile really carries fetches: count the delivery syscalls of one short consume per mode.
TRACE_N=$((ZC_N < 200000 ? ZC_N : 200000))
for mode in false true; do
  SILO_PID=${ZC_PID[$mode]}
  PORT=${ZC_PORT[$mode]}
  strace -q -c -f -e trace=sendfile,sendmsg,sendto,write -p "$SILO_PID" -o "$DATA/strace-$mode.txt" 2>/dev/null &
  STRACE_PID=$!
  sleep 2
  kcat -C -b "127.0.0.1:$PORT" -t zc -o beginning -c "$TRACE_N" -e -q -f '%s\n' >/dev/null
  kill -INT "$STRACE_PID"; wait "$STRACE_PID" 2>/dev/null
  echo "strace -c -f -e trace=sendfile,sendmsg,sendto,write -p SILO, $(fmt "$TRACE_N") x 1 KiB consumed, zero-copy $mode:"
  echo '```'
  cat "$DATA/strace-$mode.txt"
  echo '```'
  calls=$(awk '$NF == "sendfile" {print $4}' "$DATA/strace-$mode.txt")
  row ROWS "sendfile calls, $(fmt "$TRACE_N") x 1 KiB consumed, zero-copy $mode" "${calls:-0} calls" "" "" "" ""
done
for mode in true false; do
  SILO_PID=${ZC_PID[$mode]}
  stop_silo
  rm -rf "$DATA/zc-$mode"
done

# --- 4. produce latency at half the peak (load generator) -----------------------------------
# thread_cpu PID: "comm ticks" for every live thread (run in a loop while the load runs, so
# threads that end in between, like a segment pre-fault, are still counted).
thread_cpu() {
  cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{ i = index($0, "("); j = match($0, /\) [A-Z] /);
    comm = substr($0, i + 1, j - i - 1); gsub(/ /, "_", comm); split(substr($0, j + 2), f, " ");
    print substr($0, 1, i - 2), comm, f[12] + f[13] }'
}
lat() {
  local label=$1
  shift
  local sampler
  ( while kill -0 "$SILO_PID" 2>/dev/null; do thread_cpu "$SILO_PID"; echo --; sleep 0.5; done ) >"$DATA/threads.txt" &
  sampler=$!
  local s0
  s0=$(cpu_ticks "$SILO_PID")
  "${LOADGEN[@]}" latency --bootstrap "127.0.0.1:$PORT" --seconds "$LAT_SECONDS" --message-bytes 100 --batch "$LAT_BATCH" \
    --peak-seconds "$LAT_PEAK_SECONDS" --timeline true "$@" | tee "$DATA/lat.out" >&2 || die "load generator failed"
  local silo_cpu
  silo_cpu=$(awk -v a="$s0" -v b="$(cpu_ticks "$SILO_PID")" -v t="$TICKS" 'BEGIN{printf "%.1f", (b - a) / t}')
  kill "$sampler"; wait "$sampler" 2>/dev/null
  # Per thread: last sample minus first; summed by thread name (pool threads share one).
  local threads
  threads=$(awk -v t="$TICKS" '$1 == "--" { sample++; next }
      { if (!($1 in first)) first[$1] = sample == 0 ? $3 : 0; last[$1] = $3; name[$1] = $2 }
      END { for (id in last) cpu[name[id]] += last[id] - first[id];
            for (c in cpu) if (cpu[c] / t >= 0.5) printf "%s %.1f s, ", c, cpu[c] / t }' "$DATA/threads.txt")
  local peak res
  peak=$(sed -n 's/^RESULT peak msg_per_s=\([0-9]*\).*/\1/p' "$DATA/lat.out")
  res=$(grep '^RESULT latency' "$DATA/lat.out")
  get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$res"; }
  LAT_RATE=$(get rate)
  # Seconds of the window whose own p99 exceeded 5 ms, and the median per-second p99.
  local per_second
  per_second=$(sed -n 's/^  t=.* p99 *\([0-9.]*\) ms .*/\1/p' "$DATA/lat.out" | sort -g |
    awk '{v[NR] = $1; if ($1 > 5) over++} END {printf "per-second p99: median %.1f ms, %d of %d seconds over 5 ms", v[int((NR + 1) / 2)], over, NR}')
  [ -n "$peak" ] && row ROWS "produce peak, $label (1 conn, 16 in flight, batch $LAT_BATCH x 100 B)" "" "${LAT_PEAK_SECONDS} s" "$(fmt "$peak") msg/s" "$(mbps "$peak" 100 1) MB/s" ""
  row ROWS "produce latency, $label, open loop at $(fmt "$LAT_RATE") msg/s" "$(fmt "$(get requests)") requests" "${LAT_SECONDS} s" "$(fmt "$(get achieved)") msg/s" "" \
    "p50 $(get p50_ms) / **p99 $(get p99_ms)** / p99.9 $(get p999_ms) / max $(get max_ms) ms; $per_second; sender lag p99 $(get send_lag_p99_ms) ms; load generator CPU $(get gen_cpu_s) s; silo CPU $silo_cpu s (${threads%, })"
}
sync
for r in $(seq 1 "$RUNS"); do
  start_silo "lat-async-$r" --zero-copy true --flush async
  lat "flush async, run $r"
  ASYNC_RATE=$LAT_RATE
  stop_silo
  rm -rf "$DATA/lat-async-$r"
done
start_silo lat-sync --zero-copy true --flush sync
lat "flush sync, same rate as async run $RUNS" --rate "$ASYNC_RATE"
lat "flush sync, half its own peak"
stop_silo
rm -rf "$DATA/lat-sync"

print_summary
