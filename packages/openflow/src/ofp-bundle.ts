/**
 * OpenFlow bundles (OpenFlow 1.4+ OFPT_BUNDLE_CONTROL / OFPT_BUNDLE_ADD_MESSAGE, and the ONF
 * extension of OpenFlow 1.3, ONFT_BUNDLE_CONTROL 2300 / ONFT_BUNDLE_ADD_MESSAGE 2301, which
 * `ovs-ofctl -O OpenFlow13 --bundle` sends), as OVS 3.1 runs them (`lib/ofp-bundle.c`,
 * `ofproto/bundles.c`, `ofproto.c`'s `handle_bundle_control()`, `handle_bundle_add()` and
 * `do_bundle_commit()`).
 *
 * A connection keeps its bundles by id (`BundleBook`). OPEN makes one (an id already open is
 * discarded and refused, OFPBFC_BAD_ID); ADD_MESSAGE decodes the embedded message at once (its
 * errors answer the ADD; only FLOW_MOD, GROUP_MOD, PACKET_OUT and PORT_MOD may be bundled,
 * anything else is OFPBFC_MSG_UNSUP) and opens the bundle implicitly when the id is new; CLOSE and
 * COMMIT must repeat the bundle's flags (else it is discarded, OFPBFC_BAD_FLAGS); adding to or
 * closing a closed bundle discards it (OFPBFC_BUNDLE_CLOSED). COMMIT applies the messages in order
 * against a checkpoint of the switch's flow and group tables: the first one that fails is
 * answered with its own error (referring to its ADD message), everything is rolled back to the
 * checkpoint, and the COMMIT gets OFPBFC_MSG_FAILED. Flow-removed events, outputs and packet-ins
 * caused during the commit are held and released only when it succeeds (OVS executes a bundle's
 * packet-outs after the commit). The bundle is gone after a commit either way. A bundle idle for
 * 10 s (OVS `BUNDLE_IDLE_TIMEOUT_DEFAULT`) is discarded with OFPBFC_TIMEOUT referring to the
 * message that opened it.
 */
import { OpenFlowError } from './errors.js';
import { encodeError, frameMessage, OFPT, startMessage, type OfpMessage } from './ofp-msgs.js';
import type { Clock, TimerClock, TimerHandle } from './clock/index.js';
import { errorNameOf } from './ofp-conn.js';
import { OfpVersion, VendorId } from './wire-buf.js';

/** Bundle control types (`OFPBCT_*`). */
export const OFPBCT = {
  OPEN_REQUEST: 0, OPEN_REPLY: 1, CLOSE_REQUEST: 2, CLOSE_REPLY: 3, COMMIT_REQUEST: 4, COMMIT_REPLY: 5, DISCARD_REQUEST: 6, DISCARD_REPLY: 7,
} as const;

/** Bundle flags (`OFPBF_*`). */
export const OFPBF = { ATOMIC: 1, ORDERED: 2 } as const;

/** OpenFlow 1.4+ message types of bundles. */
export const OFPT14_BUNDLE = { CONTROL: 33, ADD_MESSAGE: 34 } as const;

/** ONF experimenter types of the OpenFlow 1.3 bundle extension. */
export const ONFT13_BUNDLE = { CONTROL: 2300, ADD_MESSAGE: 2301 } as const;

/** How long an untouched bundle lives (ms; OVS `BUNDLE_IDLE_TIMEOUT_DEFAULT`). */
export const BUNDLE_IDLE_TIMEOUT_MS = 10_000;

/** A bundle control message (`ofp14_bundle_ctrl_msg`). */
export interface BundleCtrl {
  /** Bundle id. */
  bundleId: number;
  /** `OFPBCT_*`. */
  type: number;
  /** `OFPBF_*`. */
  flags: number;
}

/** Is this message a bundle message in its version (OFPT 33/34 from 1.4, ONF 2300/2301 in 1.3)? */
export function bundleKind(m: OfpMessage): 'control' | 'add' | undefined {
  if (m.version >= OfpVersion.OF14) {
    if (m.type === OFPT14_BUNDLE.CONTROL) return 'control';
    if (m.type === OFPT14_BUNDLE.ADD_MESSAGE) return 'add';
    return undefined;
  }
  if (m.version !== OfpVersion.OF13 || m.type !== OFPT.EXPERIMENTER || m.bytes.length < 16) return undefined;
  const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  if (dv.getUint32(8) !== VendorId.ONF) return undefined;
  const t = dv.getUint32(12);
  return t === ONFT13_BUNDLE.CONTROL ? 'control' : t === ONFT13_BUNDLE.ADD_MESSAGE ? 'add' : undefined;
}

