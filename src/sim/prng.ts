// The simulator's seeded pseudo-random generator: xoshiro128** (Blackman and Vigna) in 32-bit
// integer arithmetic (Math.imul, shifts), seeded through splitmix32. Every decision the simulator
// makes is an integer draw, so one seed gives the same run on every machine and every JavaScript
// engine; floats appear only in nextDouble(), which the RandomSource contract asks for and which is
// built from 53 integer bits.
//
// Forking: fork(label) derives a child generator from this generator's *seed* and the label (a
// 64-bit FNV-1a hash of both), never from its current state. A host or link therefore draws from
// a stream that does not change when some other component draws more or fewer numbers, or when
// components are created in a different order. Forking the same label twice gives the same stream:
// put whatever makes a component unique (host name, incarnation, link endpoints) in the label.
import type { RandomSource } from "../core/random.js";
import { assertIntegerInRange } from "./assert.js";

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
/** Rejection sampling ends with probability >= 1/2 per round; 64 rounds failing is a broken generator. */
const REJECTION_ROUNDS_MAX = 64;

/** A probability as an exact integer ratio: `numerator / denominator`, 0 <= numerator <= denominator. */
export interface Ratio {
  readonly numerator: number;
  readonly denominator: number;
}

export function ratio(numerator: number, denominator: number): Ratio {
  assertRatio({ numerator, denominator }, "ratio");
  return { numerator, denominator };
}

export function assertRatio(value: Ratio, name: string): void {
  assertIntegerInRange(value.denominator, 1, TWO_POW_32, `${name}.denominator`);
  assertIntegerInRange(value.numerator, 0, value.denominator, `${name}.numerator`);
}

/** One step of splitmix32 on `state`; returns [next state, output]. Used only for seeding. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z ^= z >>> 16;
  z = Math.imul(z, 0x21f0aaad);
  z ^= z >>> 15;
  z = Math.imul(z, 0x735a2d97);
  z ^= z >>> 15;
  return z >>> 0;
}

/** 64-bit FNV-1a over the seed's two halves and the label's UTF-16 code units; returns a u53. */
function forkSeed(seedHi: number, seedLo: number, label: string): number {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const step = (byte: number): void => {
    lo ^= byte;
    // (hi, lo) * (2^40 + 0x1b3) mod 2^64, in 32-bit halves.
    const loProduct = (lo >>> 0) * 0x1b3;
    const carry = Math.floor(loProduct / TWO_POW_32);
    hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    lo = loProduct >>> 0;
  };
  for (let shift = 0; shift < 32; shift += 8) step((seedLo >>> shift) & 0xff);
  for (let shift = 0; shift < 32; shift += 8) step((seedHi >>> shift) & 0xff);
  // A separator so that ("ab", seed) and ("a", seed') cannot meet by concatenation.
  step(0xff);
  for (let i = 0; i < label.length; i++) {
    const unit = label.charCodeAt(i);
    step(unit & 0xff);
    step(unit >>> 8);
  }
  return (hi & 0x1fffff) * TWO_POW_32 + (lo >>> 0);
}

export class Prng implements RandomSource {
  /** The seed this generator started from (an integer in 0 .. 2^53 - 1); print it to replay. */
  readonly seed: number;
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number) {
    assertIntegerInRange(seed, 0, TWO_POW_53 - 1, "seed");
    this.seed = seed;
    const seedLo = seed >>> 0;
    const seedHi = Math.floor(seed / TWO_POW_32) >>> 0;
    // Two splitmix32 sequences, one per seed half, xor-ed word by word: every seed bit reaches
    // every state word, and seeds that differ only in the high half still differ everywhere.
    let a = seedLo;
    let b = seedHi ^ 0x85ebca6b;
    const words = [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) {
      a = (a + 0x9e3779b9) >>> 0;
      b = (b + 0x7f4a7c15) >>> 0;
      words[i] = (splitmix32(a) ^ splitmix32(b ^ 0x5bd1e995)) >>> 0;
    }
    this.s0 = words[0] ?? 0;
    this.s1 = words[1] ?? 0;
    this.s2 = words[2] ?? 0;
    this.s3 = words[3] ?? 0;
    // xoshiro's only forbidden state is all zeros.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * A generator in an exact xoshiro128** state (not all zero), for known-answer tests and for
   * resuming a saved stream. `seed` is only what fork() derives children from.
   */
  static fromState(seed: number, state: readonly [number, number, number, number]): Prng {
    const prng = new Prng(seed);
    prng.s0 = state[0] >>> 0;
    prng.s1 = state[1] >>> 0;
    prng.s2 = state[2] >>> 0;
    prng.s3 = state[3] >>> 0;
    if ((prng.s0 | prng.s1 | prng.s2 | prng.s3) === 0) throw new RangeError("fromState: the all-zero state is forbidden");
    return prng;
  }

  /** The current state, for saving a stream. */
  state(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** A child generator for `label`, independent of how much this generator has drawn. */
  fork(label: string): Prng {
    return new Prng(forkSeed(Math.floor(this.seed / TWO_POW_32) >>> 0, this.seed >>> 0, label));
  }

  nextUint32(): number {
    const s1 = this.s1;
    const product = Math.imul(s1, 5);
    const result = Math.imul((product << 7) | (product >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  nextDouble(): number {
    const high27 = this.nextUint32() >>> 5;
    const low26 = this.nextUint32() >>> 6;
    return (high27 * 67108864 + low26) / TWO_POW_53;
  }

  /**
   * An unbiased integer in [0, n), for 1 <= n <= 2^53, by rejection sampling: draws falling in
   * the incomplete last block of size (2^k mod n) are redrawn, so every result is equally likely.
   */
  intBelow(n: number): number {
    if (n <= TWO_POW_32) {
      if (!(n >= 1) || Math.floor(n) !== n) throw new RangeError(`intBelow: n must be an integer >= 1, got ${n}`);
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      for (let round = 0; round < REJECTION_ROUNDS_MAX; round++) {
        const x = this.nextUint32();
        if (x < limit) return x % n;
      }
    } else {
      if (n > TWO_POW_53 || Math.floor(n) !== n) throw new RangeError(`intBelow: n must be an integer <= 2^53, got ${n}`);
      const limit = TWO_POW_53 - (TWO_POW_53 % n);
      for (let round = 0; round < REJECTION_ROUNDS_MAX; round++) {
        const x = (this.nextUint32() >>> 11) * TWO_POW_32 + this.nextUint32();
        if (x < limit) return x % n;
      }
    }
    throw new Error(`intBelow(${n}): ${REJECTION_ROUNDS_MAX} rejections in a row; the generator is broken`);
  }

  /** An unbiased integer in [lo, hi], both inclusive. */
  intRange(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) {
      throw new RangeError(`intRange: need integers lo <= hi, got ${lo}, ${hi}`);
    }
    return lo + this.intBelow(hi - lo + 1);
  }

  /**
   * True with probability exactly numerator/denominator (integers, denominator <= 2^32): one
   * unbiased draw below the denominator compared with the numerator. No float is involved.
   */
  chance(numerator: number, denominator: number): boolean {
    if (numerator <= 0) {
      if (numerator !== 0) throw new RangeError(`chance: numerator must be >= 0, got ${numerator}`);
      return false;
    }
    if (numerator >= denominator) {
      if (numerator !== denominator) throw new RangeError(`chance: numerator ${numerator} > denominator ${denominator}`);
      return true;
    }
    return this.intBelow(denominator) < numerator;
  }

  /** chance() for a Ratio. */
  chanceOf(probability: Ratio): boolean {
    return this.chance(probability.numerator, probability.denominator);
  }
}
