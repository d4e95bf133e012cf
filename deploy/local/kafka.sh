#!/usr/bin/env bash
# A Kafka-protocol broker for tests and local runs, without Docker or a JVM: librdkafka's mock cluster,
# compiled on demand from deploy/local/kafka-mock.c (apt: librdkafka-dev, pkg-config, gcc).
#
#   deploy/local/kafka.sh start|stop|status
#
# VIGIL_KAFKA_BROKERS_COUNT (1, or 3 for replication drills), VIGIL_KAFKA_CONTROL_PORT (29092: one-line fault
# commands, see kafka-mock.c). Every topic of DEFAULT_PARTITIONS in libs/contracts/src/topics.ts is created
# with its partition count (parsed from that file, so the two never drift); other topics are auto-created
# with 4 partitions on first use. The broker ports are chosen by the mock; 'start' prints
# "<bootstrap> <control-port>" on stdout and reuses a broker this script already started.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BROKERS="${VIGIL_KAFKA_BROKERS_COUNT:-1}"
CONTROL_PORT="${VIGIL_KAFKA_CONTROL_PORT:-29092}"
SRC="$VIGIL_REPO/deploy/local/kafka-mock.c"
TOPICS_TS="$VIGIL_REPO/libs/contracts/src/topics.ts"
NAME=kafka
MATCH=kafka-mock

# "name:partitions,..." from the DEFAULT_PARTITIONS object literal in topics.ts.
topic_specs() {
  [ -r "$TOPICS_TS" ] || die "$TOPICS_TS not found"
  local specs
  specs="$(awk '
    /DEFAULT_PARTITIONS/ { inside = 1; next }
    inside && /^[[:space:]]*}/ { exit }
    inside && match($0, /[\047"][^\047"]+[\047"][[:space:]]*:[[:space:]]*[0-9]+/) {
      entry = substr($0, RSTART, RLENGTH)
      gsub(/[\047"[:space:]]/, "", entry)
      out = out (out == "" ? "" : ",") entry
    }
    END { print out }' "$TOPICS_TS")"
  [ -n "$specs" ] || die "could not read DEFAULT_PARTITIONS from $TOPICS_TS (expected lines like  'vigil.anomalies': 3,)"
  printf '%s\n' "$specs"
}

build() {
  local dir="$1" bin="$1/kafka-mock"
  if [ -x "$bin" ] && [ "$bin" -nt "$SRC" ]; then return 0; fi
  ensure_packages librdkafka-dev pkg-config gcc libc6-dev
  log "$NAME: compiling $SRC"
  # shellcheck disable=SC2046 # pkg-config prints several flags on purpose
  gcc -O2 -Wall -o "$bin.tmp" "$SRC" $(pkg-config --cflags --libs rdkafka) || die "compiling kafka-mock.c failed"
  mv -f "$bin.tmp" "$bin"
}

ping_control() {
  local reply
  reply="$({ exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'ping\n' >&3 && timeout 2 head -n1 <&3; } 2>/dev/null)" || return 1
  [ "$reply" = PONG ]
}

# bootstrap_reachable <host:port,...>: the first broker accepts TCP connections
bootstrap_reachable() {
  local first="${1%%,*}"
  (exec 3<>"/dev/tcp/${first%:*}/${first##*:}") 2>/dev/null
}

# answers "<bootstrap> <control-port>": the first broker accepts connections and the control port answers PONG
answers() { bootstrap_reachable "${1% *}" && ping_control "${1#* }"; }

# has_bootstrap <dir>: the mock printed its bootstrap servers
has_bootstrap() { grep -q '^BOOTSTRAP ' "$1/stdout.log"; }

start() {
  local dir pid endpoint bootstrap specs
  dir="$(service_dir kafka)"
  reuse_running "$dir" "$MATCH" "$NAME" answers && return 0

  case "$BROKERS" in 1 | 3) ;; *) die "VIGIL_KAFKA_BROKERS_COUNT must be 1 or 3, got '$BROKERS'" ;; esac
  build "$dir"
  specs="$(topic_specs)"
  require_free_port "$CONTROL_PORT" "Kafka mock control" VIGIL_KAFKA_CONTROL_PORT

  pid="$(start_detached "$dir" "$dir/kafka-mock" "$BROKERS" "$specs" "$CONTROL_PORT")"
  printf '%s\n' "$pid" >"$dir/pid"
  log "$NAME: starting (pid $pid), $BROKERS broker(s), topics $specs"
  await_ready "$dir" "$NAME" "$pid" "$MATCH" has_bootstrap "$dir"
  bootstrap="$(sed -n 's/^BOOTSTRAP //p' "$dir/stdout.log" | head -n1)"
  [ -n "$bootstrap" ] || fail_start "$dir" "$NAME" "$pid"
  wait_until 10 "the Kafka mock's brokers" bootstrap_reachable "$bootstrap" || fail_start "$dir" "$NAME" "$pid"
  ping_control "$CONTROL_PORT" || fail_start "$dir" "$NAME" "$pid"
  endpoint="$bootstrap $CONTROL_PORT"
  printf '%s\n' "$endpoint" >"$dir/endpoint"
  log "$NAME: ready at $bootstrap, control port $CONTROL_PORT"
  printf '%s\n' "$endpoint"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid "$VIGIL_INFRA_DIR/kafka" "$MATCH" "$NAME" ;;
  status) service_status "$NAME" "$MATCH" ;;
  topics) topic_specs ;;
  *) die "usage: $0 start|stop|status|topics" ;;
esac
