/**
 * Keyset cursor for incident pages: the (lastSeen, id) of the last item returned.
 * Opaque to callers (base64url JSON); nothing in it depends on the adapter, so any Store can reuse it.
 */
export interface IncidentCursor {
  lastSeen: number;
  id: string;
}

export class InvalidCursorError extends Error {
  constructor(cursor: string) {
    super(`Invalid page cursor ${JSON.stringify(cursor.length > 64 ? cursor.slice(0, 61) + '...' : cursor)}`);
    this.name = 'InvalidCursorError';
  }
}

export function encodeIncidentCursor(c: IncidentCursor): string {
  return Buffer.from(JSON.stringify([c.lastSeen, c.id]), 'utf8').toString('base64url');
}

export function decodeIncidentCursor(cursor: string): IncidentCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(cursor);
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new InvalidCursorError(cursor);
  const [lastSeen, id] = parsed as unknown[];
  if (typeof lastSeen !== 'number' || !Number.isSafeInteger(lastSeen) || lastSeen < 0 || typeof id !== 'string') {
    throw new InvalidCursorError(cursor);
  }
  return { lastSeen, id };
}
