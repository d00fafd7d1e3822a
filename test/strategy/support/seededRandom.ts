// A small deterministic RandomSource for strategy tests (sfc32, a 32-bit counter-based generator):
// the same seed gives the same draws on every machine, as the core's contract requires. The
// simulator has its own generator; this one keeps the strategy tests free of it.
import type { RandomSource } from "../../../src/core/random.js";

export class SeededRandom implements RandomSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed | 0;
    for (let i = 0; i < 16; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextDouble(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }
}

/** A RandomSource that replays fixed doubles (and their uint32 image), for edge-of-range checks. */
export class ScriptedRandom implements RandomSource {
  private index = 0;
  constructor(private readonly doubles: ReadonlyArray<number>) {}

  nextDouble(): number {
    const value = this.doubles[this.index % this.doubles.length] ?? 0;
    this.index++;
    return value;
  }

  nextUint32(): number {
    return Math.floor(this.nextDouble() * 0x1_0000_0000) >>> 0;
  }
}
