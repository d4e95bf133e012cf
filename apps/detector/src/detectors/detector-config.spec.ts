import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { DEFAULT_DETECTORS_CONFIG, parseDetectorsConfig } from './detector-config.js';

describe(parseDetectorsConfig.name, () => {
  it('reads the shipped config/detectors.yaml', () => {
    const cfg = parseDetectorsConfig(readFileSync('config/detectors.yaml', 'utf8'), 'config/detectors.yaml');
    expect(cfg.bruteForce).toMatchObject({ enabled: true, minFailures: 10, minRatio: 0.5 });
    expect(cfg.deprecatedApi.versions).toEqual(['v0', '2019-01-01']);
  });

  it('fills every detector left out with its defaults, and accepts JSON', () => {
    const cfg = parseDetectorsConfig('{"detectors": {"injection": {"enabled": false}}}');
    expect(cfg.injection.enabled).toBe(false);
    expect(cfg.rateSpike).toEqual(DEFAULT_DETECTORS_CONFIG.rateSpike);
  });

  it.each([
    ['detectors:\n  bruteForce:\n    minRatio: 1.5\n', /detectors\.bruteForce\.minRatio: /],
    ['detectors:\n  bruteFroce: {}\n', /bruteFroce/],
    ['detectors:\n  rateSpike:\n    entityTypes: [ip, planet]\n', /detectors\.rateSpike\.entityTypes\.1/],
    ['detectors: [\n', /Invalid detector config cfg\.yaml/],
  ])('rejects %p with a message naming the key', (text, message) => {
    expect(() => parseDetectorsConfig(text, 'cfg.yaml')).toThrow(message);
  });
});
