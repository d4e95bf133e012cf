import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_HASH_KEY_PLACEHOLDER, loadConfig, type VigilConfig } from '../config/config.js';

let cached: VigilConfig | undefined;

/**
 * The configuration of this process, read from the environment once (the only read of process.env outside
 * `loadConfig`'s caller in tests). Throws ConfigError, naming the variable, when the environment is invalid.
 */
export function processConfig(): VigilConfig {
  cached ??= withPersistedHashKey(loadConfig(process.env));
  return cached;
}

/**
 * Without VIGIL_HASH_KEY (allowed only outside distributed mode) a random key is generated once per data dir and
 * kept in `<dataDir>/hash-key`, so keyed hashes of API keys stay stable across restarts.
 */
export function withPersistedHashKey(config: VigilConfig): VigilConfig {
  if (config.hashKey !== DEV_HASH_KEY_PLACEHOLDER) return config;
  const file = join(config.dataDir, 'hash-key');
  mkdirSync(config.dataDir, { recursive: true });
  let key: string;
  try {
    key = readFileSync(file, 'utf8').trim();
  } catch {
    key = randomBytes(32).toString('hex');
    try {
      writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
    } catch {
      key = readFileSync(file, 'utf8').trim(); // another process created it first
    }
  }
  return { ...config, hashKey: key };
}
