/**
 * JSON-RPC 1.0 over a byte stream, as OVSDB speaks it (RFC 7047 section 4, lib/jsonrpc.c):
 * remote and listener names (`unix:PATH`, `tcp:IP:PORT`, `punix:PATH`, `ptcp:PORT[:IP]`),
 * message validation with OVS's rules, and a connection that frames, parses and sends messages.
 *
 * Validation follows `jsonrpc_msg_from_json`: a member that is JSON `null` counts as absent; the
 * kind is "reply" if there is a result, "error" if there is an error, "request" if there is an
 * id, else "notification"; unknown members and a wrong set of members for the kind are errors.
 * ovsdb-server closes a connection that sends an invalid message or invalid JSON, and so does
 * `RpcConnection` (it reports the reason to its owner).
 */
import { connect, type Socket } from 'node:net';
import { JsonRpcError, JsonParseError, OvsdbConnectionError, RemoteSpecError } from './errors.js';
import { isJsonObject, JsonStream } from './json.js';

/** An active remote: where a client connects. */
export type Remote = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** A passive remote: where a server listens. */
export type Listen = { kind: 'punix'; path: string } | { kind: 'ptcp'; port: number; host: string };

function parsePort(s: string, spec: string): number {
  if (!/^\d+$/.test(s) || Number(s) > 65535) throw new RemoteSpecError(`${JSON.stringify(spec)}: bad port ${JSON.stringify(s)}`);
  return Number(s);
}

