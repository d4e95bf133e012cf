#!/usr/bin/env bash
# ClickHouse 18.16 (Debian 12's clickhouse-server) for tests and local runs, without Docker.
#
#   deploy/local/clickhouse.sh start|stop|status
#
# Data, logs and the PID live in .infra/clickhouse/. Ports (override with the variables):
#   VIGIL_CLICKHOUSE_HTTP_PORT (28123), VIGIL_CLICKHOUSE_TCP_PORT (29000), VIGIL_CLICKHOUSE_INTERSERVER_PORT (29009)
# 'start' prints the HTTP URL on stdout; it reuses a server this script already started.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HTTP_PORT="${VIGIL_CLICKHOUSE_HTTP_PORT:-28123}"
TCP_PORT="${VIGIL_CLICKHOUSE_TCP_PORT:-29000}"
INTERSERVER_PORT="${VIGIL_CLICKHOUSE_INTERSERVER_PORT:-29009}"
CONFIG=/etc/clickhouse-server/config.xml
NAME=clickhouse
MATCH=clickhouse-server

ping_http() { curl -fsS --max-time 2 "http://127.0.0.1:$1/?query=SELECT%201" | grep -qx 1; }
answers() { ping_http "${1##*:}"; }

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

  mkdir -p "$dir/data/user_files" "$dir/data/format_schemas" "$dir/tmp" "$dir/log"
  # When run as root, the server keeps running as root; the Debian package's own service (if any) is untouched.
  pid="$(start_detached "$dir" clickhouse-server --config-file="$CONFIG" -- \
    --http_port="$HTTP_PORT" --tcp_port="$TCP_PORT" --interserver_http_port="$INTERSERVER_PORT" \
    --path="$dir/data/" --tmp_path="$dir/tmp/" \
    --logger.log="$dir/log/s.log" --logger.errorlog="$dir/log/e.log" \
    --user_files_path="$dir/data/user_files/" --format_schema_path="$dir/data/format_schemas/")"
  printf '%s\n' "$pid" >"$dir/pid"
  log "$NAME: starting (pid $pid) on HTTP $HTTP_PORT, TCP $TCP_PORT"
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