/** The length of the headers before the `ofp14_bundle_ctrl_msg` (16 for the ONF experimenter form). */
function headerLen(version: number): number {
  return version === OfpVersion.OF13 ? 16 : 8;
}

/**
 * Decode a bundle control message (OVS `ofputil_decode_bundle_ctrl()` after `ofpraw_pull()`'s
 * length check: the fixed part and properties in multiples of 8 bytes, else OFPBRC_BAD_LEN).
 */
export function decodeBundleCtrl(m: OfpMessage): BundleCtrl {
  const body = m.bytes.length - headerLen(m.version);
  if (body < 8 || body % 8 !== 0) throw new OpenFlowError('OFPBRC_BAD_LEN', `bundle control message of ${m.bytes.length} bytes`);
  const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  const o = headerLen(m.version);
  return { bundleId: dv.getUint32(o), type: dv.getUint16(o + 4), flags: dv.getUint16(o + 6) };
}

/** A bundle control message (request or reply) in `version` (the ONF experimenter form in 1.3). */
export function encodeBundleCtrl(version: number, xid: number, c: BundleCtrl): Uint8Array {
  const m = startMessage(version, version === OfpVersion.OF13 ? OFPT.EXPERIMENTER : OFPT14_BUNDLE.CONTROL, xid);
  if (version === OfpVersion.OF13) m.w.u32(VendorId.ONF).u32(ONFT13_BUNDLE.CONTROL);
  m.w.u32(c.bundleId >>> 0).u16(c.type).u16(c.flags);
  return m.done();
}

/** A BUNDLE_ADD_MESSAGE carrying `inner` (a whole message; the xid must be the inner one's, as OVS sends). */
export function encodeBundleAdd(version: number, bundleId: number, flags: number, inner: Uint8Array): Uint8Array {
  const xid = new DataView(inner.buffer, inner.byteOffset, inner.byteLength).getUint32(4);
  const m = startMessage(version, version === OfpVersion.OF13 ? OFPT.EXPERIMENTER : OFPT14_BUNDLE.ADD_MESSAGE, xid, 32 + inner.length);
  if (version === OfpVersion.OF13) m.w.u32(VendorId.ONF).u32(ONFT13_BUNDLE.ADD_MESSAGE);
  m.w.u32(bundleId >>> 0).u16(0).u16(flags).bytes(inner);
  return m.done();
}

/** A decoded BUNDLE_ADD_MESSAGE: the bundle, its flags and the embedded message. */
export interface BundleAdd {
  /** Bundle id. */
  bundleId: number;
  /** `OFPBF_*`. */
  flags: number;
  /** The embedded message, framed. */
  inner: OfpMessage;
}

/** Types that may go in a bundle (OVS `ofputil_is_bundlable()`), by OpenFlow 1.1+ number. */
const BUNDLABLE = new Set<number>([OFPT.FLOW_MOD, OFPT.GROUP_MOD, OFPT.PACKET_OUT, OFPT.PORT_MOD]);

/**
 * Decode a BUNDLE_ADD_MESSAGE (OVS `ofputil_decode_bundle_add()`): the embedded header must be
 * there (OFPBFC_MSG_BAD_LEN), of the same version (OFPBFC_BAD_VERSION), no longer than what is left
 * (OFPBFC_MSG_BAD_LEN), with the outer xid (OFPBFC_MSG_BAD_XID), and bundlable (OFPBFC_MSG_UNSUP).
 */
