import { resolve } from 'node:path';
import { ApiKeysService } from '@vigil/alert/api-keys/api-keys.service';
import { runService, type RunningService } from '@vigil/platform';
import { StandaloneModule } from '../standalone.module.js';
import { startBanner } from './banner.js';

export interface StartedStandalone {
  running: RunningService;
  /** The admin API key created on this (first) run, or null when one existed. */
  adminKey: string | null;
}

/**
 * Boots the standalone process (ingest + detector + alert around the in-process bus and SQLite), creates the admin
 * key on first run (only its hash is stored) and, unless `banner` is false, prints the "what now" banner to stderr.
 */
export async function startStandalone(options: { banner?: boolean } = {}): Promise<StartedStandalone> {
  const running = await runService('standalone', StandaloneModule);
  const created = await running.app.get(ApiKeysService).createAdminKeyIfNone(running.config.tenant);
  const adminKey = created?.token ?? null;
  if (options.banner !== false) {
    process.stderr.write(startBanner({ url: running.url, dataDir: resolve(running.config.dataDir), mode: running.config.mode, adminKey, now: Date.now() }));
  }
  return { running, adminKey };
}
