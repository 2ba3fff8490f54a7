/**
 * OpenFlow 1.3-1.5 meters as OVS's userspace datapath runs them (lib/dpif-netdev.c
 * `dp_netdev_run_meter`, `dpif_netdev_meter_set`), on the injected clock, plus the
 * `ovs-ofctl add-meter` text syntax (lib/ofp-meter.c `parse_ofp_meter_mod_str`).
 *
 * Token buckets, one per band, in thousandths: a `pktps` band holds `burst_size * 1000`
 * milli-packets and refills `rate` per millisecond (rate packets/s); a `kbps` band holds
 * `burst_size * 1000` bits and refills `rate` bits per millisecond (rate kbit/s). A band without
 * `burst_size` gets `burst_size = rate`. Buckets start full. On each packet the elapsed time is
 * `floor(now) - floor(last)` in whole milliseconds (OVS floors microseconds to ms the same way),
 * capped at the longest time any band needs to fill up; every band is refilled (capped at its
 * size) and then charged 1000 (pktps) or `8 * bytes` (kbps). A band that cannot pay is
 * *exceeded* (its bucket keeps its tokens: a pktps band keeps the sub-packet remainder). Among the
 * exceeded bands the one with the highest rate fires: `drop` drops the packet, `dscp_remark`
 * returns its `prec_level` (OVS's userspace datapath refuses dscp_remark bands, so this part is
 * OpenFlow's definition, not checked against OVS). Meter counters count every packet; band
 * counters count the packets that fired the band.
 */
import type { Clock } from '../clock/index.js';
import { TextParseError } from '../errors.js';

/** Meter band type. */
export type MeterBandType = 'drop' | 'dscp_remark';

/** One band of a meter. */
export interface MeterBand {
  /** Type. */
  type: MeterBandType;
  /** Rate (kbit/s or packets/s per the meter's flags). */
  rate: number;
  /** Burst size (kbit or packets); 0 = not given (the datapath then uses `rate`). */
  burstSize: number;
  /** dscp_remark: drop-precedence levels to add. */
  precLevel?: number;
}

/** A meter as `ovs-ofctl add-meter` describes it. */
export interface MeterConfig {
  /** Meter id (1..0xffff0000). */
  meterId: number;
  /** Rates in kbit/s (false: packets/s). */
  kbps: boolean;
  /** `burst` flag: bands carry `burst_size`. */
  burst: boolean;
  /** `stats` flag. */
  stats: boolean;
  /** Bands. */
  bands: MeterBand[];
}

/** The outcome of metering one packet. */
export type MeterVerdict = 'pass' | 'drop' | { dscpRemark: number };

/** Meter counters (OpenFlow meter stats). */
export interface MeterStats {
  /** Packets that reached the meter. */
  packets: number;
  /** Their bytes. */
  bytes: number;
  /** Per band: packets and bytes that fired it. */
  bands: Array<{ packets: number; bytes: number }>;
}

/** OpenFlow's largest meter id. */
export const OFPM_MAX = 0xffff0000;

/**
 * Parse `ovs-ofctl add-meter` text: `meter=1,pktps,burst,stats,bands=type=drop,rate=10,burst_size=5`
 * (commas or spaces; `band=` works too). Applies OVS's checks (kbps or pktps required, bands
 * required, `rate` required, `burst_size` exactly when the `burst` flag is set, `prec_level` only
 * and always on dscp_remark).
 */
