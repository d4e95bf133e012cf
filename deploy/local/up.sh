#!/usr/bin/env bash
# Start the local infrastructure (no Docker): ClickHouse, Redis and the Kafka-protocol mock, or those named.
#
#   deploy/local/up.sh [clickhouse] [redis] [kafka]        (npm run infra:up)
#
# Idempotent: a service this script already started is reused. Writes .infra/endpoints.env with
#   VIGIL_TEST_CLICKHOUSE_URL, VIGIL_TEST_REDIS_URL, VIGIL_TEST_KAFKA_BROKERS, VIGIL_TEST_KAFKA_CONTROL_PORT
# (for every service that is running, whether named or not) and prints it. The last line on stdout,
# "STARTED: <services>", names those this run started itself, so a caller can stop only those.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$VIGIL_REPO/deploy/local"

select_services "clickhouse redis kafka" "$@"
lock_infra

started=()
for s in "${services[@]}"; do
  if bash "$HERE/$s.sh" status >/dev/null 2>&1; then
    bash "$HERE/$s.sh" start >/dev/null
  else
    if ! bash "$HERE/$s.sh" start >/dev/null; then
      # Leave nothing half-up: stop what this run started before the failure.
      for t in "${started[@]}"; do bash "$HERE/$t.sh" stop || true; done
      die "$s failed to start (see the messages above and $VIGIL_INFRA_DIR/$s/)"
    fi
    started+=("$s")
  fi
done

# endpoints.env describes whatever is running now.
env_file="$VIGIL_INFRA_DIR/endpoints.env"
{
  echo "# Written by deploy/local/up.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Source it: set -a; . $env_file; set +a"
  if line="$(bash "$HERE/clickhouse.sh" status 2>/dev/null)"; then echo "VIGIL_TEST_CLICKHOUSE_URL=${line##* }"; fi
  if line="$(bash "$HERE/redis.sh" status 2>/dev/null)"; then echo "VIGIL_TEST_REDIS_URL=${line##* }"; fi
  if line="$(bash "$HERE/kafka.sh" status 2>/dev/null)"; then
    read -r _ _ bootstrap control <<<"$line"
    echo "VIGIL_TEST_KAFKA_BROKERS=$bootstrap"
    echo "VIGIL_TEST_KAFKA_CONTROL_PORT=$control"
  fi
} >"$env_file.tmp"
mv -f "$env_file.tmp" "$env_file"

grep -v '^#' "$env_file"
echo "STARTED: ${started[*]}"
log "endpoints written to $env_file"
