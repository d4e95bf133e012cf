import { resolve } from 'node:path';
import { ApiKeysService } from '@vigil/alert/api-keys/api-keys.service';
import { runService } from '@vigil/platform';
import { StandaloneModule } from './standalone.module.js';

const { app, url, config } = await runService('standalone', StandaloneModule);
// First run: an admin API key, printed once below (only its hash is stored).
const bootstrapKey = await app.get(ApiKeysService).createAdminKeyIfNone(config.tenant);

// For the person who just ran `npm start`; stdout stays JSON lines for log shippers.
process.stderr.write(
  [
    '',
    `  Vigil standalone is up at ${url}`,
    `    health   ${url}/health`,
    `    metrics  ${url}/metrics`,
    `    data     ${resolve(config.dataDir)}`,
    ...(bootstrapKey
      ? ['', `  Admin API key (shown once, store it now): ${bootstrapKey.token}`, `    e.g. curl -H 'Authorization: Bearer <key>' ${url}/v1/api-keys`]
      : []),
    '',
    '',
  ].join('\n'),
);
