#!/usr/bin/env bash
# A local OrleansMQ cluster on 127.0.0.1, for users, tests and benchmarks: Azurite (blob and table
# services: Orleans membership and grain state, and the blob tier's account) and N silo processes
# in OrleansMQ:Cluster:Mode=AzureTable, each with its own ports, data folder, log and pid file.
# Run `infra/cluster.sh help` for the commands and the environment it reads.
#
# Everything lives in CLUSTER_DIR (default ./cluster-data, relative to the caller's folder):
#   cluster.env                  the settings `up` used (ports, cluster id, silo binary, OrleansMQ__*
#                                variables); later commands reuse them, so `start I` brings a silo
#                                back as `up` started it. The caller's environment still wins.
#   silo-I/  silo-I.log  silo-I.pid         silo I's data, output and "pid starttime"
#   azurite/{blob,table}/  azurite-{blob,table}.log  azurite-{blob,table}.pid
#   .silo-built                  when this script last built the silo (sources newer: build again)
# A pid file holds the process's start time (/proc/PID/stat) beside its pid, so a pid reused by an
# unrelated process after a crash is never taken for ours (and never signalled).
set -euo pipefail

PROG=infra/cluster.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
usage: infra/cluster.sh COMMAND

A local OrleansMQ cluster on 127.0.0.1: Azurite (table + blob) and N silos in
OrleansMQ:Cluster:Mode=AzureTable. Silo I has node id I, Kafka port KAFKA_BASE+I,
HTTP port HTTP_BASE+I, Orleans silo port SILO_BASE+I, gateway port GATEWAY_BASE+I
and its data in CLUSTER_DIR/silo-I.

commands:
  up N            start Azurite and silos 0..N-1 (silo 0 first, then the others);
                  returns once every silo's /readyz answers 200. Silos already
                  running are left as they are. Unless SILO_BIN is set, builds the
                  silo (dotnet build -c Release) when it is missing or a source
                  changed since this script last built it for CLUSTER_DIR.
  status          one line per silo:
                    silo I  pid PID|down  kafka 127.0.0.1:PORT  http 127.0.0.1:PORT  leads N [not ready]
                  (N: partitions whose Metadata leader is I, read with kcat from the
                  first live silo; "?" when no silo answers or kcat is missing)
  kill I          SIGKILL silo I (a crash)
  stop I          SIGTERM silo I and wait for it to exit (a clean leave)
  start I         start silo I with up's settings; returns once it is ready
                  (an I beyond up's N adds a silo)
  logs I [-f]     the last LOG_LINES (50) lines of silo I's log; -f follows it
  down [--clean]  stop every silo (SIGTERM), then Azurite; data stays unless --clean,
                  which deletes CLUSTER_DIR
  help            this text

environment (defaults in brackets; up records them in CLUSTER_DIR/cluster.env and
later commands reuse them unless set again):
  CLUSTER_DIR [./cluster-data]     KAFKA_BASE [9092]      HTTP_BASE [8080]
  SILO_BASE [11111]                GATEWAY_BASE [30000; 0: no Orleans gateway]
  AZURITE_BLOB_PORT [10000]        AZURITE_TABLE_PORT [10002]
  CLUSTER_ID [omq-local]           SILO_BIN [Silo/bin/Release/net10.0/OrleansMQ.Silo, built]
  READY_TIMEOUT [120 s per wait]   STOP_TIMEOUT [60 s, then SIGKILL]
  OrleansMQ__*                     any other silo setting, passed to every silo (up records
                                   them for start); the script sets the node id, listeners,
                                   data folder and cluster settings itself.

examples:
  infra/cluster.sh up 3
  kcat -b 127.0.0.1:9092 -L
  infra/cluster.sh kill 1 && infra/cluster.sh start 1
  KAFKA_BASE=19092 HTTP_BASE=18080 SILO_BASE=21111 GATEWAY_BASE=0 CLUSTER_DIR=/tmp/c2 infra/cluster.sh up 2
EOF
}

