#!/usr/bin/env bash
# Tiered storage benchmarks (issue 7): starts its own Azurite (the blob service only, on a free
# 127.0.0.1 port, data in a temp folder; the same node command as the tests' AzuriteFixture) and
# runs the storage benchmark's `tiering` scenario (Tests/OrleansMQ.Storage.Benchmarks/Scenarios/
# TieringScenario.cs) against it:
#   1. upload of 64 MiB through AzureBlobStore (8 MiB blocks + MD5, 1 and 4 in flight, and the
#      file-range call the offloader makes) vs one plain signed PUT of the same bytes to Azurite
#      and a PUT to an HTTP sink in the same process (loopback HTTP only);
#   2. sequential read of an offloaded partition (ReadRemoteAsync, 1 MiB fetches) with read-ahead
#      0 / 1 / 4 blocks vs the local read of the same data before offload;
#   3. first fetch of a segment not in the cache vs a warm fetch of the same offset.
# Azurite, the benchmark and the machine's other tenants share the cores: compare within a run.
#
#   infra/bench-tiering.sh            full run (3 runs, ~5-8 min here)
#   QUICK=1 infra/bench-tiering.sh    smoke run (1 run, smaller volumes, ~1-2 min)
#
# Knobs (environment): RUNS (3; QUICK=1: 1), OMQ_BENCH_DATA (engine data, default
# /var/tmp/omq-bench-data), BENCH_DATA (Azurite's folder, default a new temp folder), BENCH_KEEP.
# Needs node and Azurite in Tests/interop/azurite (npm ci there; infra/test.sh does it).
set -uo pipefail
BENCH_NAME=bench-tiering
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICKARG=()
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
machine_info "disk: $(df -h --output=source,size,avail "$ENGINE_DATA" | tail -1) (engine data), Azurite folder on $(df --output=source "$DATA" | tail -1)" \
  "dotnet $(dotnet --version), node $(node --version), azurite $(node -p "require('$ROOT/Tests/interop/azurite/node_modules/azurite/package.json').version")" \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

log "building (Release)"
dotnet build Tests/OrleansMQ.Storage.Benchmarks/OrleansMQ.Storage.Benchmarks.csproj -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || die "build failed"
EXE="$ROOT/Tests/OrleansMQ.Storage.Benchmarks/bin/Release/net10.0/OrleansMQ.Storage.Benchmarks"
[ -x "$EXE" ] || die "$EXE missing"

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

for run in $(seq 1 "$RUNS"); do
  echo "# run $run of $RUNS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$EXE" scenario tiering "${QUICKARG[@]}" --data "$ENGINE_DATA" --run "$run" || die "run $run failed"
  echo
done

echo "Azurite, the benchmark and the other tenants share $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
