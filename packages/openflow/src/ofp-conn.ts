/**
 * One OpenFlow connection of a switch, as OVS's vconn/ofconn run it, independent of the transport:
 * bytes in (`feed`), bytes out (the `send` callback).
 *
 * States: `hello` (our HELLO sent, the peer's awaited) -> `active` (a version agreed) -> `closed`.
 * Negotiation takes the highest version both HELLOs offer (bitmaps honoured); without a common
 * version we send OFPET_HELLO_FAILED/OFPHFC_INCOMPATIBLE with OVS's text and close, as OVS does. A
 * message before the HELLO, or a header whose length is shorter than a header, closes the
 * connection (OVS cannot resynchronise either). Every other defect is answered and the connection
 * goes on: a message of another version gets OFPBRC_BAD_VERSION; a message the switch refuses gets
 * the ERROR OVS sends (type and code for the negotiated version, the request as data).
 * Requests are handled in order and their replies sent in order, so a BARRIER reply follows the
 * replies of everything before it.
 */
import { OpenFlowError } from './errors.js';
import { isOfpErrName, type OfpErrName } from './ofp-errors.js';
import { OFPT, SUPPORTED_VERSIONS, decodeHello, encodeError, encodeHello, frameMessage, negotiate, startMessage, type OfpMessage } from './ofp-msgs.js';
import { versionName } from './action-wire.js';
import type { AsyncConfig } from './ofp-async.js';

/** What a connection asks of the switch side: replies to one message (the connection frames errors). */
export interface OfpHandler {
  /** Handle a message of the negotiated version; return the replies (may be empty); throw an `OpenFlowError` to refuse it. */
  handle(m: OfpMessage, conn: OfpConnection): Uint8Array[];
  /** The connection agreed on a version (or closed). */
  onState?(conn: OfpConnection): void;
}

/** Connection state. */
export type OfpConnState = 'hello' | 'active' | 'closed';

/** Options of an `OfpConnection`. */
export interface OfpConnectionOptions {
  /** Versions we offer (default 1.0, 1.3, 1.4, 1.5). */
  versions?: readonly number[];
  /** Called once when the connection closes itself (protocol failure); the transport then closes. */
  onClose?: (why: string) => void;
  /**
   * A controller connection (OVS `OFCONN_PRIMARY`, made by `--controller`), as opposed to a service
   * connection accepted by a listener (`OFCONN_SERVICE`, where `ovs-ofctl` connects). Default false.
   */
  primary?: boolean;
}

/** One OpenFlow connection (see the module comment). */
export class OfpConnection {
  /** Current state. */
  state: OfpConnState = 'hello';
  /** Negotiated version (0 until `active`). */
  version = 0;
  /** Messages received and answered. */
  received = 0;
  /** ERRORs sent. */
  errorsSent = 0;
  /** Why it closed. */
  closeReason = '';
  /**
   * miss_send_len (SET_CONFIG): 128 on a controller connection, 0 on a service connection, which
   * then gets no packet-ins (OVS `ofconn_flush()` and `ofconn_receives_async_msg()`).
   */
  missSendLen: number;
  /** Flow format of NXT_SET_FLOW_FORMAT (`NXFF_*`: 0 OpenFlow 1.0, 2 NXM). */
  flowFormat = 0;
  /** NXT_FLOW_MOD_TABLE_ID: the table is the upper byte of an OpenFlow 1.0 or Nicira flow-mod command. */
  flowModTableId = false;
  /** Packet-in format of NXT_SET_PACKET_IN_FORMAT (`NXPIF_*`). */
  packetInFormat = 0;
  /** Controller role (`OFPCR`: 1 equal, 2 master, 3 slave), set by ROLE_REQUEST / NXT_ROLE_REQUEST. */
  role = 1;
  /** Asynchronous configuration set by SET_ASYNC / NXT_SET_ASYNC_CONFIG (undefined: OVS's default for the version). */
  asyncConfig: AsyncConfig | undefined;
  /** NXT_SET_CONTROLLER_ID: packet-ins of `controller(id=N)` go to connections with this id only (default 0). */
  controllerId = 0;
  /** Exceptions that were not OpenFlow errors (answered with OFPBRC_EPERM). */
  readonly internalErrors: unknown[] = [];
  private readonly versions: readonly number[];
  private pending: Uint8Array = new Uint8Array(0);

