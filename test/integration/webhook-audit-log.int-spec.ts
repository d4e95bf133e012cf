import { jest } from '@jest/globals';
import { auditStoreContract, onBothStoreAdapters } from '@vigil/testing';

/** The audit log (webhook/api-key administration) through both Store adapters: SQLite and the real ClickHouse. */
jest.setTimeout(30_000);
onBothStoreAdapters(auditStoreContract, { prefix: 'vigil_audit', now: 0 });
