// Goal: NAK-implosion control works end to end. 50 receivers on a multicast group all lose the
// same data frames (dropped inside the sender's host, before the simulator's per-member fan-out:
// every 40th frame's first transmission), and each receiver's NAK delay comes from the optimal
// multicast generator (the engine's choice for multicast channels; T = 10 ms, N = 10). The first
// NAK's retransmission reaches everyone through the group and cancels their pending NAKs, so far
// fewer receivers NAK a gap than there are receivers (≤ 10% on average), and every receiver still
// gets every message, in order, exactly once. Each failure names its seed.
import { describe, expect, it } from "vitest";
import { checkDeterminism } from "../../src/sim/determinism.js";
import { formatNakImplosion, runNakImplosion } from "../../src/cli/transportExperiments.js";

const SEEDS = process.env["PETREL_SEED"] !== undefined ? [Number(process.env["PETREL_SEED"])] : [21, 22, 23];

describe("NAK implosion: 50 receivers, a loss common to all", () => {
  for (const seed of SEEDS) {
    it(`NAKs per gap stay ≤ 10% of receivers and every receiver recovers every message (seed ${seed})`, () => {
      const r = runNakImplosion(seed);
      console.log(formatNakImplosion(r));
      for (const c of r.checks) expect(c.ok, `seed ${seed}: ${c.name}: ${c.detail}`).toBe(true);
      expect(r.violations, `seed ${seed}`).toBe(0);
      expect(r.allDelivered, `seed ${seed}: ${formatNakImplosion(r)}`).toBe(true);
      expect(r.gaps, `seed ${seed}`).toBeGreaterThanOrEqual(40);
      expect(r.naksSent, `seed ${seed}`).toBeGreaterThanOrEqual(r.gaps); // every gap was NAKed
      expect(r.nakFractionPerGap, `seed ${seed}: ${formatNakImplosion(r)}`).toBeLessThanOrEqual(0.1);
      expect(r.retransmits, `seed ${seed}`).toBeGreaterThanOrEqual(r.gaps);
    });
  }

  it("is deterministic: the same seed gives the same trace", () => {
    checkDeterminism(SEEDS[0]!, (seed) => runNakImplosion(seed, { receivers: 20, total: 500 }).sim);
  });
});
