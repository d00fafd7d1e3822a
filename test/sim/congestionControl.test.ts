// Goal: receiver-side congestion control works end to end through real engines on a simulated
// bottleneck (100 Mbit/s, 64-packet tail-drop queue, 1 ms each way; src/cli/transportExperiments.ts
// builds it: two flows share it as two publications on one host to two subscriptions on another,
// so their datagrams go through the same link and queue). CUBIC (`cc=cubic`) fills the pipe (≥ 80%
// of capacity in payload, after startup), two CUBIC flows share it, and its window shrinks on loss
// and regrows.
//
// Fairness (two flows, the second starting 1 s after the first, measured over seconds 8-20):
//  - TCP-friendly mode (EngineConfig.cubicTcpMode): each flow gets the fair share (half of what the
//    two deliver) ±20% and Jain's index is ≥ 0.95. Measured, seeds 1-8: worst deviation 8%, Jain
//    0.994-1.000 (seeds 1-10 over seconds 10-30: worst 12%).
//  - Aeron's default (tcpMode off): congestion epochs of K = cbrt(wMax·β/C) ≈ 3 s at these windows
//    mean few loss events, and the flows converge slowly. Measured over seconds 8-20, seeds 1-8:
//    deviations 27, 10, 23, 35, 42, 65, 25, 20% (Jain 0.933, 0.989, 0.952, 0.888, 0.852, 0.706,
//    0.943, 0.960); over seconds 20-60, seeds 1-10: Jain 0.830-0.998, seed 4 still 26/70 Mbit/s.
//    What is asserted is what holds on every seed: neither flow below 15% of capacity, Jain ≥ 0.7,
//    and TCP-friendly mode's worst deviation below the default's.
// The delay-based controller (`cc=bbr`) reaches a similar utilisation with a much lower queueing
// delay. Every message arrives in order exactly once, and a run is a function of its seed (trace
// hash).
import { describe, expect, it } from "vitest";
import { checkDeterminism } from "../../src/sim/determinism.js";
import {
  bbrVersusCubicChecks,
  type BottleneckResult,
  type Check,
  fairShareDeviations,
  formatBottleneck,
  runBottleneck,
  singleFlowChecks,
  twoFlowChecks,
} from "../../src/cli/transportExperiments.js";

const SEEDS = process.env["PETREL_SEED"] !== undefined ? [Number(process.env["PETREL_SEED"])] : [1, 2, 3];
const RUN = { durationNs: 10e9, warmupNs: 4e9, secondFlowStartNs: 1e9 } as const;
/** Two-flow fairness: ≥ 3 seeds, measured after convergence (seconds 8-20). */
const FAIRNESS_SEEDS = process.env["PETREL_SEED"] !== undefined ? SEEDS : [1, 4, 5, 6];
const FAIRNESS_RUN = { cc: "cubic", flows: 2, durationNs: 20e9, warmupNs: 8e9, secondFlowStartNs: 1e9 } as const;

/** One CUBIC flow per seed, run once: the one-flow test and the BBR comparison both use it. */
const cubicOneFlow = new Map<number, BottleneckResult>();
function runCubicOneFlow(seed: number): BottleneckResult {
  let r = cubicOneFlow.get(seed);
  if (r === undefined) {
    r = runBottleneck(seed, { cc: "cubic", flows: 1, ...RUN });
    cubicOneFlow.set(seed, r);
  }
  return r;
}

/** The experiment's own checks (what `petrel sim` reports) must all hold. */
function allHold(checks: ReadonlyArray<Check>, where: string): void {
  for (const c of checks) expect(c.ok, `${where}: ${c.name}: ${c.detail}`).toBe(true);
}

function delivered(r: BottleneckResult): void {
  expect(r.violations, `seed ${r.seed}: ${r.firstViolation}`).toBe(0);
}

