import { runService } from '@vigil/platform';
import { IngestAppModule } from './ingest.module.js';

await runService('ingest', IngestAppModule);
