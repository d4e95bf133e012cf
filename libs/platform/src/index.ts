export * from './ports/event-bus.js';
export * from './ports/store.js';
export * from './ports/work-queue.js';
export * from './clock/clock.js';
export * from './config/config.js';