export function decodeBundleAdd(m: OfpMessage): BundleAdd {
  const o = headerLen(m.version);
  if (m.bytes.length < o + 8) throw new OpenFlowError('OFPBRC_BAD_LEN', `bundle add message of ${m.bytes.length} bytes`);
  const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  const bundleId = dv.getUint32(o);
  const flags = dv.getUint16(o + 6);
  const at = o + 8;
  const left = m.bytes.length - at;
  if (left < 8) throw new OpenFlowError('OFPBFC_MSG_BAD_LEN', 'no embedded message header');
  if (m.bytes[at] !== m.version) throw new OpenFlowError('OFPBFC_BAD_VERSION', `embedded message of version ${m.bytes[at]}`);
  const innerLen = dv.getUint16(at + 2);
  if (innerLen < 8 || innerLen > left) throw new OpenFlowError('OFPBFC_MSG_BAD_LEN', `embedded message length ${innerLen} of ${left} bytes`);
  if (dv.getUint32(at + 4) !== m.xid) throw new OpenFlowError('OFPBFC_MSG_BAD_XID', 'embedded message xid differs');
  const inner = frameMessage(m.bytes.slice(at, at + innerLen));
  const type = inner.type;
  const bundlable = m.version >= OfpVersion.OF13 && BUNDLABLE.has(type);
  if (!bundlable) throw new OpenFlowError('OFPBFC_MSG_UNSUP', `message type ${type} cannot be bundled`);
  return { bundleId, flags, inner };
}

/** One message of a bundle, decoded when it was added. */
export interface BundledOp {
  /** The ADD_MESSAGE that carried it (errors at commit refer to it, as OVS's do). */
  readonly msg: Uint8Array;
  /** The embedded message's type. */
  readonly type: number;
  /** Apply it to the switch (throws the `OpenFlowError` OVS would answer it with). */
  readonly apply: () => void;
}

/** A bundle of one connection. */
interface Bundle {
  id: number;
  flags: number;
  state: 'open' | 'closed';
  used: number;
  /** The message that opened it (a timeout's error refers to it). */
  msg: Uint8Array;
  ops: BundledOp[];
}

/** What a commit needs of the switch side. */
export interface BundleTarget {
  /** Take a checkpoint of the flow and group tables; the function rolls back to it. */
  checkpoint(): () => void;
  /**
   * Hold the side effects of what runs until the returned function is called (outputs,
   * packet-ins, flow-removed events); `release(true)` delivers them, `release(false)` drops them.
   */
  hold(): (deliver: boolean) => void;
}

/** One connection's bundles (see the module comment). */
export class BundleBook {
  private readonly bundles = new Map<number, Bundle>();
  private timer: TimerHandle | null = null;

  constructor(
    /** The switch clock (bundle idle timeouts). */
    private readonly clock: Clock,
    /** Send a message on the connection (a timeout's error). */
    private readonly send: (bytes: Uint8Array) => void,
    /** The connection's negotiated version. */
    private readonly version: () => number,
  ) {}

  /** Open bundles (ids). */
  ids(): number[] {
    return [...this.bundles.keys()];
  }

  /** Handle a bundle control message; returns the reply. */
  control(m: OfpMessage, target: BundleTarget): Uint8Array[] {
    this.expire();
    const c = decodeBundleCtrl(m);
    const reply = (type: number): Uint8Array[] => [encodeBundleCtrl(m.version, m.xid, { bundleId: c.bundleId, type, flags: 0 })];
    const b = this.bundles.get(c.bundleId);
    switch (c.type) {
      case OFPBCT.OPEN_REQUEST:
        if (b) {
          this.bundles.delete(c.bundleId);
          throw new OpenFlowError('OFPBFC_BAD_ID', `bundle ${c.bundleId} already exists`);
        }
        this.bundles.set(c.bundleId, { id: c.bundleId, flags: c.flags, state: 'open', used: this.clock.now(), msg: m.bytes, ops: [] });
        this.arm();
        return reply(OFPBCT.OPEN_REPLY);
      case OFPBCT.CLOSE_REQUEST:
        if (!b) throw new OpenFlowError('OFPBFC_BAD_ID', `no bundle ${c.bundleId}`);
        if (b.state === 'closed') {
          this.bundles.delete(b.id);
          throw new OpenFlowError('OFPBFC_BUNDLE_CLOSED', `bundle ${b.id} is closed`);
        }
        if (b.flags !== c.flags) {
          this.bundles.delete(b.id);
          throw new OpenFlowError('OFPBFC_BAD_FLAGS', `bundle ${b.id} was opened with flags ${b.flags}`);
        }
        b.state = 'closed';
        b.used = this.clock.now();
        this.arm();
        return reply(OFPBCT.CLOSE_REPLY);
      case OFPBCT.COMMIT_REQUEST:
        if (!b) throw new OpenFlowError('OFPBFC_BAD_ID', `no bundle ${c.bundleId}`);
        this.bundles.delete(b.id); // discarded whatever the outcome
        this.arm();
        if (b.flags !== c.flags) throw new OpenFlowError('OFPBFC_BAD_FLAGS', `bundle ${b.id} was opened with flags ${b.flags}`);
        this.commit(b, target);
        return reply(OFPBCT.COMMIT_REPLY);
      case OFPBCT.DISCARD_REQUEST:
        if (!b) throw new OpenFlowError('OFPBFC_BAD_ID', `no bundle ${c.bundleId}`);
        this.bundles.delete(b.id);
        this.arm();
        return reply(OFPBCT.DISCARD_REPLY);
      default:
        // A reply type (or an unknown one) sent to the switch.
        throw new OpenFlowError('OFPBFC_BAD_TYPE', `bundle control type ${c.type}`);
    }
  }

