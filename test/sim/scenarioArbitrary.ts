// fast-check generators for fault schedules (src/sim/scenario.ts). A schedule is an array of
// { atNs, action }: fast-check shrinks it by dropping entries, moving times towards 0 and loss ratios
// towards none, which is what turns a failing 10-fault run into the one or two faults that matter.
// Times are whole milliseconds so that a shrunk schedule reads well as JSON.
import fc from "fast-check";
import type { PartitionDirection, ScenarioAction, Schedule, ScheduledFault } from "../../src/sim/scenario.js";

export interface ScheduleArbitraryOptions {
  readonly subscribers?: number;
  /** Faults land in [0, faultWindowNs]. Default 4 s. */
  readonly faultWindowNs?: number;
  /** Default 12. */
  readonly maxFaults?: number;
  /** Highest loss, in percent. Default 50. */
  readonly maxLossPercent?: number;
}

export function actionArbitrary(subscribers = 1, maxLossPercent = 50): fc.Arbitrary<ScenarioAction> {
  const sub = fc.integer({ min: 0, max: subscribers - 1 });
  const directions: PartitionDirection[] = ["both", "toSubscriber", "fromSubscriber"];
  return fc.oneof(
    fc.record({
      kind: fc.constant("loss" as const),
      sub,
      loss: fc.integer({ min: 0, max: maxLossPercent }).map((percent) => ({ numerator: percent, denominator: 100 })),
    }),
    fc.record({ kind: fc.constant("reorder" as const), sub, on: fc.boolean() }),
    fc.record({ kind: fc.constant("duplicate" as const), sub, on: fc.boolean() }),
    fc.record({ kind: fc.constant("partition" as const), sub, direction: fc.constantFrom(...directions) }),
    fc.record({ kind: fc.constant("heal" as const), sub }),
    fc.record({ kind: fc.constant("crash" as const), sub }),
    fc.record({ kind: fc.constant("restart" as const), sub }),
  );
}

export function scheduleArbitrary(options: ScheduleArbitraryOptions = {}): fc.Arbitrary<Schedule> {
  const windowMs = Math.floor((options.faultWindowNs ?? 4_000_000_000) / 1_000_000);
  const fault: fc.Arbitrary<ScheduledFault> = fc.record({
    atNs: fc.integer({ min: 0, max: windowMs }).map((ms) => ms * 1_000_000),
    action: actionArbitrary(options.subscribers ?? 1, options.maxLossPercent ?? 50),
  });
  return fc.array(fault, { maxLength: options.maxFaults ?? 12 });
}

/**
 * The commands that replay (seed, schedule): under test/sim/fuzz.test.ts, or with the petrel CLI
 * (after npm run build), which runs runScenario with the same JSON. `extra.options` should hold every
 * option the run used (the CLI adds no defaults of its own).
 */
export function replayCommand(seed: number, schedule: Schedule, extra: Record<string, unknown> = {}): string {
  const json = JSON.stringify({ seed, schedule, ...extra });
  return `PETREL_REPLAY='${json}' npx vitest run test/sim/fuzz.test.ts\n  or: npx petrel sim --replay '${json}'`;
}
