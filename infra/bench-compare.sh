#!/usr/bin/env bash
# Refactoring guard ("the numbers do not move", issue 13): the user-facing workloads against the
# current tree and a baseline commit in ONE run, the two silos alternating (baseline, current,
# baseline, current...), a fresh silo and data folder per run and side:
#   1. kcat produce N x SIZE B (librdkafka, acks=1, linger 5 ms) into a new topic, timed, with the
#      silo's CPU per message;
#   2. kcat consume of that topic from the beginning to /dev/null, timed;
#   3. REST Proxy v2 produce peak: the load generator's `rest peak` (CONNECTIONS connections posting
#      RECORDS x SIZE B binary.v2 batches as fast as answered; the current tree's generator serves
#      both sides, it only speaks HTTP);
#   4. omq bench produce OMQ_N x SIZE B into a new topic of PARTITIONS partitions — each side with
#      its OWN omq build, since the managed client is part of what changed;
#   5. omq bench consume of that topic (again that side's omq).
# The summary gives each side's median, current ÷ baseline of the medians and of each run pair,
# and the verdict against the target (within 5 %: ratio ≥ 0.95). Everything shares this machine's
# cores: only the ratios of one run mean anything.
#
#   BASELINE=d326196 infra/bench-compare.sh            full run (RUNS=5 pairs, ~15 min here)
#   QUICK=1 BASELINE=d326196 infra/bench-compare.sh    smoke run (1 pair, small volumes, ~3 min)
#
# Knobs (environment): BASELINE (required), RUNS (5; QUICK: 1), N (2000000 kcat messages),
# SIZE (100), OMQ_N (5000000), PARTITIONS (6), REST_SECONDS (10), CONNECTIONS (16), RECORDS (500),
# BENCH_DATA, BENCH_KEEP.
set -uo pipefail
BENCH_NAME=bench-compare
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

[ -n "${BASELINE:-}" ] || die "set BASELINE=<commit> (the commit before the change to compare with)"
if [ "${QUICK:-0}" = 1 ]; then
  : "${RUNS:=1}" "${N:=300000}" "${OMQ_N:=500000}" "${REST_SECONDS:=3}"
fi
RUNS=${RUNS:-5}
N=${N:-2000000}
SIZE=${SIZE:-100}
OMQ_N=${OMQ_N:-5000000}
PARTITIONS=${PARTITIONS:-6}
REST_SECONDS=${REST_SECONDS:-10}
CONNECTIONS=${CONNECTIONS:-16}
RECORDS=${RECORDS:-500}
KCAT_PRODUCE_FLAGS=(-X acks=1 -X linger.ms=5 -X batch.num.messages=10000 -X queue.buffering.max.messages=1000000)
OMQ_SETTINGS=(--acks 1 --linger-ms 5 --batch-size 262144)

command -v dotnet >/dev/null 2>&1 || die "dotnet SDK 10 is required (see README)"
command -v kcat >/dev/null 2>&1 || die "kcat is required (apt-get install kcat)"
command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install curl)"

resolve_revs
make_data_dir
machine_info "$(df -h "$DATA" | sed 's/^/disk: /')" "dotnet $(dotnet --version); $(kcat -V 2>&1 | awk '/librdkafka/{print; exit}' || true)" \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" \
  "current: $CURRENT_REV $(git log -1 --format=%s HEAD | cut -c1-100)" "baseline: $BASE_REV $(git log -1 --format=%s "$BASE_REV" | cut -c1-100)"

build_release
log "building omq (Release)"
dotnet build Client/OrleansMQ.Cli/OrleansMQ.Cli.csproj -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || die "omq build failed"
install_cleanup
build_baseline
log "baseline $BASE_REV: building its omq (Release)"
dotnet build "$BASE_SRC/Client/OrleansMQ.Cli/OrleansMQ.Cli.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || die "baseline omq build failed"
declare -A SILO_OF=([current]=$SILO_BIN [baseline]=$BASE_SILO_BIN)
declare -A OMQ_OF=([current]="$ROOT/Client/OrleansMQ.Cli/bin/Release/net10.0/omq.dll" [baseline]="$BASE_SRC/Client/OrleansMQ.Cli/bin/Release/net10.0/omq.dll")
declare -A SIDE_NAME=([current]="current ($CURRENT_REV)" [baseline]="baseline ($BASE_REV)")

log "generating $N lines of $SIZE B"
head -c $((N * SIZE * 3 / 4 + 3)) /dev/urandom | base64 -w "$SIZE" | head -n "$N" >"$DATA/input.txt"
head -n 100000 "$DATA/input.txt" >"$DATA/warm.txt"

