// Goal: scenarios are data and the checkers catch what they claim to. (a) A scenario run twice
// with one seed gives the same trace hash and stats; another seed, another hash. (c) A deliberately
// broken engine (a receiver that never NAKs) is caught by the liveness check, and fast-check
// shrinks the failing schedule to at most two faults. (d) Queues and memory stay bounded (peaks
// under the bounds, and a bound set too low is reported as a bound violation). Schedules round-trip
// through JSON, invalid ones are rejected, and impossible actions (crash a host that is down) are
// no-ops so that every sub-list of a schedule is valid.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ratio } from "../../src/sim/prng.js";
import { formatScenarioResult, parseSchedule, runScenario, type Schedule } from "../../src/sim/scenario.js";
import { replayCommand, scheduleArbitrary } from "./scenarioArbitrary.js";

const BASE_SEED = Number(process.env["PETREL_FUZZ_SEED"] ?? 20261124);

const STORMY: Schedule = [
  { atNs: 100_000_000, action: { kind: "loss", sub: 0, loss: ratio(30, 100) } },
  { atNs: 200_000_000, action: { kind: "reorder", sub: 0, on: true } },
  { atNs: 300_000_000, action: { kind: "duplicate", sub: 0, on: true } },
  { atNs: 700_000_000, action: { kind: "partition", sub: 0, direction: "toSubscriber" } },
  { atNs: 900_000_000, action: { kind: "heal", sub: 0 } },
  { atNs: 1_200_000_000, action: { kind: "crash", sub: 0 } },
  { atNs: 1_600_000_000, action: { kind: "restart", sub: 0 } },
  { atNs: 2_000_000_000, action: { kind: "partition", sub: 0, direction: "fromSubscriber" } },
  { atNs: 2_300_000_000, action: { kind: "loss", sub: 0, loss: ratio(1, 2) } },
];

