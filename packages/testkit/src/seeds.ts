/**
 * Seeds of the live differential tests: every random run prints its seed and can be replayed
 * with an environment variable.
 */

/** Where a seed came from. */
export interface LiveSeed {
  /** The seed (an unsigned 32-bit integer). */
  readonly seed: number;
  /** The environment variable that replays it. */
  readonly env: string;
  /** True when the seed was given in the environment. */
  readonly given: boolean;
  /** `NAME=SEED`, to paste in front of the test command. */
  readonly replay: string;
}

/** Thrown when a seed variable does not hold an unsigned 32-bit integer. */
export class SeedError extends RangeError {
  override readonly name = 'SeedError';
}

/**
 * The seed of a live random test: `process.env[env]` when set (decimal or 0x hex), else `dflt`
 * (a number, or `'time'` for a fresh seed from the clock on every run). Prints
 * `[seed] WHAT: seed N (replay: ENV=N)` so a failing run can be repeated.
 */
export function seedFromEnv(what: string, env: string, dflt: number | 'time'): LiveSeed {
  const raw = process.env[env];
  let seed: number;
  const given = raw !== undefined && raw !== '';
  if (given) {
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new SeedError(`${env}=${raw}: expected an unsigned 32-bit integer`);
    seed = v;
  } else seed = dflt === 'time' ? (Date.now() * 1000 + (process.hrtime()[1] % 1000)) % 0x100000000 >>> 0 : dflt >>> 0;
  const replay = `${env}=${seed}`;
  console.log(`[seed] ${what}: seed ${seed}${given ? ' (from the environment)' : ''} (replay: ${replay})`);
  return { seed, env, given, replay };
}
