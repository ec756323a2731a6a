#!/usr/bin/env bash
# Replication benchmark (issue 14, docs/benchmarks.md "Replication"): three silos on this machine
# (infra/cluster.sh, Azurite for membership), all sharing its cores.
#   1. produce peak, 100 B and 1 KiB records: RF=3 acks=all (min.insync.replicas=2) against RF=1
#      acks=1, the two taking turns RUNS times (the raw-TCP broker load generator, one partition
#      led by silo 0, so both sides pay the same client costs);
#   2. p99 (and p99.9) produce latency at half the RF=3 peak, open loop;
#   3. failover: SIGKILL of the leader to the first acknowledged acks=all produce on the new
#      leader (a probe producing one record every 20 ms through confluent-kafka);
#   4. follower catch-up: a follower is stopped while the leader takes CATCHUP_SECONDS of produce,
#      then started; the time until it is back in the ISR gives its catch-up rate, beside the
#      leader's append rate.
# Settings (environment): RUNS (3), SECONDS (8), IN_FLIGHT (16 Produce requests per connection), PORT_BASE (24000: Kafka PORT_BASE+I, HTTP +100+I,
# silo +200+I, Azurite +300/+302), CATCHUP_SECONDS (10), KEEP (keep the cluster folder),
# ONLY (a comma list of produce,latency,failover,catchup: run only those).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS:-8}
IN_FLIGHT=${IN_FLIGHT:-16}
BASE=${PORT_BASE:-24000}
want() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }
log() { printf '[bench-replication] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command -v kcat >/dev/null 2>&1 || die "kcat is required (apt-get install kcat)"
/usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null || die "python3-confluent-kafka is required (apt-get install python3-confluent-kafka)"

log "building (Release)"
dotnet build Silo -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null || die "silo build failed"
dotnet build Tests/OrleansMQ.Broker.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null || die "benchmark build failed"
GEN="$ROOT/Tests/OrleansMQ.Broker.Benchmarks/bin/Release/net10.0/OrleansMQ.Broker.Benchmarks"

export CLUSTER_DIR=${CLUSTER_DIR:-$(mktemp -d /tmp/omq-bench-repl.XXXXXX)}
export KAFKA_BASE=$BASE HTTP_BASE=$((BASE + 100)) SILO_BASE=$((BASE + 200)) GATEWAY_BASE=0
export AZURITE_BLOB_PORT=$((BASE + 300)) AZURITE_TABLE_PORT=$((BASE + 302)) CLUSTER_ID=bench-repl
export SILO_BIN="$ROOT/Silo/bin/Release/net10.0/OrleansMQ.Silo"
export OrleansMQ__Broker__MinInsyncReplicas=2 Logging__LogLevel__Default=Warning
BOOT="127.0.0.1:$BASE"
ALL="127.0.0.1:$BASE,127.0.0.1:$((BASE + 1)),127.0.0.1:$((BASE + 2))"
cleanup() {
  bash infra/cluster.sh down >/dev/null 2>&1
  [ -n "${KEEP:-}" ] || rm -rf "$CLUSTER_DIR"
}
trap cleanup EXIT

# A fresh cluster per part: the parts write tens of GB (three copies of every RF=3 byte), more
# than a shared machine's disk should hold at once.
fresh_cluster() {
  bash infra/cluster.sh down --clean >/dev/null 2>&1
  mkdir -p "$CLUSTER_DIR"
  bash infra/cluster.sh up 3 >/dev/null || die "cluster did not start (logs in $CLUSTER_DIR)"
  log "3 silos up ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
  # Topics with explicit replicas, so silo 0 leads them and the generator talks to the leader.
  /usr/bin/python3 - "$ALL" "$@" <<'PY' || die "topic creation failed"
import sys
from confluent_kafka.admin import AdminClient, NewTopic
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
topics = [NewTopic(name, num_partitions=1, replica_assignment=[[0, 1, 2] if name.startswith("r3") else [0]]) for name in sys.argv[2:]]
for name, future in admin.create_topics(topics).items():
    future.result(30)
PY
  sleep 2
}

peak() { # topic acks bytes -> msg/s
  "$GEN" peak --bootstrap "$BOOT" --topic "$1" --acks "$2" --message-bytes "$3" --in-flight "$IN_FLIGHT" --peak-seconds "$SECONDS_PER_RUN" --warmup-seconds 2 2>/dev/null \
    | sed -n 's/^RESULT peak msg_per_s=\([0-9]*\).* errors=\([0-9]*\).*/\1 \2/p'
}

declare -A BEST=([100]=100000 [1k]=40000)
for size in 100 1k; do
  want produce || want latency || continue
  fresh_cluster "r3-$size" "r1-$size"
  bytes=100; [ "$size" = 1k ] && bytes=1024
  r3=(); r1=()
  runs=$RUNS; want produce || runs=0
  for run in $(seq 1 "$runs"); do
    read -r a ea <<<"$(peak "r3-$size" -1 "$bytes")"
    read -r b eb <<<"$(peak "r1-$size" 1 "$bytes")"
    log "$size run $run: RF=3 acks=all ${a:-?} msg/s (errors ${ea:-?}), RF=1 acks=1 ${b:-?} msg/s (errors ${eb:-?})"
    r3+=("${a:-0}"); r1+=("${b:-0}")
  done
  m3=$(printf '%s\n' "${r3[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  m1=$(printf '%s\n' "${r1[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  [ "$runs" -gt 0 ] && BEST[$size]=$m3
  [ "$runs" -gt 0 ] && echo "RESULT produce size=$size rf3_acks_all_msg_per_s=$m3 rf1_acks1_msg_per_s=$m1 ratio=$(awk -v a="$m3" -v b="$m1" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}') runs=$RUNS"

  if want latency; then
    rate=$(( BEST[$size] / 2 ))
    "$GEN" latency --bootstrap "$BOOT" --topic "r3-$size" --acks -1 --message-bytes "$bytes" --rate "$rate" --seconds "$SECONDS_PER_RUN" 2>/dev/null \
      | sed -n "s/^RESULT latency /RESULT latency size=$size rf=3 acks=all /p"
  fi
done

# Failover: a probe acknowledges one record every 20 ms; silo 0 (the leader) is SIGKILLed.
if want failover || want catchup; then
  fresh_cluster r3-fo r3-cu
fi
if want failover; then
log "failover: SIGKILL of the leader of r3-fo"
/usr/bin/python3 - "$ALL" "$CLUSTER_DIR/fo.out" <<'PY' &
import sys, time
from confluent_kafka import Producer
out = open(sys.argv[2], "w", buffering=1)
p = Producer({"bootstrap.servers": sys.argv[1], "acks": "all", "enable.idempotence": True, "linger.ms": 0,
              "message.timeout.ms": 30000, "retry.backoff.ms": 50, "topic.metadata.refresh.interval.ms": 500})
def done(err, msg):
    if err is None:
        out.write(f"{time.time():.3f} {msg.offset()}\n")
end = time.time() + 25
while time.time() < end:
    p.produce("r3-fo", b"x" * 100, partition=0, on_delivery=done)
    p.poll(0.02)
p.flush(30)
PY
probe=$!
sleep 5
kill_at=$(date +%s.%N)
bash infra/cluster.sh kill 0 >/dev/null
wait "$probe"
# The last acknowledgement sent before the kill may still land after it: skip acks within 100 ms.
first_after=$(awk -v k="$kill_at" '$1 > k + 0.1 {print $1; exit}' "$CLUSTER_DIR/fo.out")
echo "RESULT failover seconds=$(awk -v a="$first_after" -v k="$kill_at" 'BEGIN {printf "%.2f", a - k}') probe_interval_ms=20"
bash infra/cluster.sh start 0 >/dev/null || die "silo 0 did not restart"
fi

# Catch-up: silo 2 stopped (and out of the ISR), the leader takes CATCHUP_SECONDS of produce
# (acks=1, the generator at its peak: the leader's append rate), silo 2 started; the time from its
# start until it is back in the ISR gives the follower's catch-up rate.
want catchup || exit 0
CATCHUP_SECONDS=${CATCHUP_SECONDS:-10}
isr_of() { kcat -L -b "$ALL" -t r3-cu 2>/dev/null | sed -n 's/.*partition 0, leader \([0-9]*\), replicas: [0-9,]*, isrs: \([0-9,]*\).*/\1 \2/p'; }
log "catch-up: ${CATCHUP_SECONDS} s of produce while silo 2 is down"
bash infra/cluster.sh stop 2 >/dev/null
for _ in $(seq 1 300); do read -r leader isr <<<"$(isr_of)"; [[ ",$isr," != *",2,"* && -n "$leader" && "$leader" != 2 ]] && break; sleep 0.1; done
[[ ",$isr," != *",2,"* ]] || die "silo 2 did not leave the ISR of r3-cu"
"$GEN" peak --bootstrap "127.0.0.1:$((BASE + leader))" --topic r3-cu --acks 1 --message-bytes 1024 --peak-seconds "$CATCHUP_SECONDS" --warmup-seconds 0 2>/dev/null \
  | sed -n 's/^RESULT peak msg_per_s=\([0-9]*\) mb_per_s=\([0-9.]*\).*/\1 \2/p' > "$CLUSTER_DIR/cu.peak"
read -r append_msgs append_mb < "$CLUSTER_DIR/cu.peak"
behind_mb=$(awk -v m="${append_mb:-0}" -v s="$CATCHUP_SECONDS" 'BEGIN {printf "%.0f", m * s}')
bash infra/cluster.sh start 2 >/dev/null || die "silo 2 did not restart"
t2=$(date +%s.%N)
while read -r _ isr <<<"$(isr_of)"; [[ ",$isr," != *",2,"* ]]; do
  sleep 0.05
  awk -v a="$(date +%s.%N)" -v b="$t2" 'BEGIN {exit !(a - b > 300)}' && die "silo 2 did not rejoin the ISR in 300 s"
done
t3=$(date +%s.%N)
echo "RESULT catchup behind_mb=$behind_mb leader_append_mb_per_s=${append_mb:-?} follower_catchup_mb_per_s=$(awk -v a="$t2" -v b="$t3" -v m="$behind_mb" 'BEGIN {printf "%.1f", m / (b - a)}') ready_to_isr_s=$(awk -v a="$t2" -v b="$t3" 'BEGIN {printf "%.1f", b - a}')"
