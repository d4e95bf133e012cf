import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { DEFAULT_DETECTORS_CONFIG, loadDetectorsConfig, type DetectorsConfig } from './detector-config.js';

export const DEFAULT_DETECTOR_CONFIG_PATH = 'config/detectors.yaml';

/**
 * The detector config at boot. A path set through VIGIL_DETECTOR_CONFIG must exist; the default path may be absent
 * (a process started outside the repository root), and then the built-in defaults apply, with a warning.
 */
export function detectorsConfigAtBoot(path: string, logger: Logger): DetectorsConfig {
  if (path === DEFAULT_DETECTOR_CONFIG_PATH && !existsSync(path)) {
    logger.warn({ path }, 'detector config file not found; using the built-in defaults');
    return DEFAULT_DETECTORS_CONFIG;
  }
  const cfg = loadDetectorsConfig(path);
  logger.info({ path }, 'detector config loaded');
  return cfg;
}