  constructor(
    /** The switch side. */
    readonly handler: OfpHandler,
    /** Sends bytes to the peer. */
    readonly send: (bytes: Uint8Array) => void,
    readonly opts: OfpConnectionOptions = {},
  ) {
    this.versions = opts.versions ?? SUPPORTED_VERSIONS;
    this.missSendLen = opts.primary ? 128 : 0;
  }

  /** Is this a controller connection (see `OfpConnectionOptions.primary`)? */
  get primary(): boolean {
    return this.opts.primary === true;
  }

  /** Send our HELLO (call once when the transport is up). */
  start(): void {
    this.send(encodeHello(this.versions));
  }

  /** Bytes from the peer (any split). */
  feed(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    let buf = chunk;
    if (this.pending.length) {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending);
      buf.set(chunk, this.pending.length);
    }
    let off = 0;
    while (buf.length - off >= 8 && !this.isClosed()) {
      const len = (buf[off + 2]! << 8) | buf[off + 3]!;
      if (len < 8) {
        this.close(`received message with length ${len} shorter than an OpenFlow header`);
        return;
      }
      if (buf.length - off < len) break;
      const msg = buf.slice(off, off + len);
      off += len;
      this.dispatch(frameMessage(msg));
    }
    this.pending = buf.slice(off);
  }

  /** Is the connection closed? */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Close (protocol failure). */
  close(why: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = why;
    this.handler.onState?.(this);
    this.opts.onClose?.(why);
  }

  private dispatch(m: OfpMessage): void {
    this.received++;
    if (this.state === 'hello') {
      if (m.type !== OFPT.HELLO) {
        this.close(`received message type ${m.type} before HELLO`);
        return;
      }
      const theirs = decodeHello(m);
      const v = negotiate(this.versions, theirs);
      if (v === undefined) {
        const text = `We support versions ${this.versions.map(versionName).join(', ')}, you support ${theirs.map(versionName).join(', ')}, no common versions.`;
        const e = startMessage(m.version, OFPT.ERROR, m.xid);
        e.w.u16(0).u16(0).bytes(new TextEncoder().encode(text));
        this.send(e.done());
        this.errorsSent++;
        this.close('version negotiation failed');
        return;
      }
      this.version = v;
      this.state = 'active';
      this.handler.onState?.(this);
      return;
    }
    if (m.type === OFPT.HELLO) return; // a second HELLO is ignored, as OVS does
    if (m.version !== this.version) {
      this.reply(encodeError(this.version, m.xid, 'OFPBRC_BAD_VERSION', m.bytes));
      return;
    }
    let replies: Uint8Array[];
    try {
      replies = this.handler.handle(m, this);
    } catch (e) {
      // A failure that is not an OpenFlow error (a defect of ours) still gets an answer and never
      // takes the connection or the switch down; it is kept for whoever debugs it.
      const name = errorNameOf(e);
      if (name === undefined) this.internalErrors.push(e);
      this.reply(encodeError(this.version, m.xid, name ?? 'OFPBRC_EPERM', m.bytes));
      return;
    }
    for (const r of replies) this.send(r);
  }

  private reply(bytes: Uint8Array): void {
    this.errorsSent++;
    this.send(bytes);
  }

  /** Send an asynchronous message (packet-in, flow removed, port status) once active. */
  notify(bytes: Uint8Array): void {
    if (this.state === 'active') this.send(bytes);
  }
}

/** The OpenFlow error name an exception carries (an `OpenFlowError`, or any error with a known `errorName`). */
export function errorNameOf(e: unknown): OfpErrName | undefined {
  if (e instanceof OpenFlowError) return isOfpErrName(e.errorName) ? e.errorName : 'OFPBRC_EPERM';
  if (e instanceof Error && 'errorName' in e && typeof e.errorName === 'string' && isOfpErrName(e.errorName)) return e.errorName;
  return undefined;
}
