import { describe, expect, it } from '@jest/globals';
import { EntityBudget, PartitionState, type HotEntity, type OpenWindow } from './partition-state.js';

const W = 60_000;

/** Opens and closes one window of an entity the way the engine does (attach, then close). */
function activity(state: PartitionState, entity: string, ws: number): HotEntity {
  let h = state.hotEntity('acme', 'ip', entity);
  if (!h) h = state.makeHot('acme', 'ip', entity, ws);
  else state.activate(h);
  h.openWindows += 1;
  const w = { windowStart: ws } as OpenWindow;
  h.cur = w;
  h.state.activeWindows += 1;
  h.state.lastSeen = ws;
  state.closeWindowOf(h, w);
  return h;
}

describe(PartitionState.name, () => {
  it('packs the least recently active idle entities beyond the warm budget and unpacks them with their state', () => {
    const budget = new EntityBudget(1_000, 2);
    const state = new PartitionState('t', 0, 0, budget);
    for (const [i, ip] of ['a', 'b', 'c', 'd'].entries()) activity(state, ip, i * W);
    activity(state, 'a', 10 * W); // a: packed after its first window, unpacked, active again

    expect(budget.count).toBe(4);
    expect(budget.warm).toBe(2);
    expect(state.idleCount).toBe(4);
    expect(state.hot.size).toBe(0);
    // the idle map in LRU order: packed first (b, c), then the warm ones (d, then a, most recent)
    expect([...state.idleEntries()].map(([k]) => k)).toEqual(['acme|ip|b', 'acme|ip|c', 'acme|ip|d', 'acme|ip|a']);
    expect(state.hotEntity('acme', 'ip', 'b')).toBeUndefined();
    expect(state.hotState('acme|ip|a')?.activeWindows).toBe(2);

    const b = activity(state, 'b', 11 * W);
    expect(b.state.activeWindows).toBe(2);
    expect(b.state.lastSeen).toBe(11 * W);
  });

  it('keeps decoded entities in LRU order through reactivation, TTL eviction and record reuse', () => {
    const budget = new EntityBudget(1_000, 10);
    const state = new PartitionState('t', 0, 0, budget);
    activity(state, 'a', 0);
    activity(state, 'b', W);
    activity(state, 'c', 2 * W);
    activity(state, 'a', 10 * W); // a moves to the recent end
    expect([...state.idleEntries()].map(([k]) => k)).toEqual(['acme|ip|b', 'acme|ip|c', 'acme|ip|a']);

    state.watermark.observe(10 * W);
    expect(state.evict(5 * W)).toBe(2); // b and c last seen before the horizon; a is not
    expect([...state.idleEntries()].map(([k]) => k)).toEqual(['acme|ip|a']);
    expect(state.hotEntity('acme', 'ip', 'b')).toBeUndefined();

    activity(state, 'd', 11 * W); // on a reused record
    const e = state.makeHot('acme', 'ip', 'e', 12 * W); // hot: listed by hot, not by idleEntries
    e.openWindows += 1;
    expect([...state.idleEntries()].map(([k]) => k)).toEqual(['acme|ip|a', 'acme|ip|d']);
    expect([...state.hot.keys()]).toEqual(['acme|ip|e']);
    activity(state, 'a', 13 * W);
    expect([...state.idleEntries()].map(([k]) => k)).toEqual(['acme|ip|d', 'acme|ip|a']);
    expect(state.hotEntity('acme', 'ip', 'd')?.state.lastSeen).toBe(11 * W);
    expect(budget.count).toBe(3);
    expect(budget.warm).toBe(2);
  });

  it('keeps an entity with an open window out of packing and eviction, and counts it as hot', () => {
    const budget = new EntityBudget(1, 1);
    const state = new PartitionState('t', 0, 0, budget);
    const h = state.makeHot('acme', 'ip', 'busy', 0);
    h.openWindows += 1;
    const w = { windowStart: 0 } as OpenWindow;
    h.cur = w;
    activity(state, 'x', 0);
    activity(state, 'y', W);
    state.evict(7 * 86_400_000);

    expect(state.hot.size).toBe(1);
    expect(state.hotEntity('acme', 'ip', 'busy')).toBe(h);
    expect(budget.count).toBe(1);
    expect(budget.evicted).toBe(2);

    state.closeWindowOf(h, w);
    expect(state.hot.size).toBe(0);
    expect(state.idleCount).toBe(1);
  });
});
