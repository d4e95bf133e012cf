import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PARTITIONS, TOPICS, type TopicName } from '@vigil/contracts';
import { parseAllDocuments } from 'yaml';
import { CLUSTER_SCHEMA_FILE, GEN_CLUSTER_SCHEMA_COMMAND, renderClusterSchema } from './clickhouse/cluster-schema.js';
import { MIGRATIONS } from './clickhouse/migrations/index.js';
import { EnvSchema, loadConfig } from './config/config.js';

/*
 * The deployment files (deploy/k8s, deploy/kafka, deploy/clickhouse) checked against the code they deploy: the
 * configuration schema, the topic partition counts, the consumer groups and the ClickHouse migrations. None of this
 * talks to a cluster; it catches the drift that would otherwise only show in production.
 */

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const K8S = join(ROOT, 'deploy/k8s');

type Obj = Record<string, unknown>;
interface Manifest {
  file: string;
  doc: Obj;
}

const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** Follow a path of keys through nested objects. */
const at = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => obj(o)[k], v);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) ? [p] : [];
  });
}

function load(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of yamlFiles(K8S)) {
    for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (d.errors.length) throw new Error(`${relative(ROOT, file)}: ${d.errors.map((e) => e.message).join('; ')}`);
      const doc = d.toJS() as unknown;
      if (doc !== null && doc !== undefined) out.push({ file: relative(ROOT, file), doc: obj(doc) });
    }
  }
  return out;
}

const manifests = load();
const ofKind = (kind: string) => manifests.filter((m) => m.doc['kind'] === kind);
const named = (kind: string, name: string) => ofKind(kind).find((m) => at(m.doc, 'metadata', 'name') === name);
const configMap = obj(at(named('ConfigMap', 'vigil-config')?.doc, 'data'));
const secret = obj(at(named('Secret', 'vigil-secrets')?.doc, 'stringData'));
const deployments = ofKind('Deployment');

/** The consumer groups of each service and the topics they read (apps' consumers; prefix from KAFKA_GROUP_PREFIX). */
const CONSUMERS: Record<string, { suffix: string; topic: TopicName }[]> = {
  ingest: [{ suffix: 'ingest', topic: TOPICS.rawLogs }],
  detector: [
    { suffix: 'detector', topic: TOPICS.accessEvents },
    { suffix: 'detector-rekeyed', topic: TOPICS.detectorRekeyed },
  ],
  alert: [
    { suffix: 'alert', topic: TOPICS.anomalies },
    { suffix: 'webhooks', topic: TOPICS.incidents },
  ],
};
const groupPrefix = str(configMap['KAFKA_GROUP_PREFIX']);

function container(d: Manifest): Obj {
  const cs = arr(at(d.doc, 'spec', 'template', 'spec', 'containers'));
  expect(cs).toHaveLength(1);
  return obj(cs[0]);
}
function envOf(c: Obj): Record<string, string> {
  return Object.fromEntries(arr(c['env']).map((e) => [str(obj(e)['name']), str(obj(e)['value'])]));
}
function portNamed(c: Obj, name: unknown): number | undefined {
  if (typeof name === 'number') return name;
  const p = arr(c['ports']).map(obj).find((x) => x['name'] === name);
  return typeof p?.['containerPort'] === 'number' ? p['containerPort'] : undefined;
}