export function parseMeter(text: string): MeterConfig {
  const err = (m: string, at = 0): never => {
    throw new TextParseError(text, at, m);
  };
  const bi = text.indexOf('band');
  if (bi < 0) err('must specify bands');
  const eq = text.indexOf('=', bi);
  if (eq < 0) err('must specify bands', bi);
  const head = text.slice(0, bi);
  const cfg: MeterConfig = { meterId: 0, kbps: false, burst: false, stats: false, bands: [] };
  let pktps = false;
  const htoks = head.split(/[=, \t\r\n]+/).filter((x) => x);
  for (let i = 0; i < htoks.length; i++) {
    const n = htoks[i]!;
    if (n === 'kbps') cfg.kbps = true;
    else if (n === 'pktps') pktps = true;
    else if (n === 'burst') cfg.burst = true;
    else if (n === 'stats') cfg.stats = true;
    else if (n === 'meter') {
      const v = htoks[++i];
      if (v === undefined) err(`field ${n} missing value`);
      if (!/^\d+$/.test(v!) || Number(v) === 0 || Number(v) > OFPM_MAX) err(`invalid value for meter`);
      cfg.meterId = Number(v);
    } else err(`unknown keyword ${n}`);
  }
  if (!cfg.meterId) err("must specify 'meter'");
  if (!cfg.kbps && !pktps) err("meter must specify either 'kbps' or 'pktps'");
  if (cfg.kbps && pktps) err("meter cannot be both 'kbps' and 'pktps'");
  const btoks = text.slice(eq + 1).split(/[=, \t\r\n]+/).filter((x) => x);
  let band: MeterBand | null = null;
  for (let i = 0; i < btoks.length; i += 2) {
    const n = btoks[i]!;
    const v = btoks[i + 1];
    if (v === undefined) err(`field ${n} missing value`);
    const num = (): number => {
      if (!/^\d+$/.test(v!) || Number(v) > 0xffffffff) err(`invalid value ${v} for ${n}`);
      return Number(v);
    };
    if (n === 'type') {
      if (v !== 'drop' && v !== 'dscp_remark') err(`field type unknown value ${v}`);
      band = { type: v as MeterBandType, rate: 0, burstSize: 0 };
      cfg.bands.push(band);
    } else if (!band) err("band must start with the 'type' keyword");
    else if (n === 'rate') band.rate = num();
    else if (n === 'burst_size') band.burstSize = num();
    else if (n === 'prec_level') {
      const p = num();
      if (p > 255) err(`invalid prec_level ${v}`);
      band.precLevel = p;
    } else err(`unknown keyword ${n}`);
  }
  if (!cfg.bands.length) err('meter must have bands');
  for (const b of cfg.bands) {
    if (b.type === 'dscp_remark' && !b.precLevel) err("'dscp_remark' band must have 'prec_level'");
    if (b.type === 'drop' && b.precLevel) err("Only 'dscp_remark' band may have 'prec_level'");
    if (!b.rate) err("band must have 'rate'");
    if (cfg.burst && !b.burstSize) err("band must have 'burst_size' when 'burst' flag is set");
    if (!cfg.burst && b.burstSize) err("band may have 'burst_size' only when 'burst' flag is set");
  }
  return cfg;
}

/** Format a meter as `ovs-ofctl dump-meters` prints its configuration line. */
export function formatMeter(m: MeterConfig): string {
  const flags = [m.kbps ? 'kbps' : 'pktps', ...(m.burst ? ['burst'] : []), ...(m.stats ? ['stats'] : [])];
  const bands = m.bands.map((b) => `type=${b.type} rate=${b.rate}${b.burstSize ? ` burst_size=${b.burstSize}` : ''}${b.precLevel ? ` prec_level=${b.precLevel}` : ''}`);
  return `meter=${m.meterId} ${flags.join(' ')}\nbands=\n${bands.join('\n')}`;
}

interface BandState {
  readonly type: MeterBandType;
  readonly rate: number;
  readonly burstSize: number;
  readonly precLevel: number;
  bucket: number;
  packets: number;
  bytes: number;
}

/** One meter's token buckets and counters. */
export class Meter {
  /** Its configuration. */
  readonly config: MeterConfig;
  /** Packets that reached it. */
  packets = 0;
  /** Their bytes. */
  bytes = 0;
  private readonly bands: BandState[];
  private readonly maxDeltaT: number;
  private used: number;
  /** When it was created (ms). */
  readonly created: number;

