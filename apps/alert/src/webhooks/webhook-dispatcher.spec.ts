import { anIncident, aWebhookSubscription } from '@vigil/testing';
import { SUBSCRIPTION_CLOCK_SKEW_MS, subscriptionMatches } from './webhook-dispatcher.js';

describe(subscriptionMatches.name, () => {
  const created = Date.UTC(2026, 10, 29, 12, 0, 0);
  const sub = aWebhookSubscription({ tenant: 'acme', events: ['incident.opened'], minSeverity: 'medium', createdAt: created });
  const incident = anIncident({ tenant: 'acme', severity: 'high' });

  it.each([
    ['after the subscription was created', true, created + 1],
    ['at its creation', true, created],
    ['within the clock slack before it', true, created - SUBSCRIPTION_CLOCK_SKEW_MS],
    ['further back than the slack', false, created - SUBSCRIPTION_CLOCK_SKEW_MS - 1],
    ['a day before it (history on the topic)', false, created - 86_400_000],
    ['without a time (counts as now)', true, undefined],
  ])('an event that happened %s is delivered: %s', (_what, want, at) => {
    expect(subscriptionMatches(sub, { type: 'incident.opened', incident, at })).toBe(want);
  });

  it('still filters on tenant, event type, severity and state whatever the time', () => {
    const at = created + 1;
    expect(subscriptionMatches(sub, { type: 'incident.opened', incident: anIncident({ tenant: 'globex', severity: 'high' }), at })).toBe(false);
    expect(subscriptionMatches(sub, { type: 'incident.resolved', incident, at })).toBe(false);
    expect(subscriptionMatches(sub, { type: 'incident.opened', incident: anIncident({ tenant: 'acme', severity: 'low' }), at })).toBe(false);
    expect(subscriptionMatches({ ...sub, enabled: false }, { type: 'incident.opened', incident, at })).toBe(false);
    expect(subscriptionMatches({ ...sub, deleted: true }, { type: 'incident.opened', incident, at })).toBe(false);
  });
});
