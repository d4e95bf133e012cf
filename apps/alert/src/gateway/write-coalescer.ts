/**
 * One socket write per client per burst of broadcasts, instead of one per event.
 *
 * socket.io encodes a broadcast once (and pre-computes its WebSocket frame), but engine.io then writes it to each
 * client's TCP socket on its own: a batch announcing an anomaly and the incident it opened costs two write syscalls
 * per client, and with 1,000 clients those syscalls are nearly all of the server's CPU per event (and the clients
 * read each one separately). While a burst is under way (everything broadcast in one turn of the event loop), the
 * websocket connections it reaches hold their packets in engine.io's own write buffer; at the end of the turn each
 * one flushes them with its TCP socket corked, so the burst's frames leave in one write. Order is engine.io's
 * buffer order, nothing is dropped, and nothing else about the packets changes (same frames, same bytes).
 *
 * It hooks the namespace adapter's `apply` (the loop over the target sockets of every broadcast, local or relayed
 * by the Redis adapter from another instance). That and the engine.io fields it touches (`transport.writable`,
 * `flush()`, the ws TCP socket) are internals: when a connection does not look as expected it is left alone and
 * writes as it always did.
 */

interface CorkableSocket {
  cork(): void;
  uncork(): void;
}

/** The parts of an engine.io socket (`socket.conn`) this relies on. */
interface EngineConnection {
  readyState: string;
  transport: { name: string; writable: boolean; socket?: { _socket?: Partial<CorkableSocket> } };
  flush?: () => void;
}

interface AdapterWithApply {
  apply(opts: unknown, callback: (socket: { conn: unknown }) => void): void;
}

export class WriteCoalescer {
  private held = new Set<EngineConnection>();
  private scheduled = false;
  private readonly release = (): void => this.flush();

  /** `onError`: a connection whose flush threw (the others are still flushed). */
  constructor(private readonly onError: (err: unknown) => void = () => undefined) {}

  /**
   * Patch a socket.io adapter instance so every socket a broadcast reaches is held until the end of the turn.
   * Returns false (and changes nothing) if the adapter has no `apply` to hook.
   */
  static attach(adapter: unknown, coalescer = new WriteCoalescer()): boolean {
    const a = adapter as Partial<AdapterWithApply>;
    if (typeof a.apply !== 'function') return false;
    const apply = a.apply.bind(adapter);
    (adapter as AdapterWithApply).apply = (opts, callback) => {
      // A volatile broadcast is not held (engine.io drops a volatile packet to a socket that is not writable; one
      // that comes after a held packet in the same turn is dropped, as it is while any write is in flight).
      if ((opts as { flags?: { volatile?: boolean } } | undefined)?.flags?.volatile) return apply(opts, callback);
      apply(opts, (socket) => {
        coalescer.hold(socket.conn);
        callback(socket);
      });
    };
    return true;
  }

  /** Hold a connection's writes until the end of this turn (only an idle websocket; anything else is left alone). */
  hold(conn: unknown): void {
    const c = conn as Partial<EngineConnection> | undefined;
    const t = c?.transport;
    if (!c || !t || t.name !== 'websocket' || !t.writable || c.readyState !== 'open' || typeof c.flush !== 'function') return;
    t.writable = false; // engine.io buffers what is written meanwhile (as it does while a write is in flight)
    this.held.add(c as EngineConnection);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.release);
    }
  }

  /** Number of connections held right now (for tests). */
  get holding(): number {
    return this.held.size;
  }

  /** Let every held connection write what it buffered, in one corked write each. */
  flush(): void {
    const held = this.held;
    this.held = new Set();
    this.scheduled = false;
    for (const c of held) {
      c.transport.writable = true;
      const raw = c.transport.socket?._socket;
      const corkable = typeof raw?.cork === 'function' && typeof raw.uncork === 'function';
      if (corkable) raw.cork!();
      try {
        c.flush!();
      } catch (err) {
        this.onError(err);
      } finally {
        if (corkable) raw.uncork!();
      }
    }
  }
}
