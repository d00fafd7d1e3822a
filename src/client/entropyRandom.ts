// The engine's RandomSource for a live client: the operating system's entropy (crypto
// getRandomValues), so that a restarted publisher picks a new session id and initial term id and
// peers take it as a new stream at once. A seed is for simulation and replay only: with a fixed
// seed a restarted publisher reuses its session id, and receivers hold the new one off until the
// old image times out.
import { getRandomValues } from "node:crypto";
import type { RandomSource } from "../core/random.js";
import { Prng } from "../sim/prng.js";

/** Draws 64 words of entropy at a time (session ids, term ids, receiver ids, NAK delays). */
export class EntropyRandom implements RandomSource {
  private readonly words = new Uint32Array(64);
  private next = this.words.length;

  nextUint32(): number {
    if (this.next === this.words.length) {
      getRandomValues(this.words);
      this.next = 0;
    }
    return this.words[this.next++]!;
  }

  nextDouble(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

/** Entropy by default; the simulator's seeded generator when a seed is given. */
export function clientRandom(seed: number | undefined): RandomSource {
  return seed === undefined ? new EntropyRandom() : new Prng(seed);
}
