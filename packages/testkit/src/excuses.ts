/**
 * Excuse buckets of the differential suites, each with a cap.
 *
 * A differential test sometimes sets a case aside instead of comparing it: an Open vSwitch bug
 * the suite recognises, a trace the northbound database does not determine, a flow the oracle
 * cannot read back. Each such reason is a named bucket. Left uncounted, a bucket can quietly
 * swallow a real regression (a change that makes every trace "undetermined" would pass), so
 * every bucket has a cap, an absolute number or a fraction of the cases compared, and the suite
 * fails once a bucket holds more than its cap. The caps are listed in docs/testing.md.
 */
/** The cap of one bucket: at most `max` cases, or `fraction` of the cases compared, whichever is larger. */
export interface ExcuseCap {
  /** Absolute cap (default 0). */
  readonly max?: number;
  /** Cap as a fraction of the cases compared (default 0). */
  readonly fraction?: number;
  /** Why cases land in this bucket (printed with the counts). */
  readonly why: string;
}

/** Thrown for a bucket name that was not declared (a typo would otherwise create an uncapped bucket). */
export class ExcuseBucketError extends RangeError {
  override readonly name = 'ExcuseBucketError';
}

/** The excuse buckets of one suite. */
export class Excuses {
  private readonly counts = new Map<string, number>();
  private readonly examples = new Map<string, string[]>();

  constructor(
    /** The suite's name, for messages. */
    readonly suite: string,
    /** Bucket name to cap. */
    readonly caps: Readonly<Record<string, ExcuseCap>>,
  ) {
    for (const k of Object.keys(caps)) this.counts.set(k, 0);
  }

  /** Put `n` cases into `bucket`; `example` (a seed, a case name) is kept for the first few. */
  add(bucket: string, example?: string, n = 1): void {
    const c = this.counts.get(bucket);
    if (c === undefined) throw new ExcuseBucketError(`${this.suite}: no excuse bucket named ${JSON.stringify(bucket)} (declared: ${Object.keys(this.caps).join(', ')})`);
    this.counts.set(bucket, c + n);
    if (example !== undefined) {
      const l = this.examples.get(bucket) ?? [];
      if (l.length < 5) l.push(example);
      this.examples.set(bucket, l);
    }
  }

  /** How many cases `bucket` holds. */
  count(bucket: string): number {
    return this.counts.get(bucket) ?? 0;
  }

  /** The cap of `bucket` when `total` cases were compared. */
  cap(bucket: string, total: number): number {
    const c = this.caps[bucket];
    if (!c) throw new ExcuseBucketError(`${this.suite}: no excuse bucket named ${JSON.stringify(bucket)}`);
    return Math.max(c.max ?? 0, Math.floor((c.fraction ?? 0) * total));
  }

  /** One line per bucket: `name: count (cap N): why`. */
  summary(total: number): string {
    return [...this.counts]
      .map(([k, v]) => `  ${k}: ${v} (cap ${this.cap(k, total)}): ${this.caps[k]!.why}${this.examples.get(k)?.length ? `; e.g. ${this.examples.get(k)!.join(', ')}` : ''}`)
      .join('\n');
  }

  /** The buckets holding more than their cap, as messages (empty when every bucket is within its cap). */
  overCap(total: number): string[] {
    const out: string[] = [];
    for (const [k, v] of this.counts) {
      const cap = this.cap(k, total);
      if (v > cap) out.push(`${this.suite}: ${v} cases set aside as "${k}", more than its cap of ${cap} (${this.caps[k]!.why})${this.examples.get(k)?.length ? `; e.g. ${this.examples.get(k)!.join(', ')}` : ''}`);
    }
    return out;
  }
}