  constructor(config: MeterConfig, now: number) {
    this.config = config;
    this.created = now;
    this.used = Math.floor(now);
    let maxDelta = 0;
    this.bands = config.bands.map((b) => {
      const burst = b.burstSize || b.rate;
      const full = burst * 1000;
      const d = Math.floor(full / b.rate);
      if (d > maxDelta) maxDelta = d;
      return { type: b.type, rate: b.rate, burstSize: burst, precLevel: b.precLevel ?? 0, bucket: full, packets: 0, bytes: 0 };
    });
    this.maxDeltaT = maxDelta;
  }

  /** Meter one packet of `bytes` bytes at `now` (ms). */
  run(bytes: number, now: number): MeterVerdict {
    const t = Math.floor(now);
    let delta = t - this.used;
    if (delta < 0) delta = 0;
    if (delta > this.maxDeltaT) delta = this.maxDeltaT;
    this.used = t;
    this.packets++;
    this.bytes += bytes;
    const pktps = !this.config.kbps;
    const volume = pktps ? 1000 : bytes * 8;
    let fired: BandState | null = null;
    for (const b of this.bands) {
      const max = b.burstSize * 1000;
      b.bucket += delta * b.rate;
      if (b.bucket > max) b.bucket = max;
      if (b.bucket >= volume) {
        b.bucket -= volume;
      } else {
        if (pktps) b.bucket %= 1000;
        if (!fired || b.rate > fired.rate) fired = b;
      }
    }
    if (!fired) return 'pass';
    fired.packets++;
    fired.bytes += bytes;
    return fired.type === 'drop' ? 'drop' : { dscpRemark: fired.precLevel };
  }

  /** Counters. */
  stats(): MeterStats {
    return { packets: this.packets, bytes: this.bytes, bands: this.bands.map((b) => ({ packets: b.packets, bytes: b.bytes })) };
  }

  /** Tokens left in each band (thousandths of a packet, or bits), for tests and debugging. */
  buckets(): number[] {
    return this.bands.map((b) => b.bucket);
  }
}

/** The meter table: `add-meter`/`mod-meter`/`del-meter` and the `meter` action. */
export class MeterTable {
  private readonly meters = new Map<number, Meter>();

  constructor(private readonly clock: Clock) {}

  /** Add or replace a meter (replacing resets its buckets and counters, as OVS does). */
  set(m: string | MeterConfig): Meter {
    const cfg = typeof m === 'string' ? parseMeter(m) : m;
    const meter = new Meter(cfg, this.clock.now());
    this.meters.set(cfg.meterId, meter);
    return meter;
  }

  /** Delete a meter; true when it existed. (Flows using it are deleted by the switch, reason METER_DELETE.) */
  delete(id: number): boolean {
    return this.meters.delete(id);
  }

  /** The meter with this id. */
  get(id: number): Meter | undefined {
    return this.meters.get(id);
  }

  /** Every meter, by id. */
  list(): Meter[] {
    return [...this.meters.values()].sort((a, b) => a.config.meterId - b.config.meterId);
  }

  /** The `meter:ID` action on a packet of `bytes` bytes: a missing meter passes everything (as the datapath). */
  meter(id: number, bytes: number, now = this.clock.now()): MeterVerdict {
    const m = this.meters.get(id);
    return m ? m.run(bytes, now) : 'pass';
  }
}

/**
 * Apply a dscp_remark band to a DSCP value: the AF drop precedence (bits 1-2 of an AFxy codepoint,
 * 1..3) is raised by `prec` and saturates at 3. Other codepoints are returned unchanged.
 */
export function remarkDscp(dscp: number, prec: number): number {
  const cls = dscp >> 3;
  const dp = (dscp >> 1) & 3;
  if (cls < 1 || cls > 4 || (dscp & 1) !== 0 || dp === 0) return dscp;
  const ndp = Math.min(3, dp + prec);
  return (cls << 3) | (ndp << 1);
}
