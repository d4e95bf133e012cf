export * from './endpoints.js';
export * from './wait-for.js';
