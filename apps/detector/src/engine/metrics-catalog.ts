import type { EntityType } from '@vigil/contracts';
import { DEFAULT_BASELINE_OPTIONS, type BaselineOptions } from '../detection/baseline.js';
import type { WindowAggregate } from '../detection/window.js';

/** The per-window metrics the detector keeps baselines for, and which entity types carry which. */
export type MetricName = 'requests' | 'auth_failures' | 'distinct_paths' | 'distinct_ips' | 'bytes_out' | 'errors_5xx' | 'latency_p95';

export interface MetricSpec {
  name: MetricName;
  options: BaselineOptions;
  /**
   * Created on the first window where the metric is non-zero, backfilled with the zero windows before it
   * (an IP that never failed a login costs no bytes for an auth-failure baseline).
   */
  lazy: boolean;
  value(agg: WindowAggregate): number;
}

/** Count baselines never read their ring (only continuous metrics use median/MAD): keep one slot. */
const COUNT: BaselineOptions = { ...DEFAULT_BASELINE_OPTIONS, kind: 'count', ringSize: 1 };
const CONTINUOUS: BaselineOptions = { ...DEFAULT_BASELINE_OPTIONS, kind: 'continuous', ringSize: 16 };

export const METRICS: Record<MetricName, MetricSpec> = {
  requests: { name: 'requests', options: COUNT, lazy: false, value: (a) => a.requests },
  auth_failures: { name: 'auth_failures', options: COUNT, lazy: true, value: (a) => a.authFailures },
  distinct_paths: { name: 'distinct_paths', options: COUNT, lazy: false, value: (a) => a.distinctCount('paths') },
  distinct_ips: { name: 'distinct_ips', options: COUNT, lazy: false, value: (a) => a.distinctCount('ips') },
  bytes_out: { name: 'bytes_out', options: CONTINUOUS, lazy: false, value: (a) => a.bytesOut },
  errors_5xx: { name: 'errors_5xx', options: COUNT, lazy: true, value: (a) => a.errors5xx },
  latency_p95: { name: 'latency_p95', options: CONTINUOUS, lazy: false, value: (a) => a.latencyP95() },
};

export const ENTITY_METRICS: Record<EntityType, readonly MetricName[]> = {
  ip: ['requests', 'distinct_paths', 'auth_failures'],
  token: ['requests', 'distinct_ips', 'bytes_out'],
  endpoint: ['requests', 'distinct_ips', 'latency_p95', 'auth_failures', 'errors_5xx'],
  token_ip: ['requests'],
  tenant: ['requests', 'auth_failures'],
};

/** Metrics as small integers (index into per-metric tables; fewer than 8). */
export const METRIC_INDEX: Readonly<Record<MetricName, number>> = {
  requests: 0,
  auth_failures: 1,
  distinct_paths: 2,
  distinct_ips: 3,
  bytes_out: 4,
  errors_5xx: 5,
  latency_p95: 6,
};
