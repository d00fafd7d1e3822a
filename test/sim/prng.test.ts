// Goal: the simulator's PRNG is exactly xoshiro128**, is a pure function of its seed, forks child
// streams that do not depend on how much the parent (or anyone else) has drawn, and makes integer
// decisions (chance, intBelow, intRange) that are exact and unbiased. A failing property prints the
// fast-check seed that replays it; fixed-seed checks name their seed in the message.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { Prng } from "../../src/sim/prng.js";

const MASK32 = 0xffffffffn;

/** Reference xoshiro128** in BigInt, written from the paper, to check the Math.imul version. */
function referenceXoshiro(state: [bigint, bigint, bigint, bigint], count: number): number[] {
  const s = state.slice();
  const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & MASK32;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const s1 = s[1] as bigint;
    out.push(Number((rotl((s1 * 5n) & MASK32, 7n) * 9n) & MASK32));
    const t = (s1 << 9n) & MASK32;
    s[2] = (s[2] as bigint) ^ (s[0] as bigint);
    s[3] = (s[3] as bigint) ^ s1;
    s[1] = s1 ^ (s[2] as bigint);
    s[0] = (s[0] as bigint) ^ (s[3] as bigint);
    s[2] = (s[2] as bigint) ^ t;
    s[3] = rotl(s[3] as bigint, 11n);
  }
  return out;
}

function draws(prng: Prng, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(prng.nextUint32());
  return out;
}

describe("Prng: xoshiro128**", () => {
  it("matches the known answer for state (1, 2, 3, 4)", () => {
    const prng = Prng.fromState(0, [1, 2, 3, 4]);
    expect(draws(prng, 2)).toEqual([11520, 0]);
  });

  test.prop([fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 0xffffffff }))])(
    "matches a BigInt reference implementation from any state",
    ([a, b, c, d]) => {
      const prng = Prng.fromState(0, [a, b, c, d]);
      expect(draws(prng, 64)).toEqual(referenceXoshiro([BigInt(a), BigInt(b), BigInt(c), BigInt(d)], 64));
    },
  );

  test.prop([fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })])("is a pure function of its seed", (seed) => {
    expect(draws(new Prng(seed), 32)).toEqual(draws(new Prng(seed), 32));
  });

  test.prop([fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })])(
    "different seeds give different streams",
    (a, b) => {
      fc.pre(a !== b);
      expect(draws(new Prng(a), 4)).not.toEqual(draws(new Prng(b), 4));
    },
  );

  it("rejects seeds outside 0 .. 2^53 - 1", () => {
    expect(() => new Prng(-1)).toThrow(RangeError);
    expect(() => new Prng(1.5)).toThrow(RangeError);
    expect(() => new Prng(2 ** 53)).toThrow(RangeError);
  });

  test.prop([fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })])("nextDouble stays in [0, 1)", (seed) => {
    const prng = new Prng(seed);
    for (let i = 0; i < 100; i++) {
      const x = prng.nextDouble();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});

describe("Prng.fork", () => {
  test.prop([fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.string(), fc.nat({ max: 200 })])(
    "a child's stream does not depend on how much the parent drew",
    (seed, label, drawn) => {
      const fresh = new Prng(seed);
      const used = new Prng(seed);
      draws(used, drawn);
      expect(draws(used.fork(label), 16)).toEqual(draws(fresh.fork(label), 16));
    },
  );

  test.prop([fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.string(), fc.string()])(
    "different labels give different streams, and differ from the parent",
    (seed, a, b) => {
      fc.pre(a !== b);
      const parent = new Prng(seed);
      const childA = draws(parent.fork(a), 4);
      expect(childA).not.toEqual(draws(parent.fork(b), 4));
      expect(childA).not.toEqual(draws(new Prng(seed), 4));
    },
  );

  it("the same label under different seeds gives different streams", () => {
    expect(draws(new Prng(1).fork("host:a#0"), 4)).not.toEqual(draws(new Prng(2).fork("host:a#0"), 4));
  });

  it("children of children are deterministic", () => {
    const a = new Prng(99).fork("x").fork("y");
    const b = new Prng(99).fork("x").fork("y");
    expect(a.seed).toBe(b.seed);
    expect(draws(a, 8)).toEqual(draws(b, 8));
  });

  it("child streams are not correlated with their siblings (first draws over 1000 labels are spread)", () => {
    const parent = new Prng(7);
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 1600; i++) {
      const first = parent.fork(`link:${i}`).nextUint32();
      buckets[first >>> 28] = (buckets[first >>> 28] ?? 0) + 1;
    }
    // 100 expected per bucket; 5 sigma is 50.
    for (const count of buckets) expect(Math.abs(count - 100)).toBeLessThan(50);
  });
});

