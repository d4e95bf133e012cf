import { resolve } from 'node:path';
import { runService } from '@vigil/platform';
import { StandaloneModule } from './standalone.module.js';

const { url, config } = await runService('standalone', StandaloneModule);

// For the person who just ran `npm start`; stdout stays JSON lines for log shippers.
process.stderr.write(
  [
    '',
    `  Vigil standalone is up at ${url}`,
    `    health   ${url}/health`,
    `    metrics  ${url}/metrics`,
    `    data     ${resolve(config.dataDir)}`,
    '',
    '',
  ].join('\n'),
);
