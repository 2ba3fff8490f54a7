/**
 * Time, injected. Everything in the switch that depends on time (conntrack expiry, flow idle and
 * hard timeouts, meters, MAC aging, learn timeouts) asks a `Clock` for `now()` in milliseconds and,
 * where it needs to be called back, a `TimerClock` for a timer. Tests and simulators use the
 * `VirtualClock`, which only moves when told to and fires its timers in deadline order (ties in
 * the order they were scheduled), so every run is reproducible. `RealClock` is the one place in
 * the code base that reads real time (`performance.now()`, monotonic) and arms real timers.
 *
 * The virtual clock keeps its timers in a binary min-heap ordered by (deadline, sequence number).
 * `advance(ms)` pops every timer whose deadline is at or before the target, sets the clock to that
 * deadline (never backwards) and calls it; a callback may schedule further timers, and those that
 * fall inside the same advance fire in the same call. Cancelled timers are dropped lazily when
 * they reach the top of the heap.
 */

/** A monotonic source of time in milliseconds. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never decreases. */
  now(): number;
}

/** A timer's handle, for `cancel()`. */
export type TimerHandle = number;

/** A clock that can also call back at a given time. */
export interface TimerClock extends Clock {
  /** Call `cb(now)` once when the clock reaches `atMs` (at once, on the next tick, if already past). */
  schedule(atMs: number, cb: (now: number) => void): TimerHandle;
  /** Call `cb(now)` once after `delayMs` milliseconds from now. */
  after(delayMs: number, cb: (now: number) => void): TimerHandle;
  /** Cancel a timer; false when it already fired or was cancelled. */
  cancel(handle: TimerHandle): boolean;
}

/** Raised on a misuse of a clock (moving a virtual clock backwards, a non-finite time). */
export class ClockError extends RangeError {
  override readonly name = 'ClockError';
}

interface Timer {
  at: number;
  seq: number;
  id: number;
  cb: ((now: number) => void) | null;
}

/** Binary min-heap of timers by (deadline, sequence). */
class TimerHeap {
  private readonly a: Timer[] = [];

  get size(): number {
    return this.a.length;
  }

  peek(): Timer | undefined {
    return this.a[0];
  }

  push(t: Timer): void {
    const a = this.a;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(t, a[p]!)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = t;
  }

  pop(): Timer | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(a[r]!, a[l]!) ? r : l;
      if (!less(a[c]!, last)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

function less(x: Timer, y: Timer): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/** Upper bound on timers fired by one `advance()`, to turn a runaway rescheduling loop into an error. */
const MAX_FIRINGS_PER_ADVANCE = 50_000_000;

/** A clock that moves only when told to; its timers fire deterministically in deadline order. */
export class VirtualClock implements TimerClock {
  private t: number;
  private seq = 0;
  private nextId = 1;
  private readonly heap = new TimerHeap();
  private readonly live = new Map<number, Timer>();

  /** Start at `startMs` (0 by default). */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) throw new ClockError(`VirtualClock: start time ${startMs} is not finite`);
    this.t = startMs;
  }

  /** The current virtual time in milliseconds. */
  now(): number {
    return this.t;
  }

  /** Number of timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.live.size;
  }

  /** Deadline of the earliest pending timer, or undefined. */
  nextDeadline(): number | undefined {
    this.dropCancelled();
    return this.heap.peek()?.at;
  }

  /** Move forward by `ms` (>= 0), firing due timers in order; returns how many fired. */
  advance(ms: number): number {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new ClockError(`VirtualClock.advance: ${ms} is not a finite non-negative number of milliseconds`);
    return this.runUntil(this.t + ms);
  }

  /** Move to the absolute time `ms` (not before now), firing due timers; returns how many fired. */
  set(ms: number): number {
    if (!Number.isFinite(ms)) throw new ClockError(`VirtualClock.set: ${ms} is not finite`);
    if (ms < this.t) throw new ClockError(`VirtualClock.set: ${ms} is before the current time ${this.t}; the clock is monotonic`);
    return this.runUntil(ms);
  }