describe("runScenario", () => {
  it("passes a fault-free run and a stormy one, delivering every message", () => {
    const calm = runScenario(BASE_SEED, [], { messages: 300 });
    expect(calm.violation).toBeUndefined();
    expect(calm.stats.messagesReceived).toBe(300);
    expect(calm.stats.naksReceived).toBe(0);
    const stormy = runScenario(BASE_SEED, STORMY, { messages: 300 });
    expect(stormy.violation, formatScenarioResult(stormy)).toBeUndefined();
    expect(stormy.stats.crashes).toBe(1);
    expect(stormy.stats.restarts).toBe(1);
    expect(stormy.stats.naksReceived).toBeGreaterThan(0);
    expect(stormy.stats.completedNs).toBeGreaterThan(stormy.stats.livenessStartNs - 1);
  });

  it("(a) is deterministic: same seed, same trace hash and stats; another seed, another hash", () => {
    const first = runScenario(BASE_SEED, STORMY);
    const second = runScenario(BASE_SEED, STORMY);
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.stats).toEqual(first.stats);
    const other = runScenario(BASE_SEED + 1, STORMY);
    expect(other.traceHash).not.toBe(first.traceHash);
    expect(runScenario(BASE_SEED, []).traceHash).not.toBe(first.traceHash);
  });

  it("runs several subscriber hosts, each with its own stream and faults", () => {
    const schedule: Schedule = [
      { atNs: 50_000_000, action: { kind: "loss", sub: 1, loss: ratio(2, 5) } },
      { atNs: 400_000_000, action: { kind: "crash", sub: 2 } },
      { atNs: 800_000_000, action: { kind: "partition", sub: 0, direction: "both" } },
      { atNs: 1_500_000_000, action: { kind: "restart", sub: 2 } },
    ];
    const result = runScenario(BASE_SEED, schedule, { subscribers: 3, messages: 200 });
    expect(result.violation, formatScenarioResult(result)).toBeUndefined();
    expect(result.stats.messagesOffered).toBe(600);
  });

  it("(c) catches an engine that never NAKs, and shrinks the schedule to at most two faults", () => {
    const details = fc.check(
      fc.property(fc.noShrink(fc.integer({ min: 0, max: 0x7fffffff })), scheduleArbitrary({ maxFaults: 8 }), (seed, schedule) =>
        runScenario(seed, schedule, { messages: 150, brokenEngine: "neverNak" }).ok),
      { seed: BASE_SEED, numRuns: 200 },
    );
    expect(details.failed).toBe(true);
    const [seed, schedule] = details.counterexample!;
    const result = runScenario(seed, schedule, { messages: 150, brokenEngine: "neverNak" });
    console.log(`broken engine: seed ${seed}, shrunk schedule ${JSON.stringify(schedule)}\n  ${formatScenarioResult(result)}\n  ` +
      `replay: ${replayCommand(seed, schedule, { options: { messages: 150, brokenEngine: "neverNak" } })}`);
    expect(result.ok).toBe(false);
    expect(result.violation!.kind).toBe("liveness");
    expect(result.stats.filteredDatagrams).toBeGreaterThan(0);
    expect(schedule.length).toBeLessThanOrEqual(2);
    // The same schedule with a healthy engine passes: the NAKs were what mattered.
    expect(runScenario(seed, schedule, { messages: 150 }).ok).toBe(true);
  });

  it("(d) keeps queues and memory bounded, and reports a bound set too low", () => {
    const samples = fc.sample(fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), scheduleArbitrary()), { seed: BASE_SEED, numRuns: 40 });
    let maxInFlight = 0;
    let maxPending = 0;
    for (const [seed, schedule] of samples) {
      const result = runScenario(seed, schedule);
      expect(result.violation, formatScenarioResult(result)).toBeUndefined();
      const peaks = result.stats.peaks;
      expect(peaks.imagesPerEngine).toBeLessThanOrEqual(1);
      expect(peaks.publicationsPerEngine).toBe(1);
      maxInFlight = Math.max(maxInFlight, peaks.inFlightDatagrams);
      maxPending = Math.max(maxPending, peaks.pendingEvents);
    }
    // A term window (32 KiB) of MTU frames plus duplicates and control traffic: far under the bounds.
    expect(maxInFlight).toBeLessThan(200);
    expect(maxPending).toBeLessThan(300);
    const tight = runScenario(BASE_SEED, STORMY, { bounds: { inFlightDatagramsMax: 2 } });
    expect(tight.violation?.kind).toBe("bound");
    expect(tight.violation?.message).toMatch(/datagrams in flight/);
  });

  it("reads schedules from JSON, rejects invalid ones, and treats impossible actions as no-ops", () => {
    expect(parseSchedule(JSON.stringify(STORMY))).toEqual(STORMY);
    expect(parseSchedule(JSON.stringify({ seed: 1, schedule: STORMY }))).toEqual(STORMY);
    expect(() => parseSchedule('[{"atNs":-1,"action":{"kind":"heal","sub":0}}]')).toThrow(/atNs/);
    expect(() => parseSchedule('[{"atNs":0,"action":{"kind":"loss","sub":0,"loss":{"numerator":3,"denominator":4}}}]')).toThrow(/at most 1\/2/);
    expect(() => parseSchedule('[{"atNs":0,"action":{"kind":"heal","sub":1}}]')).toThrow(/sub/);
    expect(() => parseSchedule('[{"atNs":0,"action":{"kind":"explode","sub":0}}]')).toThrow(/not a fault/);
    const odd: Schedule = [
      { atNs: 0, action: { kind: "restart", sub: 0 } },
      { atNs: 10_000_000, action: { kind: "crash", sub: 0 } },
      { atNs: 20_000_000, action: { kind: "crash", sub: 0 } },
      { atNs: 30_000_000, action: { kind: "heal", sub: 0 } },
    ];
    const result = runScenario(BASE_SEED, odd);
    expect(result.violation, formatScenarioResult(result)).toBeUndefined();
    expect(result.stats.crashes).toBe(1);
    // The host still down when faults stop is restarted for the liveness phase.
    expect(result.stats.restarts).toBe(1);
  });
});
