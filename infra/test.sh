#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, builds, tests,
# and ends with one plain line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '[test] %s\n' "$*"; }

# --- what the tests need --------------------------------------------------------------------
# Real clients and tools, installed here so one command works on a clean machine:
#   kcat (librdkafka 2.0.2) and kafkajs 2.2.4 for interop, strace to prove sendfile carries fetches,
#   Debian's chromium for the web console's browser tests (Playwright drives it; it downloads nothing),
#   Azurite 3.35.0 (Azure Storage emulator) for the tiered-storage blob client tests and the Azure Table
#   cluster tests, redis-server for the Redis cluster tests, confluent-kafka-python and iproute2 for the
#   replication tests.
if ! command -v dotnet >/dev/null 2>&1; then
  echo "dotnet SDK 10 is required (see README)" >&2
  exit 2
fi

need_apt=()
command -v kcat >/dev/null 2>&1 || need_apt+=(kcat)
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
# redis-server: the on-premises cluster membership (Orleans Redis clustering) in the cluster tests.
[ -x /usr/bin/redis-server ] || need_apt+=(redis-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# confluent-kafka-python (Debian's, over librdkafka): the idempotent acks=all producer of the
# replication tests; iproute2 (ip netns) for their network partitions.
/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || need_apt+=(python3-confluent-kafka)
[ -x /usr/sbin/ip ] || need_apt+=(iproute2)
# kafkajs and Azurite run on Node; Debian's nodejs + npm when the machine has none.
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "installing ${need_apt[*]} (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null \
      || echo "[test] warning: apt-get install ${need_apt[*]} failed; the tests that need them will say so" >&2
  else
    echo "[test] warning: not root, cannot install ${need_apt[*]}; the tests that need them will say so" >&2
  fi
fi

if command -v npm >/dev/null 2>&1; then
  log "installing kafkajs (npm ci)"
  (cd Tests/interop/kafkajs && npm ci --no-audit --no-fund --silent >/dev/null) \
    || echo "[test] warning: npm ci in Tests/interop/kafkajs failed; the kafkajs test will say so" >&2
  log "installing azurite (npm ci)"
  (cd Tests/interop/azurite && npm ci --no-audit --no-fund --silent >/dev/null) \
    || echo "[test] warning: npm ci in Tests/interop/azurite failed; the tiering tests will say so" >&2
else
  echo "[test] warning: npm not found; the kafkajs and tiering tests will say so" >&2
fi

RESULTS="$ROOT/artifacts/test-results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

log "building"
if ! dotnet build OrleansMQ.sln -c Release -nologo -v quiet -clp:ErrorsOnly; then
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

log "checking formatting (dotnet format whitespace)"
format_failed=0
if ! dotnet format whitespace OrleansMQ.sln --verify-no-changes >"$RESULTS/format.txt" 2>&1; then
  cat "$RESULTS/format.txt" | head -20
  format_failed=1
fi

log "testing"
dotnet test OrleansMQ.sln -c Release --no-build -nologo \
  --logger "trx" --results-directory "$RESULTS" \
  --blame-hang-timeout 10m -- RunConfiguration.TestSessionTimeout=1500000
status=$?

passed=0; failed=0; skipped=0
for trx in "$RESULTS"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  total=$(get total); p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); x=$(get executed)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0}))
  skipped=$((skipped + ${total:-0} - ${x:-0}))
done
failed=$((failed + format_failed))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the runner failed without a recorded test failure (crash, hang): count it
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