describe("CUBIC on a 100 Mbit/s bottleneck with a 64-packet queue", () => {
  for (const seed of SEEDS) {
    it(`one flow: ≥ 80% utilisation after startup; the window shrinks on loss and regrows (seed ${seed})`, () => {
      const r = runCubicOneFlow(seed);
      console.log(formatBottleneck(r));
      delivered(r);
      allHold(singleFlowChecks(r), `seed ${seed}`);
      expect(r.utilisation, `seed ${seed}: ${formatBottleneck(r)}`).toBeGreaterThanOrEqual(0.8);
      expect(r.queueDrops, `seed ${seed}`).toBeGreaterThan(0); // CUBIC finds the queue's end by loss
      // A shrink: a sample below its predecessor; then a later sample above the shrunk window.
      const w = r.windowSamples[0]!;
      let regrown = 0;
      for (let i = 1; i < w.length; i++) {
        if (w[i]![1] >= w[i - 1]![1]) continue;
        const shrunk = w[i]![1];
        if (w.slice(i + 1).some(([, bytes]) => bytes > shrunk)) regrown++;
      }
      expect(regrown, `seed ${seed}: windows ${w.map(([, b]) => b).join(",")}`).toBeGreaterThanOrEqual(1);
    });
  }

  describe("two flows sharing the bottleneck", () => {
    const worst = { tcp: 0, aeron: 0 };
    for (const seed of FAIRNESS_SEEDS) {
      it(`TCP-friendly mode: each flow within ±20% of the fair share after convergence, Jain's index ≥ 0.95 (seed ${seed})`, () => {
        const r = runBottleneck(seed, { ...FAIRNESS_RUN, cubicTcpMode: true });
        const deviations = fairShareDeviations(r);
        const what = `seed ${seed}: ${formatBottleneck(r)}, deviations ${deviations.map((d) => `${(d * 100).toFixed(1)}%`).join("/")}`;
        console.log(`tcpMode ${what}`);
        delivered(r);
        allHold(twoFlowChecks(r, true), what);
        for (const d of deviations) expect(d, what).toBeLessThanOrEqual(0.2);
        expect(r.jain, what).toBeGreaterThanOrEqual(0.95);
        expect(r.utilisation, what).toBeGreaterThanOrEqual(0.8);
        worst.tcp = Math.max(worst.tcp, ...deviations);
      });

      it(`Aeron's default (tcp mode off): slower convergence, but neither flow starves (seed ${seed})`, () => {
        const r = runBottleneck(seed, FAIRNESS_RUN);
        const deviations = fairShareDeviations(r);
        const what = `seed ${seed}: ${formatBottleneck(r)}, deviations ${deviations.map((d) => `${(d * 100).toFixed(1)}%`).join("/")}`;
        console.log(`default ${what}`);
        delivered(r);
        allHold(twoFlowChecks(r, false), what);
        for (const rate of r.flowRatesBitsPerSecond) expect(rate / r.capacityBitsPerSecond, what).toBeGreaterThanOrEqual(0.15);
        expect(r.jain, what).toBeGreaterThanOrEqual(0.7);
        expect(r.utilisation, what).toBeGreaterThanOrEqual(0.8);
        worst.aeron = Math.max(worst.aeron, ...deviations);
      });
    }

    it("TCP-friendly mode's worst deviation from the fair share is below Aeron's default's", () => {
      // Seeds 1, 4, 5, 6: the default mode's slowest (test/sim's measurements above, seeds 1-8).
      console.log(`worst deviation from the fair share over seeds ${FAIRNESS_SEEDS.join(",")}: tcpMode ${(worst.tcp * 100).toFixed(1)}%, default ${(worst.aeron * 100).toFixed(1)}%`);
      if (FAIRNESS_SEEDS.length < 3) return; // one seed (PETREL_SEED) says little either way
      expect(worst.tcp).toBeLessThan(worst.aeron);
    });
  });

  it("is deterministic: the same seed gives the same trace", () => {
    const report = checkDeterminism(SEEDS[0]!, (seed) => runBottleneck(seed, { cc: "cubic", flows: 2, durationNs: 2e9, warmupNs: 1e9 }).sim);
    expect(report.packetEvents).toBeGreaterThan(10_000);
    checkDeterminism(SEEDS[0]!, (seed) => runBottleneck(seed, { cc: "cubic", flows: 2, durationNs: 2e9, warmupNs: 1e9, cubicTcpMode: true }).sim);
  });
});

describe("delay-based (BBR-style) congestion control on the same bottleneck", () => {
  for (const seed of SEEDS) {
    it(`one flow: utilisation within 10 points of CUBIC's, mean queueing delay under half of CUBIC's (seed ${seed})`, () => {
      const bbr = runBottleneck(seed, { cc: "bbr", flows: 1, ...RUN });
      const cubic = runCubicOneFlow(seed);
      console.log(formatBottleneck(bbr));
      delivered(bbr);
      const both = `seed ${seed}: ${formatBottleneck(bbr)} | ${formatBottleneck(cubic)}`;
      allHold(bbrVersusCubicChecks(bbr, cubic), both);
      expect(bbr.utilisation, both).toBeGreaterThanOrEqual(0.8);
      expect(bbr.utilisation, both).toBeGreaterThanOrEqual(cubic.utilisation - 0.1);
      expect(bbr.queueDelayMeanNs, both).toBeLessThan(cubic.queueDelayMeanNs / 2);
      expect(bbr.queueDelayP99Ns, both).toBeLessThan(cubic.queueDelayP99Ns);
    });
  }

  it("is deterministic: the same seed gives the same trace", () => {
    checkDeterminism(SEEDS[0]!, (seed) => runBottleneck(seed, { cc: "bbr", flows: 1, durationNs: 2e9, warmupNs: 1e9 }).sim);
  });
});
