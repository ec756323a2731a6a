# shellcheck shell=bash
# Helpers shared by the infra/bench-*.sh scripts (broker, groups, http, client, compare, builds);
# sourced, not run:
#
#   BENCH_NAME=bench-broker            # the stderr log prefix and the temp folder's name
#   . "$(dirname "$0")/bench-lib.sh"   # before the cd: $0 may be relative to the caller's folder
#
# The scripts then cd to the repository root and set ROOT (build_release needs it) and DATA
# (make_data_dir sets it). Nothing runs at source time but the variable defaults below: each
# script calls these functions where it needs them, so its order of steps stays its own.
: "${BENCH_NAME:?set BENCH_NAME before sourcing bench-lib.sh}"

log() { printf '[%s] %s\n' "$BENCH_NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# make_data_dir : sets DATA to $BENCH_DATA, default a new temp folder (deleted at the end by
# cleanup unless BENCH_KEEP is set).
make_data_dir() {
  DATA=${BENCH_DATA:-$(mktemp -d "${TMPDIR:-/tmp}/omq-$BENCH_NAME.XXXXXX")}
  mkdir -p "$DATA"
}

# machine_info LINE... : the "## Machine" block of the markdown output: cores, CPU, kernel and
# memory, then the script's own LINEs (disk, tool versions, load average).
machine_info() {
  echo "## Machine"
  echo
  echo '```'
  echo "cores: $(nproc)   cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "kernel: $(uname -sr)"
  free -h | sed 's/^/mem: /'
  printf '%s\n' "$@"
  echo '```'
  echo
}

# build_release : Release build of the silo and of the load generator; sets SILO_BIN and LOADGEN.
build_release() {
  log "building (Release)"
  dotnet build Silo/OrleansMQ.Silo.csproj -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || die "silo build failed"
  dotnet build Tests/OrleansMQ.Broker.Benchmarks/OrleansMQ.Broker.Benchmarks.csproj -c Release -nologo -v quiet -clp:ErrorsOnly >&2 \
    || die "load generator build failed"
  SILO_BIN="$ROOT/Silo/bin/Release/net10.0/OrleansMQ.Silo"
  LOADGEN=(dotnet "$ROOT/Tests/OrleansMQ.Broker.Benchmarks/bin/Release/net10.0/OrleansMQ.Broker.Benchmarks.dll")
  [ -x "$SILO_BIN" ] || die "$SILO_BIN missing"
}

# --- baseline (BASELINE=<commit>) -----------------------------------------------------------
# resolve_revs : sets CURRENT_REV (HEAD's short hash, "+changes" if tracked files differ from it)
# and BASE_REV ($BASELINE's short hash; empty without BASELINE); dies if BASELINE names no commit.
resolve_revs() {
  CURRENT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] && CURRENT_REV+="+changes"
  BASE_REV=""
  if [ -n "${BASELINE:-}" ]; then
    command -v git >/dev/null 2>&1 || die "BASELINE needs git"
    BASE_REV=$(git -C "$ROOT" rev-parse --short "$BASELINE^{commit}" 2>/dev/null) || die "BASELINE=$BASELINE is not a commit of this repository"
  fi
}

# build_baseline : builds BASE_REV's silo (dotnet build -c Release) in a temporary git worktree,
# $DATA/baseline-src, which cleanup removes at exit (also with BENCH_KEEP); sets BASE_SILO_BIN.
# Only the silo: the load generator and the scripts of the current tree serve both silos.
BASE_SRC=""
build_baseline() {
  BASE_SRC="$DATA/baseline-src"
  remove_baseline   # a leftover of an interrupted run with the same BENCH_DATA
  log "baseline $BASE_REV: worktree in $BASE_SRC, building its silo (Release)"
  # --force: also over the entry of a leftover whose folder is gone.
  git -C "$ROOT" worktree add --force --detach --quiet "$BASE_SRC" "$BASE_REV" >&2 || die "git worktree add $BASE_REV failed"
  dotnet build "$BASE_SRC/Silo/OrleansMQ.Silo.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || die "baseline silo build failed"
  BASE_SILO_BIN="$BASE_SRC/Silo/bin/Release/net10.0/OrleansMQ.Silo"
  [ -x "$BASE_SILO_BIN" ] || die "$BASE_SILO_BIN missing"
}
# remove_baseline : removes that worktree (its folder and its entry in git's worktree list).
remove_baseline() {
  if [ -n "$BASE_SRC" ] && [ -d "$BASE_SRC" ]; then
    git -C "$ROOT" worktree remove --force "$BASE_SRC" >/dev/null 2>&1 || { rm -rf "$BASE_SRC"; git -C "$ROOT" worktree prune >/dev/null 2>&1; }
  fi
}

# --- processes ------------------------------------------------------------------------------
SILO_PID=""
PORT=""
HTTP_PORT=""
ALL_SILOS=()

# cleanup_extra : stops the script's own processes at exit (after the silos, before DATA is
# deleted); a script that starts any (bench-broker's Redis peer) redefines it.
cleanup_extra() { :; }
cleanup() {
  local pid
  for pid in "${ALL_SILOS[@]}"; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  cleanup_extra
  remove_baseline
  if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$DATA"; fi
}
# install_cleanup : from here on, exit (also on Ctrl-C or TERM) stops the silos and deletes DATA.
install_cleanup() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

