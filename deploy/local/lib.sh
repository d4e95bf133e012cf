# shellcheck shell=bash
# Shared helpers for the deploy/local service scripts. Sourced, never run.
#
# Every service lives under $VIGIL_INFRA_DIR/<service>/ (default: <repo>/.infra, gitignored), runs on its own
# port, records its PID in <service>/pid and what it serves in <service>/endpoint, and is stopped by that PID.
# Nothing here prompts: apt runs non-interactively, sudo (when not root) with -n.

set -euo pipefail

VIGIL_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VIGIL_INFRA_DIR="${VIGIL_INFRA_DIR:-$VIGIL_REPO/.infra}"
VIGIL_START_TIMEOUT="${VIGIL_START_TIMEOUT:-90}"

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run as root, or through passwordless sudo; never ask for a password.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "'$*' needs root (or passwordless sudo). Install the packages yourself, then run this again."
  fi
}

_apt_updated=0
# ensure_packages <apt-package>... installs those not installed yet. 'apt-get update' runs at most once,
# and only when something is missing.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get here (these scripts target Debian 12)"
  log "installing ${missing[*]} (apt)"
  if [ "$_apt_updated" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    _apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
}

# service_dir <name> -> creates and prints .infra/<name>
service_dir() {
  mkdir -p "$VIGIL_INFRA_DIR/$1"
  printf '%s\n' "$VIGIL_INFRA_DIR/$1"
}

# pid_alive <pid> <comm-substring>: the process exists and its command line contains the expected binary,
# so a recycled PID is never mistaken for our server.
pid_alive() {
  local pid="$1" want="$2"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$want"
}

# running_pid <dir> <comm-substring> -> prints the recorded PID if that process is alive
running_pid() {
  local dir="$1" want="$2" pid
  [ -f "$dir/pid" ] || return 1
  pid="$(cat "$dir/pid" 2>/dev/null || true)"
  pid_alive "$pid" "$want" || return 1
  printf '%s\n' "$pid"
}

# port_in_use <port>: something listens on 127.0.0.1:<port>
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# require_free_port <port> <what> <env-var-to-change-it>
require_free_port() {
  if port_in_use "$1"; then
    die "port $1 ($2) is already in use by another process; pick another with $3=<port>"
  fi
}

# wait_until <seconds> <description> <command...>: polls every 0.2 s
wait_until() {
  local timeout="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.2
  done
}

# stop_pid <dir> <comm-substring> <name>: SIGTERM, wait up to 30 s, then SIGKILL; removes the pid file.
stop_pid() {
  local dir="$1" want="$2" name="$3" pid
  if ! pid="$(running_pid "$dir" "$want")"; then
    rm -f "$dir/pid" "$dir/endpoint"
    log "$name: not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until 30 "$name to exit" bash -c "! kill -0 $pid 2>/dev/null"; then
    log "$name: still running 30 s after SIGTERM, sending SIGKILL to $pid"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 "$name to die" bash -c "! kill -0 $pid 2>/dev/null" || die "$name (pid $pid) would not die"
  fi
  rm -f "$dir/pid" "$dir/endpoint"
  log "$name: stopped (pid $pid)"
}

# start_detached <dir> <command...>: runs the command in its own session with no terminal and its output in
# <dir>/stdout.log and <dir>/stderr.log, so it outlives this script and holds no caller's pipe open.
# Prints the PID.
start_detached() {
  local dir="$1"
  shift
  : >"$dir/stdout.log"
  : >"$dir/stderr.log"
  # 9>&-: the server must not inherit up.sh's lock on .infra/.lock
  setsid "$@" </dev/null >"$dir/stdout.log" 2>"$dir/stderr.log" 9>&- &
  printf '%s\n' "$!"
}

# fail_start <dir> <name> <pid>: reports why a start failed, stops the half-started process, exits.
fail_start() {
  local dir="$1" name="$2" pid="$3"
  kill -TERM "$pid" 2>/dev/null || true
  rm -f "$dir/pid" "$dir/endpoint"
  log "$name did not become ready within ${VIGIL_START_TIMEOUT}s. Last lines of its logs in $dir:"
  local f
  for f in "$dir"/stderr.log "$dir"/stdout.log "$dir"/redis.log "$dir"/log/e.log; do
    [ -s "$f" ] && { log "--- $f"; tail -n 20 "$f" >&2; }
  done
  exit 1
}

# await_ready <dir> <name> <pid> <comm-substring> <check...>: waits up to VIGIL_START_TIMEOUT for <check> (a command
# or function) to succeed while the process lives; when it died or never got ready, reports and exits (fail_start).
await_ready() {
  local dir="$1" name="$2" pid="$3" match="$4"
  shift 4
  wait_until "$VIGIL_START_TIMEOUT" "$name" _ready_or_dead "$pid" "$@" || fail_start "$dir" "$name" "$pid"
  pid_alive "$pid" "$match" || fail_start "$dir" "$name" "$pid"
}
_ready_or_dead() {
  local pid="$1"
  shift
  [ -r "/proc/$pid/cmdline" ] || return 0
  "$@"
}

# reuse_running <dir> <comm-substring> <name> <answers-fn>: when the server this script started is alive and
# `<answers-fn> <endpoint>` succeeds, prints its endpoint and returns 0. Alive but not answering: stops it. Else 1.
reuse_running() {
  local dir="$1" match="$2" name="$3" answers="$4" pid endpoint
  { pid="$(running_pid "$dir" "$match")" && [ -f "$dir/endpoint" ]; } || return 1
  endpoint="$(cat "$dir/endpoint")"
  if "$answers" "$endpoint"; then
    log "$name: already running (pid $pid) at $endpoint"
    printf '%s\n' "$endpoint"
    return 0
  fi
  log "$name: pid $pid is alive but does not answer at $endpoint; restarting it"
  stop_pid "$dir" "$match" "$name"
  return 1
}

# service_status <name> <comm-substring>: "running <pid> <endpoint>" on stdout, or "stopped" and status 1.
service_status() {
  local dir="$VIGIL_INFRA_DIR/$1" pid
  if pid="$(running_pid "$dir" "$2")" && [ -f "$dir/endpoint" ]; then
    printf 'running %s %s\n' "$pid" "$(cat "$dir/endpoint")"
  else
    printf 'stopped\n'
    return 1
  fi
}

# select_services "<default order>" <args...>: sets the array `services` to the services named (default: all, in
# that order), each checked.
select_services() {
  local defaults="$1" s
  shift
  services=("$@")
  [ "${#services[@]}" -eq 0 ] && read -r -a services <<<"$defaults"
  for s in "${services[@]}"; do
    case "$s" in clickhouse | redis | kafka) ;; *) die "unknown service '$s' (expected clickhouse, redis or kafka)" ;; esac
  done
}

# lock_infra: one up.sh / down.sh at a time in this checkout (several engineers and test runs share it), held on fd 9
# until the script exits (start_detached keeps servers from inheriting it).
lock_infra() {
  mkdir -p "$VIGIL_INFRA_DIR"
  exec 9>"$VIGIL_INFRA_DIR/.lock"
  flock -w 300 9 || die "another deploy/local/up.sh or down.sh has held $VIGIL_INFRA_DIR/.lock for 5 minutes"
}
