#!/usr/bin/env bash
# Storage benchmarks (issue 2): prints the machine, builds Release, runs the hand-written
# scenarios (append, groupcommit, partitions, recovery) and optionally the BenchmarkDotNet
# micro benchmarks. Every scenario measures its own baseline in the same run; the output is
# markdown (see docs/benchmarks.md for the figures and how to read them).
#
# usage: infra/bench-storage.sh [--quick] [--micro] [--scenario NAME] [--runs N]
#   --quick          small volumes (about 2 minutes in all) instead of the full ones (about 6 minutes per run)
#   --micro          also run `micro` (BenchmarkDotNet, MemoryDiagnoser, short job: about 2 minutes)
#   --scenario NAME  append | groupcommit | partitions | recovery | all (default all)
#   --runs N         run the scenarios N times (default 1; the machine is noisy, compare runs)
# Data goes to $OMQ_BENCH_DATA (default /var/tmp/omq-bench-data, not /tmp) and is deleted after
# each case; the full run needs about 8 GiB free there at peak (recovery: 4-5 GiB of log in 1 GiB
# segments plus the prepared one).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=""
MICRO=0
SCENARIO=all
RUNS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK="--quick" ;;
    --micro) MICRO=1 ;;
    --scenario) SCENARIO="$2"; shift ;;
    --runs) RUNS="$2"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

DATA="${OMQ_BENCH_DATA:-/var/tmp/omq-bench-data}"
mkdir -p "$DATA"

# The partitions scenario keeps 10,000 files open at once (the Kafka-style layout: one per
# partition; the CommitLog: one ConsumeQueue file per partition); raise the soft limit of open
# files to the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "## machine"
echo
echo '```'
echo "cores: $(nproc)  ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
free -h
df -h "$DATA"
echo "fs: $(findmnt -no FSTYPE,OPTIONS --target "$DATA" 2>/dev/null || echo unknown)"
echo "kernel: $(uname -srm)"
echo "open files: soft $(ulimit -Sn), hard $(ulimit -Hn); vm.max_map_count $(cat /proc/sys/vm/max_map_count)"
echo "dirty_ratio $(cat /proc/sys/vm/dirty_ratio) / dirty_background_ratio $(cat /proc/sys/vm/dirty_background_ratio) / dirty_expire_centisecs $(cat /proc/sys/vm/dirty_expire_centisecs)"
{ dotnet --info || true; } | head -n 12 || true
echo '```'
echo

FREE_GIB=$(df -BG --output=avail "$DATA" | tail -1 | tr -dc '0-9')
if [ -z "$QUICK" ] && [ "${FREE_GIB:-0}" -lt 12 ]; then
  echo "warning: only ${FREE_GIB} GiB free under $DATA; the full run needs about 8 GiB" >&2
fi

echo "building (Release)..." >&2
dotnet build Tests/OrleansMQ.Storage.Benchmarks/OrleansMQ.Storage.Benchmarks.csproj -c Release -nologo -v quiet -clp:ErrorsOnly >&2
EXE=Tests/OrleansMQ.Storage.Benchmarks/bin/Release/net10.0/OrleansMQ.Storage.Benchmarks

for run in $(seq 1 "$RUNS"); do
  echo "# run $run of $RUNS: scenario $SCENARIO $QUICK"
  "$EXE" scenario "$SCENARIO" $QUICK --data "$DATA" --run "$run"
  echo
done

if [ "$MICRO" = 1 ]; then
  echo "# micro"
  "$EXE" micro --data "$DATA"
fi
