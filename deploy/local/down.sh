#!/usr/bin/env bash
# Stop the local infrastructure started by deploy/local/up.sh, by the PIDs it recorded (never by name).
#
#   deploy/local/down.sh [clickhouse] [redis] [kafka]      (npm run infra:down)
#
# With no arguments stops all three. Data folders under .infra/ stay (delete .infra/ to start afresh).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$VIGIL_REPO/deploy/local"

select_services "kafka redis clickhouse" "$@"
lock_infra

failed=0
for s in "${services[@]}"; do
  bash "$HERE/$s.sh" stop || failed=1
done

# Keep endpoints.env true to what still runs.
env_file="$VIGIL_INFRA_DIR/endpoints.env"
if [ -f "$env_file" ]; then
  keep=()
  bash "$HERE/clickhouse.sh" status >/dev/null 2>&1 && keep+=(VIGIL_TEST_CLICKHOUSE_URL)
  bash "$HERE/redis.sh" status >/dev/null 2>&1 && keep+=(VIGIL_TEST_REDIS_URL)
  bash "$HERE/kafka.sh" status >/dev/null 2>&1 && keep+=(VIGIL_TEST_KAFKA_BROKERS VIGIL_TEST_KAFKA_CONTROL_PORT)
  if [ "${#keep[@]}" -eq 0 ]; then
    rm -f "$env_file"
  else
    pattern="^($(IFS='|'; echo "${keep[*]}"))="
    grep -E "$pattern|^#" "$env_file" >"$env_file.tmp" || true
    mv -f "$env_file.tmp" "$env_file"
  fi
fi
exit "$failed"
