/**
 * A switch's controller failure modes, as Open vSwitch 3.1 runs them (`ofproto/fail-open.c`,
 * `ofproto/connmgr.c`, `lib/rconn.c`), for the controller connections of an `OfpAgent`
 * (`connectController`, `ovnts switch --controller`).
 *
 * Admission (rconn): a controller connection counts as having admitted the switch once it sends a
 * message a controller sends only to a switch it accepted (anything but HELLO, ERROR, ECHO,
 * FEATURES, GET/SET_CONFIG, QUEUE_GET_CONFIG, GET_ASYNC and the group, group-desc, group-features,
 * table-features and table-desc multiparts: OVS `is_admitted_msg()`), or any message once it has
 * been connected 30 s; from then on every message it sends renews the admission time. The failure
 * duration is 0 while an admitting connection is up, else the whole seconds since the last
 * admission (since this object was made, when none came yet).
 *
 * Fail-open (standalone mode): once the failure duration reaches three inactivity-probe intervals
 * (15 s with OVS's default probe of 5 s; with probes off, 1 s), the switch fails open: every flow,
 * group and meter is deleted (OVS `ofproto_flush_flows()`) and a hidden flow at priority 15790320
 * (0xf0f0f0) matching everything with `actions=NORMAL` takes table 0, so the switch is a learning
 * switch. The hidden flow appears in no dump (only OVS's `bridge/dump-flows`; here `hiddenFlows()`);
 * frames received through `receive()` go to NORMAL while it is in place. While failed open and a
 * controller connection is up but has not admitted the switch, a bogus packet-in (a RARP from a
 * random Nicira MAC, in_port LOCAL, reason no_match) goes out every 2 s. The first admitting
 * message ends fail-open: the hidden flow goes, and the controller programs the switch again.
 * Secure mode never fails open: the flows stay and nothing is sent without a controller.
 *
 * Inactivity probes (rconn), in both modes: after a probe interval without a message from a
 * controller connection, an ECHO_REQUEST goes out; after another interval still without one, the
 * connection is closed (the active connection then reconnects).
 */
import { RealClock, type TimerClock, type TimerHandle } from './clock/index.js';
import type { OfpAgent, OfpAgentObserver } from './ofp-agent.js';
import type { OfpConnection } from './ofp-conn.js';
import { OFPT, startMessage, type OfpMessage } from './ofp-msgs.js';
import { OFPP } from './ports.js';
import { OpenFlowError } from './errors.js';

/** OVS's `fail_mode` of a bridge. */
export type FailMode = 'standalone' | 'secure';

/** OVS's FAIL_OPEN_PRIORITY: above every priority OpenFlow can say, so the flow is hidden. */
export const FAIL_OPEN_PRIORITY = 0xf0f0f0;

/** Options of `FailOpen`. */
export interface FailOpenOptions {
  /** `standalone` (fail open when the controller is gone) or `secure`. */
  mode: FailMode;
  /** The controllers' inactivity probe interval in seconds (OVS `inactivity_probe`: default 5, 0 off, else at least 5). */
  probeIntervalS?: number;
  /** Time and timers (default: a `RealClock`). */
  clock?: TimerClock;
  /** Random numbers in [0, 1) for the bogus packet-ins' MACs (default `Math.random`). */
  random?: () => number;
  /** Told when the switch fails open (`active` true, with the seconds disconnected) and when it recovers. */
  onChange?: (active: boolean, disconnectedS: number) => void;
}

/** What a controller connection's admission state is (rconn's `last_connected`, `probably_admitted`, `last_activity`). */
interface ConnState {
  connectedAt: number;
  admitted: boolean;
  lastActivity: number;
  probeSent: boolean;
}

/** The message types a controller sends before it decides to accept a switch (OVS `is_admitted_msg()`: false). */
const NOT_ADMITTING = new Set<number>([OFPT.HELLO, OFPT.ERROR, OFPT.ECHO_REQUEST, OFPT.ECHO_REPLY, OFPT.FEATURES_REQUEST, OFPT.FEATURES_REPLY, OFPT.GET_CONFIG_REQUEST, OFPT.GET_CONFIG_REPLY, OFPT.SET_CONFIG]);
/** Multipart (stats) types that do not admit: group, group desc, group features, table features, table desc. */
const NOT_ADMITTING_MP = new Set<number>([6, 7, 8, 12, 14]);