  /** Fire the timers that are due at the current time (deadline <= now) without moving. */
  runDue(): number {
    return this.runUntil(this.t);
  }

  /** Call `cb(now)` once when the clock reaches `atMs`. */
  schedule(atMs: number, cb: (now: number) => void): TimerHandle {
    if (Number.isNaN(atMs)) throw new ClockError('VirtualClock.schedule: deadline is NaN');
    const timer: Timer = { at: atMs, seq: this.seq++, id: this.nextId++, cb };
    this.heap.push(timer);
    this.live.set(timer.id, timer);
    return timer.id;
  }

  /** Call `cb(now)` once after `delayMs`. */
  after(delayMs: number, cb: (now: number) => void): TimerHandle {
    return this.schedule(this.t + delayMs, cb);
  }

  /** Cancel a pending timer. */
  cancel(handle: TimerHandle): boolean {
    const timer = this.live.get(handle);
    if (!timer) return false;
    timer.cb = null;
    this.live.delete(handle);
    return true;
  }

  private dropCancelled(): void {
    while (this.heap.size > 0 && this.heap.peek()!.cb === null) this.heap.pop();
  }

  private runUntil(target: number): number {
    let fired = 0;
    for (;;) {
      this.dropCancelled();
      const top = this.heap.peek();
      if (top === undefined || top.at > target) break;
      this.heap.pop();
      const cb = top.cb!;
      top.cb = null;
      this.live.delete(top.id);
      if (top.at > this.t) this.t = top.at;
      if (++fired > MAX_FIRINGS_PER_ADVANCE) throw new ClockError(`VirtualClock: more than ${MAX_FIRINGS_PER_ADVANCE} timers fired in one advance (a timer keeps rescheduling itself at the current time?)`);
      cb(this.t);
    }
    if (target > this.t) this.t = target;
    return fired;
  }
}

/** Options of `RealClock`. */
export interface RealClockOptions {
  /** Do not keep the Node.js event loop alive for pending timers (default true). */
  unref?: boolean;
}

/** Real monotonic time (`performance.now()`) and real timers (`setTimeout`). */
export class RealClock implements TimerClock {
  private readonly unref: boolean;
  private nextId = 1;
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();

  constructor(opts: RealClockOptions = {}) {
    this.unref = opts.unref ?? true;
  }

  /**
   * Milliseconds on the process's monotonic clock (`performance.now()`: fractional, since the
   * process started; every RealClock reads the same time). Returned as read: Node 20's
   * `performance.now()` boxes its double (16 bytes), and arithmetic here would box a second one
   * whenever the caller does not inline this method.
   */
  now(): number {
    return performance.now();
  }

  /**
   * Call `cb(now)` once at `atMs` (as soon as possible when already past), never before: Node's
   * `setTimeout` works in whole milliseconds and may fire up to a millisecond before the
   * `performance.now()` deadline, so an early wake-up re-arms for the remainder.
   */
  schedule(atMs: number, cb: (now: number) => void): TimerHandle {
    const id = this.nextId++;
    const arm = (): void => {
      const h = setTimeout(() => {
        const now = this.now();
        if (now < atMs) return arm();
        this.timers.delete(id);
        cb(now);
      }, Math.max(0, Math.ceil(atMs - this.now())));
      if (this.unref && typeof h === 'object' && h !== null && 'unref' in h) h.unref();
      this.timers.set(id, h);
    };
    arm();
    return id;
  }

  /** Call `cb(now)` once after `delayMs`. */
  after(delayMs: number, cb: (now: number) => void): TimerHandle {
    return this.schedule(this.now() + delayMs, cb);
  }

  /** Cancel a pending timer. */
  cancel(handle: TimerHandle): boolean {
    const h = this.timers.get(handle);
    if (h === undefined) return false;
    clearTimeout(h);
    this.timers.delete(handle);
    return true;
  }
}
