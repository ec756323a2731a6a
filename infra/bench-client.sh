#!/usr/bin/env bash
# Client and omq benchmarks (issue 5), against a real silo on 127.0.0.1, with kcat beside it for
# the same workload in the same run:
#   1. omq bench produce: MESSAGES values of SIZE bytes (no key) into a fresh topic of PARTITIONS
#      partitions, acks ACKS, linger LINGER_MS, batch BATCH_SIZE; msg/s, MB/s, ack latency p50/p99.
#   2. omq produce --file: the same number of SIZE-byte lines from a file (the CLI's line path).
#   3. kcat -P -l of that file into another fresh topic of PARTITIONS partitions with the same
#      acks/linger/batch settings (librdkafka), timed by the script.
#   4. omq bench consume (from the beginning of the omq topic), and kcat -C -e reading the kcat
#      topic back to /dev/null, timed by the script.
#   5. omq bench both: BOTH_MESSAGES produced while one consumer reads them (end-to-end latency).
#   6. once: Tests/OrleansMQ.Client.Benchmarks (allocation probe + BenchmarkDotNet MemoryDiagnoser
#      on the producer's per-message path; the probe only with QUICK=1).
# A fresh silo per run. Everything shares this machine's cores (silo, client, kcat): compare figures
# of one run with each other, not with another machine's.
#
#   infra/bench-client.sh            full run
#   QUICK=1 infra/bench-client.sh    smoke run (~1 min)
#
# Knobs (environment): RUNS (3), MESSAGES (10000000), SIZE (100), PARTITIONS (6), ACKS (1),
# LINGER_MS (5), BATCH_SIZE (262144), PRODUCERS (1), BOTH_MESSAGES (2000000), BDN (1: run BenchmarkDotNet),
# BENCH_DATA (default a new temp folder; deleted at the end unless BENCH_KEEP is set).
# Prints machine info first and a markdown summary at the end (progress on stderr);
# docs/benchmarks.md, "Client and omq (issue 5)", has the figures of a reference run.
set -uo pipefail
BENCH_NAME=bench-client
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ "${QUICK:-0}" = 1 ]; then
  : "${RUNS:=1}" "${MESSAGES:=300000}" "${BOTH_MESSAGES:=100000}" "${BDN:=0}"
fi
RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-10000000}
SIZE=${SIZE:-100}
PARTITIONS=${PARTITIONS:-6}
ACKS=${ACKS:-1}
LINGER_MS=${LINGER_MS:-5}
BATCH_SIZE=${BATCH_SIZE:-262144}
PRODUCERS=${PRODUCERS:-1}
BOTH_MESSAGES=${BOTH_MESSAGES:-2000000}
BDN=${BDN:-1}

command -v dotnet >/dev/null 2>&1 || die "dotnet SDK 10 is required (see README)"
command -v kcat >/dev/null 2>&1 || die "kcat is required (apt-get install kcat)"

# --- machine --------------------------------------------------------------------------------
make_data_dir
machine_info "dotnet $(dotnet --version)" "$(kcat -V 2>&1 | grep -i version | paste -sd" ")" \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- build ----------------------------------------------------------------------------------
log "building (Release)"
for proj in Silo/OrleansMQ.Silo.csproj Client/OrleansMQ.Cli/OrleansMQ.Cli.csproj Tests/OrleansMQ.Client.Benchmarks/OrleansMQ.Client.Benchmarks.csproj; do
  dotnet build "$proj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || die "build of $proj failed"
done
SILO_BIN="$ROOT/Silo/bin/Release/net10.0/OrleansMQ.Silo"
OMQ=(dotnet "$ROOT/Client/OrleansMQ.Cli/bin/Release/net10.0/omq.dll")
CLIENT_BDN=(dotnet "$ROOT/Tests/OrleansMQ.Client.Benchmarks/bin/Release/net10.0/OrleansMQ.Client.Benchmarks.dll")
[ -x "$SILO_BIN" ] || die "$SILO_BIN missing"
install_cleanup

# --- input file: MESSAGES lines of SIZE bytes ------------------------------------------------
INPUT="$DATA/input.txt"
log "writing $MESSAGES lines of $SIZE bytes to $INPUT"
awk -v n="$MESSAGES" -v size="$SIZE" 'BEGIN { line = sprintf("%0" size "d", 0); gsub(/0/, "x", line); for (i = 0; i < n; i++) print line }' >"$INPUT"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# jval JSON KEY [N] : the Nth (default first) value of "KEY": in JSON.
jval() { sed -n "s/.*\"$2\": *\([^,}]*\).*/\1/p" <<<"$1" | sed -n "${3:-1}p" | tr -d '"'; }
use() { printf '%s / %s' "$(jval "$1" cpuSeconds)" "$(jval "$1" allocatedBytesPerMessage)"; }