describe('deploy/k8s manifests', () => {
  it('parse, and every object has a kind, an apiVersion and a name', () => {
    expect(manifests.length).toBeGreaterThan(10);
    for (const m of manifests.filter((x) => !x.file.endsWith('-values.yaml'))) {
      expect({ file: m.file, kind: typeof m.doc['kind'], apiVersion: typeof m.doc['apiVersion'] }).toEqual({ file: m.file, kind: 'string', apiVersion: 'string' });
      const meta = obj(m.doc['metadata']);
      if (m.doc['kind'] !== 'Kustomization') expect(str(meta['name']) || str(meta['generateName'])).not.toBe('');
    }
  });

  it('list in kustomization.yaml only files that exist', () => {
    const k = named('Kustomization', '') ?? ofKind('Kustomization')[0];
    const resources = arr(k?.doc['resources']).map(str);
    expect(resources).toEqual(expect.arrayContaining(['namespace.yaml', 'config.yaml', 'ingest.yaml', 'detector.yaml', 'alert.yaml']));
    for (const r of resources) expect(existsSync(join(K8S, r))).toBe(true);
  });

  it('deploy ingest, detector and alert from the Dockerfile targets, on the port the image exposes', () => {
    const dockerfile = readFileSync(join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');
    expect(deployments.map((d) => at(d.doc, 'metadata', 'name')).sort()).toEqual(['vigil-alert', 'vigil-detector', 'vigil-ingest']);
    for (const d of deployments) {
      const c = container(d);
      const target = str(c['name']);
      expect(str(c['image'])).toMatch(new RegExp(`^vigil/${target}:`));
      const stage = new RegExp(`FROM runtime AS ${target}\\nENV PORT=(\\d+)\\nEXPOSE (\\d+)`).exec(dockerfile);
      expect(stage).not.toBeNull();
      const port = Number(stage![1]);
      expect({ target, PORT: envOf(c)['PORT'], containerPort: portNamed(c, 'http') }).toEqual({ target, PORT: String(port), containerPort: port });
    }
  });

  it('give every Deployment readiness on /health, liveness and startup on /health/live, on its HTTP port', () => {
    for (const d of deployments) {
      const c = container(d);
      const name = at(d.doc, 'metadata', 'name');
      const probe = (which: string) => ({
        name,
        path: at(c, which, 'httpGet', 'path'),
        port: portNamed(c, at(c, which, 'httpGet', 'port')),
      });
      const port = portNamed(c, 'http');
      expect(probe('readinessProbe')).toEqual({ name, path: '/health', port });
      expect(probe('livenessProbe')).toEqual({ name, path: '/health/live', port });
      expect(probe('startupProbe')).toEqual({ name, path: '/health/live', port });
    }
  });

  it('give every pod more grace than preStop plus SHUTDOWN_TIMEOUT_MS, and memory requests and limits', () => {
    const shutdownMs = loadConfig({ ...configMap, ...secret } as Record<string, string>).shutdownTimeoutMs;
    for (const d of deployments) {
      const c = container(d);
      const grace = Number(at(d.doc, 'spec', 'template', 'spec', 'terminationGracePeriodSeconds'));
      const preStop = arr(at(c, 'lifecycle', 'preStop', 'exec', 'command')).map(str);
      const preStopMs = preStop[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
      expect({ name: at(d.doc, 'metadata', 'name'), enough: grace * 1000 > preStopMs + shutdownMs }).toEqual({ name: at(d.doc, 'metadata', 'name'), enough: true });
      expect(at(c, 'resources', 'requests', 'memory')).toEqual(expect.any(String));
      expect(at(c, 'resources', 'limits', 'memory')).toEqual(expect.any(String));
    }
  });

  it('provide every variable distributed mode requires (from EnvSchema) through the ConfigMap or the Secret', () => {
    const parsed = EnvSchema.safeParse({ VIGIL_MODE: 'distributed' });
    expect(parsed.success).toBe(false);
    const required = [...new Set(parsed.error!.issues.map((i) => String(i.path[0])))].sort();
    expect(required).toEqual(expect.arrayContaining(['VIGIL_HASH_KEY', 'KAFKA_BROKERS', 'CLICKHOUSE_URL', 'REDIS_URL']));
    const provided = new Set([...Object.keys(configMap), ...Object.keys(secret)]);
    expect(required.filter((name) => !provided.has(name))).toEqual([]);
    for (const d of [...deployments, ...ofKind('Job')]) {
      const c = container(d);
      const from = arr(c['envFrom']).map(obj);
      expect(from.map((f) => at(f, 'configMapRef', 'name') ?? at(f, 'secretRef', 'name'))).toEqual(['vigil-config', 'vigil-secrets']);
    }
  });

  it('set only variables the configuration knows, and they load as distributed mode on Kafka, ClickHouse and BullMQ', () => {
    const known = new Set(Object.keys(EnvSchema.shape));
    const keys = [...Object.keys(configMap), ...Object.keys(secret)];
    expect(keys.filter((k) => !known.has(k))).toEqual([]);
    expect(Object.keys(secret).filter((k) => k in configMap)).toEqual([]);
    for (const d of deployments) {
      const env = { ...configMap, ...secret, ...envOf(container(d)) } as Record<string, string>;
      const config = loadConfig(env);
      expect([config.mode, config.bus.kind, config.store.kind, config.queue.kind]).toEqual(['distributed', 'kafka', 'clickhouse', 'bullmq']);
    }
    // secrets stay out of the ConfigMap
    expect(Object.keys(configMap).filter((k) => /PASSWORD|SECRET|HASH_KEY|TOKEN/.test(k) || k === 'REDIS_URL')).toEqual([]);
  });

  it('select each Deployment with one Service, one PodDisruptionBudget and one HPA', () => {
    for (const d of deployments) {
      const name = str(at(d.doc, 'metadata', 'name'));
      const podLabels = obj(at(d.doc, 'spec', 'template', 'metadata', 'labels'));
      const matches = (sel: unknown) => Object.entries(obj(sel)).every(([k, v]) => podLabels[k] === v) && Object.keys(obj(sel)).length > 0;
      expect(ofKind('Service').filter((s) => matches(at(s.doc, 'spec', 'selector'))).map((s) => at(s.doc, 'metadata', 'name'))).toEqual([name]);
      expect(ofKind('PodDisruptionBudget').filter((p) => matches(at(p.doc, 'spec', 'selector', 'matchLabels')))).toHaveLength(1);
      expect(ofKind('HorizontalPodAutoscaler').filter((h) => at(h.doc, 'spec', 'scaleTargetRef', 'name') === name)).toHaveLength(1);
    }
  });

  it('scale each consumer service on vigil_consumer_lag of its own groups, never past the partitions of their topics', () => {
    for (const [service, groups] of Object.entries(CONSUMERS)) {
      const name = `vigil-${service}`;
      const hpa = ofKind('HorizontalPodAutoscaler').find((h) => at(h.doc, 'spec', 'scaleTargetRef', 'name') === name)!;
      const lagGroups = arr(at(hpa.doc, 'spec', 'metrics'))
        .map(obj)
        .filter((m) => m['type'] === 'External' && at(m, 'external', 'metric', 'name') === 'vigil_consumer_lag')
        .map((m) => at(m, 'external', 'metric', 'selector', 'matchLabels', 'group'));
      expect({ name, lagGroups: lagGroups.sort() }).toEqual({ name, lagGroups: groups.map((g) => `${groupPrefix}-${g.suffix}`).sort() });
      const partitions = Math.min(...groups.map((g) => DEFAULT_PARTITIONS[g.topic]));
      const max = Number(at(hpa.doc, 'spec', 'maxReplicas'));
      const min = Number(at(hpa.doc, 'spec', 'minReplicas'));
      expect({ name, max }).toEqual({ name, max: partitions });
      expect(min).toBeGreaterThanOrEqual(2);

      const keda = ofKind('ScaledObject').find((s) => at(s.doc, 'spec', 'scaleTargetRef', 'name') === name)!;
      expect([at(keda.doc, 'spec', 'minReplicaCount'), at(keda.doc, 'spec', 'maxReplicaCount')]).toEqual([min, max]);
      const queries = arr(at(keda.doc, 'spec', 'triggers')).map((t) => str(at(t, 'metadata', 'query'))).filter(Boolean);
      expect(queries.map((q) => /group="([^"]+)"/.exec(q)?.[1]).sort()).toEqual(groups.map((g) => `${groupPrefix}-${g.suffix}`).sort());
      for (const q of queries) expect(q).toContain('vigil_consumer_lag{');
    }
  });

  it('serve vigil_consumer_lag to the HPAs as an External metric through the Prometheus Adapter rule', () => {
    const values = manifests.find((m) => m.file.endsWith('autoscaling/prometheus-adapter-values.yaml'))!;
    const rules = arr(at(values.doc, 'rules', 'external')).map(obj);
    expect(rules.map((r) => at(r, 'name', 'as'))).toEqual(['vigil_consumer_lag']);
    expect(str(rules[0]!['metricsQuery'])).toContain('<<.LabelMatchers>>');
  });

  it('run the migration Job with the compiled migrate CLI', () => {
    const job = ofKind('Job')[0]!;
    const command = arr(at(container(job), 'command')).map(str);
    expect(command[0]).toBe('node');
    const source = command[1]!.replace('libs/platform/dist/', 'libs/platform/src/').replace(/\.js$/, '.ts');
    expect(existsSync(join(ROOT, source))).toBe(true);
  });
});

describe('deploy/kafka/create-topics.sh', () => {
  const commands = execFileSync('bash', [join(ROOT, 'deploy/kafka/create-topics.sh'), '--dry-run'], { encoding: 'utf8' })
    .trim()
    .split('\n');
  const creates = commands.filter((c) => c.includes('--create'));
  const option = (cmd: string, name: string) => new RegExp(`--${name} (\\S+)`).exec(cmd)?.[1];
  const configs = (cmd: string) => [...cmd.matchAll(/--config (\S+)=(\S+)/g)].reduce<Record<string, string>>((o, m) => ({ ...o, [m[1]!]: m[2]! }), {});

  it('creates every contract topic with the partition count of DEFAULT_PARTITIONS', () => {
    const got = Object.fromEntries(creates.map((c) => [option(c, 'topic'), Number(option(c, 'partitions'))]));
    expect(got).toEqual(DEFAULT_PARTITIONS);
    expect(Object.keys(got).sort()).toEqual(Object.values(TOPICS).sort());
  });

  it('replicates three ways with min.insync.replicas=2, only if absent, and re-applies the configs', () => {
    for (const c of creates) {
      expect(c).toContain('--if-not-exists');
      expect(option(c, 'replication-factor')).toBe('3');
      expect(configs(c)['min.insync.replicas']).toBe('2');
    }
    expect(commands.filter((c) => c.includes('kafka-configs.sh') && c.includes('--alter'))).toHaveLength(creates.length);
  });

  const DAY = 86_400_000;
  it.each([
    [TOPICS.rawLogs, 3 * DAY],
    [TOPICS.accessEvents, 3 * DAY],
    [TOPICS.detectorRekeyed, 3 * DAY],
    [TOPICS.anomalies, 14 * DAY],
    [TOPICS.incidents, 30 * DAY],
    [TOPICS.rawLogsDlq, 14 * DAY],
    [TOPICS.detectorFeedback, 30 * DAY],
  ])('keeps %s for %d ms', (topic, ms) => {
    const c = creates.find((x) => option(x, 'topic') === topic)!;
    expect(Number(configs(c)['retention.ms'])).toBe(ms);
    expect(configs(c)['cleanup.policy']).toBe('delete');
  });
});

describe('deploy/clickhouse/cluster-schema.sql', () => {
  it('is the cluster rendering of the migrations (a new migration needs the file regenerated)', () => {
    const committed = readFileSync(join(ROOT, CLUSTER_SCHEMA_FILE), 'utf8');
    const rendered = renderClusterSchema(MIGRATIONS);
    if (committed !== rendered) {
      const a = committed.split('\n');
      const b = rendered.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      throw new Error(
        `${CLUSTER_SCHEMA_FILE} differs from the migrations' cluster rendering from line ${line + 1}:\n` +
          `  file:     ${a[line] ?? '(end of file)'}\n  rendered: ${b[line] ?? '(end of file)'}\n` +
          `Run \`${GEN_CLUSTER_SCHEMA_COMMAND}\` (tsx scripts/gen-cluster-schema.ts) and commit the file.`,
      );
    }
    expect(committed).toBe(rendered);
  });
});