/** Does a message show that the controller accepted the switch (OVS `is_admitted_msg()`)? */
export function isAdmittingMessage(m: OfpMessage): boolean {
  const v = m.version;
  if (NOT_ADMITTING.has(m.type)) return false;
  if (v === 1) {
    if (m.type === 20 || m.type === 21) return false; // OFPT10_QUEUE_GET_CONFIG_REQUEST/REPLY
    if (m.type === 16 || m.type === 17) return !(m.bytes.length >= 10 && NOT_ADMITTING_MP.has((m.bytes[8]! << 8) | m.bytes[9]!));
    return true;
  }
  if (v <= 4 && (m.type === 22 || m.type === 23)) return false; // OFPT11_QUEUE_GET_CONFIG_REQUEST/REPLY
  if (v >= 4 && (m.type === OFPT.GET_ASYNC_REQUEST || m.type === OFPT.GET_ASYNC_REPLY)) return false;
  if (m.type === OFPT.MULTIPART_REQUEST || m.type === OFPT.MULTIPART_REPLY) return !(m.bytes.length >= 10 && NOT_ADMITTING_MP.has((m.bytes[8]! << 8) | m.bytes[9]!));
  return true;
}

/** The fail-open machinery of one agent (see the module comment). */
export class FailOpen {
  /** The mode. */
  readonly mode: FailMode;
  /** The probe interval in seconds (0: no probes). */
  readonly probeIntervalS: number;
  /** Is the switch failed open now? */
  active = false;
  /** Bogus packet-ins sent. */
  bogusPacketIns = 0;
  /** Frames and bytes the hidden flow has matched since it was put in place. */
  readonly hiddenStats = { packets: 0, bytes: 0, since: 0 };
  private readonly clock: TimerClock;
  private readonly random: () => number;
  private readonly conns = new Map<OfpConnection, ConnState>();
  private lastAdmitted: number;
  private triggerTimer: TimerHandle | undefined;
  private bogusTimer: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  private stopped = false;
  private readonly normal = [{ type: 'output' as const, port: OFPP.NORMAL }];
  private readonly observer: OfpAgentObserver = {
    opened: (c) => this.opened(c),
    closed: (c) => this.closed(c),
    received: (m, c) => this.received(m, c),
  };

  constructor(
    /** The agent whose controller connections are watched. */
    readonly agent: OfpAgent,
    private readonly opts: FailOpenOptions,
  ) {
    if (opts.mode !== 'standalone' && opts.mode !== 'secure') throw new OpenFlowError('OFPBRC_EPERM', `fail mode ${JSON.stringify(opts.mode)} is not standalone or secure`);
    const p = opts.probeIntervalS ?? 5;
    if (!Number.isInteger(p) || p < 0) throw new OpenFlowError('OFPBRC_EPERM', `inactivity probe interval ${p} is not a whole number of seconds >= 0`);
    this.mode = opts.mode;
    this.probeIntervalS = p === 0 ? 0 : Math.max(5, p);
    this.clock = opts.clock ?? new RealClock();
    this.random = opts.random ?? Math.random;
    this.lastAdmitted = this.clock.now();
    agent.observer = this.observer;
    for (const c of agent.conns) this.opened(c);
    this.arm();
  }

  /** Seconds of disconnection after which the switch fails open (OVS `trigger_duration()`: three probe intervals). */
  get triggerS(): number {
    return this.probeIntervalS * 3;
  }

  /** OVS `connmgr_failure_duration()`: 0 while a controller connection that admitted the switch is up, else whole seconds since the last admission. */
  failureDurationS(now = this.clock.now()): number {
    for (const s of this.conns.values()) if (s.admitted) return 0;
    return Math.floor((now - this.lastAdmitted) / 1000);
  }

  /**
   * Run a frame received on `inPort` through the switch: through the hidden NORMAL flow while
   * failed open (table 0 is not looked up, as the hidden flow outranks every flow), else through
   * the pipeline (`Switch.receive`).
   */
  receive(inPort: number, frame: Uint8Array): void {
    const sw = this.agent.sw;
    if (!this.active) {
      sw.receive(inPort, frame);
      return;
    }
    const port = sw.port(inPort);
    if (!port) {
      sw.receive(inPort, frame); // counted as an unknown-port drop
      return;
    }
    port.stats.rxPackets++;
    port.stats.rxBytes += frame.length;
    this.hiddenStats.packets++;
    this.hiddenStats.bytes += frame.length;
    sw.packetOut({ inPort, actions: this.normal, frame });
  }

  /** The hidden flows as OVS's `ovs-appctl bridge/dump-flows` prints them (empty unless failed open). */
  hiddenFlows(now = this.clock.now()): string[] {
    if (!this.active) return [];
    const d = Math.max(0, now - this.hiddenStats.since) / 1000;
    return [`duration=${Math.floor(d)}s, n_packets=${this.hiddenStats.packets}, n_bytes=${this.hiddenStats.bytes}, priority=${FAIL_OPEN_PRIORITY},actions=NORMAL`];
  }

  /** Stop the timers and leave the agent alone (the flows stay as they are). */
  stop(): void {
    this.stopped = true;
    for (const t of [this.triggerTimer, this.bogusTimer, this.probeTimer]) if (t !== undefined) this.clock.cancel(t);
    this.triggerTimer = this.bogusTimer = this.probeTimer = undefined;
    if (this.agent.observer === this.observer) this.agent.observer = undefined;
  }

