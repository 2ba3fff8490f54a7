/**
 * A scripted OVSDB server for client tests: a unix socket whose every request goes to a test's
 * handler, which answers with exact bytes (several messages in one write, so the client reads
 * them from one chunk), delays, silence or a hang-up. This makes interleavings that a real
 * server produces only now and then (a monitor's reply and the next update in one TCP segment,
 * a member that stops answering) happen on every run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonStream } from '@ovnts/ovsdb';

/** A request the scripted server received. */
export interface ScriptedRequest {
  readonly method: string;
  readonly params: unknown[];
  readonly id: unknown;
}

/** One client connection of a scripted server. */
export class ScriptedConn {
  /** Every request received on it, in order. */
  readonly requests: ScriptedRequest[] = [];
  constructor(private readonly socket: Socket) {}

  /** Send messages in one write (one chunk for the reader). */
  send(...msgs: unknown[]): void {
    if (!this.socket.destroyed) this.socket.write(msgs.map((m) => JSON.stringify(m)).join(''));
  }

  /** The reply to request `id`. */
  static reply(id: unknown, result: unknown): Record<string, unknown> {
    return { id, result, error: null };
  }

  /** A notification. */
  static notify(method: string, params: unknown[]): Record<string, unknown> {
    return { id: null, method, params };
  }

  /** Hang up. */
  close(): void {
    this.socket.destroy();
  }
}

/** What a script does with one request (`conn.send` to answer; nothing to stay silent). */
export type Script = (conn: ScriptedConn, req: ScriptedRequest) => void;

/** A scripted server on a temporary unix socket. */
export class ScriptedServer {
  /** Every connection accepted, in order. */
  readonly conns: ScriptedConn[] = [];

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    /** `unix:PATH` of the server. */
    readonly remote: string,
  ) {}

  /** Listen; `script` answers every request of every connection. */
  static async start(script: Script): Promise<ScriptedServer> {
    const dir = mkdtempSync(join(tmpdir(), 'ovnts-scripted-'));
    const path = join(dir, 'db.sock');
    let self: ScriptedServer | undefined;
    const server = createServer((socket) => {
      socket.on('error', () => socket.destroy());
      const conn = new ScriptedConn(socket);
      self!.conns.push(conn);
      const stream = new JsonStream();
      socket.on('data', (chunk: Buffer) => {
        for (const v of stream.push(chunk)) {
          const m = v as { method?: string; params?: unknown[]; id?: unknown };
          if (typeof m.method !== 'string') continue;
          const req = { method: m.method, params: m.params ?? [], id: m.id };
          conn.requests.push(req);
          script(conn, req);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    self = new ScriptedServer(server, dir, `unix:${path}`);
    return self;
  }

  /** Stop listening and drop every connection. */
  async stop(): Promise<void> {
    for (const c of this.conns) c.close();
    await new Promise<void>((r) => this.server.close(() => r()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What a scripted member says about itself (mutable: a test changes it between connections). */
export interface MemberState {
  connected?: boolean;
  leader?: boolean;
  index?: number;
  /** Answer nothing at all (a member behind a silent partition). */
  silent?: boolean;
}

/**
 * A clustered member serving database `db` (schema `schema`) with no rows: it answers the
 * replica's requests as `state` says, `monitor_cond_since` with empty contents as of `txn-1`.
 */
export function member(db: string, schema: unknown, state: MemberState): Script {
  return (conn, req) => {
    if (state.silent) return;
    const known = memberAnswer(req, db, schema, state);
    if (known !== undefined) conn.send(ScriptedConn.reply(req.id, known));
    else if (req.method === 'monitor_cond_since') conn.send(ScriptedConn.reply(req.id, [false, 'txn-1', {}]));
  };
}

/**
 * The answers of a healthy clustered member serving database `db` with schema `schema`, for
 * the requests a replica makes before it monitors the database itself (`_Server` select and
 * monitor, `get_schema`, echo); undefined for any other request.
 */
export function memberAnswer(req: ScriptedRequest, db: string, schema: unknown, status: { connected?: boolean; leader?: boolean; index?: number } = {}): unknown {
  const row = { name: db, model: 'clustered', connected: status.connected ?? true, leader: status.leader ?? true, index: status.index ?? 1 };
  switch (req.method) {
    case 'transact':
      return [{ rows: [row] }];
    case 'monitor_cond':
      return { Database: { '11111111-1111-1111-1111-111111111111': { initial: row } } };
    case 'get_schema':
      return schema;
    case 'echo':
      return req.params;
    default:
      return undefined;
  }
}
