#!/usr/bin/env bash
# Broker benchmarks (issue 3): kcat produce/consume throughput, the Redis XADD peer, zero-copy
# on vs off (silo CPU seconds per GiB delivered, sendfile counted with strace), and open-loop
# p99 produce latency at half the peak rate (async and sync flush). Everything runs on this
# machine over 127.0.0.1: the silo, the clients and the peer share its cores, so compare the
# figures of one run with each other (ratios), not with another machine's.
#
#   infra/bench-broker.sh            full run (~6 min here, up to ~7 GB of temporary data)
#   QUICK=1 infra/bench-broker.sh    smoke run with tiny volumes (~3 min)
#
# Knobs (environment): RUNS (3), N100 (5000000), N1K (1000000), ZC_COPIES (2: the 1 KiB file
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
RUNS=${RUNS:-3}
N100=${N100:-5000000}
N1K=${N1K:-1000000}
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
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
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
make_data_dir
machine_info "$(df -h "$DATA" | sed 's/^/disk: /')" \
  "dotnet $(dotnet --version); $(kcat -V 2>&1 | awk '/librdkafka/{print; exit}' || true); $(redis-server --version | awk '{print $1, $2, $3}')" \
  "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- build ----------------------------------------------------------------------------------
build_release

# --- processes ------------------------------------------------------------------------------
# The silos (start_silo, stop_silo, cleanup at exit) are bench-lib.sh's; the Redis peer is ours.
REDIS_PID=""
TICKS=$(getconf CLK_TCK)
cleanup_extra() { [ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null; }
install_cleanup

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# timed OUT CMD... : runs CMD with stdout to OUT; sets ELAPSED, CLIENT_CPU (user+sys of CMD), SILO_CPU (s).
timed() {
  local out=$1
  shift
  local s0 s1
  s0=$(cpu_ticks "$SILO_PID")
  local times
  times=$( { TIMEFORMAT='%R %U %S'; time "$@" >"$out" 2>"$DATA/cmd.err"; } 2>&1 ) || { cat "$DATA/cmd.err" >&2; die "failed: $*"; }
  s1=$(cpu_ticks "$SILO_PID")
  read -r ELAPSED u s <<<"$times"
  CLIENT_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}')
  SILO_CPU=$(awk -v a="$s0" -v b="$s1" -v t="$TICKS" 'BEGIN{printf "%.2f", (b - a) / t}')
}

end_offset() { kcat -b "127.0.0.1:$PORT" -Q -t "$1:0:-1" 2>/dev/null | awk '{print $NF}'; }

rate() { awk -v n="$1" -v t="$2" 'BEGIN{printf "%.0f", n / t}'; }                    # n / t
mbps() { awk -v n="$1" -v b="$2" -v t="$3" 'BEGIN{printf "%.1f", n * b / t / 1e6}'; } # MB/s (10^6)

ROWS=()   # markdown rows of the summary

# --- data -----------------------------------------------------------------------------------
# One message per line: base64 of random bytes, exactly 100 or 1024 characters.
log "generating $N100 x 100 B and $N1K x 1 KiB messages"
head -c $((N100 * 75)) /dev/urandom | base64 -w 100 >"$DATA/m100.txt"
head -c $((N1K * 768)) /dev/urandom | base64 -w 1024 >"$DATA/m1k.txt"

start_silo main --zero-copy true --flush async

# --- 1. kcat produce ------------------------------------------------------------------------
declare -A PRODUCE_RATE
for size in 100 1k; do
  n=$N100; bytes=100; file="$DATA/m100.txt"
  [ $size = 1k ] && { n=$N1K; bytes=1024; file="$DATA/m1k.txt"; }
  for r in $(seq 1 "$RUNS"); do
    topic="p$size-$r"
    log "kcat produce $n x $bytes B -> $topic (run $r)"
    timed /dev/null kcat -P -b "127.0.0.1:$PORT" -t "$topic" "${KCAT_PRODUCE_FLAGS[@]}" -l "$file"
    got=$(end_offset "$topic")
    [ "$got" = "$n" ] || die "$topic holds $got messages, expected $n"
    m=$(rate "$n" "$ELAPSED")
    PRODUCE_RATE[$size]="${PRODUCE_RATE[$size]:-} $m"
    row ROWS "kcat produce $bytes B, run $r" "$(fmt "$n") msgs" "$ELAPSED s" "$(fmt "$m") msg/s" "$(mbps "$n" "$bytes" "$ELAPSED") MB/s" "kcat CPU $CLIENT_CPU s, silo CPU $SILO_CPU s"
  done
done

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
rm -rf "$DATA/main"
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

# --- summary --------------------------------------------------------------------------------
echo "## Summary"
echo
echo "| test | volume | time | rate | throughput | notes |"
echo "|---|---:|---:|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "kcat produce flags: ${KCAT_PRODUCE_FLAGS[*]} -l FILE; consume flags: -C ${KCAT_CONSUME_FLAGS[*]} >/dev/null"
echo "MB = 10^6 bytes of message payload; the silo, the clients and the peer share $(nproc) cores."
