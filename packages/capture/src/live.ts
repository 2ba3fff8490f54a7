/**
 * Live frame I/O on a real interface through the optional native package `cap` (libpcap).
 *
 * `cap` is loaded lazily with `createRequire`, so this package imports and works (files, streams)
 * where `cap` or libpcap is missing; only `openLive` then fails, with a
 * `LiveCaptureUnavailableError` that says what is missing and how to install it. Tests inject a
 * loader to simulate that.
 *
 * `cap` copies each captured frame into one buffer we own and emits `packet(nbytes, truncated)`;
 * the frame handed to `on('frame')` callbacks is a view of that buffer, valid only during the
 * callback. The async iterator copies frames into a bounded queue instead (ownership changes).
 * `cap` does not expose libpcap's timestamp or the original length, so frames are stamped on
 * arrival with the injected clock, and `origLen` equals the captured length (`truncated` tells
 * when the snaplen cut the frame). `cap` 0.2.1 always opens in promiscuous mode with libpcap's
 * snaplen at 65535; our `snaplen` truncates the copy, and `promiscuous: false` is refused rather
 * than silently ignored.
 */
import { createRequire } from 'node:module';
import { LiveCaptureError, LiveCaptureUnavailableError } from './errors.js';
import { LinkType } from './format.js';
import { copyFrame, type CaptureFrame } from './frame.js';

