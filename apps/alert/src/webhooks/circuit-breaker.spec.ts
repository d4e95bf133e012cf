import { ManualClock } from '@vigil/platform';
import { CircuitBreakers } from './circuit-breaker.js';

function setup() {
  const clock = new ManualClock(1_000_000);
  return { clock, b: new CircuitBreakers({ threshold: 3, cooldownMs: 10_000 }, clock) };
}

describe(CircuitBreakers.name, () => {
  it('stays closed below the threshold and a success resets the count', () => {
    const { b } = setup();
    b.failure('a');
    b.failure('a');
    b.success('a');
    b.failure('a');
    b.failure('a');
    expect(b.state('a')).toBe('closed');
    expect(b.acquire('a')).toEqual({ allow: true, trial: false });
  });

  it('opens after N consecutive failures and asks callers to come back when the cool-down ends', () => {
    const { b, clock } = setup();
    for (let i = 0; i < 3; i++) b.failure('a');
    expect(b.state('a')).toBe('open');
    clock.advance(4_000);
    expect(b.acquire('a')).toEqual({ allow: false, retryInMs: 6_000 });
    expect(b.acquire('other')).toEqual({ allow: true, trial: false });
  });

  it('goes half-open after the cool-down, lets exactly one trial through, and closes on its success', () => {
    const { b, clock } = setup();
    for (let i = 0; i < 3; i++) b.failure('a');
    clock.advance(10_000);
    expect(b.state('a')).toBe('half-open');
    expect(b.acquire('a')).toEqual({ allow: true, trial: true });
    expect(b.acquire('a')).toEqual({ allow: false, retryInMs: 10_000 });
    b.success('a');
    expect(b.state('a')).toBe('closed');
    expect(b.acquire('a')).toEqual({ allow: true, trial: false });
  });

  it('re-opens for a full cool-down when the trial fails', () => {
    const { b, clock } = setup();
    for (let i = 0; i < 3; i++) b.failure('a');
    clock.advance(10_000);
    expect(b.acquire('a')).toMatchObject({ allow: true, trial: true });
    clock.advance(500);
    b.failure('a');
    expect(b.state('a')).toBe('open');
    expect(b.acquire('a')).toEqual({ allow: false, retryInMs: 10_000 });
  });

  it('allows another trial when the previous one never reported back within a cool-down', () => {
    const { b, clock } = setup();
    for (let i = 0; i < 3; i++) b.failure('a');
    clock.advance(10_000);
    expect(b.acquire('a')).toMatchObject({ allow: true });
    clock.advance(10_000);
    expect(b.acquire('a')).toEqual({ allow: true, trial: true });
  });
});