# --- settings ---------------------------------------------------------------------------------
# CLUSTER_DIR first: the saved settings live there. Absolute, so the silos' data folders do not
# depend on the folder a later command runs from.
CLUSTER_DIR=$(realpath -m -- "${CLUSTER_DIR:-./cluster-data}")
CONF="$CLUSTER_DIR/cluster.env"

SETTINGS=(KAFKA_BASE HTTP_BASE SILO_BASE GATEWAY_BASE AZURITE_BLOB_PORT AZURITE_TABLE_PORT CLUSTER_ID SILO_BIN SILOS)
SAVED_PASSTHROUGH=()
for name in "${SETTINGS[@]}"; do declare "saved_$name="; done
# shellcheck source=/dev/null
[ -f "$CONF" ] && . "$CONF"

# Each: the caller's value, else up's recorded one, else the default.
KAFKA_BASE=${KAFKA_BASE:-${saved_KAFKA_BASE:-9092}}
HTTP_BASE=${HTTP_BASE:-${saved_HTTP_BASE:-8080}}
SILO_BASE=${SILO_BASE:-${saved_SILO_BASE:-11111}}
GATEWAY_BASE=${GATEWAY_BASE:-${saved_GATEWAY_BASE:-30000}}
AZURITE_BLOB_PORT=${AZURITE_BLOB_PORT:-${saved_AZURITE_BLOB_PORT:-10000}}
AZURITE_TABLE_PORT=${AZURITE_TABLE_PORT:-${saved_AZURITE_TABLE_PORT:-10002}}
CLUSTER_ID=${CLUSTER_ID:-${saved_CLUSTER_ID:-omq-local}}
SILO_BIN=${SILO_BIN:-${saved_SILO_BIN:-}}
SILOS=${saved_SILOS:-0}   # how many silos up (or a start beyond them) asked for
READY_TIMEOUT=${READY_TIMEOUT:-120}
STOP_TIMEOUT=${STOP_TIMEOUT:-60}
LOG_LINES=${LOG_LINES:-50}

for name in KAFKA_BASE HTTP_BASE SILO_BASE GATEWAY_BASE AZURITE_BLOB_PORT AZURITE_TABLE_PORT READY_TIMEOUT STOP_TIMEOUT LOG_LINES; do
  [[ ${!name} =~ ^[0-9]+$ ]] || die "$name must be a number; got '${!name}'"
done
[[ $CLUSTER_ID =~ ^[A-Za-z0-9._-]+$ ]] || die "CLUSTER_ID may hold letters, digits, '.', '_' and '-' only; got '$CLUSTER_ID'"

# A recorded OrleansMQ__* variable applies unless the caller set the same one again.
for entry in "${SAVED_PASSTHROUGH[@]}"; do
  name=${entry%%=*}
  [ -n "${!name+set}" ] || export "${entry?}"
done

save_settings() {
  local name tmp="$CONF.tmp"
  {
    echo "# written by $PROG up; read by its other commands (the caller's environment wins)"
    for name in "${SETTINGS[@]}"; do
      printf 'saved_%s=%q\n' "$name" "${!name}"
    done
    printf 'SAVED_PASSTHROUGH=('
    while IFS= read -r name; do
      printf ' %q' "$name=${!name}"
    done < <(compgen -e | grep '^OrleansMQ__' || true)
    printf ' )\n'
  } >"$tmp"
  mv "$tmp" "$CONF"
}

kafka_port() { echo $((KAFKA_BASE + $1)); }
http_port() { echo $((HTTP_BASE + $1)); }
silo_port() { echo $((SILO_BASE + $1)); }
gateway_port() { if [ "$GATEWAY_BASE" -eq 0 ]; then echo 0; else echo $((GATEWAY_BASE + $1)); fi; }

