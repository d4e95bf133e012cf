/** Kafka topic names. One place, so services never disagree on a string. */
export const TOPICS = {
  /** Raw gateway log records, as shipped by the gateway (any supported format). */
  rawLogs: 'vigil.access-logs.raw',
  /** Raw records that failed parsing or validation, with the reason. */
  rawLogsDlq: 'vigil.access-logs.dlq',
  /** Normalised AccessEvents, keyed by tenant + client IP. */
  accessEvents: 'vigil.access-events',
  /** Anomalies emitted by the detector, keyed by tenant + entity. */
  anomalies: 'vigil.anomalies',
  /** Incident lifecycle events emitted by the alert service. */
  incidents: 'vigil.incidents',
  /** Feedback to the detector (false positives to leave out of baselines). */
  detectorFeedback: 'vigil.detector-feedback',
  /** Detector-internal: per-entity window partials re-keyed by tenant + entity type + entity (see detector.ts). */
  detectorRekeyed: 'vigil.detector.rekeyed',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Default partition counts used by the local broker helper and the deployment notes. */
export const DEFAULT_PARTITIONS: Record<TopicName, number> = {
  'vigil.access-logs.raw': 6,
  'vigil.access-logs.dlq': 1,
  'vigil.access-events': 6,
  'vigil.anomalies': 3,
  'vigil.incidents': 3,
  'vigil.detector-feedback': 1,
  'vigil.detector.rekeyed': 6,
};
