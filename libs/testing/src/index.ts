export * from './endpoints.js';
export * from './wait-for.js';
export * from './contracts/work-queue.contract.js';
export * from './factories.js';
export * from './contracts/store.contract.js';
export * from './contracts/event-bus.contract.js';
export * from './contracts/audit-store.contract.js';
export * from './traffic/index.js';
