/**
 * Randomness, injected like time. Code that OVS drives with `random_uint32()` (conntrack's
 * `nat(random)` port choice and its retry rounds, select-group defaults, ...) takes an `Rng`.
 * `SeededRng` is deterministic (a 32-bit SplitMix variant), for tests and simulators; `CryptoRng`
 * draws from the platform CSPRNG for live use. Nothing else reads `Math.random()`.
 */
import { webcrypto } from 'node:crypto';

/** A source of uniformly distributed unsigned 32-bit integers. */
export interface Rng {
  /** The next value in [0, 2^32). */
  nextU32(): number;
}

/** Deterministic generator: the same seed gives the same sequence on every platform. */
export class SeededRng implements Rng {
  private s: number;

  constructor(seed = 0x9e3779b9) {
    this.s = seed >>> 0;
  }

  /** The next value in [0, 2^32). */
  nextU32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}

/** The platform's cryptographic generator (batched). */
export class CryptoRng implements Rng {
  private readonly buf = new Uint32Array(256);
  private i = 256;

  /** The next value in [0, 2^32). */
  nextU32(): number {
    if (this.i === this.buf.length) {
      webcrypto.getRandomValues(this.buf);
      this.i = 0;
    }
    return this.buf[this.i++]!;
  }
}