ROWS=()
OMQ_P=() OMQ_FILE=() KCAT_P=() KCAT_C=() OMQ_C=()
SETTINGS="--acks $ACKS --linger-ms $LINGER_MS --batch-size $BATCH_SIZE"
KCAT_ACKS=$([ "$ACKS" = all ] && echo -1 || echo "$ACKS")
for run in $(seq 1 "$RUNS"); do
  start_silo "run$run" --segment-size $((256 << 20))
  B="127.0.0.1:$PORT"

  # 1. omq bench produce
  log "run $run: omq bench produce ($MESSAGES x $SIZE B, $PARTITIONS partitions, $SETTINGS, $PRODUCERS producer(s))"
  json=$("${OMQ[@]}" bench produce -b "$B" --topic omq-bench --messages "$MESSAGES" --size "$SIZE" --partitions "$PARTITIONS" \
    --producers "$PRODUCERS" $SETTINGS -o json) || die "omq bench produce failed"
  p_rate=$(jval "$json" msgPerSec) p_mb=$(jval "$json" mbPerSec) p50=$(printf '%.1f' "$(jval "$json" p50Ms)") p99=$(printf '%.1f' "$(jval "$json" p99Ms)")
  OMQ_P+=("$p_rate")

  # 2. omq produce --file (the same lines through the CLI's line reader)
  "${OMQ[@]}" topics create omq-file -b "$B" --partitions "$PARTITIONS" >/dev/null || die "topic create failed"
  log "run $run: omq produce --file"
  t0=$(now)
  "${OMQ[@]}" produce omq-file -b "$B" --file "$INPUT" $SETTINGS 2>>"$DATA/omq-produce.log" || die "omq produce failed"
  t1=$(now)
  f_rate=$(rate "$MESSAGES" "$(secs "$t0" "$t1")")
  OMQ_FILE+=("$f_rate")

  # 3. kcat -P of the same file
  "${OMQ[@]}" topics create kcat-bench -b "$B" --partitions "$PARTITIONS" >/dev/null || die "topic create failed"
  log "run $run: kcat -P"
  t0=$(now)
  kcat -b "$B" -P -t kcat-bench -l -X "linger.ms=$LINGER_MS" -X "batch.size=$BATCH_SIZE" -X "acks=$KCAT_ACKS" \
    -X queue.buffering.max.messages=2000000 -X queue.buffering.max.kbytes=1048576 "$INPUT" || die "kcat -P failed"
  t1=$(now)
  k_rate=$(rate "$MESSAGES" "$(secs "$t0" "$t1")")
  KCAT_P+=("$k_rate")

  # 4. consume: omq bench consume, kcat -C -e
  log "run $run: omq bench consume"
  c_json=$("${OMQ[@]}" bench consume -b "$B" --topic omq-bench --messages "$MESSAGES" -o json 2>"$DATA/omq-consume.err")
  c_exit=$?
  if [ "$c_exit" = 0 ]; then
    c_rate=$(jval "$c_json" msgPerSec)
    c_cell="$(fmt "$c_rate") | $(use "$c_json")"
    OMQ_C+=("$c_rate")
  else
    c_cell="n/a ($(head -1 "$DATA/omq-consume.err" | sed 's/^omq: //')) | "
  fi
  log "run $run: kcat -C -e"
  t0=$(now)
  kcat -b "$B" -C -t kcat-bench -o beginning -e -f '%s\n' >/dev/null 2>"$DATA/kcat-c.err" || die "kcat -C failed"
  t1=$(now)
  # "% Reached end of topic kcat-bench [P] at offset N": the offsets add up to the messages read.
  got=$(sed -n 's/.*Reached end of topic .* at offset \([0-9]*\).*/\1/p' "$DATA/kcat-c.err" | awk '{ s += $1 } END { print s + 0 }')
  [ "$got" = "$MESSAGES" ] || log "warning: kcat -C read $got of $MESSAGES messages"
  kc_rate=$(rate "$got" "$(secs "$t0" "$t1")")
  KCAT_C+=("$kc_rate")

  # 5. both
  log "run $run: omq bench both ($BOTH_MESSAGES)"
  b_json=$("${OMQ[@]}" bench both -b "$B" --topic omq-both --messages "$BOTH_MESSAGES" --size "$SIZE" --partitions "$PARTITIONS" \
    --producers "$PRODUCERS" $SETTINGS -o json 2>>"$DATA/omq-both.err")
  if [ $? = 0 ]; then
    b_cell="$(fmt "$(jval "$b_json" msgPerSec 1)") / $(fmt "$(jval "$b_json" msgPerSec 2)") | $(printf '%.0f / %.0f' "$(jval "$b_json" p50Ms 2)" "$(jval "$b_json" p99Ms 2)")"
  else
    b_cell="failed ($(tail -1 "$DATA/omq-both.err")) | "
  fi

  row ROWS "$run" "$(fmt "$p_rate")" "$p_mb" "$p50 / $p99" "$(use "$json")" "$(fmt "$f_rate")" "$(fmt "$k_rate")" "$c_cell" "$(fmt "$kc_rate")" "$b_cell"
  stop_silo
