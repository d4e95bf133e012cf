import { describe, expect, it } from '@jest/globals';
import type { AccessEvent, RekeyedPartial } from '@vigil/contracts';
import { anAccessEvent } from '@vigil/testing';
import { DEFAULT_DETECTORS_CONFIG } from '../../detectors/detector-config.js';
import { DetectionEngine } from '../../engine/detection-engine.js';

const W = 60_000;
const LATENESS = 60_000;
const T0 = Date.UTC(2024, 2, 12, 9, 0, 0);

/** One token used from two IPs whose access events live on two access-event partitions: 10 requests a minute from each. */
function minutes(ip: string, from: number, to: number): AccessEvent[] {
  const out: AccessEvent[] = [];
  for (let m = from; m < to; m++) {
    for (let i = 0; i < 10; i++) out.push(anAccessEvent({ tenant: 'acme', ts: T0 + m * W + i * 5_000, clientIp: ip, tokenId: 'tk_shared' }));
  }
  return out;
}

/**
 * The re-key stage of the distributed detector (stage 2) receives a token's partial windows from every access-event
 * partition, and those partitions are consumed by different detector instances that run at their own pace (one
 * restarts from a checkpoint, one is starved of CPU, a consumer batch spans minutes of a backlog). Found by the
 * distributed e2e suite: a token's window closes on the newest partial of ANY source partition minus the lateness,
 * so the partials of a source partition more than the lateness behind arrive for closed windows and are dropped as
 * late; the token's baseline learns from part of its requests and its ordinary rate is flagged later (the false
 * "token made 58 requests in 1 min; expected 2.6" incidents). A watermark per source partition (the re-keyed
 * partition's clock = the slowest source's, bounded so a dead source cannot hold windows open for ever) keeps them.
 *
 * A source that stops (or runs more than `maxSourceSkewMs` behind) must not hold windows open for ever: see the second
 * test.
 */
describe('DetectionEngine re-key stage (two access-event partitions at different paces)', () => {
  it('counts every request of a token in its window when one source partition runs minutes behind the other', () => {
    const engine = new DetectionEngine({ windowMs: W, latenessMs: LATENESS, maxEntities: 10_000, idleTtlMs: 86_400_000, detectors: DEFAULT_DETECTORS_CONFIG });
    const access = [engine.newPartition('access', 0), engine.newPartition('access', 1)];
    const rekeyed = engine.newPartition('rekeyed', 0);
    let offset = 0;
    const toRekeyed = (partials: RekeyedPartial[]) =>
      engine.processPartials(
        rekeyed,
        partials.filter((p) => p.entityType === 'token').map((partial) => ({ offset: String(offset++), partial: JSON.parse(JSON.stringify(partial)) as RekeyedPartial })),
      );
    const step = (p: 0 | 1, events: AccessEvent[]) => {
      let n = 0;
      toRekeyed(engine.processAccessEvents(access[p]!, events.map((event) => ({ offset: String(n++), event }))).partials);
    };
    // both partitions deliver minute 0, then partition 0 runs five minutes ahead of partition 1, twice
    step(0, minutes('198.51.100.1', 0, 1));
    step(1, minutes('198.51.100.2', 0, 1));
    step(0, minutes('198.51.100.1', 1, 6));
    step(1, minutes('198.51.100.2', 1, 6));
    step(0, minutes('198.51.100.1', 6, 11));
    step(1, minutes('198.51.100.2', 6, 11));

    expect(rekeyed.late).toBe(0);
  });

  it('stops waiting for a source partition that has fallen more than the allowed skew behind', () => {
    const engine = new DetectionEngine({ windowMs: W, latenessMs: LATENESS, maxEntities: 10_000, idleTtlMs: 86_400_000, detectors: DEFAULT_DETECTORS_CONFIG, maxSourceSkewMs: 5 * W });
    const access = [engine.newPartition('access', 0), engine.newPartition('access', 1)];
    const rekeyed = engine.newPartition('rekeyed', 0);
    let offset = 0;
    const step = (p: 0 | 1, events: AccessEvent[]) => {
      let n = 0;
      const partials = engine.processAccessEvents(access[p]!, events.map((event) => ({ offset: String(n++), event }))).partials;
      engine.processPartials(rekeyed, partials.filter((x) => x.entityType === 'token').map((partial) => ({ offset: String(offset++), partial: JSON.parse(JSON.stringify(partial)) as RekeyedPartial })));
    };
    step(0, minutes('198.51.100.1', 0, 1));
    step(1, minutes('198.51.100.2', 0, 1)); // partition 1 then goes silent
    step(0, minutes('198.51.100.1', 1, 4));
    expect(rekeyed.watermark.value).toBe(T0 + 45_000 - LATENESS); // within the skew: the clock is partition 1's, minute 0 stays open
    step(0, minutes('198.51.100.1', 4, 12));
    // newest 11:45, partition 1 at 0:45: the clock is held at most 5 min behind the newest
    expect(rekeyed.watermark.value).toBe(T0 + 11 * W + 45_000 - 5 * W - LATENESS);
    expect(rekeyed.closedThrough).toBeGreaterThanOrEqual(T0 + 5 * W); // minutes 0–4 closed without partition 1
  });
});