function unbracket(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** Parse `unix:PATH` or `tcp:HOST:PORT` (`tcp:[::1]:6641` for IPv6). */
export function parseRemote(spec: string): Remote {
  if (spec.startsWith('unix:')) {
    const path = spec.slice(5);
    if (!path) throw new RemoteSpecError(`${JSON.stringify(spec)}: missing socket path`);
    return { kind: 'unix', path };
  }
  if (spec.startsWith('tcp:')) {
    const rest = spec.slice(4);
    const i = rest.lastIndexOf(':');
    if (i <= 0) throw new RemoteSpecError(`${JSON.stringify(spec)}: expected tcp:HOST:PORT`);
    return { kind: 'tcp', host: unbracket(rest.slice(0, i)), port: parsePort(rest.slice(i + 1), spec) };
  }
  if (spec.startsWith('ssl:')) throw new RemoteSpecError(`${JSON.stringify(spec)}: ssl remotes are not supported (use tcp: or unix:)`);
  throw new RemoteSpecError(`${JSON.stringify(spec)}: expected unix:PATH or tcp:HOST:PORT`);
}

/** Parse `punix:PATH` or `ptcp:PORT[:IP]` (IP defaults to 0.0.0.0, as in OVS). */
export function parseListen(spec: string): Listen {
  if (spec.startsWith('punix:')) {
    const path = spec.slice(6);
    if (!path) throw new RemoteSpecError(`${JSON.stringify(spec)}: missing socket path`);
    return { kind: 'punix', path };
  }
  if (spec.startsWith('ptcp:')) {
    const rest = spec.slice(5);
    const i = rest.indexOf(':');
    if (i < 0) return { kind: 'ptcp', port: parsePort(rest, spec), host: '0.0.0.0' };
    return { kind: 'ptcp', port: parsePort(rest.slice(0, i), spec), host: unbracket(rest.slice(i + 1)) };
  }
  if (spec.startsWith('pssl:')) throw new RemoteSpecError(`${JSON.stringify(spec)}: pssl listeners are not supported (use ptcp: or punix:)`);
  throw new RemoteSpecError(`${JSON.stringify(spec)}: expected punix:PATH or ptcp:PORT[:IP]`);
}

/** The text form of a remote. */
export function formatRemote(r: Remote): string {
  return r.kind === 'unix' ? `unix:${r.path}` : `tcp:${r.host.includes(':') ? `[${r.host}]` : r.host}:${r.port}`;
}

/** A validated JSON-RPC message. */
export type RpcMessage =
  | { type: 'request'; method: string; params: unknown[]; id: unknown }
  | { type: 'notify'; method: string; params: unknown[] }
  | { type: 'reply'; result: unknown; id: unknown }
  | { type: 'error'; error: unknown; id: unknown };

const MEMBERS = new Set(['method', 'params', 'result', 'error', 'id']);

/** `jsonrpc_msg_from_json`: validate a JSON value as a message; throws `JsonRpcError`. */
export function parseRpcMessage(j: unknown): RpcMessage {
  if (!isJsonObject(j)) throw new JsonRpcError('message is not a JSON object');
  const method = j.method;
  if (method !== undefined && method !== null && typeof method !== 'string') throw new JsonRpcError('method is not a JSON string');
  const get = (k: string): unknown => (j[k] === null ? undefined : j[k]);
  const params = get('params');
  const result = get('result');
  const error = get('error');
  const id = get('id');
  const m = typeof method === 'string' ? method : undefined;
  const type = result !== undefined ? 'reply' : error !== undefined ? 'error' : id !== undefined ? 'request' : 'notify';
  for (const k of Object.keys(j)) if (!MEMBERS.has(k)) throw new JsonRpcError(`message has unexpected member "${k}"`);
  if (params !== undefined && !Array.isArray(params)) throw new JsonRpcError('"params" must be JSON array');
  const pattern = { request: 0x11001, notify: 0x11000, reply: 0x00101, error: 0x00011 }[type];
  const name = { request: 'request', notify: 'notification', reply: 'reply', error: 'error' }[type];
  const check = (present: boolean, bit: number, what: string) => {
    if (present !== ((pattern & bit) !== 0)) throw new JsonRpcError(`${name} must${pattern & bit ? '' : ' not'} have "${what}"`);
  };
  check(m !== undefined, 0x10000, 'method');
  check(params !== undefined, 0x1000, 'params');
  check(result !== undefined, 0x100, 'result');
  check(error !== undefined, 0x10, 'error');
  check(id !== undefined, 0x1, 'id');
  switch (type) {
    case 'request':
      return { type, method: m!, params: params as unknown[], id };
    case 'notify':
      return { type, method: m!, params: params as unknown[] };
    case 'reply':
      return { type, result, id };
    default:
      return { type, error, id };
  }
}

/** Handlers of an `RpcConnection`. */
export interface RpcHandlers {
  /** A valid message arrived. */
  message(msg: RpcMessage): void;
  /** The connection closed; `reason` says why when it was an error. */
  close(reason?: Error): void;
}

/**
 * One JSON-RPC connection over a socket. Invalid JSON or an invalid message closes it (with the
 * reason passed to `close`), as OVS does; nothing thrown by a handler escapes into the socket's
 * event loop.
 */
export class RpcConnection {
  private readonly stream = new JsonStream();
  private closed = false;
  private closeReason: Error | undefined;

  constructor(
    readonly socket: Socket,
    private readonly handlers: RpcHandlers,
  ) {
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.finish());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let values: unknown[];
    try {
      values = this.stream.push(chunk);
    } catch (e) {
      if (e instanceof JsonParseError) return this.fail(e);
      throw e;
    }
    for (const v of values) {
      if (this.closed) return;
      let msg: RpcMessage;
      try {
        msg = parseRpcMessage(v);
      } catch (e) {
        if (e instanceof JsonRpcError) return this.fail(e);
        throw e;
      }
      this.handlers.message(msg);
    }
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closeReason = e;
    this.socket.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.close(this.closeReason);
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Send a message object (serialized with JSON.stringify). */
  send(msg: Record<string, unknown>): void {
    if (this.closed) return;
    this.socket.write(JSON.stringify(msg));
  }

  /** Send a request. */
  request(method: string, params: unknown[], id: unknown): void {
    this.send({ method, params, id });
  }

  /** Send a notification. */
  notify(method: string, params: unknown[]): void {
    this.send({ method, params, id: null });
  }

  /** Send a reply. */
  reply(id: unknown, result: unknown): void {
    this.send({ id, result, error: null });
  }

  /** Send an error reply. */
  error(id: unknown, error: unknown): void {
    this.send({ id, result: null, error });
  }

  /** Close the connection (`reason`: why, when it is a failure, e.g. an unanswered probe). */
  close(reason?: Error): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.socket.end();
    this.socket.destroy();
    this.finish();
  }
}

/** Open a socket to a remote; resolves when connected, rejects on failure. */
export function openSocket(remote: Remote, timeoutMs = 5000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = remote.kind === 'unix' ? connect(remote.path) : connect(remote.port, remote.host);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new OvsdbConnectionError(`${formatRemote(remote)}: connection timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