  private opened(c: OfpConnection): void {
    if (!c.primary) return;
    const now = this.clock.now();
    this.conns.set(c, { connectedAt: now, admitted: false, lastActivity: now, probeSent: false });
    this.arm();
  }

  private closed(c: OfpConnection): void {
    if (!this.conns.delete(c)) return;
    this.arm();
  }

  private received(m: OfpMessage, c: OfpConnection): void {
    const s = this.conns.get(c);
    if (s === undefined) return;
    const now = this.clock.now();
    if (s.admitted || isAdmittingMessage(m) || now - s.connectedAt >= 30_000) {
      s.admitted = true;
      this.lastAdmitted = now;
    }
    s.lastActivity = now;
    s.probeSent = false;
    // OVS fail_open_maybe_recover(), before the message is handled.
    if (this.active && s.admitted) this.recover();
    this.arm();
  }

  /** Re-arm the timers for the current state. */
  private arm(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    if (this.triggerTimer !== undefined) this.clock.cancel(this.triggerTimer);
    this.triggerTimer = undefined;
    const anyAdmitted = [...this.conns.values()].some((s) => s.admitted);
    if (this.mode === 'standalone' && !this.active && !anyAdmitted) {
      // fail_open_run() fails open once the whole seconds since the last admission are > 0 and >= the trigger.
      this.triggerTimer = this.clock.schedule(this.lastAdmitted + Math.max(1, this.triggerS) * 1000, (t) => {
        this.triggerTimer = undefined;
        this.check(t);
      });
    }
    if (this.active && this.bogusTimer === undefined && this.conns.size > 0) {
      this.bogusTimer = this.clock.schedule(now + 2000, (t) => this.bogus(t));
    }
    if (this.probeTimer !== undefined) this.clock.cancel(this.probeTimer);
    this.probeTimer = undefined;
    if (this.probeIntervalS > 0 && this.conns.size > 0) {
      let next = Infinity;
      for (const s of this.conns.values()) next = Math.min(next, s.lastActivity + this.probeIntervalS * 1000 * (s.probeSent ? 2 : 1));
      this.probeTimer = this.clock.schedule(next, (t) => {
        this.probeTimer = undefined;
        this.probe(t);
      });
    }
  }

  /** OVS fail_open_run(): fail open if disconnected long enough. */
  private check(now: number): void {
    const secs = this.failureDurationS(now);
    if (this.mode !== 'standalone' || this.active || secs <= 0 || secs < this.triggerS) {
      this.arm();
      return;
    }
    this.active = true;
    const sw = this.agent.sw;
    sw.delFlows();
    for (const id of [...sw.groups.keys()]) sw.delGroup(id);
    for (const m of sw.meters.list()) sw.delMeter(m.config.meterId);
    this.hiddenStats.packets = 0;
    this.hiddenStats.bytes = 0;
    this.hiddenStats.since = now;
    this.opts.onChange?.(true, secs);
    this.arm();
  }

  /** OVS fail_open_recover(): the hidden flow goes. */
  private recover(): void {
    this.active = false;
    if (this.bogusTimer !== undefined) this.clock.cancel(this.bogusTimer);
    this.bogusTimer = undefined;
    this.opts.onChange?.(false, 0);
  }

  /** OVS send_bogus_packet_ins(), every 2 s while failed open with a controller connected. */
  private bogus(_now: number): void {
    this.bogusTimer = undefined;
    if (!this.active || this.conns.size === 0 || this.stopped) return;
    const mac = [0x00, 0x23, 0x20, ...[0, 1, 2].map(() => Math.floor(this.random() * 256))];
    const f = new Uint8Array(42);
    f.fill(0xff, 0, 6);
    f.set(mac, 6);
    f.set([0x80, 0x35, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x03], 12); // RARP, Ethernet/IPv4, op 3 (request reverse)
    f.set(mac, 22);
    f.set(mac, 32);
    this.bogusPacketIns++;
    this.agent.packetIn({
      reason: 'no_match', tableId: 0, cookie: 0xffff_ffff_ffff_ffffn, inPort: OFPP.LOCAL, controllerId: 0, frame: f, totalLen: f.length,
      maxLen: 0xffff, bufferId: 0xffff_ffff, match: [],
    });
    this.arm();
  }

  /** rconn's inactivity probe: ECHO_REQUEST after an idle interval, disconnect after a second. */
  private probe(now: number): void {
    const ms = this.probeIntervalS * 1000;
    for (const [c, s] of [...this.conns]) {
      if (c.state !== 'active') {
        s.lastActivity = now; // still negotiating: probes start once a version is agreed
        continue;
      }
      if (s.probeSent && now - s.lastActivity >= 2 * ms) {
        c.close(`no response to inactivity probe after ${this.probeIntervalS * 2} seconds, disconnecting`);
        this.conns.delete(c);
      } else if (!s.probeSent && now - s.lastActivity >= ms) {
        s.probeSent = true;
        c.notify(startMessage(c.version, OFPT.ECHO_REQUEST, 0).done());
      }
    }
    this.arm();
  }
}
