/**
 * Running real `ovn-nbctl` against two servers so their outputs compare byte for byte.
 *
 * The servers pick random uuids for inserted rows, and ovn-nbctl prints rows in an order that
 * follows the uuids (its own hash tables, sets sorted by uuid). So the test puts a tap in front of
 * each server: the tap on the real ovsdb-server records, for each "transact" reply, the uuid each
 * "insert" got; the tap on ours adds those uuids to the same inserts of the same transaction (the
 * "uuid" member of "insert", an Open vSwitch extension both servers accept) and rewrites the
 * transaction's references to those rows by name into the same uuids. Both databases then
 * hold the same rows under the same uuids, and everything else is left to the servers.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { JsonStream, formatJson } from '@ovnts/ovsdb';

interface Msg {
  method?: string;
  params?: unknown[];
  result?: unknown;
  id?: unknown;
}

/**
 * Uuids of the inserts of one transaction, by what each inserted (table and row, names of other
 * new rows masked): ovn-nbctl orders a transaction's operations by its own hash tables, so the
 * same command's inserts come in another order on the other server.
 */
export type InsertUuids = Map<string, string[]>;

/** What an insert operation inserts, as a key of `InsertUuids`. */
function insertKey(op: Record<string, unknown>): string {
  return formatJson([op.table, op.row], { sort: true }).replace(/\["named-uuid","[^"]*"\]/g, '<new>');
}

function isInsert(op: unknown): boolean {
  return typeof op === 'object' && op !== null && (op as { op?: unknown }).op === 'insert';
}

/** A JSON-RPC tap on a unix socket in front of a server's unix socket. */
export class RpcTap {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Per "transact" with inserts, in order: the uuids its inserts got (real side). */
  readonly recorded: InsertUuids[] = [];
  /** Transactions (with inserts) whose uuids were supplied (ours side). */
  injected = 0;
  private nextInject = 0;

  private constructor(
    readonly path: string,
    private readonly target: string,
    private readonly inject: readonly InsertUuids[] | undefined,
  ) {
    this.server = createServer((c) => this.session(c));
  }

  /** Listen on `path`, forwarding to the unix socket `target`; `inject` makes it the ours-side tap. */
  static async start(path: string, target: string, inject?: readonly InsertUuids[]): Promise<RpcTap> {
    const t = new RpcTap(path, target, inject);
    await new Promise<void>((r, j) => {
      t.server.once('error', j);
      t.server.listen(path, () => r());
    });
    return t;
  }

  private session(client: Socket): void {
    const upstream = connect(this.target);
    this.sockets.add(client).add(upstream);
    const pending = new Map<string, unknown[]>();
    const fromClient = new JsonStream();
    const fromServer = new JsonStream();
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk) => {
      for (const m of fromClient.push(chunk) as Msg[]) {
        if (m.method === 'transact' && Array.isArray(m.params)) {
          pending.set(formatJson(m.id), m.params);
          if (this.inject) this.addUuids(m.params);
        }
        upstream.write(formatJson(m));
      }
    });
    upstream.on('data', (chunk) => {
      client.write(chunk);
      for (const m of fromServer.push(chunk) as Msg[]) {
        if (m.method !== undefined || m.id === undefined || m.id === null) continue;
        const params = pending.get(formatJson(m.id));
        if (!params) continue;
        pending.delete(formatJson(m.id));
        if (!this.inject && params.some(isInsert)) {
          const u: InsertUuids = new Map();
          const results = Array.isArray(m.result) ? (m.result as unknown[]) : [];
          params.slice(1).forEach((op, i) => {
            const r = results[i] as { uuid?: [string, string] } | null | undefined;
            if (!isInsert(op) || !r?.uuid) return;
            const k = insertKey(op as Record<string, unknown>);
            u.set(k, [...(u.get(k) ?? []), r.uuid[1]]);
          });
          this.recorded.push(u);
        }
      }
    });
  }

  /** Give the inserts of the next transaction with inserts the uuids the real server chose. */
  private addUuids(params: unknown[]): void {
    if (!params.some(isInsert)) return;
    const u = this.inject![this.nextInject++];
    if (!u) return;
    this.injected++;
    const named = new Map<string, string>();
    for (const op of params.slice(1) as Record<string, unknown>[]) {
      if (!isInsert(op)) continue;
      const uuid = u.get(insertKey(op))?.shift();
      if (uuid === undefined) continue;
      op.uuid = uuid;
      if (typeof op['uuid-name'] === 'string') named.set(op['uuid-name'], uuid);
    }
    // References to those rows by name (they may come before the insert) become plain uuids.
    const rename = (j: unknown): unknown => {
      if (Array.isArray(j)) {
        if (j.length === 2 && j[0] === 'named-uuid' && typeof j[1] === 'string' && named.has(j[1])) return ['uuid', named.get(j[1])];
        return j.map(rename);
      }
      if (typeof j === 'object' && j !== null) return Object.fromEntries(Object.entries(j).map(([k, v]) => [k, rename(v)]));
      return j;
    };
    for (let i = 1; i < params.length; i++) params[i] = rename(params[i]);
  }

  /** Stop listening and drop every connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
