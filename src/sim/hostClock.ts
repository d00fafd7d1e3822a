// A host's clock: simulated (true) time plus a fixed offset plus a linear drift in integer parts
// per million. Nodes only ever see their host's local time; the simulator converts their deadlines
// back to true time to schedule them. All arithmetic is exact integer arithmetic on doubles (every
// intermediate stays below 2^53), so a drifting clock is as reproducible as a perfect one.
//
//   local(t) = t + offsetNs + floor(t * driftPpm / 1e6)
//
// With driftPpm > -1e6, local(t) never goes backwards, so a deadline has a first true instant.
import { assert, assertIntegerInRange } from "./assert.js";

const MILLION = 1_000_000;
const INVERSE_STEPS_MAX = 256;

export class HostClock {
  constructor(
    readonly offsetNs = 0,
    /** Parts per million: +100 runs 100 us fast per simulated second. */
    readonly driftPpm = 0,
  ) {
    assertIntegerInRange(offsetNs, -(2 ** 52), 2 ** 52, "clockOffsetNs");
    assertIntegerInRange(driftPpm, -(MILLION - 1), MILLION, "clockDriftPpm");
  }

  /** floor(trueNs * driftPpm / 1e6), split so that no product leaves the exact range. */
  private driftNs(trueNs: number): number {
    const millions = Math.floor(trueNs / MILLION);
    const rest = trueNs - millions * MILLION;
    return millions * this.driftPpm + Math.floor((rest * this.driftPpm) / MILLION);
  }

  /** The host's local time at true time `trueNs` (an integer >= 0). */
  toLocalNs(trueNs: number): number {
    if (this.driftPpm === 0) return trueNs + this.offsetNs;
    return trueNs + this.offsetNs + this.driftNs(trueNs);
  }

  /**
   * The first true instant at which local time reaches `localNs` (may be negative: already past).
   * local() is non-decreasing, so the answer is found by bracketing from a floating-point guess and
   * bisecting on exact integers: at most about 2 * 53 evaluations, whatever the drift.
   */
  toTrueNs(localNs: number): number {
    assert(Number.isFinite(localNs), "toTrueNs: local time must be finite");
    if (this.driftPpm === 0) return localNs - this.offsetNs;
    const guess = Math.floor(((localNs - this.offsetNs) * MILLION) / (MILLION + this.driftPpm));
    let below: number; // local(below) < localNs
    let above: number; // local(above) >= localNs
    let step = 1;
    let steps = 0;
    if (this.toLocalNs(guess) >= localNs) {
      above = guess;
      below = guess - step;
      while (this.toLocalNs(below) >= localNs) {
        above = below;
        step *= 2;
        below = guess - step;
        assert(++steps < INVERSE_STEPS_MAX, "toTrueNs: no bracket");
      }
    } else {
      below = guess;
      above = guess + step;
      while (this.toLocalNs(above) < localNs) {
        below = above;
        step *= 2;
        above = guess + step;
        assert(++steps < INVERSE_STEPS_MAX, "toTrueNs: no bracket");
      }
    }
    while (above - below > 1) {
      const middle = below + Math.floor((above - below) / 2);
      if (this.toLocalNs(middle) >= localNs) above = middle;
      else below = middle;
      assert(++steps < INVERSE_STEPS_MAX, "toTrueNs: bisection did not converge");
    }
    return above;
  }
}
