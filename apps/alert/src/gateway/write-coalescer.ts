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
 * A held connection whose buffered packets are all broadcast frames socket.io pre-computed (the usual case: the burst's
 * broadcasts and nothing else) writes them as one buffer: the frames joined once per burst for every connection that
 * holds the same sequence, one `write` per connection (instead of two writes per frame into a corked stream and a
 * writev of all the pieces, each with its callback). engine.io still does its own bookkeeping (its flush, the drain
 * and its send callbacks); only the transport's send of those packets is one write, with engine.io's own completion
 * callback (`_onSentLast`) on it.
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

interface RawSocket extends CorkableSocket {
  write(chunk: Buffer, cb: (err?: Error | null) => void): boolean;
}

/** An engine.io packet as buffered in `writeBuffer`; `wsPreEncodedFrame` is the [header, payload] socket.io computed. */
interface EnginePacket {
  options?: { wsPreEncodedFrame?: readonly Buffer[] };
}

/** The parts of an engine.io websocket transport this relies on. */
interface EngineTransport {
  name: string;
  writable: boolean;
  socket?: { _socket?: Partial<RawSocket>; _sender?: { sendFrame?: unknown } };
  send(packets: EnginePacket[]): void;
  _canSendPreEncodedFrame?: (packet: EnginePacket) => boolean;
  _onSentLast?: (err?: Error | null) => void;
  [JOINED]?: Buffer | null;
}

/** The parts of an engine.io socket (`socket.conn`) this relies on. */
interface EngineConnection {
  readyState: string;
  transport: EngineTransport;
  writeBuffer?: EnginePacket[];
  flush?: () => void;
}

/** On a transport: the joined frames its next `send` writes (set by the coalescer's flush just around engine.io's). */
const JOINED = Symbol('vigil.joinedFrames');

/**
 * The `send` installed on a websocket transport the coalescer flushes: the packets engine.io hands over are exactly
 * the ones the coalescer joined (it checked the buffer just before), so they go out as one write; any other send
 * (a ping, a flush engine.io starts on its own) is the transport's own.
 */
function joinedSend(this: EngineTransport, packets: EnginePacket[]): void {
  const joined = this[JOINED];
  if (!joined) return (Object.getPrototypeOf(this) as EngineTransport).send.call(this, packets);
  this[JOINED] = null;
  this.writable = false;
  this.socket!._socket!.write!(joined, this._onSentLast!);
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

  /** Let every held connection write what it buffered, in one write each (corked, unless its frames are joined). */
  flush(): void {
    const held = this.held;
    this.held = new Set();
    this.scheduled = false;
    const joins = new Joins();
    for (const c of held) {
      c.transport.writable = true;
      const joined = joins.of(c);
      if (joined) {
        const t = c.transport;
        if (t.send !== joinedSend) t.send = joinedSend;
        t[JOINED] = joined;
        try {
          c.flush!();
        } catch (err) {
          this.onError(err);
        } finally {
          t[JOINED] = null;
        }
        continue;
      }
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

/**
 * The joined frames of the connections one flush lets go: connections that buffered the same broadcasts (the same
 * pre-computed frame objects, in the same order) share one buffer, joined once.
 */
class Joins {
  /** By the first packet's frame: the sequences seen starting with it, and their joined bytes. */
  private readonly byFirst = new Map<readonly Buffer[], { frames: (readonly Buffer[])[]; joined: Buffer }[]>();

  /** The joined frames to write for this connection, or null when it must write as engine.io does. */
  of(c: EngineConnection): Buffer | null {
    const t = c.transport;
    const packets = c.writeBuffer;
    const raw = t.socket?._socket;
    if (!packets?.length || typeof raw?.write !== 'function' || typeof t._onSentLast !== 'function' || typeof t._canSendPreEncodedFrame !== 'function') return null;
    const frames: (readonly Buffer[])[] = [];
    for (const p of packets) {
      const f = p.options?.wsPreEncodedFrame;
      if (!f || !t._canSendPreEncodedFrame(p)) return null;
      frames.push(f);
    }
    const first = frames[0]!;
    let seen = this.byFirst.get(first);
    if (!seen) this.byFirst.set(first, (seen = []));
    for (const s of seen) if (s.frames.length === frames.length && s.frames.every((f, i) => f === frames[i])) return s.joined;
    const joined = Buffer.concat(frames.flat());
    seen.push({ frames, joined });
    return joined;
  }
}
