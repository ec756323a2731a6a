#!/usr/bin/env bash
# Long failover run (not in CI): the replication test's idempotent acks=all producer through
# CYCLES leader failures (SIGKILL, or SIGTERM on a random third of them) instead of CI's three,
# three silo processes over Azurite. Needs what infra/test.sh installs (Azurite, kcat,
# python3-confluent-kafka). Usage: infra/soak-replication.sh [CYCLES]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMQ_REPLICATION_CYCLES="${1:-30}"
dotnet build Tests/OrleansMQ.Silo.Tests -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet test Tests/OrleansMQ.Silo.Tests -c Release --no-build -nologo \
  --filter "FullyQualifiedName~ReplicationTests.An_idempotent" --logger "console;verbosity=detailed"
