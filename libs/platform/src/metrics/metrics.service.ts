import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

export interface MetricSpec<L extends string> {
  /** Prometheus name, `vigil_<service>_<what>_<unit>`, e.g. `vigil_ingest_rejected_total`. */
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/**
 * The Prometheus registry of one app instance (never prom-client's global one, so two apps in one test process
 * do not collide). Default process metrics are collected; domain code registers its own through the
 * get-or-create methods, which return the same metric when asked twice (standalone composes the three
 * services in one process, so a metric may be asked for by more than one module).
 */
export class MetricsService {
  readonly registry = new Registry();

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string = string>(spec: MetricSpec<L>): Counter<L> {
    return this.getOrCreate(spec.name, Counter, () => new Counter<L>({ ...spec, labelNames: spec.labelNames ?? [], registers: [this.registry] }));
  }

  gauge<L extends string = string>(spec: MetricSpec<L>): Gauge<L> {
    return this.getOrCreate(spec.name, Gauge, () => new Gauge<L>({ ...spec, labelNames: spec.labelNames ?? [], registers: [this.registry] }));
  }

  histogram<L extends string = string>(spec: MetricSpec<L> & { buckets?: number[] }): Histogram<L> {
    return this.getOrCreate(spec.name, Histogram, () => new Histogram<L>({ ...spec, labelNames: spec.labelNames ?? [], registers: [this.registry] }));
  }

  /** Prometheus text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private getOrCreate<M extends Metric<string>>(name: string, kind: abstract new (...args: never[]) => M, create: () => M): M {
    const existing = this.registry.getSingleMetric(name);
    if (existing === undefined) return create();
    if (existing instanceof kind) return existing;
    throw new Error(`metric ${name} is already registered with another type`);
  }
}
