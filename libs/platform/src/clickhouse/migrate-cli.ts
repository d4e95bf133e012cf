/**
 * `npm run migrate`: apply pending ClickHouse migrations and print what was applied.
 * Configuration comes from the environment through `loadConfig` (CLICKHOUSE_URL, CLICKHOUSE_USER,
 * CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE; the store must be clickhouse: VIGIL_MODE=distributed or VIGIL_STORE=clickhouse).
 */
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from '../config/config.js';
import { ClickHouseStore } from './clickhouse-store.js';

export async function runMigrateCli(
  env: Record<string, string | undefined>,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): Promise<number> {
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    out(e instanceof ConfigError ? e.message : String(e));
    return 2;
  }
  if (config.store.kind !== 'clickhouse') {
    out('The configured store is SQLite (it migrates itself at start). Set VIGIL_STORE=clickhouse or VIGIL_MODE=distributed with CLICKHOUSE_URL.');
    return 2;
  }
  const { url, user, password, database } = config.store;
  const store = new ClickHouseStore({ url, user, password, database });
  try {
    const applied = await store.migrate();
    out(applied.length ? `Applied to ${database}: ${applied.join(', ')}` : `${database} is up to date (nothing to apply)`);
    return 0;
  } catch (e) {
    out(`Migration of ${database} at ${new URL(url).host} failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await store.close();
  }
}

// Run when executed directly (node libs/platform/dist/clickhouse/migrate-cli.js), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runMigrateCli(process.env);
}
