#!/usr/bin/env bash
# Redis 7 (Debian 12's redis-server) for tests and local runs, without Docker.
#
#   deploy/local/redis.sh start|stop|status
#
# Listens on 127.0.0.1:${VIGIL_REDIS_PORT:-26379}; working dir, log and PID in .infra/redis/. No snapshots, no AOF:
# test data is throwaway. 'start' prints the redis:// URL on stdout; it reuses a server this script started.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${VIGIL_REDIS_PORT:-26379}"
NAME=redis
MATCH=redis-server

ping_redis() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }
answers() { ping_redis "${1##*:}"; }

start() {
  local dir pid url
  dir="$(service_dir redis)"
  reuse_running "$dir" "$MATCH" "$NAME" answers && return 0

  ensure_packages redis-server redis-tools
  command -v redis-server >/dev/null 2>&1 || die "redis-server is not on PATH after installing it"
  require_free_port "$PORT" "Redis" VIGIL_REDIS_PORT

  # Foreground process (no --daemonize) started detached, so $! is the server's own PID.
  pid="$(start_detached "$dir" redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" \
    --save '' --appendonly no --daemonize no --logfile "$dir/redis.log" --pidfile "$dir/redis.pid")"
  printf '%s\n' "$pid" >"$dir/pid"
  log "$NAME: starting (pid $pid) on port $PORT"
  await_ready "$dir" "$NAME" "$pid" "$MATCH" ping_redis "$PORT"
  url="redis://127.0.0.1:$PORT"
  printf '%s\n' "$url" >"$dir/endpoint"
  log "$NAME: ready at $url ($(redis-cli -h 127.0.0.1 -p "$PORT" info server | tr -d '\r' | grep '^redis_version:'))"
  printf '%s\n' "$url"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid "$VIGIL_INFRA_DIR/redis" "$MATCH" "$NAME" ;;
  status) service_status "$NAME" "$MATCH" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
