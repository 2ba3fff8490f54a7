/**
 * A switch port on a real interface: frames libpcap captures on the interface are received on
 * the port, frames the switch transmits on the port are sent on the interface (both through
 * `@ovnts/capture`'s `openLive`, i.e. the optional native package `cap`).
 *
 * The interface is meant to be a pod's veth host end (`HostNetwork.addPod`): nothing else
 * transmits there, so every captured frame came from the pod. A packet socket does not see the
 * frames it sends itself, so what the switch sends is not captured back; frames whose source MAC
 * is the interface's own (the host stack, should it send anything) are filtered out in the kernel
 * as well. Captured frames are handed to the switch during libpcap's callback, without a copy
 * (the switch never keeps a received frame).
 *
 * Counters (`LivePortStats`): frames and bytes each way; `rxTruncated` (longer than the snaplen:
 * delivered cut, as the capture saw them), `rxDropped` (captured after `close()`), `txErrors`
 * (the interface refused a frame: larger than its MTU, link down), and the interface's own
 * kernel counters of dropped frames (`/sys/class/net/<if>/statistics/{rx,tx}_dropped`, read by
 * `stats()`). `cap` 0.2.1 does not expose libpcap's `pcap_stats`, so frames the kernel dropped
 * from the capture socket's buffer are not counted here; docs/host.md says so.
 */
import { readFileSync } from 'node:fs';
import { openLive, type LiveCapture, type LiveOptions } from '@ovnts/capture';
import { HostError } from './ip.js';

/** What `attachLivePort` needs of a switch (`@ovnts/openflow`'s `Switch` has it). */
export interface SwitchPorts {
  /** The port numbered `n` (its `sink` receives what the switch transmits on it). */
  port(n: number): { sink?: (port: number, frame: Uint8Array) => void } | undefined;
  /** Run a received frame through the switch. */
  receive(inPort: number, frame: Uint8Array): void;
}

/** What `attachLivePort` needs of a live interface (`@ovnts/capture`'s `LiveCapture` has it). */
export interface LiveInterface {
  on(event: 'frame', cb: (f: { data: Uint8Array; truncated: boolean }) => void): unknown;
  send(frame: Uint8Array): void;
  close(): void;
}

/** Counters of a live port. */
export interface LivePortStats {
  /** Frames captured on the interface and received on the port. */
  rxFrames: number;
  rxBytes: number;
  /** Of those, frames longer than the snaplen (received cut). */
  rxTruncated: number;
  /** Frames captured after `close()` (not received). */
  rxDropped: number;
  /** Frames the switch transmitted on the port and the interface accepted. */
  txFrames: number;
  txBytes: number;
  /** Frames the interface refused (too big for its MTU, link down...). */
  txErrors: number;
  /** The interface's kernel counters (`/sys/class/net/<if>/statistics`), when readable. */
  ifRxDropped?: number;
  ifTxDropped?: number;
}

/** Options of `attachLivePort`. */
export interface LivePortOptions {
  /** Bytes kept per captured frame (default 65535). */
  snaplen?: number;
  /** Extra pcap-filter(7) expression, and-ed with the built-in one. */
  filter?: string;
  /** Opens the interface (default: `@ovnts/capture`'s `openLive`); tests inject a fake. */
  open?: (ifname: string, opts: LiveOptions) => LiveInterface;
  /** Called with the error when a frame cannot be sent (after counting it in `txErrors`). */
  onTxError?: (e: unknown) => void;
}

/** A switch port attached to a live interface; `close()` detaches it. */
export class LivePort {
  private readonly counters: LivePortStats = { rxFrames: 0, rxBytes: 0, rxTruncated: 0, rxDropped: 0, txFrames: 0, txBytes: 0, txErrors: 0 };
  private closed = false;

  /** Use `attachLivePort`. */
  constructor(
    /** The interface. */
    readonly ifname: string,
    /** The switch port number. */
    readonly portNo: number,
    private readonly sw: SwitchPorts,
    private readonly live: LiveInterface,
    private readonly onTxError?: (e: unknown) => void,
  ) {
    live.on('frame', (f) => {
      if (this.closed) {
        this.counters.rxDropped++;
        return;
      }
      this.counters.rxFrames++;
      this.counters.rxBytes += f.data.length;
      if (f.truncated) this.counters.rxTruncated++;
      this.sw.receive(this.portNo, f.data);
    });
  }

  /** The switch port's sink: send a transmitted frame on the interface. */
  readonly transmit = (_port: number, frame: Uint8Array): void => {
    if (this.closed) return;
    try {
      this.live.send(frame);
      this.counters.txFrames++;
      this.counters.txBytes += frame.length;
    } catch (e) {
      this.counters.txErrors++;
      this.onTxError?.(e);
    }
  };

  /** The counters, with the interface's kernel drop counters read now. */
  stats(): LivePortStats {
    const s: LivePortStats = { ...this.counters };
    const read = (name: string): number | undefined => {
      try {
        return Number(readFileSync(`/sys/class/net/${this.ifname}/statistics/${name}`, 'utf8'));
      } catch {
        return undefined;
      }
    };
    const rx = read('rx_dropped');
    const tx = read('tx_dropped');
    if (rx !== undefined) s.ifRxDropped = rx;
    if (tx !== undefined) s.ifTxDropped = tx;
    return s;
  }

  /** Detach: stop capturing, close the interface, and unset the port's sink (if still ours). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const p = this.sw.port(this.portNo);
    if (p && p.sink === this.transmit) delete p.sink;
    this.live.close();
  }
}

/** The interface's MAC as pcap-filter text, or undefined when it cannot be read. */
function ownMac(ifname: string): string | undefined {
  try {
    const m = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
    return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m) ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Attach port `portNo` of `sw` to interface `ifname` (see the module comment). */
export function attachLivePort(sw: SwitchPorts, portNo: number, ifname: string, opts: LivePortOptions = {}): LivePort {
  const port = sw.port(portNo);
  if (!port) throw new HostError(`attachLivePort: the switch has no port ${portNo}`);
  const mac = ownMac(ifname);
  const filters = [mac ? `not ether src ${mac}` : '', opts.filter ? `(${opts.filter})` : ''].filter(Boolean);
  const open = opts.open ?? ((n: string, o: LiveOptions): LiveInterface => openLive(n, o) as LiveCapture);
  const live = open(ifname, { filter: filters.join(' and '), ...(opts.snaplen !== undefined ? { snaplen: opts.snaplen } : {}) });
  const lp = new LivePort(ifname, portNo, sw, live, opts.onTxError);
  port.sink = lp.transmit;
  return lp;
}
