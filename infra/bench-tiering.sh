#!/usr/bin/env bash
# Tiered storage benchmarks (issue 7): starts its own Azurite (the blob service only, on a free
# 127.0.0.1 port, data in a temp folder; the same node command as the tests' AzuriteFixture) and
# runs the storage benchmark's `tiering` scenario (Tests/OrleansMQ.Storage.Benchmarks/Scenarios/
# TieringScenario.cs) against it:
#   1. upload of 64 MiB through AzureBlobStore (8 MiB blocks + MD5, 1 and 4 in flight, and the
#      file-range call the offloader makes) vs one plain PUT of the same bytes to Azurite
#      and a PUT to an HTTP sink in the same process (loopback HTTP only);
#   2. sequential read of an offloaded partition (ReadRemoteAsync, 1 MiB fetches) with read-ahead
#      0 / 1 / 4 blocks vs the local read of the same data before offload;
#   3. first fetch of a segment not in the cache vs a warm fetch of the same offset.
# Azurite, the benchmark and the machine's other tenants share the cores: compare within a run.
#
#   infra/bench-tiering.sh                     full run (3 runs, ~5-8 min here)
#   QUICK=1 infra/bench-tiering.sh             smoke run (1 run, smaller volumes, ~1-2 min)
#   BASELINE=d326196 infra/bench-tiering.sh    the same scenario built at that commit too (there:
#                                              the hand-written REST client), runs alternating
#                                              (current, baseline, baseline, current, ...) on one
#                                              Azurite, then a table of both sides' medians
#
# BASELINE=<commit>: builds that commit's storage benchmark in a temporary git worktree
# ($DATA/baseline-src, removed at exit). Both builds print the same case names, so their rows pair
# up; the table gives current / baseline per row. Compare the ratios, not the absolute figures.
#
# Knobs (environment): BASELINE (none), RUNS (3; QUICK=1: 1; with BASELINE: 2 per side), OMQ_BENCH_DATA (engine data, default
# /var/tmp/omq-bench-data), BENCH_DATA (Azurite's folder, default a new temp folder), BENCH_KEEP.
# Needs node and Azurite in Tests/interop/azurite (npm ci there; infra/test.sh does it).
set -uo pipefail
BENCH_NAME=bench-tiering
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICKARG=()
BASELINE=${BASELINE:-}
[ -n "$BASELINE" ] && : "${RUNS:=2}"
if [ "${QUICK:-0}" = 1 ]; then
  : "${RUNS:=1}"
  QUICKARG=(--quick)
fi
RUNS=${RUNS:-3}
ENGINE_DATA="${OMQ_BENCH_DATA:-/var/tmp/omq-bench-data}"
AZURITE_MAIN="$ROOT/Tests/interop/azurite/node_modules/azurite/dist/src/blob/main.js"

command -v dotnet >/dev/null 2>&1 || die "dotnet SDK 10 is required (see README)"
command -v node >/dev/null 2>&1 || die "node is required for Azurite (apt-get install nodejs npm)"
[ -f "$AZURITE_MAIN" ] || die "Azurite is not installed: run 'npm ci' in Tests/interop/azurite (infra/test.sh does)"
make_data_dir
mkdir -p "$ENGINE_DATA"
resolve_revs
BASE_INFO=""
[ -n "$BASE_REV" ] && BASE_INFO="baseline: $BASE_REV $(git log -1 --format=%s "$BASE_REV" | cut -c1-100)"
machine_info "current: $CURRENT_REV" ${BASE_INFO:+"$BASE_INFO"} "disk: $(df -h --output=source,size,avail "$ENGINE_DATA" | tail -1) (engine data), Azurite folder on $(df --output=source "$DATA" | tail -1)" \
  "dotnet $(dotnet --version), node $(node --version), azurite $(node -p "require('$ROOT/Tests/interop/azurite/node_modules/azurite/package.json').version")" \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

