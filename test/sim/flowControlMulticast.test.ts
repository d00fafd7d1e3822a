// Goal: multicast flow-control strategies behave as PROTOCOL.md section 7 says, measured through
// real engines: 1 sender, 10 receivers on a multicast group, one receiver behind a slow path
// (2 Mbit/s; the others 100 Mbit/s; the simulator copies a multicast datagram per member and each
// copy takes that member's own link). `fc=min` holds the sender to the slowest receiver (sender
// and every fast receiver stay within a window of it); when it crashes it is dropped after the
// receiver timeout (t:500ms, measured from its last status message) and the others speed up.
// `fc=max` (the multicast default) never waits for it. `fc=tagged,g:7/3` is not connected until 3
// receivers with gtag=7 report, then waits only for tagged receivers. Every message that arrives
// arrives in order, exactly once, intact. Each failure names its seed.
//
// The experiments are runFcMin, runFcMax and runFcTagged (src/cli/transportExperiments.ts, also
// `petrel sim fc-min|fc-max|fc-tagged`); their checks are what is asserted here, with the figures.
import { describe, expect, it } from "vitest";
import {
  type Check,
  FC_MIN_RECEIVER_TIMEOUT_NS,
  FC_SLOW_BITS_PER_SECOND,
  FC_WINDOW_BYTES,
  formatFcMax,
  formatFcMin,
  formatFcTagged,
  runFcMax,
  runFcMin,
  runFcTagged,
} from "../../src/cli/transportExperiments.js";

const SEEDS = process.env["PETREL_SEED"] !== undefined ? [Number(process.env["PETREL_SEED"])] : [11, 12, 13];
const MS = 1_000_000;

function allHold(checks: ReadonlyArray<Check>, where: string): void {
  for (const c of checks) expect(c.ok, `${where}: ${c.name}: ${c.detail}`).toBe(true);
}

describe("fc=min with a slow receiver", () => {
  for (const seed of SEEDS) {
    it(`holds the sender to the slow receiver, drops it after the receiver timeout when it dies, and the rest speed up (seed ${seed})`, () => {
      const r = runFcMin(seed);
      console.log(formatFcMin(r));
      allHold(r.checks, `seed ${seed}`);
      expect(r.senderLeadMaxBytes, `seed ${seed}`).toBeLessThanOrEqual(FC_WINDOW_BYTES);
      expect(r.heldBitsPerSecond, `seed ${seed}`).toBeLessThanOrEqual(FC_SLOW_BITS_PER_SECOND);
      expect(r.droppedNs - r.lastSmNs, `seed ${seed}`).toBeGreaterThanOrEqual(FC_MIN_RECEIVER_TIMEOUT_NS);
      expect(r.droppedNs - r.lastSmNs, `seed ${seed}`).toBeLessThanOrEqual(FC_MIN_RECEIVER_TIMEOUT_NS + 10 * MS);
      expect(r.afterBitsPerSecond, `seed ${seed}`).toBeGreaterThan(10 * r.heldBitsPerSecond);
    });
  }
});

describe("fc=max (the multicast default) with a slow receiver", () => {
  for (const seed of SEEDS) {
    it(`does not wait for it: fast receivers' throughput ≈ throughput without it (seed ${seed})`, () => {
      const r = runFcMax(seed);
      console.log(formatFcMax(r));
      allHold(r.checks, `seed ${seed}`);
      const ratio = r.withSlowBitsPerSecond / r.withoutSlowBitsPerSecond;
      expect(ratio, `seed ${seed}`).toBeGreaterThanOrEqual(0.9);
      expect(ratio, `seed ${seed}`).toBeLessThanOrEqual(1.1);
      expect(r.slowGapBytes, `seed ${seed}: the slow receiver is left behind`).toBeGreaterThan(FC_WINDOW_BYTES);
    });
  }
});

describe("fc=tagged,g:7/3", () => {
  for (const seed of SEEDS) {
    it(`is not connected until 3 tagged receivers report; waits for a slow tagged receiver but not for a slow untagged one (seed ${seed})`, () => {
      const r = runFcTagged(seed);
      console.log(formatFcTagged(r));
      allHold(r.checks, `seed ${seed}`);
      expect(r.connectedBeforeThirdTagged, `seed ${seed}`).toBe(false);
      expect(r.sentBeforeThirdTagged, `seed ${seed}`).toBe(0);
      expect(r.connectedNs, `seed ${seed}`).toBeGreaterThanOrEqual(1000 * MS);
      expect(r.taggedWithSlowUntaggedBitsPerSecond, `seed ${seed}`).toBeGreaterThan(20 * FC_SLOW_BITS_PER_SECOND);
      expect(r.slowTaggedLeadMaxBytes, `seed ${seed}`).toBeLessThanOrEqual(FC_WINDOW_BYTES);
      expect(r.taggedWithSlowTaggedBitsPerSecond, `seed ${seed}`).toBeLessThanOrEqual(FC_SLOW_BITS_PER_SECOND);
    });
  }
});
