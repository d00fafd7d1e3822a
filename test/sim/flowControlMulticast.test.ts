// Goal: multicast flow-control strategies behave as PROTOCOL.md section 7 says, measured through
// real engines: 1 sender, 10 receivers on a multicast group, one receiver behind a slow path
// (2 Mbit/s; the others 100 Mbit/s; the simulator copies a multicast datagram per member and each
// copy takes that member's own link). `fc=min` holds the sender to the slowest receiver (sender
// and every fast receiver stay within a window of it); when it crashes it is dropped after the
// receiver timeout (t:500ms, measured from its last status message) and the others speed up.
// `fc=max` (the multicast default) never waits for it. `fc=tagged,g:7/3` is not connected until 3
// receivers with gtag=7 report, then waits only for tagged receivers. Every message that arrives
// arrives in order, exactly once. Each failure names its seed.
import { describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/index.js";
import { buildGroup, bytesBetween, type GroupReceiverSpec, type GroupRun } from "../../src/cli/transportExperiments.js";

const SEEDS = process.env["PETREL_SEED"] !== undefined ? [Number(process.env["PETREL_SEED"])] : [11, 12, 13];
const WINDOW = 32 * 1024; // term-length 64k: the receiver window is termLength / 2
const SLOW_BPS = 2_000_000;
const MS = 1_000_000;

function receivers(slow: number, extra: (i: number) => Partial<GroupReceiverSpec> = () => ({})): GroupReceiverSpec[] {
  return Array.from({ length: 10 }, (_, i) => ({ ...(i === slow ? { bandwidthBitsPerSecond: SLOW_BPS } : {}), ...extra(i) }));
}

function inOrder(run: GroupRun, seed: number): void {
  run.counters.forEach((c, i) => expect(c.violations, `seed ${seed} receiver ${i}: ${c.firstViolation}`).toBe(0));
}

/** Samples every `stepNs` until `toNs`, calling check after each step. */
function sampleUntil(run: GroupRun, toNs: number, stepNs: number, check: () => void): void {
  while (run.sim.nowNs < toNs) {
    run.sim.runFor(Math.min(stepNs, toNs - run.sim.nowNs));
    check();
  }
}

describe("fc=min with a slow receiver", () => {
  for (const seed of SEEDS) {
    it(`holds the sender to the slow receiver, drops it after the receiver timeout when it dies, and the rest speed up (seed ${seed})`, () => {
      const run = buildGroup(seed, { fc: "min,t:500ms", receivers: receivers(9) });
      const where = () => `seed ${seed} at ${run.sim.nowNs} ns`;
      run.sim.runFor(500 * MS);
      let maxLead = 0;
      sampleUntil(run, 2000 * MS, 5 * MS, () => {
        const slow = run.receiverPosition(9);
        const lead = run.senderPosition() - slow;
        if (lead > maxLead) maxLead = lead;
        expect(lead, where()).toBeLessThanOrEqual(WINDOW);
        for (let i = 0; i < 9; i++) expect(run.receiverPosition(i) - slow, where()).toBeLessThanOrEqual(WINDOW);
      });
      const before = bytesBetween(run, 0, 3000 * MS) / 1; // bytes per second, over [2 s, 3 s]
      // Throughput held to the slow path: at most its capacity (payload < wire bytes).
      expect(before * 8, where()).toBeLessThanOrEqual(SLOW_BPS);
      expect(before * 8, where()).toBeGreaterThan(SLOW_BPS * 0.5);

      // Crash the slow receiver; note when it last sent a status message.
      const slowNode = run.receiverNodes[9]!;
      let lastSmNs = 0;
      let lastSmCount = slowNode.engine.counters.get(Counter.STATUS_MESSAGES_SENT);
      sampleUntil(run, 3200 * MS, 1000, () => {
        const count = slowNode.engine.counters.get(Counter.STATUS_MESSAGES_SENT);
        if (count !== lastSmCount) {
          lastSmCount = count;
          lastSmNs = run.sim.nowNs;
        }
      });
      const crashNs = run.sim.nowNs;
      const deadPosition = run.receiverPosition(9);
      run.sim.crash("sub9");
      let droppedNs = -1;
      sampleUntil(run, crashNs + 1500 * MS, 1000, () => {
        if (droppedNs < 0 && run.senderLimit() > deadPosition + WINDOW) droppedNs = run.sim.nowNs;
      });
      const afterSmNs = droppedNs - lastSmNs;
      console.log(`fc=min seed=${seed}: sender lead over slow receiver max ${maxLead} B (window ${WINDOW}); ` +
        `${(before * 8 / 1e6).toFixed(2)} Mbit/s with it; dropped ${(afterSmNs / MS).toFixed(1)} ms after its last SM ` +
        `(${((droppedNs - crashNs) / MS).toFixed(1)} ms after the crash)`);
      expect(droppedNs, where()).toBeGreaterThan(0);
      // SM send time + 200 µs to the sender + 500 ms timeout, and the sender's 1 ms sampling here.
      expect(afterSmNs, where()).toBeGreaterThanOrEqual(500 * MS);
      expect(afterSmNs, where()).toBeLessThanOrEqual(510 * MS);
      run.sim.runFor(100 * MS);
      const after = bytesBetween(run, 0, run.sim.nowNs + 1000 * MS);
      console.log(`fc=min seed=${seed}: fast receiver ${(before * 8 / 1e6).toFixed(2)} -> ${(after * 8 / 1e6).toFixed(2)} Mbit/s after the drop`);
      expect(after, where()).toBeGreaterThan(10 * before);
      inOrder(run, seed);
    });
  }
});

describe("fc=max (the multicast default) with a slow receiver", () => {
  for (const seed of SEEDS) {
    it(`does not wait for it: fast receivers' throughput ≈ throughput without it (seed ${seed})`, () => {
      const withSlow = buildGroup(seed, { fc: "", receivers: receivers(9) });
      const without = buildGroup(seed, { fc: "", receivers: receivers(-1) });
      withSlow.sim.runFor(500 * MS);
      without.sim.runFor(500 * MS);
      const a = bytesBetween(withSlow, 0, 1500 * MS);
      const b = bytesBetween(without, 0, 1500 * MS);
      console.log(`fc=max seed=${seed}: fast receiver ${(a * 8 / 1e6).toFixed(1)} Mbit/s with the slow receiver, ${(b * 8 / 1e6).toFixed(1)} without`);
      expect(a / b, `seed ${seed}: ${a} vs ${b}`).toBeGreaterThanOrEqual(0.9);
      expect(a / b, `seed ${seed}: ${a} vs ${b}`).toBeLessThanOrEqual(1.1);
      expect(a * 8, `seed ${seed}`).toBeGreaterThan(20 * SLOW_BPS);
      inOrder(withSlow, seed);
      inOrder(without, seed);
    });
  }
});

describe("fc=tagged,g:7/3", () => {
  // Receivers 0-2 carry gtag=7 (receiver 2 subscribes only at 1 s); 3-9 are untagged.
  const tagged = (late: boolean) => (i: number): Partial<GroupReceiverSpec> =>
    i < 3 ? { groupTag: 7, ...(late && i === 2 ? { subscribeAtNs: 1000 * MS } : {}) } : {};

  for (const seed of SEEDS) {
    it(`is not connected until 3 tagged receivers report; a slow untagged receiver does not hold it back (seed ${seed})`, () => {
      const run = buildGroup(seed, { fc: "tagged,g:7/3", receivers: receivers(9, tagged(true)) });
      run.sim.runFor(950 * MS);
      expect(run.publication().isConnected, `seed ${seed}`).toBe(false);
      expect(run.sent(), `seed ${seed}`).toBe(0);
      let connectedNs = -1;
      sampleUntil(run, 1200 * MS, 1 * MS, () => {
        if (connectedNs < 0 && run.publication().isConnected) connectedNs = run.sim.nowNs;
      });
      expect(connectedNs, `seed ${seed}`).toBeGreaterThanOrEqual(1000 * MS);
      run.sim.runFor(300 * MS);
      const fast = bytesBetween(run, 1, run.sim.nowNs + 1000 * MS);
      console.log(`fc=tagged seed=${seed}: connected ${((connectedNs - 1000 * MS) / MS).toFixed(1)} ms after the 3rd tagged subscription; ` +
        `tagged receiver ${(fast * 8 / 1e6).toFixed(1)} Mbit/s with a slow untagged one`);
      expect(fast * 8, `seed ${seed}`).toBeGreaterThan(20 * SLOW_BPS);
      inOrder(run, seed);
    });

    it(`waits for a slow tagged receiver (seed ${seed})`, () => {
      const run = buildGroup(seed, { fc: "tagged,g:7/3", receivers: receivers(0, tagged(false)) });
      run.sim.runFor(500 * MS);
      sampleUntil(run, 1500 * MS, 5 * MS, () => {
        expect(run.senderPosition() - run.receiverPosition(0), `seed ${seed} at ${run.sim.nowNs}`).toBeLessThanOrEqual(WINDOW);
      });
      const held = bytesBetween(run, 1, 2500 * MS);
      console.log(`fc=tagged seed=${seed}: tagged receiver ${(held * 8 / 1e6).toFixed(2)} Mbit/s with a slow tagged one`);
      expect(held * 8, `seed ${seed}`).toBeLessThanOrEqual(SLOW_BPS);
      inOrder(run, seed);
    });
  }
});
