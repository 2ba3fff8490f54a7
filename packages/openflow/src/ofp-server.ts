/**
 * OpenFlow over TCP: a passive listener (a bridge's `ptcp:PORT[:IP]` controller listener, where
 * `ovs-ofctl` connects) and an active connection to a controller (`tcp:HOST:PORT`) that reconnects
 * with OVS's backoff (1 s doubling to 8 s) whenever it drops. Each socket is one `OfpConnection`
 * of an `OfpAgent`; socket errors close that socket only.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { OfpAgent } from './ofp-agent.js';
import type { OfpConnection } from './ofp-conn.js';

/** A listening OpenFlow server. */
export interface OfpListener {
  /** The TCP port bound (useful with port 0). */
  readonly port: number;
  /** The address bound. */
  readonly host: string;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
}

function attach(agent: OfpAgent, sock: Socket, primary: boolean): OfpConnection {
  sock.setNoDelay(true);
  const conn = agent.connect((b) => {
    if (!sock.destroyed) sock.write(b);
  }, {
    onClose: () => {
      // Flush what is queued (an ERROR before a close), but never wait on a peer that stopped
      // reading (an inactivity probe timed out): the socket goes within a second either way.
      sock.end();
      setTimeout(() => sock.destroy(), 1000).unref();
    },
    primary,
  });
  sock.on('data', (d: Buffer) => conn.feed(new Uint8Array(d.buffer, d.byteOffset, d.length)));
  sock.on('error', () => sock.destroy());
  sock.on('close', () => agent.disconnect(conn));
  conn.start();
  return conn;
}

/** Listen for OpenFlow connections on `host:port` (`ptcp:PORT[:IP]`; default IP 0.0.0.0 as OVS). */
export function listenOpenFlow(agent: OfpAgent, port: number, host = '0.0.0.0'): Promise<OfpListener> {
  const socks = new Set<Socket>();
  const server: Server = createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    attach(agent, sock, false);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      resolve({
        port: bound,
        host,
        close: () =>
          new Promise<void>((res) => {
            for (const s of socks) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
}

/** An active connection to a controller that keeps reconnecting until stopped. */
export interface OfpActiveConnection {
  /** Is a TCP connection up now? */
  readonly connected: boolean;
  /** Connections made so far. */
  readonly attempts: number;
  /** Stop (close the socket, no more reconnects). */
  stop(): void;
}

/** Connect to a controller at `tcp:host:port`, reconnecting with backoff (OVS: 1 s doubling to `maxBackoffMs`). */
export function connectController(agent: OfpAgent, host: string, port: number, maxBackoffMs = 8000): OfpActiveConnection {
  let stopped = false;
  let sock: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let backoff = 1000;
  const state = { connected: false, attempts: 0 };
  const dial = (): void => {
    if (stopped) return;
    state.attempts++;
    const s = createConnection({ host, port });
    sock = s;
    s.on('connect', () => {
      state.connected = true;
      backoff = 1000;
      attach(agent, s, true);
    });
    s.on('error', () => s.destroy());
    s.on('close', () => {
      state.connected = false;
      if (stopped) return;
      timer = setTimeout(dial, backoff);
      backoff = Math.min(backoff * 2, maxBackoffMs);
    });
  };
  dial();
  return {
    get connected() {
      return state.connected;
    },
    get attempts() {
      return state.attempts;
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      sock?.destroy();
    },
  };
}