/** The part of a `cap` `Cap` instance we use. */
export interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  send(buffer: Buffer, nBytes?: number): void;
  on(event: 'packet', cb: (nbytes: number, truncated: boolean) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** The part of the `cap` module we use. */
export interface CapModule {
  Cap: new () => CapHandle;
}

/** Loads the `cap` module (throws when it cannot); injectable for tests. */
export type CapLoader = () => CapModule;

/** A frame from a live interface. */
export interface LiveFrame extends CaptureFrame {
  /** True when the frame was longer than the snaplen and `data` holds only its start. */
  truncated: boolean;
}

/** Options of `openLive`. */
export interface LiveOptions {
  /** A pcap-filter(7) expression (default: none, every frame). */
  filter?: string;
  /** Bytes kept per frame, 1..65535 (default 65535). */
  snaplen?: number;
  /** Must be true or absent: `cap` always opens in promiscuous mode. */
  promiscuous?: boolean;
  /** libpcap's kernel buffer size in bytes (default 10 MiB). */
  bufferSize?: number;
  /** Frames the async iterator may queue before dropping new ones (default 10000). */
  maxQueue?: number;
  /** Timestamp source in ns since the epoch (default: wall clock at open + monotonic time). */
  clock?: () => bigint;
  /** How to load `cap` (default: `createRequire(import.meta.url)('cap')`). */
  loader?: CapLoader;
}

const INSTALL_HINT =
  'Install libpcap and its headers (Debian/Ubuntu: `apt-get install -y libpcap-dev`), then reinstall ' +
  "dependencies (`pnpm install`, or `npm rebuild cap`) so the optional package `cap` builds its native addon.";

const defaultLoader: CapLoader = () => createRequire(import.meta.url)('cap') as CapModule;

function explain(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'MODULE_NOT_FOUND' && /['"]cap['"]/.test(msg)) return 'the optional dependency `cap` is not installed';
  if (code === 'MODULE_NOT_FOUND' && /cap\.node/.test(msg)) return "`cap` is installed but its native addon was not built (libpcap-dev missing at install time?)";
  if (/libpcap/.test(msg)) return `the libpcap shared library cannot be loaded (${msg.split('\n')[0]})`;
  return `loading \`cap\` failed: ${msg.split('\n')[0]}`;
}

function load(loader: CapLoader): CapModule {
  let mod: CapModule;
  try {
    mod = loader();
  } catch (e) {
    throw new LiveCaptureUnavailableError(`live capture unavailable: ${explain(e)}. ${INSTALL_HINT}`, { cause: e });
  }
  if (!mod || typeof mod.Cap !== 'function') {
    throw new LiveCaptureUnavailableError(`live capture unavailable: the loaded \`cap\` module has no Cap class. ${INSTALL_HINT}`);
  }
  return mod;
}

/** Whether live capture can work here (the `cap` package and libpcap load), and if not, why. */
export function liveCaptureAvailable(loader: CapLoader = defaultLoader): { ok: boolean; reason?: string } {
  try {
    load(loader);
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** LINKTYPE_* for the link-type names `cap` reports. */
function linkTypeOf(name: string): number {
  switch (name) {
    case 'ETHERNET':
      return LinkType.ETHERNET;
    case 'NULL':
      return LinkType.NULL;
    case 'RAW':
      return LinkType.RAW;
    case 'IEEE802_11_RADIO':
      return LinkType.IEEE802_11_RADIOTAP;
    case 'LINKTYPE_LINUX_SLL':
      return LinkType.LINUX_SLL;
    default: {
      const m = /Unknown linktype (\d+)/.exec(name);
      return m ? Number(m[1]) : -1;
    }
  }
}

function defaultClock(): () => bigint {
  const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return () => base + process.hrtime.bigint();
}

type FrameListener = (f: LiveFrame) => void;

/** An open live interface: frames in (callback or async iterator), frames out (`send`). */
export class LiveCapture implements AsyncIterable<LiveFrame> {
  /** LINKTYPE_* of the interface (-1 if `cap` reported something unrecognised). */
  readonly linkType: number;
  private readonly listeners = new Set<FrameListener>();
  private readonly closeListeners = new Set<() => void>();
  private closed = false;

  /** Use `openLive`. */
  constructor(
    /** The interface name. */
    readonly ifname: string,
    private readonly cap: CapHandle,
    private readonly buffer: Buffer,
    linkTypeName: string,
    private readonly clock: () => bigint,
    private readonly maxQueue: number,
  ) {
    this.linkType = linkTypeOf(linkTypeName);
    cap.on('packet', (nbytes, truncated) => {
      const frame: LiveFrame = {
        data: this.buffer.subarray(0, nbytes),
        origLen: nbytes,
        timestampNs: this.clock(),
        interfaceId: 0,
        linkType: this.linkType,
        truncated,
      };
      for (const l of this.listeners) l(frame);
    });
  }

  /** Whether `close()` has been called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Call `cb` for every frame; its `data` is only valid during the call (copy to keep). */
  on(event: 'frame', cb: FrameListener): this {
    if (event !== 'frame') throw new LiveCaptureError(`LiveCapture: unknown event ${String(event)}`);
    this.listeners.add(cb);
    return this;
  }

  /** Stop calling `cb`. */
  off(event: 'frame', cb: FrameListener): this {
    if (event === 'frame') this.listeners.delete(cb);
    return this;
  }

  /** Transmit one raw frame (link-layer header included) on the interface. */
  send(frame: Uint8Array): void {
    if (this.closed) throw new LiveCaptureError(`${this.ifname}: send after close()`);
    const b = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    try {
      this.cap.send(b, b.length);
    } catch (e) {
      throw new LiveCaptureError(`${this.ifname}: send of ${b.length} bytes failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Stop capturing and release the interface; ends async iterators. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cap.close();
    this.cap.removeAllListeners('packet');
    this.listeners.clear();
    for (const l of this.closeListeners) l();
    this.closeListeners.clear();
  }

  /** Frames as owned copies, queued (at most `maxQueue`; newer ones are dropped and counted in `dropped`). */
  [Symbol.asyncIterator](): AsyncIterator<LiveFrame> & { dropped: number } {
    const queue: LiveFrame[] = [];
    let wake: (() => void) | null = null;
    let done = this.closed;
    const it = {
      dropped: 0,
      next: async (): Promise<IteratorResult<LiveFrame>> => {
        while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
        const f = queue.shift();
        return f ? { value: f, done: false } : { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<LiveFrame>> => {
        finish();
        queue.length = 0;
        return { value: undefined, done: true };
      },
    };
    const onFrame: FrameListener = (f) => {
      if (queue.length >= this.maxQueue) {
        it.dropped++;
        return;
      }
      queue.push(copyFrame(f));
      const w = wake;
      wake = null;
      w?.();
    };
    const finish = (): void => {
      done = true;
      this.listeners.delete(onFrame);
      this.closeListeners.delete(finish);
      const w = wake;
      wake = null;
      w?.();
    };
    if (!done) {
      this.listeners.add(onFrame);
      this.closeListeners.add(finish);
    }
    return it;
  }
}

/** Open `ifname` for live capture and injection through `cap`; throws `LiveCaptureUnavailableError` without cap/libpcap. */
export function openLive(ifname: string, opts: LiveOptions = {}): LiveCapture {
  const snaplen = opts.snaplen ?? 65535;
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 65535) {
    throw new LiveCaptureError(`openLive(${ifname}): snaplen ${snaplen} outside 1..65535 (cap's libpcap snaplen is fixed at 65535)`);
  }
  if (opts.promiscuous === false) {
    throw new LiveCaptureError(`openLive(${ifname}): promiscuous: false is not supported; cap 0.2.1 always opens in promiscuous mode`);
  }
  const bufferSize = opts.bufferSize ?? 10 * 1024 * 1024;
  if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > 0x7fff_ffff) {
    throw new LiveCaptureError(`openLive(${ifname}): bufferSize ${bufferSize} is not a positive 31-bit integer`);
  }
  const mod = load(opts.loader ?? defaultLoader);
  const cap = new mod.Cap();
  const buffer = Buffer.alloc(snaplen);
  let linkName: string;
  try {
    linkName = cap.open(ifname, opts.filter ?? '', bufferSize, buffer);
  } catch (e) {
    const msg = (e as Error).message;
    const hint = /permitted|permission/i.test(msg) ? ' (needs root or CAP_NET_RAW)' : '';
    throw new LiveCaptureError(`openLive(${ifname}): ${msg}${hint}`, { cause: e });
  }
  return new LiveCapture(ifname, cap, buffer, linkName, opts.clock ?? defaultClock(), opts.maxQueue ?? 10_000);
}
