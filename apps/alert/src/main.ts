import { runService } from '@vigil/platform';
import { AlertAppModule } from './alert.module.js';

await runService('alert', AlertAppModule);