# --- processes --------------------------------------------------------------------------------
# start_time PID : the process's start time in clock ticks (field 22 of /proc/PID/stat; the fields
# are counted after the command name, which may hold spaces), empty when there is no such process.
start_time() {
  local stat rest
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  rest=${stat##*) }
  # shellcheck disable=SC2086 # split on purpose: rest is space-separated numbers and letters
  set -- $rest
  echo "${20}"
}

# alive_pid FILE : prints the pid recorded in FILE when that very process still runs (not a
# zombie, not a reused pid); prints nothing otherwise.
alive_pid() {
  local file=$1 pid started stat state
  [ -f "$file" ] || return 0
  read -r pid started <"$file" || true
  [[ ${pid:-} =~ ^[0-9]+$ ]] || return 0
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
  state=${stat##*) }
  state=${state%% *}
  [ "$state" != Z ] || return 0
  [ "$(start_time "$pid")" = "${started:-}" ] || return 0
  echo "$pid"
}

record_pid() { echo "$2 $(start_time "$2")" >"$1"; }

# wait_gone PID SECONDS : waits until PID has exited (or is a zombie); returns 1 on timeout.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2)) state
  while true; do
    state=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
    state=${state##*) }
    [ "${state%% *}" != Z ] || return 0
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# terminate FILE WHAT : SIGTERM the process of pid FILE, wait STOP_TIMEOUT, then SIGKILL.
terminate() {
  local file=$1 what=$2 pid
  pid=$(alive_pid "$file")
  if [ -z "$pid" ]; then
    rm -f "$file"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
    log "$what (pid $pid) did not exit ${STOP_TIMEOUT} s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$what (pid $pid) survived SIGKILL"
  fi
  rm -f "$file"
}

# port_holder PORT : prints "pid N (name)" of the process listening on PORT, when ss may say.
port_holder() {
  local users
  users=$(ss -Htlnp "sport = :$1" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -1) || true
  [ -n "$users" ] && printf ' by pid %s (%s)' "${users##*pid=}" "$(echo "$users" | cut -d'"' -f2)"
  return 0
}

# port_in_use PORT : true when something listens on PORT (any address).
port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# check_ports "PORT WHAT"... : dies naming the first port that two users share or another process
# holds; warns about ports in the kernel's ephemeral range, where an outgoing connection (a silo's
# to Azurite, a client's) may take the port between this check and the silo's bind.
check_ports() {
  local -A seen=()
  local entry port what low=32768 high=60999 warned=""
  read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  for entry in "$@"; do
    port=${entry%% *}
    what=${entry#* }
    [ "$port" -ne 0 ] || continue
    [ "$port" -le 65535 ] || die "port $port ($what) is beyond 65535; lower the base setting"
    [ -z "${seen[$port]:-}" ] || die "port $port is both the ${seen[$port]} and the $what; change KAFKA_BASE, HTTP_BASE, SILO_BASE or GATEWAY_BASE"
    seen[$port]=$what
    if [ -z "$warned" ] && [ "$port" -ge "$low" ] && [ "$port" -le "$high" ]; then
      log "warning: port $port ($what) is in the ephemeral range $low-$high: an outgoing connection may take it first; prefer bases below $low"
      warned=1
    fi
    if port_in_use "$port"; then
      die "port $port ($what) is already in use$(port_holder "$port"); stop that process or choose other ports (KAFKA_BASE, HTTP_BASE, SILO_BASE, GATEWAY_BASE, AZURITE_BLOB_PORT, AZURITE_TABLE_PORT)"
    fi
  done
}

silo_ports() {
  local i=$1
  echo "$(kafka_port "$i") Kafka port of silo $i"
  echo "$(http_port "$i") HTTP port of silo $i"
  echo "$(silo_port "$i") Orleans silo port of silo $i"
  echo "$(gateway_port "$i") Orleans gateway port of silo $i"
}

# http_status PORT PATH : the HTTP status code of GET http://127.0.0.1:PORT/PATH (000 when no
# answer). curl when installed, else a plain HTTP/1.0 request over bash's /dev/tcp.
http_status() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || true
    return 0
  fi
  local line
  # shellcheck disable=SC2016 # expanded by the inner bash, from its own arguments
  line=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$1" >&3
    head -n 1 <&3' "$1" "$2" 2>/dev/null) || true
  line=${line#HTTP/* }
  line=${line%% *}
  [[ $line =~ ^[0-9]{3}$ ]] && echo "$line" || echo 000
}

# --- Azurite ----------------------------------------------------------------------------------
# The same Azurite as the tests (Tests/interop/azurite, npm ci there), one process per service
# (blob and table: the queue service is not needed and would take a third port).
AZURITE_DIR="$ROOT/Tests/interop/azurite"
# Azurite's well-known development account and key (public, documented by Microsoft for the emulator).
AZ_ACCOUNT=devstoreaccount1
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

connection_string() {
  printf 'DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://127.0.0.1:%s/%s;TableEndpoint=http://127.0.0.1:%s/%s;' \
    "$AZ_ACCOUNT" "$AZ_KEY" "$AZURITE_BLOB_PORT" "$AZ_ACCOUNT" "$AZURITE_TABLE_PORT" "$AZ_ACCOUNT"
}

azurite_main() { echo "$AZURITE_DIR/node_modules/azurite/dist/src/$1/main.js"; }

ensure_azurite_installed() {
  command -v node >/dev/null 2>&1 || die "node is required for Azurite (apt-get install nodejs npm)"
  [ -f "$(azurite_main table)" ] && [ -f "$(azurite_main blob)" ] && return 0
  command -v npm >/dev/null 2>&1 || die "Azurite is not installed in $AZURITE_DIR and npm is missing (apt-get install npm, then npm ci there)"
  log "installing Azurite (npm ci in $AZURITE_DIR)"
  (cd "$AZURITE_DIR" && npm ci --no-audit --no-fund --silent >&2) || die "npm ci in $AZURITE_DIR failed"
  [ -f "$(azurite_main table)" ] || die "Azurite is not installed in $AZURITE_DIR after npm ci"
}

# start_azurite SERVICE PORT : starts one Azurite service unless ours is running; does not wait.
start_azurite() {
  local service=$1 port=$2 pidfile="$CLUSTER_DIR/azurite-$1.pid" pid
  [ -z "$(alive_pid "$pidfile")" ] || return 0
  check_ports "$port Azurite $service port"
  mkdir -p "$CLUSTER_DIR/azurite/$service"
  # setsid: its own session, so the terminal's Ctrl-C or hang-up after up returns does not reach it.
  setsid node "$(azurite_main "$service")" "--${service}Host" 127.0.0.1 "--${service}Port" "$port" \
    --location "$CLUSTER_DIR/azurite/$service" --silent --disableTelemetry \
    </dev/null >>"$CLUSTER_DIR/azurite-$service.log" 2>&1 &
  pid=$!
  record_pid "$pidfile" "$pid"
  log "azurite $service: pid $pid, port $port"
}

# wait_azurite SERVICE PORT : waits until that Azurite service accepts connections.
wait_azurite() {
  local service=$1 port=$2 pidfile="$CLUSTER_DIR/azurite-$1.pid" deadline=$((SECONDS + 60))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if [ -z "$(alive_pid "$pidfile")" ]; then
      tail -n 20 "$CLUSTER_DIR/azurite-$service.log" >&2 || true
      die "Azurite $service exited while starting (log: $CLUSTER_DIR/azurite-$service.log)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "Azurite $service did not accept connections on port $port within 60 s (log: $CLUSTER_DIR/azurite-$service.log)"
    sleep 0.1
  done
}

ensure_azurite() {
  if [ -n "$(alive_pid "$CLUSTER_DIR/azurite-blob.pid")" ] && [ -n "$(alive_pid "$CLUSTER_DIR/azurite-table.pid")" ]; then
    return 0
  fi
  ensure_azurite_installed
  start_azurite table "$AZURITE_TABLE_PORT"
  start_azurite blob "$AZURITE_BLOB_PORT"
  wait_azurite table "$AZURITE_TABLE_PORT"
  wait_azurite blob "$AZURITE_BLOB_PORT"
}

# --- silos ------------------------------------------------------------------------------------
DEFAULT_BIN="$ROOT/Silo/bin/Release/net10.0/OrleansMQ.Silo"

# ensure_silo_bin BUILD : sets BIN. With SILO_BIN, that file. Otherwise the Release build: built
# when missing, and when BUILD is "build" and no build by this script is newer than every source
# (CLUSTER_DIR/.silo-built marks one: the apphost's own mtime does not move when only code
# changes). Never rebuilt while silos run from it: the cluster would mix versions.
ensure_silo_bin() {
  if [ -n "$SILO_BIN" ]; then
    [ -x "$SILO_BIN" ] || die "SILO_BIN=$SILO_BIN is not an executable file"
    BIN=$SILO_BIN
    return 0
  fi
  BIN=$DEFAULT_BIN
  local stamp="$CLUSTER_DIR/.silo-built" why=""
  if [ ! -x "$BIN" ]; then
    why="no $BIN yet"
  elif [ "$1" = build ] && [ -z "$(running_silos)" ]; then
    if [ ! -f "$stamp" ]; then
      why="first build for $CLUSTER_DIR"
    else
      why=$(find "$ROOT/Silo" "$ROOT/Storage" "$ROOT/Protocol" "$ROOT/Directory.Build.props" "$ROOT/Directory.Packages.props" \
        \( -name bin -o -name obj \) -prune -o -type f -newer "$stamp" -print -quit 2>/dev/null || true)
      [ -z "$why" ] || why="$why changed"
    fi
  fi
  [ -n "$why" ] || return 0
  command -v dotnet >/dev/null 2>&1 || die "dotnet SDK 10 is required to build the silo (or set SILO_BIN to a built OrleansMQ.Silo)"
  log "building the silo (dotnet build Silo -c Release; $why)"
  local started
  started=$(mktemp "$CLUSTER_DIR/.silo-building.XXXXXX")
  dotnet build "$ROOT/Silo/OrleansMQ.Silo.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || { rm -f "$started"; die "silo build failed"; }
  [ -x "$BIN" ] || die "$BIN missing after the build"
  # The stamp takes the build's start time: a source saved during the build counts as changed next time.
  mv "$started" "$stamp"
}

silo_pidfile() { echo "$CLUSTER_DIR/silo-$1.pid"; }
silo_log() { echo "$CLUSTER_DIR/silo-$1.log"; }

# running_silos : the indexes of the silos running now (from their pid files).
running_silos() {
  local f i
  for f in "$CLUSTER_DIR"/silo-*.pid; do
    [ -f "$f" ] || continue
    i=${f##*/silo-}
    i=${i%.pid}
    [ -n "$(alive_pid "$f")" ] && echo "$i"
  done
  return 0
}

# known_silos : 0..SILOS-1 plus any silo with a pid file beyond them, sorted.
known_silos() {
  local f i
  {
    for ((i = 0; i < SILOS; i++)); do echo "$i"; done
    for f in "$CLUSTER_DIR"/silo-*.pid; do
      [ -f "$f" ] || continue
      i=${f##*/silo-}
      echo "${i%.pid}"
    done
  } | sort -n -u
}

# launch_silo I : starts silo I in the background (its own session, output to its log); does not wait.
launch_silo() {
  local i=$1 pid
  mkdir -p "$CLUSTER_DIR/silo-$i"
  printf '\n===== %s: starting silo %s (%s) =====\n' "$(date -u +%FT%TZ)" "$i" "$BIN" >>"$(silo_log "$i")"
  (
    # Ours win over the caller's OrleansMQ__* variables: these make silo I this silo.
    export OrleansMQ__Broker__NodeId="$i"
    export OrleansMQ__Broker__ListenAddress=127.0.0.1 OrleansMQ__Broker__Port=$((KAFKA_BASE + i))
    export OrleansMQ__Http__ListenAddress=127.0.0.1 OrleansMQ__Http__Port=$((HTTP_BASE + i))
    export OrleansMQ__Storage__DataDirectory="$CLUSTER_DIR/silo-$i"
    export OrleansMQ__Cluster__Mode=AzureTable OrleansMQ__Cluster__ClusterId="$CLUSTER_ID" OrleansMQ__Cluster__ServiceId="$CLUSTER_ID"
    export OrleansMQ__Cluster__SiloPort=$((SILO_BASE + i)) OrleansMQ__Cluster__GatewayPort=$((GATEWAY_BASE == 0 ? 0 : GATEWAY_BASE + i))
    export OrleansMQ__Cluster__AdvertisedAddress=127.0.0.1
    OrleansMQ__Cluster__ConnectionString=$(connection_string)
    export OrleansMQ__Cluster__ConnectionString
    # The blob tier's account (used when OrleansMQ__Storage__Tiering__Enabled=true is passed).
    export OrleansMQ__Storage__Tiering__ConnectionString="$OrleansMQ__Cluster__ConnectionString"
    cd "$CLUSTER_DIR/silo-$i"
    # setsid: its own session, so the terminal's Ctrl-C or hang-up after up returns does not reach it.
    exec setsid "$BIN" </dev/null >>"$(silo_log "$i")" 2>&1
  ) &
  pid=$!
  record_pid "$(silo_pidfile "$i")" "$pid"
  log "silo $i: pid $pid, kafka 127.0.0.1:$(kafka_port "$i"), http 127.0.0.1:$(http_port "$i"), log $(silo_log "$i")"
}

# wait_ready I : waits until silo I's /readyz answers 200; dies with the log's tail when it exits
# or READY_TIMEOUT passes.
wait_ready() {
  local i=$1 deadline=$((SECONDS + READY_TIMEOUT)) code
  while true; do
    code=$(http_status "$(http_port "$i")" /readyz)
    [ "$code" = 200 ] && return 0
    if [ -z "$(alive_pid "$(silo_pidfile "$i")")" ]; then
      echo "----- last 30 lines of $(silo_log "$i") -----" >&2
      tail -n 30 "$(silo_log "$i")" >&2 || true
      die "silo $i exited while starting (log: $(silo_log "$i"))"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "----- last 30 lines of $(silo_log "$i") -----" >&2
      tail -n 30 "$(silo_log "$i")" >&2 || true
      die "silo $i was not ready within ${READY_TIMEOUT} s (/readyz on port $(http_port "$i") answered ${code:-nothing}; it keeps running: see 'status', 'logs $i', 'down')"
    fi
    sleep 0.2
  done
}

silo_index() {
  [[ ${1:-} =~ ^[0-9]+$ ]] || die "expected a silo index (0, 1, ...); got '${1:-}'"
  [ "$1" -lt 1000 ] || die "silo index $1 is too large"
}

# --- commands ---------------------------------------------------------------------------------
cmd_up() {
  [[ ${1:-} =~ ^[1-9][0-9]*$ ]] || die "up needs the number of silos (up N, N >= 1)"
  local n=$1 i pending=()
  mkdir -p "$CLUSTER_DIR" || die "cannot create CLUSTER_DIR $CLUSTER_DIR"
  command -v setsid >/dev/null 2>&1 || die "setsid (util-linux) is required"
  ensure_silo_bin build

  # Every port checked before anything starts: a clash names its port and silo, and nothing is left half-started.
  local ports=()
  [ -n "$(alive_pid "$CLUSTER_DIR/azurite-table.pid")" ] || ports+=("$AZURITE_TABLE_PORT Azurite table port")
  [ -n "$(alive_pid "$CLUSTER_DIR/azurite-blob.pid")" ] || ports+=("$AZURITE_BLOB_PORT Azurite blob port")
  for ((i = 0; i < n; i++)); do
    [ -n "$(alive_pid "$(silo_pidfile "$i")")" ] && continue
    mapfile -t -O "${#ports[@]}" ports < <(silo_ports "$i")
  done
  check_ports "${ports[@]}"

  if [ "$n" -gt "$SILOS" ]; then SILOS=$n; fi
  save_settings
  ensure_azurite

  # Silo 0 first and alone: the first silo of a new Orleans cluster forms it; the others join a
  # live cluster faster than several silos forming one at once.
  for ((i = 0; i < n; i++)); do
    if [ -n "$(alive_pid "$(silo_pidfile "$i")")" ]; then
      log "silo $i: already running (pid $(alive_pid "$(silo_pidfile "$i")"))"
      continue
    fi
    launch_silo "$i"
    if [ "$i" -eq 0 ]; then wait_ready 0; else pending+=("$i"); fi
  done
  for i in "${pending[@]}"; do wait_ready "$i"; done
  log "$n silo(s) ready; bootstrap 127.0.0.1:$KAFKA_BASE"
}

cmd_start() {
  silo_index "${1:-}"
  local i=$1
  if [ -n "$(alive_pid "$(silo_pidfile "$i")")" ]; then
    log "silo $i: already running (pid $(alive_pid "$(silo_pidfile "$i")"))"
    wait_ready "$i"
    return 0
  fi
  mkdir -p "$CLUSTER_DIR" || die "cannot create CLUSTER_DIR $CLUSTER_DIR"
  ensure_silo_bin keep
  local ports=()
  mapfile -t ports < <(silo_ports "$i")
  check_ports "${ports[@]}"
  if [ "$i" -ge "$SILOS" ]; then
    SILOS=$((i + 1))
    save_settings
  fi
  ensure_azurite
  launch_silo "$i"
  wait_ready "$i"
  log "silo $i ready"
}

cmd_stop() {
  silo_index "${1:-}"
  local pid
  pid=$(alive_pid "$(silo_pidfile "$1")")
  [ -n "$pid" ] || { log "silo $1 is not running"; return 0; }
  terminate "$(silo_pidfile "$1")" "silo $1"
  log "silo $1 (pid $pid) stopped"
}

cmd_kill() {
  silo_index "${1:-}"
  local pid
  pid=$(alive_pid "$(silo_pidfile "$1")")
  [ -n "$pid" ] || { log "silo $1 is not running"; return 0; }
  kill -KILL "$pid"
  wait_gone "$pid" 10 || die "silo $1 (pid $pid) survived SIGKILL"
  rm -f "$(silo_pidfile "$1")"
  log "silo $1 (pid $pid) killed"
}

# leaders_of PORT : one line per partition in the Metadata of the silo on PORT: its leader's node
# id. kcat's JSON (-J) read with jq or python3; without either, its text form
# ("    partition 0, leader 1, replicas: ...").
leaders_of() {
  local json
  if command -v jq >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1; then
    json=$(kcat -L -J -b "127.0.0.1:$1" -m 5 2>/dev/null) || return 1
    if command -v jq >/dev/null 2>&1; then
      jq -r '.topics[]? | .partitions[]? | .leader' <<<"$json"
    else
      python3 -c 'import json, sys
for t in json.load(sys.stdin).get("topics", []):
    for p in t.get("partitions", []):
        print(p.get("leader"))' <<<"$json"
    fi
  else
    kcat -L -b "127.0.0.1:$1" -m 5 2>/dev/null | awk '$1 == "partition" && $3 == "leader" { sub(",", "", $4); print $4 }'
    [ "${PIPESTATUS[0]}" -eq 0 ]
  fi
}

cmd_status() {
  local i pid ports leaders="" source="" state ready count
  local -a silos
  mapfile -t silos < <(known_silos)
  if [ ${#silos[@]} -eq 0 ]; then
    log "no cluster in $CLUSTER_DIR (run: $PROG up N)"
    return 0
  fi
  # Leadership from one live silo's Metadata (the first that answers), as a client would see it.
  if command -v kcat >/dev/null 2>&1; then
    for i in "${silos[@]}"; do
      [ -n "$(alive_pid "$(silo_pidfile "$i")")" ] || continue
      if leaders=$(leaders_of "$(kafka_port "$i")"); then
        source=$i
        break
      fi
    done
  fi
  for i in "${silos[@]}"; do
    pid=$(alive_pid "$(silo_pidfile "$i")")
    if [ -n "$pid" ]; then
      state="pid $pid"
      ready=""
      [ "$(http_status "$(http_port "$i")" /readyz)" = 200 ] || ready="  not ready"
    else
      state=down
      ready=""
    fi
    if [ -n "$source" ]; then
      count=$(grep -c -x -- "$i" <<<"$leaders" || true)
    else
      count="?"
    fi
    ports="kafka 127.0.0.1:$(kafka_port "$i")  http 127.0.0.1:$(http_port "$i")"
    printf 'silo %-3s %-11s  %s  leads %s%s\n' "$i" "$state" "$ports" "$count" "$ready"
  done
  local az_blob az_table
  az_blob=$(alive_pid "$CLUSTER_DIR/azurite-blob.pid")
  az_table=$(alive_pid "$CLUSTER_DIR/azurite-table.pid")
  log "azurite table: ${az_table:+pid }${az_table:-down} port $AZURITE_TABLE_PORT; azurite blob: ${az_blob:+pid }${az_blob:-down} port $AZURITE_BLOB_PORT"
  if [ -n "$source" ]; then
    log "leaders as silo $source's Metadata lists them"
  else
    log "leads ?: no live silo answered Metadata (or kcat is missing)"
  fi
}

cmd_logs() {
  silo_index "${1:-}"
  local file
  file=$(silo_log "$1")
  [ -f "$file" ] || die "no log for silo $1 ($file)"
  if [ "${2:-}" = -f ]; then
    tail -n "$LOG_LINES" -f "$file"
  else
    tail -n "$LOG_LINES" "$file"
  fi
}

cmd_down() {
  local clean=0 f i pids=() files=() names=()
  case "${1:-}" in
    "") ;;
    --clean) clean=1 ;;
    *) die "down takes no argument but --clean; got '$1'" ;;
  esac
  # SIGTERM to every silo at once (each leaves the cluster cleanly), then wait for all.
  for f in "$CLUSTER_DIR"/silo-*.pid; do
    [ -f "$f" ] || continue
    i=${f##*/silo-}
    i=${i%.pid}
    local pid
    pid=$(alive_pid "$f")
    if [ -z "$pid" ]; then
      rm -f "$f"
      continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
    files+=("$f")
    names+=("silo $i")
  done
  for i in "${!pids[@]}"; do
    if ! wait_gone "${pids[$i]}" "$STOP_TIMEOUT"; then
      log "${names[$i]} (pid ${pids[$i]}) did not exit ${STOP_TIMEOUT} s after SIGTERM; sending SIGKILL"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
      wait_gone "${pids[$i]}" 10 || die "${names[$i]} (pid ${pids[$i]}) survived SIGKILL"
    fi
    rm -f "${files[$i]}"
    log "${names[$i]} (pid ${pids[$i]}) stopped"
  done
  # Azurite last: the silos leave the membership table on the way out.
  for f in blob table; do
    if [ -n "$(alive_pid "$CLUSTER_DIR/azurite-$f.pid")" ]; then
      terminate "$CLUSTER_DIR/azurite-$f.pid" "azurite $f"
      log "azurite $f stopped"
    fi
    rm -f "$CLUSTER_DIR/azurite-$f.pid"
  done
  if [ "$clean" -eq 1 ]; then
    # Only a folder this script made (its settings file, or nothing but its files) is deleted.
    if [ -f "$CONF" ] || [ -z "$(ls -A "$CLUSTER_DIR")" ]; then
      rm -rf "$CLUSTER_DIR"
      log "removed $CLUSTER_DIR"
    else
      die "$CLUSTER_DIR has no cluster.env: not a folder made by $PROG up; not deleting it"
    fi
  fi
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  kill) shift; cmd_kill "$@" ;;
  status) shift; cmd_status "$@" ;;
  logs) shift; cmd_logs "$@" ;;
  down) shift; cmd_down "$@" ;;
  help | -h | --help) usage ;;
  "") usage >&2; exit 2 ;;
  *) usage >&2; die "unknown command '$1'" ;;
esac
