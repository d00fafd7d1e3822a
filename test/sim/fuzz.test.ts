// Goal: a Petrel publication streaming to a subscriber through randomized faults (loss up to 50%,
// reordering, duplication, one-way and symmetric partitions that heal, crash and restart of the
// subscriber's host) never breaks an invariant: every message exactly once, in order,
// byte-identical (from its join on, for a restarted subscriber), queues bounded, and every stream
// completes within 30 simulated seconds once faults stop. 1000 seeds per CI run (PETREL_FUZZ_RUNS),
// from a fixed base seed (PETREL_FUZZ_SEED) so that CI is reproducible. A failure prints the seed,
// the shrunk schedule as JSON and the commands that replay it: PETREL_REPLAY='<json>' npx vitest run
// test/sim/fuzz.test.ts, or npx petrel sim --replay '<json>'. The replay test exists only when
// PETREL_REPLAY is set, and then the 1000-seed test does not.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatScenarioResult, parseSchedule, runScenario, type ScenarioOptions, type Schedule } from "../../src/sim/scenario.js";
import { replayCommand, scheduleArbitrary } from "./scenarioArbitrary.js";

const NUM_RUNS = Number(process.env["PETREL_FUZZ_RUNS"] ?? 1000);
const BASE_SEED = Number(process.env["PETREL_FUZZ_SEED"] ?? 20261124);
const REPLAY = process.env["PETREL_REPLAY"];

/** Small workloads per seed: 100-300 messages on 64 KiB terms. */
function optionsFor(seed: number): ScenarioOptions {
  return { messages: 100 + (seed % 201), termLengthBytes: 65536 };
}

if (REPLAY === undefined) describe("randomized faults over a unicast stream", () => {
  it(`holds every invariant for ${NUM_RUNS} seeds (base seed ${BASE_SEED})`, () => {
    const started = performance.now();
    let faults = 0;
    let crashes = 0;
    let naks = 0;
    let events = 0;
    const details = fc.check(
      fc.property(fc.noShrink(fc.integer({ min: 0, max: 0x7fffffff })), scheduleArbitrary(), (seed, schedule) => {
        const result = runScenario(seed, schedule, optionsFor(seed));
        faults += schedule.length;
        crashes += result.stats.crashes;
        naks += result.stats.naksReceived;
        events += result.stats.eventsProcessed;
        return result.ok;
      }),
      { seed: BASE_SEED, numRuns: NUM_RUNS },
    );
    const wallMs = performance.now() - started;
    console.log(`fuzz: ${details.numRuns} seeds, ${faults} faults, ${crashes} crashes, ${naks} NAKs, ${events} events in ${wallMs.toFixed(0)} ms`);
    if (details.failed && details.counterexample !== null) {
      const [seed, schedule] = details.counterexample;
      const result = runScenario(seed, schedule, optionsFor(seed));
      const report = [
        `fast-check seed ${BASE_SEED}, path ${details.counterexamplePath ?? "?"}; scenario seed ${seed}`,
        `shrunk schedule: ${JSON.stringify(schedule)}`,
        formatScenarioResult(result),
        `replay: ${replayCommand(seed, schedule, { options: optionsFor(seed) })}`,
      ].join("\n");
      console.log(report);
      expect.fail(report);
    }
    expect(details.failed, String(details.errorInstance ?? "")).toBe(false);
  }, 600_000);
});

if (REPLAY !== undefined) describe("replay of one scenario (PETREL_REPLAY)", () => {
  it("replays the given seed and schedule", () => {
    // {"seed": N, "schedule": [...], "options"?: {...}}: options (e.g. "brokenEngine": "neverNak")
    // override the fuzz test's own.
    const parsed = JSON.parse(REPLAY as string) as { seed: number; schedule: unknown; options?: ScenarioOptions };
    const schedule: Schedule = parseSchedule(JSON.stringify(parsed.schedule));
    const result = runScenario(parsed.seed, schedule, { ...optionsFor(parsed.seed), ...parsed.options });
    console.log(formatScenarioResult(result));
    expect(result.violation).toBeUndefined();
  });
});