done

# --- BenchmarkDotNet ------------------------------------------------------------------------
BDN_OUT="$DATA/bdn.txt"
if [ "$BDN" = 1 ]; then
  log "BenchmarkDotNet (allocation probe + MemoryDiagnoser)"
  OMQ_SILO_BIN="$SILO_BIN" "${CLIENT_BDN[@]}" >"$BDN_OUT" 2>&1 || die "client benchmarks failed (see $BDN_OUT)"
else
  log "allocation probe (QUICK: no BenchmarkDotNet)"
  OMQ_SILO_BIN="$SILO_BIN" "${CLIENT_BDN[@]}" --probe-only >"$BDN_OUT" 2>&1 || die "client benchmarks failed (see $BDN_OUT)"
fi

# --- summary --------------------------------------------------------------------------------
echo "## omq and kcat, $MESSAGES messages of $SIZE B, $PARTITIONS partitions, acks $ACKS, linger $LINGER_MS ms, batch $BATCH_SIZE B"
echo
echo "| run | omq bench produce msg/s | MB/s | ack latency p50 / p99 ms | omq CPU s / B alloc per msg | omq produce --file msg/s | kcat -P msg/s | omq bench consume msg/s | omq CPU s / B alloc per msg | kcat -C -e msg/s | omq bench both ($BOTH_MESSAGES): produce / consume msg/s | both: end-to-end p50 / p99 ms |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
c_med="n/a"
[ "${#OMQ_C[@]}" -gt 0 ] && c_med=$(fmt "$(median "${OMQ_C[*]}" 0)")
echo "| median | $(fmt "$(median "${OMQ_P[*]}" 0)") | | | | $(fmt "$(median "${OMQ_FILE[*]}" 0)") | $(fmt "$(median "${KCAT_P[*]}" 0)") | $c_med | | $(fmt "$(median "${KCAT_C[*]}" 0)") | | |"
echo
echo "## allocations (Tests/OrleansMQ.Client.Benchmarks)"
echo
awk '/^## allocation probe/ { on = 1; sub(/^## /, ""); print; next } on && /^\|/ { print; t = 1; next } on && t && !/^\|/ { exit }' "$BDN_OUT"
echo
sed -n '/^| Method/,/^$/p' "$BDN_OUT"
echo
echo "Commands (per run, fresh silo): \`omq bench produce --topic omq-bench --messages $MESSAGES --size $SIZE --partitions $PARTITIONS --producers $PRODUCERS $SETTINGS -o json\`;"
echo "\`omq produce omq-file --file input.txt $SETTINGS\`; \`kcat -P -t kcat-bench -l -X linger.ms=$LINGER_MS -X batch.size=$BATCH_SIZE -X acks=$KCAT_ACKS -X queue.buffering.max.messages=2000000 -X queue.buffering.max.kbytes=1048576 input.txt\`;"
echo "\`omq bench consume --topic omq-bench --messages $MESSAGES\`; \`kcat -C -t kcat-bench -o beginning -e -f '%s\\n' >/dev/null\` (the \"Reached end\" offsets on stderr add up to the messages read)."
echo "\`omq bench both --topic omq-both --messages $BOTH_MESSAGES --size $SIZE --partitions $PARTITIONS --producers $PRODUCERS $SETTINGS -o json\`;"
