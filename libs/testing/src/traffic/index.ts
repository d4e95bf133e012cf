export * from './types.js';
export * from './prng.js';
export * from './diurnal.js';
export { ENDPOINTS, NETWORKS, SYMBOLS, buildPopulation, type Population, type Token, type Endpoint, type Network, type ClientIp } from './population.js';
export { DEPRECATED_VERSIONS } from './attacks.js';
export { renderRecord, routeOf, versionOf, clfTime, escapeNginx } from './render.js';
export { AUTHENTICATED_SHARE } from './traffic-model.js';
export * from './generator.js';
