/**
 * An OVSDB client: one JSON-RPC connection to a server (ours, or a real ovsdb-server), with
 * requests matched to replies by id, notifications delivered to a handler, and the server's
 * "echo" requests (inactivity probes) answered. Reconnection and following a database across
 * servers are `OvsdbReplica`'s job (replica.ts); this class is one connection.
 *
 * With `probeIntervalMs`, the client probes the server as OVS's reconnect FSM does: after that
 * long without receiving anything it sends an "echo" request, and if nothing at all arrives
 * within another interval it closes the connection ("no response to inactivity probe"), so a
 * server behind a silent network partition is noticed. Any bytes received count as activity.
 */
import { OvsdbConnectionError, OvsdbRpcError, OvsdbTxnError, type OvsdbErrorJson } from './errors.js';
import { openSocket, parseRemote, RpcConnection, type RpcMessage } from './rpc.js';

/** A notification from the server (update, update2, update3, locked, stolen, ...). */
export type NotificationHandler = (method: string, params: unknown[]) => void;

/** One client connection. */
export class OvsdbClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { method: string; resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly handlers = new Set<NotificationHandler>();
  private readonly closeHandlers = new Set<(reason?: Error) => void>();
  private conn!: RpcConnection;
  private closedWith: Error | undefined;
  private isClosed = false;
  private lastRx = performance.now();
  private probeTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    /** The remote this client is connected to. */
    readonly remote: string,
  ) {}

  /**
   * Connect to `unix:PATH` or `tcp:HOST:PORT`. `timeoutMs`: for the connection to open;
   * `probeIntervalMs`: inactivity probe interval (absent or 0: none; see the module comment).
   */
  static async connect(remote: string, opts: { timeoutMs?: number; probeIntervalMs?: number } = {}): Promise<OvsdbClient> {
    const socket = await openSocket(parseRemote(remote), opts.timeoutMs).catch((e: unknown) => {
      throw new OvsdbConnectionError(`${remote}: ${e instanceof Error ? e.message : String(e)}`);
    });
    const c = new OvsdbClient(remote);
    c.conn = new RpcConnection(socket, { message: (m) => c.onMessage(m), close: (r) => c.closedBy(r) });
    const probe = opts.probeIntervalMs ?? 0;
    if (probe > 0) {
      socket.on('data', () => (c.lastRx = performance.now()));
      c.armProbe(probe, probe, undefined);
    }
    return c;
  }

  /**
   * Check for inactivity in `delay` ms. Active (`sentAt` undefined): after `interval` without
   * input, send an echo and wait (`sentAt` = when). Waiting: anything received since the echo
   * makes the connection active again; nothing within `interval` closes it.
   */
  private armProbe(interval: number, delay: number, sentAt: number | undefined): void {
    this.probeTimer = setTimeout(() => {
      if (this.isClosed) return;
      const now = performance.now();
      if (sentAt === undefined || this.lastRx > sentAt) {
        const idle = now - this.lastRx;
        if (idle < interval) return this.armProbe(interval, Math.max(1, interval - idle), undefined);
        this.request('echo', []).catch(() => undefined);
        return this.armProbe(interval, interval, now);
      }
      // Timers run before the event loop reads its sockets: an answer that arrived while the
      // process was busy is read first (setImmediate runs after the poll phase).
      setImmediate(() => {
        if (this.isClosed) return;
        if (this.lastRx > sentAt) this.armProbe(interval, Math.max(1, interval - (performance.now() - this.lastRx)), undefined);
        else this.conn.close(new OvsdbConnectionError(`${this.remote}: no response to inactivity probe after ${((performance.now() - sentAt) / 1000).toFixed(1)} s`));
      });
    }, delay);
    this.probeTimer.unref?.();
  }

  private onMessage(m: RpcMessage): void {
    switch (m.type) {
      case 'reply':
      case 'error': {
        const w = typeof m.id === 'number' ? this.waiting.get(m.id) : undefined;
        if (!w) return;
        this.waiting.delete(m.id as number);
        if (m.type === 'reply') w.resolve(m.result);
        else w.reject(new OvsdbRpcError(w.method, m.error));
        return;
      }
      case 'request':
        if (m.method === 'echo') this.conn.reply(m.id, m.params);
        else this.conn.error(m.id, 'unknown method');
        return;
      case 'notify':
        for (const h of this.handlers) h(m.method, m.params);
        return;
    }
  }

  private closedBy(reason?: Error): void {
    this.isClosed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.closedWith = reason;
    const err = new OvsdbConnectionError(`${this.remote}: connection closed${reason ? ` (${reason.message})` : ''}`);
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    for (const h of this.closeHandlers) h(reason);
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Why the connection closed, when it was an error. */
  get closeReason(): Error | undefined {
    return this.closedWith;
  }

  /** Call `h` for every notification; returns an unsubscribe function. */
  onNotification(h: NotificationHandler): () => void {
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }

  /** Call `h` when the connection closes. */
  onClose(h: (reason?: Error) => void): () => void {
    this.closeHandlers.add(h);
    return () => this.closeHandlers.delete(h);
  }

  /** Send a request; resolves with its result, rejects with `OvsdbRpcError` or `OvsdbConnectionError`. */
  request(method: string, params: unknown[]): Promise<unknown> {
    if (this.isClosed) return Promise.reject(new OvsdbConnectionError(`${this.remote}: connection closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { method, resolve, reject });
      this.conn.request(method, params, id);
    });
  }

  /** Send a notification (e.g. "cancel"). */
  notify(method: string, params: unknown[]): void {
    this.conn.notify(method, params);
  }

  /** Send raw bytes (for tests of malformed input). */
  sendRaw(bytes: string | Uint8Array): void {
    this.conn.socket.write(bytes);
  }

  /** `list_dbs`. */
  async listDbs(): Promise<string[]> {
    return (await this.request('list_dbs', [])) as string[];
  }

  /** `get_schema`. */
  getSchema(db: string): Promise<unknown> {
    return this.request('get_schema', [db]);
  }

  /** `transact`: the results array (operation errors are in it, not thrown). */
  async transact(db: string, ...ops: unknown[]): Promise<unknown[]> {
    return (await this.request('transact', [db, ...ops])) as unknown[];
  }

  /** `transact`, throwing `OvsdbTxnError` when any result is an error. */
  async transactOk(db: string, ...ops: unknown[]): Promise<unknown[]> {
    const r = await this.transact(db, ...ops);
    const e = r.find((x): x is OvsdbErrorJson => typeof x === 'object' && x !== null && typeof (x as { error?: unknown }).error === 'string');
    if (e) throw new OvsdbTxnError(e, r);
    return r;
  }

  /** `echo`. */
  echo(...params: unknown[]): Promise<unknown> {
    return this.request('echo', params);
  }

  /** Close the connection. */
  close(): void {
    this.conn.close();
  }
}