end_offset() { kcat -b "127.0.0.1:$PORT" -Q -t "$1:0:-1" 2>/dev/null | awk '{print $NF}'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN{printf "%.0f", n / t}'; }
jval() { sed -n "s/.*\"$2\": *\([^,}]*\).*/\1/p" <<<"$1" | head -1 | tr -d '"'; }
val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# FIG[SIDE:MEASURE] = space-separated values, one per run.
declare -A FIG
add() { FIG[$1:$2]="${FIG[$1:$2]:-} $3"; }
MEASURES=(kcat_produce kcat_produce_us kcat_consume rest_produce omq_produce omq_consume)
declare -A LABEL=([kcat_produce]="kcat produce $SIZE B, msg/s" [kcat_produce_us]="… silo CPU µs per message (lower is better)"
  [kcat_consume]="kcat consume $SIZE B, msg/s" [rest_produce]="REST v2 produce peak, records/s"
  [omq_produce]="omq bench produce $SIZE B, msg/s" [omq_consume]="omq bench consume, msg/s")

# Untimed warm-up (JIT) of the silo's produce and fetch paths before the timed steps.
warm_up() {
  kcat -P -b "127.0.0.1:$PORT" -t warm "${KCAT_PRODUCE_FLAGS[@]}" -l "$DATA/warm.txt" || die "warm-up produce failed"
  kcat -C -b "127.0.0.1:$PORT" -t warm -o beginning -e -q -f '' >/dev/null || die "warm-up consume failed"
}

for r in $(seq 1 "$RUNS"); do
  for SIDE in baseline current; do
    SILO_BIN=${SILO_OF[$SIDE]}
    OMQ=(dotnet "${OMQ_OF[$SIDE]}")
    sync   # the previous silo's write-back outside this one's timed window
    start_silo "$SIDE-$r" --zero-copy true --flush async
    warm_up

    log "$SIDE run $r: kcat produce $N x $SIZE B"
    timed /dev/null kcat -P -b "127.0.0.1:$PORT" -t "k-$r" "${KCAT_PRODUCE_FLAGS[@]}" -l "$DATA/input.txt"
    got=$(end_offset "k-$r")
    [ "$got" = "$N" ] || die "topic k-$r holds $got messages, expected $N"
    add "$SIDE" kcat_produce "$(rate "$N" "$ELAPSED")"
    add "$SIDE" kcat_produce_us "$(awk -v c="$SILO_CPU" -v n="$N" 'BEGIN{printf "%.3f", c * 1e6 / n}')"

    log "$SIDE run $r: kcat consume"
    timed /dev/null kcat -C -b "127.0.0.1:$PORT" -t "k-$r" -o beginning -e -q -f '%s\n'
    add "$SIDE" kcat_consume "$(rate "$N" "$ELAPSED")"

    log "$SIDE run $r: REST produce peak"
    "${LOADGEN[@]}" rest peak --url "http://127.0.0.1:$HTTP_PORT" --connections "$CONNECTIONS" --seconds "$REST_SECONDS" --warmup 2 \
      --records "$RECORDS" --bytes "$SIZE" --topic "rest-$r" >"$DATA/rest.out" 2>&1 || { cat "$DATA/rest.out" >&2; die "REST load generator failed"; }
    line=$(grep '^RESULT rest' "$DATA/rest.out")
    [ "$(val "$line" errors)" = 0 ] || log "warning: $SIDE run $r: REST produce had $(val "$line" errors) errors"
    add "$SIDE" rest_produce "$(val "$line" records_per_s)"

    log "$SIDE run $r: omq bench produce $OMQ_N x $SIZE B"
    json=$("${OMQ[@]}" bench produce -b "127.0.0.1:$PORT" --topic "o-$r" --messages "$OMQ_N" --size "$SIZE" --partitions "$PARTITIONS" \
      "${OMQ_SETTINGS[@]}" -o json) || die "omq bench produce failed"
    add "$SIDE" omq_produce "$(jval "$json" msgPerSec)"
    log "$SIDE run $r: omq bench consume"
    json=$("${OMQ[@]}" bench consume -b "127.0.0.1:$PORT" --topic "o-$r" --messages "$OMQ_N" -o json) || die "omq bench consume failed"
    add "$SIDE" omq_consume "$(jval "$json" msgPerSec)"

    stop_silo
    rm -rf "${DATA:?}/$SIDE-$r"
  done
done

# --- summary --------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (b > 0) printf "%.2f", a / b; else print "-"}'; }
pair_ratios() {
  paste -d' ' <(tr ' ' '\n' <<<"${FIG[current:$1]}" | grep .) <(tr ' ' '\n' <<<"${FIG[baseline:$1]}" | grep .) |
    awk '{printf "%s%.2f", (NR > 1 ? " " : ""), ($2 > 0 ? $1 / $2 : 0)}'
}
echo "## Summary: baseline ($BASE_REV) vs current ($CURRENT_REV), medians over $RUNS run(s) each, silos alternating"
echo
echo "| measure | ${SIDE_NAME[baseline]} | ${SIDE_NAME[current]} | current ÷ baseline | per-run ratios | within 5 %? |"
echo "|---|---:|---:|---:|---|---|"
for m in "${MEASURES[@]}"; do
  decimals=0
  [ "$m" = kcat_produce_us ] && decimals=3
  b=$(median "${FIG[baseline:$m]}" "$decimals")
  c=$(median "${FIG[current:$m]}" "$decimals")
  q=$(ratio "$c" "$b")
  if [ "$m" = kcat_produce_us ]; then
    verdict=$(awk -v r="$q" 'BEGIN{print (r <= 1.05 ? "yes" : "**no**")}')
    echo "| ${LABEL[$m]} | $b | $c | $q | $(pair_ratios "$m") | $verdict |"
  else
    verdict=$(awk -v r="$q" 'BEGIN{print (r >= 0.95 ? "yes" : "**no**")}')
    echo "| ${LABEL[$m]} | $(fmt "$b") | $(fmt "$c") | **$q** | $(pair_ratios "$m") | $verdict |"
  fi
done
echo
for m in "${MEASURES[@]}"; do
  echo "- $m: baseline${FIG[baseline:$m]}; current${FIG[current:$m]}"
done
echo
echo "kcat: -P ${KCAT_PRODUCE_FLAGS[*]} -l (N=$N); -C -o beginning -e -q -f '%s\\n' >/dev/null. REST: rest peak --connections $CONNECTIONS --records $RECORDS --bytes $SIZE --seconds $REST_SECONDS."
echo "omq: bench produce --messages $OMQ_N --size $SIZE --partitions $PARTITIONS ${OMQ_SETTINGS[*]}; bench consume --messages $OMQ_N. Silo: --zero-copy true --flush async."
echo "The silo and the clients share $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