log "building (Release)"
dotnet build Tests/OrleansMQ.Storage.Benchmarks/OrleansMQ.Storage.Benchmarks.csproj -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || die "build failed"
EXE="$ROOT/Tests/OrleansMQ.Storage.Benchmarks/bin/Release/net10.0/OrleansMQ.Storage.Benchmarks"
[ -x "$EXE" ] || die "$EXE missing"
declare -A EXE_OF=([current]=$EXE)
SIDES=(current)
if [ -n "$BASE_REV" ]; then
  # The baseline's own storage benchmark (and with it its own blob client), in a temporary worktree
  # that bench-lib's cleanup removes at exit.
  BASE_SRC="$DATA/baseline-src"
  remove_baseline
  log "baseline $BASE_REV: worktree in $BASE_SRC, building its storage benchmark (Release)"
  git -C "$ROOT" worktree add --force --detach --quiet "$BASE_SRC" "$BASE_REV" >&2 || die "git worktree add $BASE_REV failed"
  dotnet build "$BASE_SRC/Tests/OrleansMQ.Storage.Benchmarks/OrleansMQ.Storage.Benchmarks.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || die "baseline build failed"
  EXE_OF[baseline]="$BASE_SRC/Tests/OrleansMQ.Storage.Benchmarks/bin/Release/net10.0/OrleansMQ.Storage.Benchmarks"
  [ -x "${EXE_OF[baseline]}" ] || die "${EXE_OF[baseline]} missing"
  SIDES=(current baseline)
fi

# --- Azurite ----------------------------------------------------------------------------------
AZURITE_PID=""
cleanup_extra() {
  if [ -n "$AZURITE_PID" ]; then kill -TERM "$AZURITE_PID" 2>/dev/null && wait "$AZURITE_PID" 2>/dev/null; fi
  AZURITE_PID=""
}
install_cleanup

AZ_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$DATA/azurite"
node "$AZURITE_MAIN" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --location "$DATA/azurite" --silent --disableTelemetry >"$DATA/azurite.log" 2>&1 &
AZURITE_PID=$!
# Ready means "answers HTTP": any status (403 for an unsigned request) will do.
for _ in $(seq 1 600); do
  curl -s -o /dev/null "http://127.0.0.1:$AZ_PORT/devstoreaccount1?comp=list" && break
  kill -0 "$AZURITE_PID" 2>/dev/null || { cat "$DATA/azurite.log" >&2; die "Azurite exited"; }
  sleep 0.1
done
curl -s -o /dev/null "http://127.0.0.1:$AZ_PORT/devstoreaccount1?comp=list" || die "Azurite did not answer on port $AZ_PORT"
log "azurite: pid $AZURITE_PID on 127.0.0.1:$AZ_PORT, folder $DATA/azurite"
# The emulator's well-known public development key (the same one BlobConnectionString knows).
export OMQ_BENCH_AZURITE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$AZ_PORT/devstoreaccount1;"

mkdir -p "$DATA/out"
for run in $(seq 1 "$RUNS"); do
  # ABBA: the side that goes first swaps every run, so drift of the shared machine hits both alike.
  order=("${SIDES[@]}")
  if [ "${#SIDES[@]}" = 2 ] && [ $((run % 2)) = 0 ]; then order=(baseline current); fi
  for side in "${order[@]}"; do
    label=$side
    [ "$side" = current ] && label="current ($CURRENT_REV)"
    [ "$side" = baseline ] && label="baseline ($BASE_REV)"
    echo "# run $run of $RUNS, $label (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    "${EXE_OF[$side]}" scenario tiering "${QUICKARG[@]}" --data "$ENGINE_DATA" --run "$run" | tee "$DATA/out/$side-$run.md" || die "run $run ($side) failed"
    echo
  done
done

if [ -n "$BASE_REV" ]; then
  echo "## tiering: current ($CURRENT_REV) vs baseline ($BASE_REV), medians over $RUNS run(s) per side"
  echo
  python3 - "$DATA/out" <<'PY'
import glob, os, re, statistics, sys
rows = {}  # (case, metric) -> {side: [values]}
order = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.md"))):
    side = os.path.basename(path).split("-")[0]
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or cells[0] != "tiering" or cells[1].startswith("**"):
            continue
        try:
            value = float(cells[3].replace(",", ""))
        except ValueError:
            continue
        key = (cells[1], cells[2], cells[4])
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key].setdefault(side, []).append(value)
print("| case | metric | current | baseline | current / baseline |")
print("|---|---|---:|---:|---:|")
for key in order:
    sides = rows[key]
    cur = statistics.median(sides["current"]) if "current" in sides else None
    base = statistics.median(sides["baseline"]) if "baseline" in sides else None
    fmt = lambda v: "n/a" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}")
    ratio = f"{cur / base:.2f}x" if cur is not None and base else "n/a"
    print(f"| {key[0]} | {key[1]} ({key[2]}) | {fmt(cur)} | {fmt(base)} | {ratio} |")
PY
  echo
fi

echo "Azurite, the benchmark and the other tenants share $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
