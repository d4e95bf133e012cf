/**
 * Rewrites deploy/clickhouse/cluster-schema.sql from the ClickHouse migrations' table definitions
 * (`npm run gen:cluster-schema`). `--check` writes nothing and exits 1 when the committed file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLUSTER_SCHEMA_FILE, GEN_CLUSTER_SCHEMA_COMMAND, renderClusterSchema } from '../libs/platform/src/clickhouse/cluster-schema.js';
import { MIGRATIONS } from '../libs/platform/src/clickhouse/migrations/index.js';

const file = join(fileURLToPath(new URL('..', import.meta.url)), CLUSTER_SCHEMA_FILE);
const rendered = renderClusterSchema(MIGRATIONS);
const current = (() => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
})();

if (process.argv.includes('--check')) {
  if (current !== rendered) {
    console.error(`${CLUSTER_SCHEMA_FILE} is out of date with the migrations: run \`${GEN_CLUSTER_SCHEMA_COMMAND}\``);
    process.exit(1);
  }
  console.log(`${CLUSTER_SCHEMA_FILE} is up to date (${MIGRATIONS.length} migrations)`);
} else if (current === rendered) {
  console.log(`${CLUSTER_SCHEMA_FILE} unchanged (${MIGRATIONS.length} migrations)`);
} else {
  writeFileSync(file, rendered);
  console.log(`${CLUSTER_SCHEMA_FILE} rewritten from ${MIGRATIONS.map((m) => m.version).join(', ')}`);
}
