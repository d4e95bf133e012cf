import { runService } from '@vigil/platform';
import { DetectorAppModule } from './detector.module.js';

await runService('detector', DetectorAppModule);