  /**
   * Handle a BUNDLE_ADD_MESSAGE whose embedded message `prepare` decodes into an op (throwing the
   * error that answers the ADD, which then leaves the bundle as it was).
   */
  add(m: OfpMessage, prepare: (inner: OfpMessage) => () => void): Uint8Array[] {
    this.expire();
    const a = decodeBundleAdd(m);
    const apply = prepare(a.inner);
    const op: BundledOp = { msg: m.bytes, type: a.inner.type, apply };
    let b = this.bundles.get(a.bundleId);
    if (!b) {
      b = { id: a.bundleId, flags: a.flags, state: 'open', used: 0, msg: m.bytes, ops: [] };
      this.bundles.set(b.id, b);
    } else if (b.state === 'closed') {
      this.bundles.delete(b.id);
      throw new OpenFlowError('OFPBFC_BUNDLE_CLOSED', `bundle ${b.id} is closed`);
    } else if (b.flags !== a.flags) {
      this.bundles.delete(b.id);
      throw new OpenFlowError('OFPBFC_BAD_FLAGS', `bundle ${b.id} was opened with flags ${b.flags}`);
    }
    b.used = this.clock.now();
    b.ops.push(op);
    this.arm();
    return [];
  }

  /** Apply a bundle all or nothing (OVS `do_bundle_commit()`). */
  private commit(b: Bundle, target: BundleTarget): void {
    const rollback = target.checkpoint();
    const release = target.hold();
    for (const op of b.ops) {
      try {
        if (op.type === OFPT.PORT_MOD && b.flags & OFPBF.ATOMIC) throw new OpenFlowError('OFPBFC_MSG_FAILED', 'port mods are not atomic');
        op.apply();
      } catch (e) {
        release(false);
        rollback();
        this.send(encodeError(this.version(), new DataView(op.msg.buffer, op.msg.byteOffset).getUint32(4), errorNameOf(e) ?? 'OFPBRC_EPERM', op.msg));
        throw new OpenFlowError('OFPBFC_MSG_FAILED', `bundle ${b.id}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    release(true);
  }

  /** Discard the bundles idle for `BUNDLE_IDLE_TIMEOUT_MS`, each with OFPBFC_TIMEOUT (OVS `bundle_remove_expired()`). */
  expire(now = this.clock.now()): void {
    for (const b of [...this.bundles.values()]) {
      if (b.used > now - BUNDLE_IDLE_TIMEOUT_MS) continue;
      this.bundles.delete(b.id);
      this.send(encodeError(this.version(), new DataView(b.msg.buffer, b.msg.byteOffset).getUint32(4), 'OFPBFC_TIMEOUT', b.msg));
    }
  }

  /** Forget every bundle (the connection closed). */
  clear(): void {
    this.bundles.clear();
    this.arm();
  }

  /** With a timer clock: one timer at the earliest bundle deadline. */
  private arm(): void {
    const c = this.clock as Partial<TimerClock>;
    if (typeof c.schedule !== 'function') return;
    if (this.timer !== null) c.cancel!(this.timer);
    this.timer = null;
    let at = Infinity;
    for (const b of this.bundles.values()) at = Math.min(at, b.used + BUNDLE_IDLE_TIMEOUT_MS);
    if (at === Infinity) return;
    this.timer = c.schedule(at, (now) => {
      this.timer = null;
      this.expire(now);
      this.arm();
    });
  }
}
