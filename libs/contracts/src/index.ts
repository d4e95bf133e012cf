export * from './topics.js';
export * from './common.js';
export * from './access-event.js';
export * from './anomaly.js';
export * from './incident.js';
export * from './webhook.js';
export * from './socket-events.js';
export * from './auth.js';
