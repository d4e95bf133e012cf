import { ManualClock } from '@vigil/platform';
import { MemoryRateLimiter } from './rate-limiter.js';

describe(MemoryRateLimiter.name, () => {
  it('allows `limit` requests per window and bucket, then refuses with the time left until the window resets', async () => {
    const clock = new ManualClock(0);
    const rl = new MemoryRateLimiter(3, 60_000, clock);
    const a = [];
    for (let i = 0; i < 3; i++) a.push(await rl.hit('key:a'));
    expect(a.map((d) => [d.allowed, d.remaining])).toEqual([[true, 2], [true, 1], [true, 0]]);
    clock.advance(20_000);
    expect(await rl.hit('key:a')).toEqual({ allowed: false, limit: 3, remaining: 0, resetInMs: 40_000 });
    expect(await rl.hit('key:b')).toMatchObject({ allowed: true, remaining: 2 });
    clock.advance(40_000);
    expect(await rl.hit('key:a')).toMatchObject({ allowed: true, remaining: 2, resetInMs: 60_000 });
  });
});
