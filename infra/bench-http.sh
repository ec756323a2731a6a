#!/usr/bin/env bash
# HTTP gateway benchmarks (issue 6), against a real silo over 127.0.0.1 with the load generator's
# "rest" scenarios (Tests/OrleansMQ.Broker.Benchmarks/RestBench.cs):
#   0. baseline: GET /healthz, closed loop — what Kestrel + this machine answer at all;
#   1. REST Proxy v2 produce peak: N connections posting batches of RECORDS x BYTES (binary.v2,
#      base64 values) as fast as the answers come;
#   2. the same at half the measured peak, open loop (latency from each request's scheduled send);
#   3. baseline: Kafka Produce of the same batch shape and record rate over the Kafka listener
#      (the broker load generator's peak/latency), so REST's cost shows as a ratio of one run.
# The silo and the generator share this machine's cores: compare figures within one run.
#
#   infra/bench-http.sh            full run (~2 min here)
#   QUICK=1 infra/bench-http.sh    smoke run (~40 s)
#
# Knobs (environment): RUNS (3), CONNECTIONS (16), RECORDS (500 per request), BYTES (100),
# SECONDS (10), WARMUP (2), BENCH_DATA, BENCH_KEEP.
set -uo pipefail
BENCH_NAME=bench-http
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ "${QUICK:-0}" = 1 ]; then
  : "${RUNS:=1}" "${SECONDS_:=3}" "${WARMUP:=1}"
fi
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-16}
RECORDS=${RECORDS:-500}
BYTES=${BYTES:-100}
DURATION=${SECONDS_:-10}
WARMUP=${WARMUP:-2}

command -v dotnet >/dev/null 2>&1 || die "dotnet SDK 10 is required (see README)"
make_data_dir
machine_info "dotnet $(dotnet --version)" "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
build_release
install_cleanup

val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
gen() {
  local out=$1
  shift
  "${LOADGEN[@]}" "$@" | tee "$out" >&2
  [ "${PIPESTATUS[0]}" = 0 ] || die "load generator failed: $*"
}

ROWS=()
PEAKS=""
P99S=""
for r in $(seq 1 "$RUNS"); do
  start_silo "http-$r"
  URL="http://127.0.0.1:$HTTP_PORT"
  common=(--url "$URL" --connections "$CONNECTIONS" --seconds "$DURATION" --warmup "$WARMUP")

  log "run $r: GET /healthz baseline"
  gen "$DATA/healthz-$r.out" rest healthz "${common[@]}"
  h=$(grep '^RESULT rest' "$DATA/healthz-$r.out")
  row ROWS "run $r: GET /healthz (baseline)" "$(fmt "$(val "$h" requests_per_s)")" "-" "-" "$(val "$h" p50_ms)" "$(val "$h" p99_ms)" "$(val "$h" errors)"

  log "run $r: REST produce peak"
  gen "$DATA/peak-$r.out" rest peak "${common[@]}" --records "$RECORDS" --bytes "$BYTES" --topic "rest-$r"
  p=$(grep '^RESULT rest' "$DATA/peak-$r.out")
  peak=$(val "$p" records_per_s)
  PEAKS+=" $peak"
  row ROWS "run $r: REST produce, closed loop" "$(fmt "$(val "$p" requests_per_s)")" "**$(fmt "$peak")**" "$(val "$p" mb_per_s)" "$(val "$p" p50_ms)" "$(val "$p" p99_ms)" "$(val "$p" errors)"

  half=$(awk -v p="$peak" 'BEGIN{printf "%.0f", p / 2}')
  log "run $r: REST produce at $half records/s"
  gen "$DATA/lat-$r.out" rest latency "${common[@]}" --records "$RECORDS" --bytes "$BYTES" --topic "rest-$r" --rate "$half"
  l=$(grep '^RESULT rest' "$DATA/lat-$r.out")
  P99S+=" $(val "$l" p99_ms)"
  row ROWS "run $r: REST produce, open loop at half the peak" "$(fmt "$(val "$l" requests_per_s)")" "$(fmt "$(val "$l" records_per_s)")" "$(val "$l" mb_per_s)" "$(val "$l" p50_ms)" "**$(val "$l" p99_ms)**" "$(val "$l" errors)"

  log "run $r: Kafka Produce of the same shape (baseline)"
  gen "$DATA/kafka-peak-$r.out" peak --bootstrap "127.0.0.1:$PORT" --connections "$CONNECTIONS" --in-flight 1 --batch "$RECORDS" --message-bytes "$BYTES" \
    --peak-seconds "$DURATION" --warmup-seconds "$WARMUP"
  k=$(grep '^RESULT peak' "$DATA/kafka-peak-$r.out")
  row ROWS "run $r: Kafka Produce v7, $CONNECTIONS connections x 1 in flight (baseline)" "$(fmt "$(awk -v m="$(val "$k" msg_per_s)" -v b="$RECORDS" 'BEGIN{print m / b}')")" \
    "$(fmt "$(val "$k" msg_per_s)")" "$(val "$k" mb_per_s)" "-" "-" "$(val "$k" errors)"
  gen "$DATA/kafka-lat-$r.out" latency --bootstrap "127.0.0.1:$PORT" --connections "$CONNECTIONS" --batch "$RECORDS" --message-bytes "$BYTES" \
    --rate "$half" --seconds "$DURATION" --warmup-seconds "$WARMUP"
  k=$(grep '^RESULT latency' "$DATA/kafka-lat-$r.out")
  row ROWS "run $r: Kafka Produce v7 at the same $(fmt "$half") records/s (baseline)" "-" "$(fmt "$(val "$k" achieved)")" "-" "$(val "$k" p50_ms)" "$(val "$k" p99_ms)" "$(val "$k" errors)"
  stop_silo
  rm -rf "${DATA:?}/http-$r"
done

echo "## Summary"
echo
echo "$RECORDS records x $BYTES B per request, $CONNECTIONS connections, ${DURATION} s measured after ${WARMUP} s warm-up; latencies in ms (open loop: from the scheduled send)."
echo
echo "| case | requests/s | records/s | MB/s (bodies) | p50 | p99 | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
m=$(median "$PEAKS" 0)
echo "Target (≥ 100,000 records/s REST produce): median **$(fmt "$m") records/s** →" \
  "$(awk -v m="$m" 'BEGIN{print (m >= 100000) ? "**met**" : "**missed**"}'); p99 at half the peak: median $(median "$P99S" 2) ms."
echo
echo "The silo and the generator share $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
