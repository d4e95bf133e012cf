#!/usr/bin/env bash
# ClickHouse 18.16 (Debian 12's clickhouse-server) for tests and local runs, without Docker.
#
#   deploy/local/clickhouse.sh start|stop|status
#
# Logs and the PID live in .infra/clickhouse/. Ports (override with the variables):
#   VIGIL_CLICKHOUSE_HTTP_PORT (28123), VIGIL_CLICKHOUSE_TCP_PORT (29000), VIGIL_CLICKHOUSE_INTERSERVER_PORT (29009)
# 'start' prints the HTTP URL on stdout; it reuses a server this script already started.
#
# Storage (VIGIL_CLICKHOUSE_STORAGE): `tmpfs` (the default when /dev/shm is a tmpfs with 2 GiB free) keeps the data
# in /dev/shm/vigil-<id>/clickhouse, gone at reboot; `disk` keeps it in .infra/clickhouse/data. This is a test and
# development server, and MergeTree creates ~2 files per column for every insert and deletes them after merges: on
# an ext4 without a journal, as on our development machine, each file creation scans recently deleted inodes
# (`recently_deleted` in ext4_create), which made ~60 % of the server's CPU (perf), 37-39 ms per one-row insert into
# a 31-column table against 15-17 ms on tmpfs. VIGIL_CLICKHOUSE_MALLOC_CONF (default below; `-` for jemalloc's own
# defaults) keeps freed memory in the server instead of returning it to the kernel after every insert, which the
# next insert then faults in again: 7-8 ms per such insert on tmpfs with it. Measured 2026-11-29, docs/benchmarks.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HTTP_PORT="${VIGIL_CLICKHOUSE_HTTP_PORT:-28123}"
TCP_PORT="${VIGIL_CLICKHOUSE_TCP_PORT:-29000}"
INTERSERVER_PORT="${VIGIL_CLICKHOUSE_INTERSERVER_PORT:-29009}"
CONFIG=/etc/clickhouse-server/config.xml
NAME=clickhouse
MATCH=clickhouse-server

ping_http() { curl -fsS --max-time 2 "http://127.0.0.1:$1/?query=SELECT%201" | grep -qx 1; }
answers() { ping_http "${1##*:}"; }

# storage_dir <service dir>: where the data and tmp dirs go (see VIGIL_CLICKHOUSE_STORAGE above).
storage_dir() {
  local mode="${VIGIL_CLICKHOUSE_STORAGE:-auto}" free_kb id
  case "$mode" in
    disk) printf '%s\n' "$1"; return ;;
    auto|tmpfs) ;;
    *) die "VIGIL_CLICKHOUSE_STORAGE must be tmpfs, disk or unset (auto), not '$mode'" ;;
  esac
  if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
    free_kb="$(df -Pk /dev/shm | awk 'NR==2 {print $4}')"
    if [ "${free_kb:-0}" -ge 2097152 ]; then
      id="$(printf '%s' "$VIGIL_INFRA_DIR" | md5sum | cut -c1-10)"
      printf '%s\n' "/dev/shm/vigil-$id/clickhouse"
      return
    fi
  fi
  [ "$mode" = tmpfs ] && die "VIGIL_CLICKHOUSE_STORAGE=tmpfs, but /dev/shm is not a writable tmpfs with 2 GiB free"
  printf '%s\n' "$1"
}

start() {
  local dir pid url
  dir="$(service_dir clickhouse)"
  reuse_running "$dir" "$MATCH" "$NAME" answers && return 0

  ensure_packages clickhouse-server clickhouse-client curl
  command -v clickhouse-server >/dev/null 2>&1 || die "clickhouse-server is not on PATH after installing it"
  [ -r "$CONFIG" ] || die "$CONFIG is missing (is the clickhouse-server package installed correctly?)"
  require_free_port "$HTTP_PORT" "ClickHouse HTTP" VIGIL_CLICKHOUSE_HTTP_PORT
  require_free_port "$TCP_PORT" "ClickHouse native TCP" VIGIL_CLICKHOUSE_TCP_PORT
  require_free_port "$INTERSERVER_PORT" "ClickHouse interserver" VIGIL_CLICKHOUSE_INTERSERVER_PORT

  local store malloc_conf
  store="$(storage_dir "$dir")"
  malloc_conf="${VIGIL_CLICKHOUSE_MALLOC_CONF:-dirty_decay_ms:-1,muzzy_decay_ms:-1}"
  [ "$malloc_conf" = "-" ] && malloc_conf=""
  mkdir -p "$store/data/user_files" "$store/data/format_schemas" "$store/tmp" "$dir/log"
  # When run as root, the server keeps running as root; the Debian package's own service (if any) is untouched.
  pid="$(start_detached "$dir" env ${malloc_conf:+MALLOC_CONF="$malloc_conf"} clickhouse-server --config-file="$CONFIG" -- \
    --http_port="$HTTP_PORT" --tcp_port="$TCP_PORT" --interserver_http_port="$INTERSERVER_PORT" \
    --path="$store/data/" --tmp_path="$store/tmp/" \
    --logger.log="$dir/log/s.log" --logger.errorlog="$dir/log/e.log" \
    --user_files_path="$store/data/user_files/" --format_schema_path="$store/data/format_schemas/")"
  printf '%s\n' "$pid" >"$dir/pid"
  log "$NAME: starting (pid $pid) on HTTP $HTTP_PORT, TCP $TCP_PORT, data in $store/data"
  # Ready = our process still alive and answering SELECT 1.
  await_ready "$dir" "$NAME" "$pid" "$MATCH" ping_http "$HTTP_PORT"
  url="http://127.0.0.1:$HTTP_PORT"
  printf '%s\n' "$url" >"$dir/endpoint"
  log "$NAME: ready at $url ($(curl -fsS --max-time 2 "$url/?query=SELECT%20version()"))"
  printf '%s\n' "$url"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid "$VIGIL_INFRA_DIR/clickhouse" "$MATCH" "$NAME" ;;
  status) service_status "$NAME" "$MATCH" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
