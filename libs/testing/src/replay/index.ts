export * from './read-lines.js';
export * from './speed.js';
export * from './shippers.js';
export * from './replay.js';
