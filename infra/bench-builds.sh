#!/usr/bin/env bash
# kcat produce across several builds in one run: each COMMIT's silo is built in a temporary git
# worktree, then the silos take turns (round 1: every commit in the order given, round 2: the
# same...), each a fresh silo and data folder, an untimed 200 k-message warm-up, then
# kcat -P of N x SIZE-byte messages into a new topic, timed, with the silo's CPU per message.
# For finding which change moved a figure (a bisection run side by side), where
# bench-compare.sh compares two builds on more workloads. Only ratios within one run mean
# anything on a shared machine.
#
#   infra/bench-builds.sh d326196 ecc4400 HEAD        3 rounds, 5 M x 100 B
#   ROUNDS=5 N=2000000 SIZE=1024 infra/bench-builds.sh A B
#   infra/bench-builds.sh HEAD HEAD:OTEL_SDK_DISABLED=true   one build, two silo environments
#
# An entry is COMMIT or COMMIT:NAME=VALUE (that silo runs with the environment variable set).
#
# Knobs (environment): ROUNDS (3), N (5000000), SIZE (100), BENCH_DATA, BENCH_KEEP.
set -uo pipefail
BENCH_NAME=bench-builds
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

[ $# -ge 2 ] || die "name two or more commits"
ROUNDS=${ROUNDS:-3}
N=${N:-5000000}
SIZE=${SIZE:-100}
KCAT_PRODUCE_FLAGS=(-X acks=1 -X linger.ms=5 -X batch.num.messages=10000 -X queue.buffering.max.messages=1000000)
command -v kcat >/dev/null 2>&1 || die "kcat is required (apt-get install kcat)"

make_data_dir
ENTRIES=()           # what the table names: COMMIT (short) or COMMIT:NAME=VALUE
declare -A SILO_OF ENV_OF
SRCS=()
cleanup_extra() { local s; for s in "${SRCS[@]}"; do git -C "$ROOT" worktree remove --force "$s" >/dev/null 2>&1 || rm -rf "$s"; done; git -C "$ROOT" worktree prune >/dev/null 2>&1; }
install_cleanup
for arg in "$@"; do
  c=${arg%%:*}
  env=""
  [ "$c" != "$arg" ] && env=${arg#*:}
  rev=$(git rev-parse --short "$c^{commit}" 2>/dev/null) || die "$c is not a commit"
  entry=$rev${env:+:$env}
  src="$DATA/src-$rev"
  if [ ! -d "$src" ]; then
    SRCS+=("$src")
    log "building $rev in $src"
    git worktree add --force --detach --quiet "$src" "$rev" >&2 || die "git worktree add $rev failed"
    dotnet build "$src/Silo/OrleansMQ.Silo.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || die "build of $rev failed"
  fi
  SILO_OF[$entry]="$src/Silo/bin/Release/net10.0/OrleansMQ.Silo"
  ENV_OF[$entry]=$env
  ENTRIES+=("$entry")
done
machine_info "$(kcat -V 2>&1 | awk '/librdkafka/{print; exit}')" "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

log "generating $N lines of $SIZE B"
head -c $((N * SIZE * 3 / 4 + 3)) /dev/urandom | base64 -w "$SIZE" | head -n "$N" >"$DATA/input.txt"
head -n 200000 "$DATA/input.txt" >"$DATA/warm.txt"

declare -A RATE US
for r in $(seq 1 "$ROUNDS"); do
  for entry in "${ENTRIES[@]}"; do
    SILO_BIN=${SILO_OF[$entry]}
    sync
    # The entry's variable for this silo only (start_silo's child inherits the environment).
    if [ -n "${ENV_OF[$entry]}" ]; then export "${ENV_OF[$entry]?}"; fi
    start_silo "run-$r" --zero-copy true --flush async
    if [ -n "${ENV_OF[$entry]}" ]; then unset "${ENV_OF[$entry]%%=*}"; fi
    kcat -P -b "127.0.0.1:$PORT" -t warm "${KCAT_PRODUCE_FLAGS[@]}" -l "$DATA/warm.txt" || die "warm-up produce failed"
    sync
    timed /dev/null kcat -P -b "127.0.0.1:$PORT" -t "p-$r" "${KCAT_PRODUCE_FLAGS[@]}" -l "$DATA/input.txt"
    RATE[$entry]+=" $(awk -v n="$N" -v t="$ELAPSED" 'BEGIN{printf "%.0f", n / t}')"
    US[$entry]+=" $(awk -v c="$SILO_CPU" -v n="$N" 'BEGIN{printf "%.3f", c * 1e6 / n}')"
    stop_silo
    rm -rf "${DATA:?}/run-$r"
  done
done

first=${ENTRIES[0]}
echo "## kcat produce $N x $SIZE B, $ROUNDS round(s), builds taking turns (ratios against $first)"
echo
echo "| build | msg/s (median) | ÷ $first | silo µs/msg (median) | ÷ $first | msg/s per round | µs/msg per round |"
echo "|---|---:|---:|---:|---:|---|---|"
for entry in "${ENTRIES[@]}"; do
  m=$(median "${RATE[$entry]}" 0); u=$(median "${US[$entry]}" 3)
  mb=$(median "${RATE[$first]}" 0); ub=$(median "${US[$first]}" 3)
  echo "| $entry $(git log -1 --format=%s "${entry%%:*}" | cut -c1-50) | $(fmt "$m") | $(awk -v a="$m" -v b="$mb" 'BEGIN{printf "%.2f", a / b}') | $u | $(awk -v a="$u" -v b="$ub" 'BEGIN{printf "%.2f", a / b}') |${RATE[$entry]} |${US[$entry]} |"
done
echo
echo "kcat -P ${KCAT_PRODUCE_FLAGS[*]} -l FILE; silo --zero-copy true --flush async; $(nproc) cores shared; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
