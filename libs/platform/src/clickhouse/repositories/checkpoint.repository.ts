import { randomUUID } from 'node:crypto';
import type { Checkpoint, CheckpointKey, CheckpointRepository } from '../../ports/store.js';
import type { ClickHouseDb } from '../clickhouse-db.js';
import { num, str } from '../rows.js';
import { sql, type Sql } from '../sql.js';
import { CHECKPOINT_CHUNK_BYTES, checkpointChunks, joinChunks } from '../../store/checkpoint-chunks.js';

const TABLE = 'checkpoints';

/**
 * Checkpoints on ClickHouse (`checkpoints`, migration 0005_checkpoints). A put is ONE insert of all its chunks
 * (one part, so it lands whole or not at all), each chunk base64 in a String column. Reads go through FINAL: per
 * chunk the highest `updated_at` survives; chunk 0 names the current write (`write_id`, `chunks`) and every chunk
 * of that write must be present, else the checkpoint reads as absent rather than as a mix of two writes.
 * Chunks are fetched one query each, so a state of hundreds of MB never becomes one giant string.
 */
export class ClickHouseCheckpointRepository implements CheckpointRepository {
  constructor(private readonly db: ClickHouseDb) {}

  async put(c: Checkpoint): Promise<void> {
    const writeId = randomUUID();
    const parts = checkpointChunks(c.data, CHECKPOINT_CHUNK_BYTES);
    await this.db.insert(
      TABLE,
      parts.map((p, i) => ({
        consumer_group: c.consumerGroup,
        topic: c.topic,
        partition: c.partition,
        chunk: i,
        chunks: parts.length,
        write_id: writeId,
        resume_offset: c.offset,
        updated_at: c.updatedAt,
        data: Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64'),
      })),
    );
  }

  async get(key: CheckpointKey): Promise<Checkpoint | null> {
    const k = this.where(key);
    const head = await this.db.select(
      sql`SELECT chunk, chunks, write_id, resume_offset, updated_at FROM ${this.db.table(TABLE)} FINAL WHERE ${k} ORDER BY chunk`,
    );
    const first = head.find((r) => num(r, 'chunk') === 0);
    if (!first) return null;
    const writeId = str(first, 'write_id');
    const chunks = num(first, 'chunks');
    const current = head.filter((r) => str(r, 'write_id') === writeId);
    if (current.length !== chunks || current.some((r, i) => num(r, 'chunk') !== i)) return null; // torn or superseded
    const parts: Uint8Array[] = [];
    for (let i = 0; i < chunks; i++) {
      const rows = await this.db.select(
        sql`SELECT write_id, data FROM ${this.db.table(TABLE)} FINAL WHERE ${k} AND chunk = ${i}`,
      );
      const row = rows[0];
      if (!row || str(row, 'write_id') !== writeId) return null; // replaced while reading: the caller may retry
      parts.push(Buffer.from(str(row, 'data'), 'base64'));
    }
    return {
      consumerGroup: key.consumerGroup,
      topic: key.topic,
      partition: key.partition,
      data: joinChunks(parts),
      offset: str(first, 'resume_offset'),
      updatedAt: num(first, 'updated_at'),
    };
  }

  private where(key: CheckpointKey): Sql {
    if (!Number.isInteger(key.partition) || key.partition < 0) throw new RangeError(`partition must be a non-negative integer (got ${key.partition})`);
    return sql`consumer_group = ${key.consumerGroup} AND topic = ${key.topic} AND partition = ${key.partition}`;
  }
}