# free_port VAR : sets VAR to a TCP port nothing is bound to (ss, else a refused connect), below
# the ephemeral range and not handed out before by this script.
USED_PORTS=" "
free_port() {
  local -n free_port_var=$1
  local p
  for _ in $(seq 1 1000); do
    p=$((20000 + RANDOM % 12000))
    [[ $USED_PORTS == *" $p "* ]] && continue
    if command -v ss >/dev/null 2>&1; then
      [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] || continue
    elif (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      continue
    fi
    USED_PORTS+="$p "
    free_port_var=$p
    return 0
  done
  die "no free TCP port found"
}

# start_silo NAME ARGS... : the silo $SILO_BIN on 127.0.0.1 with a free port (--port 0), data in
# $DATA/NAME; sets SILO_PID, PORT (read from its log) and HTTP_PORT (the gateway's, a free port
# chosen here: the Orleans silo's web host does not log the gateway's line any more). An Orleans
# silo also gets free ports of its own (OrleansMQ__Cluster__SiloPort and GatewayPort; a silo
# without Orleans ignores them). Logging__LogLevel__OrleansMQ=Information: the silo's
# appsettings.json sets "Orleans": "Warning" since the Orleans change, and a logging category
# rule matches by plain prefix, so it also silenced OrleansMQ.* (the "Kafka listener on" line
# read here). Returns once /readyz answers 200 (or 404: no such probe).
start_silo() {
  local name=$1
  shift
  local logf="$DATA/$name.log" silo_port gateway_port code=""
  : >"$logf"
  free_port silo_port
  free_port gateway_port
  free_port HTTP_PORT
  Logging__LogLevel__OrleansMQ=Information OrleansMQ__Cluster__SiloPort=$silo_port OrleansMQ__Cluster__GatewayPort=$gateway_port \
    "$SILO_BIN" --data "$DATA/$name" --port 0 --listen 127.0.0.1 --http-port "$HTTP_PORT" "$@" >"$logf" 2>&1 &
  SILO_PID=$!
  ALL_SILOS+=("$SILO_PID")
  for _ in $(seq 1 600); do
    PORT=$(sed -n 's/.*Kafka listener on 127\.0\.0\.1:\([0-9]*\), advertised.*/\1/p' "$logf" | head -1)
    [ -n "$PORT" ] && break
    kill -0 "$SILO_PID" 2>/dev/null || { cat "$logf" >&2; die "silo exited"; }
    sleep 0.1
  done
  [ -n "$PORT" ] || die "silo did not start (no \"Kafka listener on\" line in $logf after 60 s)"
  if command -v curl >/dev/null 2>&1; then
    for _ in $(seq 1 1200); do
      code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/readyz")
      [ "$code" = 200 ] || [ "$code" = 404 ] && break
      kill -0 "$SILO_PID" 2>/dev/null || { cat "$logf" >&2; die "silo exited"; }
      sleep 0.1
    done
    [ "$code" = 200 ] || [ "$code" = 404 ] || log "warning: silo $name: /readyz still answers $code after 120 s"
  fi
  log "silo $name: pid $SILO_PID on 127.0.0.1:$PORT ($*)"
}

# stop_silo : stops the silo SILO_PID (SIGTERM; SIGKILL if it has not exited 60 s later) and forgets it.
stop_silo() {
  local state=""
  kill -TERM "$SILO_PID" 2>/dev/null
  for _ in $(seq 1 600); do
    state=$(ps -o stat= -p "$SILO_PID" 2>/dev/null)
    if [ -z "$state" ] || [[ $state == Z* ]]; then break; fi
    sleep 0.1
  done
  if [ -n "$state" ] && [[ $state != Z* ]]; then
    log "warning: silo $SILO_PID still running 60 s after SIGTERM: killed"
    kill -KILL "$SILO_PID" 2>/dev/null
  fi
  wait "$SILO_PID" 2>/dev/null
  local pid kept=()
  for pid in "${ALL_SILOS[@]}"; do [ "$pid" = "$SILO_PID" ] || kept+=("$pid"); done
  ALL_SILOS=("${kept[@]}")
  SILO_PID=""
}

# --- timing -------------------------------------------------------------------------------
TICKS=$(getconf CLK_TCK)
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# timed OUT CMD... : runs CMD with stdout to OUT (stderr to $DATA/cmd.err); sets ELAPSED, CLIENT_CPU
# (user+sys of CMD) and SILO_CPU (s, of SILO_PID); dies if CMD fails.
timed() {
  local out=$1
  shift
  local s0 s1
  s0=$(cpu_ticks "$SILO_PID")
  local times
  times=$( { TIMEFORMAT='%R %U %S'; time "$@" >"$out" 2>"$DATA/cmd.err"; } 2>&1 ) || { cat "$DATA/cmd.err" >&2; die "failed: $*"; }
  s1=$(cpu_ticks "$SILO_PID")
  read -r ELAPSED u s <<<"$times"
  CLIENT_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}')
  SILO_CPU=$(awk -v a="$s0" -v b="$s1" -v t="$TICKS" 'BEGIN{printf "%.2f", (b - a) / t}')
}

# --- figures and markdown -------------------------------------------------------------------
fmt() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }                          # 1234567 -> 1,234,567

# median "V1 V2 ..." DECIMALS : the median of space-separated numbers, printed with DECIMALS decimals.
median() {
  tr ' ' '\n' <<<"$1" | grep . | sort -g |
    awk -v d="$2" '{v[NR] = $1} END {printf "%." d "f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# row ARRAY CELL... : appends the markdown row "| CELL | CELL | ... |" to the array named ARRAY.
row() { local -n row_target=$1; shift; local line="|" cell; for cell in "$@"; do line+=" $cell |"; done; row_target+=("$line"); }
