import type Database from 'better-sqlite3';
import type { Checkpoint, CheckpointKey, CheckpointRepository } from '../ports/store.js';
import { CHECKPOINT_CHUNK_BYTES, checkpointChunks, joinChunks } from '../store/checkpoint-chunks.js';

interface Row {
  chunk: number;
  chunks: number;
  resume_offset: string;
  updated_at: number;
  data: Buffer;
}

/**
 * Checkpoints in SQLite (`checkpoints`, migration 0005_checkpoints): the chunks of the current checkpoint of a key,
 * replaced in one transaction when a put is at least as new (`updatedAt`), so a reader never sees a mix.
 */
export class SqliteCheckpointRepository implements CheckpointRepository {
  constructor(private readonly db: Database.Database) {}

  async put(c: Checkpoint): Promise<void> {
    const key = { g: c.consumerGroup, t: c.topic, p: c.partition };
    const parts = checkpointChunks(c.data, CHECKPOINT_CHUNK_BYTES);
    this.db
      .transaction(() => {
        const cur = this.db.prepare('SELECT MAX(updated_at) AS at FROM checkpoints WHERE consumer_group = @g AND topic = @t AND partition = @p').get(key) as
          | { at: number | null }
          | undefined;
        if (cur?.at != null && cur.at > c.updatedAt) return; // a newer checkpoint is stored
        this.db.prepare('DELETE FROM checkpoints WHERE consumer_group = @g AND topic = @t AND partition = @p').run(key);
        const ins = this.db.prepare(
          'INSERT INTO checkpoints (consumer_group, topic, partition, chunk, chunks, resume_offset, updated_at, data) VALUES (@g, @t, @p, @chunk, @chunks, @offset, @at, @data)',
        );
        parts.forEach((d, i) =>
          ins.run({ ...key, chunk: i, chunks: parts.length, offset: c.offset, at: c.updatedAt, data: Buffer.from(d.buffer, d.byteOffset, d.byteLength) }),
        );
      })
      .immediate();
  }

  async get(key: CheckpointKey): Promise<Checkpoint | null> {
    const rows = this.db
      .prepare('SELECT chunk, chunks, resume_offset, updated_at, data FROM checkpoints WHERE consumer_group = @g AND topic = @t AND partition = @p ORDER BY chunk')
      .all({ g: key.consumerGroup, t: key.topic, p: key.partition }) as Row[];
    const first = rows[0];
    if (!first || rows.length !== first.chunks || rows.some((r, i) => r.chunk !== i)) return null;
    return {
      consumerGroup: key.consumerGroup,
      topic: key.topic,
      partition: key.partition,
      data: joinChunks(rows.map((r) => new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength))),
      offset: first.resume_offset,
      updatedAt: first.updated_at,
    };
  }
}