describe("Prng integer decisions", () => {
  it("chance(0, d) never fires, chance(d, d) always does", () => {
    const prng = new Prng(1);
    for (let i = 0; i < 1000; i++) {
      expect(prng.chance(0, 7)).toBe(false);
      expect(prng.chance(7, 7)).toBe(true);
    }
  });

  it("chance rejects ratios that are not probabilities", () => {
    const prng = new Prng(1);
    expect(() => prng.chance(-1, 5)).toThrow(RangeError);
    expect(() => prng.chance(6, 5)).toThrow(RangeError);
  });

  it.each([
    [1, 3, 11],
    [1, 1000, 12],
    [999, 1000, 13],
    [1, 2, 14],
    [12345, 65536, 15],
  ])("chance(%i, %i) hits its ratio within 5 sigma over 10^6 draws (seed %i)", (numerator, denominator, seed) => {
    const prng = new Prng(seed);
    const trials = 1_000_000;
    let hits = 0;
    for (let i = 0; i < trials; i++) if (prng.chance(numerator, denominator)) hits++;
    const p = numerator / denominator;
    const sigma = Math.sqrt(trials * p * (1 - p));
    expect(Math.abs(hits - trials * p), `seed=${seed} hits=${hits}`).toBeLessThan(5 * sigma);
  });

  it.each([
    [3, 21],
    [10, 22],
    [Math.floor(2 ** 32 / 3) + 1, 23],
    [2 ** 40 + 7, 24],
  ])("intBelow(%d) is uniform (chi-square over 10 buckets, seed %i)", (n, seed) => {
    const prng = new Prng(seed);
    const trials = 200_000;
    const buckets = 10;
    const counts = new Array<number>(buckets).fill(0);
    let outside = 0;
    for (let i = 0; i < trials; i++) {
      const x = prng.intBelow(n);
      if (!(x >= 0 && x < n && Number.isInteger(x))) outside++;
      const bucket = n <= buckets ? x % buckets : Math.floor((x * buckets) / n);
      counts[bucket] = (counts[bucket] ?? 0) + 1;
    }
    expect(outside).toBe(0);
    const used = Math.min(n, buckets);
    let chiSquare = 0;
    for (let b = 0; b < used; b++) {
      // Bucket b of floor(x*10/n) holds ceil/floor of n/10 values; for large n that is n/10 to 1e-9.
      const expected = trials / used;
      chiSquare += ((counts[b] ?? 0) - expected) ** 2 / expected;
    }
    // 9 degrees of freedom: P(chi2 > 33.7) < 1e-4.
    expect(chiSquare, `seed=${seed} counts=${counts.join(",")}`).toBeLessThan(33.7);
  });

  it("intBelow removes the modulo bias a naive x % n would have", () => {
    // n = 3 * 2^30: a naive x % n maps 2^32 values onto n with the low 2^30 values hit twice,
    // so P(x < 2^30) would be 1/2 instead of 1/3.
    const n = 3 * 2 ** 30;
    const prng = new Prng(31);
    let low = 0;
    const trials = 300_000;
    for (let i = 0; i < trials; i++) if (prng.intBelow(n) < 2 ** 30) low++;
    expect(Math.abs(low / trials - 1 / 3)).toBeLessThan(0.005);
  });

  test.prop([fc.integer({ min: 0, max: 2 ** 32 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.nat({ max: 2 ** 20 })])(
    "intRange(lo, hi) stays within [lo, hi] and reaches both ends for small ranges",
    (seed, lo, width) => {
      const prng = new Prng(seed);
      for (let i = 0; i < 50; i++) {
        const x = prng.intRange(lo, lo + width);
        expect(x >= lo && x <= lo + width).toBe(true);
      }
    },
  );

  it("intRange over a 4-value range reaches every value", () => {
    const prng = new Prng(5);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(prng.intRange(-2, 1));
    expect([...seen].sort()).toEqual([-1, -2, 0, 1].sort());
  });
});
