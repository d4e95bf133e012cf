import { createRequire } from 'node:module';

/**
 * A `require` that loads kafkajs's internal modules (as Node loads kafkajs for the bus), or null when kafkajs is not
 * 2.2.x: the runtime patches (kafkajs-encoding.ts, kafkajs-socket.ts) replace internals of that version only, and any
 * other version keeps its own code.
 */
export function kafkajs22Require(): NodeJS.Require | null {
  const require = createRequire(import.meta.url);
  try {
    const { version } = require('kafkajs/package.json') as { version: string };
    return version.startsWith('2.2.') ? require : null;
  } catch {
    return null;
  }
}
