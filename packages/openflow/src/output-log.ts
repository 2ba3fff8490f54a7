/**
 * The frames one translation sends, held until it finishes: OVS executes a packet's datapath
 * actions only when translation succeeded, so outputs and packet-ins are logged during translation
 * and delivered (or dropped, after a failure) at the end.
 *
 * Logging an unmodified frame stores a reference to its bytes; a rewritten or encapsulated one is
 * copied into a preallocated arena, so the common path allocates nothing. The arrays of the log
 * grow once to the largest number of outputs seen and are reused. A recirculated clone's outputs
 * are logged after the packet's and then moved to where the clone was forked, because the datapath
 * runs a recirculation inline at that point.
 */
import { OFPP, type Port } from './ports.js';
import type { PacketInField } from './stateful/packet-out.js';
import type { PacketInReason } from './xlate.js';

/** A packet-in, as the hook receives it. */
export interface PacketIn {
  /** Reason. */
  reason: PacketInReason;
  /** Table the packet was in. */
  tableId: number;
  /** Cookie of the flow that sent it (all ones without one: a packet-out's own actions, as OVS). */
  cookie: bigint;
  /** Ingress port. */
  inPort: number;
  /** Controller id (`controller(id=N)`, `dec_ttl(N)`). */
  controllerId: number;
  /** `controller(userdata=...)`. */
  userdata?: Uint8Array;
  /** The packet as modified so far, cut to max_len; valid only during the call. */
  frame: Uint8Array;
  /** Its full length. */
  totalLen: number;
  /** `max_len` asked for (65535 = whole frame). */
  maxLen: number;
  /** Buffer id: always `0xffffffff` (OVS never buffers). */
  bufferId: number;
  /** The packet-in match: in_port plus the non-zero metadata, registers, tunnel, pkt_mark and ct fields. */
  match: PacketInField[];
}

/** A frame a trace or a run emitted. */
export interface EmittedFrame {
  /** `output` or `packet_in`. */
  kind: 'output' | 'packet_in';
  /** Port (`OFPP.CONTROLLER` for packet-ins). */
  port: number;
  /** The bytes (copied; a trace owns them). */
  bytes: Uint8Array;
  /** Packet-in details. */
  packetIn?: Omit<PacketIn, 'frame'>;
}

/** Log entry kinds. */
const KIND_OUT = 0;
const KIND_PIN = 1;

/** The outputs and packet-ins of one translation, in order. */
export class OutputLog {
  /** Number of entries. */
  n = 0;
  private readonly kind: number[] = [];
  private readonly port: number[] = [];
  private readonly buf: Uint8Array[] = [];
  private readonly off: number[] = [];
  private readonly len: number[] = [];
  private readonly total: number[] = [];
  private readonly meta: (Omit<PacketIn, 'frame'> | null)[] = [];
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  private readonly views: Uint8Array[] = [];
  private readonly viewBuf: Uint8Array[] = [];
  private readonly viewOff: number[] = [];
  private readonly viewLen: number[] = [];

  /** Empty it (a new frame). */
  reset(): void {
    this.n = 0;
    this.arenaUsed = 0;
  }

  /** Log an output of `buf[off, off+len)` to `port`; `copy` when the bytes will change after this. */
  output(port: number, buf: Uint8Array, off: number, len: number, copy: boolean): void {
    this.push(KIND_OUT, port, buf, off, len, copy, null, len);
  }

  /** Log a packet-in of the first `len` of `total` bytes at `buf[off]`. */
  packetIn(buf: Uint8Array, off: number, len: number, total: number, meta: Omit<PacketIn, 'frame'>): void {
    this.push(KIND_PIN, OFPP.CONTROLLER, buf, off, len, false, meta, total);
  }

  private push(kind: number, port: number, buf: Uint8Array, off: number, len: number, copy: boolean, meta: Omit<PacketIn, 'frame'> | null, total: number): void {
    const i = this.n++;
    if (copy) {
      if (this.arenaUsed + len > this.arena.length) {
        // Grow: earlier entries keep referencing the old arena, which stays valid.
        this.arena = new Uint8Array(Math.max(this.arena.length * 2, len * 2));
        this.arenaUsed = 0;
      }
      const a = this.arena;
      const at = this.arenaUsed;
      for (let j = 0; j < len; j++) a[at + j] = buf[off + j]!;
      this.arenaUsed += len;
      buf = a;
      off = at;
    }
    this.kind[i] = kind;
    this.port[i] = port;
    this.buf[i] = buf;
    this.off[i] = off;
    this.len[i] = len;
    this.total[i] = total;
    this.meta[i] = meta;
  }

  /** Move entries [from, from+n) to position `to` (< from), shifting [to, from) up. */
  move(from: number, n: number, to: number): void {
    const rot = <T>(a: T[]): void => {
      const seg = a.slice(from, from + n);
      for (let i = from - 1; i >= to; i--) a[i + n] = a[i]!;
      for (let i = 0; i < n; i++) a[to + i] = seg[i]!;
    };
    rot(this.kind);
    rot(this.port);
    rot(this.buf);
    rot(this.off);
    rot(this.len);
    rot(this.total);
    rot(this.meta);
  }

  /** Hand every entry to its port's sink (or `defaultSink`) or to `onPacketIn`; down ports count a drop. */
  deliver(ports: ReadonlyMap<number, Port>, onPacketIn: ((pi: PacketIn) => void) | undefined, defaultSink: ((port: number, frame: Uint8Array) => void) | undefined): void {
    for (let i = 0; i < this.n; i++) {
      const buf = this.buf[i]!;
      const off = this.off[i]!;
      const len = this.len[i]!;
      const view = off === 0 && len === buf.length ? buf : this.viewOf(i, buf, off, len);
      if (this.kind[i] === KIND_PIN) {
        if (onPacketIn) onPacketIn({ ...this.meta[i]!, frame: view });
        continue;
      }
      const port = ports.get(this.port[i]!);
      if (!port) continue;
      if (!port.up) {
        port.stats.txDropped++;
        continue;
      }
      port.stats.txPackets++;
      port.stats.txBytes += len;
      const sink = port.sink ?? defaultSink;
      if (sink) sink(port.number, view);
    }
  }

  /** A view of `buf[off, off+len)`, reusing the one made for the same log slot when it is the same range. */
  private viewOf(i: number, buf: Uint8Array, off: number, len: number): Uint8Array {
    if (i < this.views.length && this.viewBuf[i] === buf && this.viewOff[i] === off && this.viewLen[i] === len) return this.views[i]!;
    const nv = buf.subarray(off, off + len);
    if (i <= this.views.length) {
      this.views[i] = nv;
      this.viewBuf[i] = buf;
      this.viewOff[i] = off;
      this.viewLen[i] = len;
    }
    return nv;
  }

  /** The logged frames, copied (for traces). */
  emitted(): EmittedFrame[] {
    const out: EmittedFrame[] = [];
    for (let i = 0; i < this.n; i++) {
      const bytes = this.buf[i]!.slice(this.off[i]!, this.off[i]! + this.len[i]!);
      if (this.kind[i] === KIND_PIN) out.push({ kind: 'packet_in', port: OFPP.CONTROLLER, bytes, packetIn: this.meta[i]! });
      else out.push({ kind: 'output', port: this.port[i]!, bytes });
    }
    return out;
  }
}
