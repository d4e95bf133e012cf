import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCheckpointRepository } from './checkpoint.repository.js';

describe(SqliteCheckpointRepository.name, () => {
  const key = { group: 'vigil-detector', topic: 'vigil.access-events', partition: 3 };

  async function withRepo(run: (repo: SqliteCheckpointRepository, path: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-ckpt-'));
    const repo = await SqliteCheckpointRepository.open(join(dir, 'vigil.sqlite'));
    try {
      await run(repo, join(dir, 'vigil.sqlite'));
    } finally {
      await repo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('round-trips a multi-megabyte checkpoint byte for byte, across a reopen', async () => {
    await withRepo(async (repo, path) => {
      const bytes = new Uint8Array(2_500_000).map((_, i) => (i * 31 + 7) & 0xff);
      await repo.save(key, 1201, bytes);
      const again = await SqliteCheckpointRepository.open(path);
      const got = await again.load(key);
      await again.close();
      expect(got?.version).toBe(1201);
      expect(Buffer.from(got!.bytes).equals(Buffer.from(bytes))).toBe(true);
    });
  });

  it('keeps the newest checkpoint: a smaller one replaces it, an older version does not', async () => {
    await withRepo(async (repo) => {
      await repo.save(key, 100, new Uint8Array(2_000_000).fill(1));
      await repo.save(key, 200, Uint8Array.from([2, 2]));
      await repo.save(key, 150, Uint8Array.from([9])); // a late write from an instance that lost the partition
      const got = await repo.load(key);
      expect(got?.version).toBe(200);
      expect([...got!.bytes]).toEqual([2, 2]);
    });
  });

  it('has nothing for a partition never checkpointed, nor for another group', async () => {
    await withRepo(async (repo) => {
      await repo.save(key, 5, Uint8Array.from([1]));
      expect(await repo.load({ ...key, partition: 4 })).toBeNull();
      expect(await repo.load({ ...key, group: 'other' })).toBeNull();
    });
  });
});
