#!/usr/bin/env bash
# Creates Vigil's Kafka topics on a production cluster (3+ brokers) with their partition counts, replication and
# retention, then (re)applies the topic configs so a re-run converges. Safe to run again: existing topics are kept.
#
#   BOOTSTRAP=kafka-0.kafka.kafka.svc:9092 deploy/kafka/create-topics.sh
#   BOOTSTRAP=… COMMAND_CONFIG=/etc/kafka/client.properties deploy/kafka/create-topics.sh   # TLS/SASL client settings
#   deploy/kafka/create-topics.sh --dry-run                                                  # print the commands only
#
# Needs Apache Kafka's CLI (kafka-topics.sh, kafka-configs.sh; e.g. in the apache/kafka image under /opt/kafka/bin,
# or set KAFKA_BIN). Partition counts are DEFAULT_PARTITIONS of libs/contracts/src/topics.ts (a unit spec,
# libs/platform/src/deploy-manifests.spec.ts, fails when the two differ).
#
# Partitions cap the consumers: a group never has more busy members than the topic has partitions. Raising a count
# later moves keys to other partitions (per-key order and the detector's per-partition state break for a while), so
# this script never changes the count of an existing topic: it warns, and you decide (docs/deployment.md).
set -euo pipefail

BOOTSTRAP="${BOOTSTRAP:-localhost:9092}"
KAFKA_BIN="${KAFKA_BIN:-}"
REPLICATION_FACTOR="${REPLICATION_FACTOR:-3}"
MIN_INSYNC_REPLICAS="${MIN_INSYNC_REPLICAS:-2}"
COMMAND_CONFIG="${COMMAND_CONFIG:-}"
DRY_RUN=0
[ "${1:-}" = "--dry-run" ] && DRY_RUN=1

# topic                     partitions  retention.ms   cleanup.policy
TOPICS="
vigil.access-logs.raw       6           259200000      delete
vigil.access-events         6           259200000      delete
vigil.detector.rekeyed      6           259200000      delete
vigil.anomalies             3           1209600000     delete
vigil.incidents             3           2592000000     delete
vigil.access-logs.dlq       1           1209600000     delete
vigil.detector-feedback     1           2592000000     delete
"
# Retention: raw logs and access events 3 d (ClickHouse keeps the events; Kafka only needs to cover an outage and a
# replay), the detector's re-key topic 3 d (re-derived from access events), anomalies 14 d, incidents 30 d, dead
# letters 14 d (time to inspect and replay), detector feedback 30 d.
# Detector feedback is keyed by tenant|entityType|entity and one entity can get many verdicts (one per anomaly), so
# it is NOT compacted: compaction would keep only the last verdict of each entity.

tool() { if [ -n "$KAFKA_BIN" ]; then echo "$KAFKA_BIN/$1"; else echo "$1"; fi; }
run() {
  if [ "$DRY_RUN" = 1 ]; then printf '%s\n' "$*"; else "$@"; fi
}
extra=()
[ -n "$COMMAND_CONFIG" ] && extra=(--command-config "$COMMAND_CONFIG")

while read -r topic partitions retention cleanup; do
  [ -z "$topic" ] && continue
  configs="retention.ms=$retention,cleanup.policy=$cleanup,min.insync.replicas=$MIN_INSYNC_REPLICAS"
  run "$(tool kafka-topics.sh)" --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$REPLICATION_FACTOR" \
    --config "retention.ms=$retention" --config "cleanup.policy=$cleanup" --config "min.insync.replicas=$MIN_INSYNC_REPLICAS"
  # --if-not-exists leaves an existing topic's configs alone: apply them again so a re-run converges.
  run "$(tool kafka-configs.sh)" --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --alter --entity-type topics \
    --entity-name "$topic" --add-config "$configs"
  if [ "$DRY_RUN" = 0 ]; then
    have="$("$(tool kafka-topics.sh)" --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --describe --topic "$topic" \
      | sed -n 's/.*PartitionCount:[[:space:]]*\([0-9]*\).*/\1/p' | head -n 1)"
    if [ "$have" != "$partitions" ]; then
      echo "WARNING: $topic has ${have:-?} partitions, Vigil expects $partitions (not changed; see docs/deployment.md)" >&2
    fi
  fi
done <<< "$TOPICS"
