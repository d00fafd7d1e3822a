// `petrel replay --schedule FILE`: the faults of a schedule file, in either of two formats (told
// apart by shape):
// - Petrel's own, as --shrink prints it: {"format":"petrel-replay-faults","faults":[{"drop":FILTER},
//   {"delay":"FILTER:DURATION"}]};
// - the simulator's (src/sim/scenario.ts Schedule): [{ atNs, action }] or {"schedule":[...]} as a
//   failing property prints it, translated into frame faults with the same meaning on the path
//   between the publisher and subscriber 0 (a journal, or a pair, has one subscriber). atNs is time
//   from the journal's first timed record (as t= in a filter). As runScenario and `petrel sim
//   --schedule` apply them:
//   - partition {direction} cuts the path both ways, towards the subscriber or from it, until a heal
//     (which heals both ways): drops of every datagram sent that way in that time
//     ("ANY,to=subscriber,t=FROM..TO"; to=publisher for fromSubscriber);
//   - loss {numerator, denominator} is Bernoulli loss on both directions until the next loss action
//     (0 ends it; a heal does not): "ANY,to=subscriber,t=FROM..TO,rate=N/D" and the same to the
//     publisher, each fault with its own generator (as each direction of a simulated link has);
//   - reorder {on} holds back 1 datagram in 8 by 2 ms (SCENARIO_PATH_FAULTS.reorder) on both
//     directions until reorder off: "ANY,to=...,t=FROM..TO,rate=1/8:2ms";
//   - duplicate on, crash and restart have no replay equivalent (a replay cannot send a datagram
//     twice, nor restart an engine): refused with a ScheduleError naming the entry; duplicate off is
//     a no-op (duplication was never on).
//   A fault still on at the end of the schedule lasts to the end of the journal (as in `petrel sim`;
//   runScenario's liveness phase, which heals everything after its fault window, is that runner's
//   own). Ends of a time range are included (t= is inclusive); a range of no length (an action
//   undone at the same instant) is left out. The faults come in this order: partitions, loss, then
//   reordering (the first fault that picks a datagram acts on it: a lost datagram is not also held
//   back).
import { SCENARIO_PATH_FAULTS, validateSchedule, type Schedule, type ScheduledFault } from "../sim/scenario.js";
import type { Ratio } from "../sim/prng.js";
import type { ReplaySchedule } from "./shrinkFaults.js";
import { FrameFilterError, parseDelay, parseFrameFilter, type FaultEnd, type FaultSpec, type FrameFilterSpec } from "./frameFilter.js";

export class ScheduleError extends FrameFilterError {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleError";
  }
}

/** Whether a parsed JSON value has the simulator's schedule shape: an array, or an object with "schedule". */
export function isSimulatorSchedule(value: unknown): boolean {
  return Array.isArray(value) || (typeof value === "object" && value !== null && "schedule" in value && !("format" in value));
}

/** The faults of a schedule file's text, in either format; `file` names it in errors. */
export function parseScheduleText(text: string, file: string): FaultSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ScheduleError(`--schedule ${file}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (isSimulatorSchedule(value)) return faultsOfSimulatorSchedule(Array.isArray(value) ? value as Schedule : (value as { schedule: Schedule }).schedule, file);
  const schedule = value as ReplaySchedule;
  if (typeof value !== "object" || value === null || schedule.format !== "petrel-replay-faults" || !Array.isArray(schedule.faults)) {
    throw new ScheduleError(`--schedule ${file}: expected {"format":"petrel-replay-faults","faults":[...]} or the simulator's schedule ` +
      `([{"atNs":...,"action":{...}}] or {"schedule":[...]})`);
  }
  return schedule.faults.map((entry, i): FaultSpec => {
    if (typeof entry?.drop === "string") return { kind: "drop", filter: parseFrameFilter(entry.drop) };
    if (typeof entry?.delay === "string") return parseDelay(entry.delay);
    throw new ScheduleError(`--schedule ${file}: fault ${i} has neither "drop" nor "delay"`);
  });
}

/** The most subscribers validateSchedule is asked to accept: `sub` beyond 0 gets a clearer error of ours. */
const ANY_SUBSCRIBER = 64;

/** Translates the simulator's schedule into replay faults (see the header); `file` names it in errors. */
export function faultsOfSimulatorSchedule(schedule: Schedule, file = "schedule"): FaultSpec[] {
  try {
    validateSchedule(schedule, ANY_SUBSCRIBER);
  } catch (error) {
    throw new ScheduleError(`--schedule ${file}: not a valid simulator schedule: ${error instanceof Error ? error.message : String(error)}`);
  }
  schedule.forEach((entry, i) => {
    const where = `--schedule ${file}: schedule[${i}] (${entry.action.kind} at ${entry.atNs} ns)`;
    if (entry.action.sub !== 0) {
      throw new ScheduleError(`${where}: sub ${entry.action.sub}, but a replay has one subscriber (sub 0): a journal, or a pair, is one publisher and one subscriber`);
    }
    const kind = entry.action.kind;
    if (kind === "duplicate" && entry.action.on) throw new ScheduleError(`${where}: duplicate: not supported by replay (it cannot send a datagram twice)`);
    if (kind === "crash" || kind === "restart") throw new ScheduleError(`${where}: ${kind}: not supported by replay (it cannot ${kind} an engine)`);
  });
  // Stable: actions at one instant apply in list order, as in the simulator.
  const ordered: ScheduledFault[] = schedule.map((entry, i) => ({ entry, i }))
    .sort((x, y) => x.entry.atNs - y.entry.atNs || x.i - y.i).map((x) => x.entry);
  const partitions: FrameFilterSpec[] = [];
  const losses: FrameFilterSpec[] = [];
  const reorders: FrameFilterSpec[] = [];
  const cutSince: Record<FaultEnd, number | undefined> = { subscriber: undefined, publisher: undefined };
  let loss: { ratio: Ratio; sinceNs: number } | undefined;
  let reorderSince: number | undefined;
  const range = (list: FrameFilterSpec[], fromNs: number, toNs: number | undefined, extra: Partial<FrameFilterSpec> = {}): void => {
    if (toNs === fromNs) return;
    for (const to of ["subscriber", "publisher"] as const) list.push({ type: "ANY", to, fromNs, ...(toNs === undefined ? {} : { toNs }), ...extra });
  };
  for (const { atNs, action } of ordered) {
    switch (action.kind) {
      case "partition": {
        const ends: FaultEnd[] = action.direction === "both" ? ["subscriber", "publisher"] : [action.direction === "toSubscriber" ? "subscriber" : "publisher"];
        for (const end of ends) cutSince[end] ??= atNs;
        break;
      }
      case "heal":
        for (const end of ["subscriber", "publisher"] as const) {
          const since = cutSince[end];
          if (since !== undefined && since !== atNs) partitions.push({ type: "ANY", to: end, fromNs: since, toNs: atNs });
          cutSince[end] = undefined;
        }
        break;
      case "loss":
        if (loss !== undefined) range(losses, loss.sinceNs, atNs, { rate: loss.ratio });
        loss = action.loss.numerator > 0 ? { ratio: { numerator: action.loss.numerator, denominator: action.loss.denominator }, sinceNs: atNs } : undefined;
        break;
      case "reorder":
        if (action.on) reorderSince ??= atNs;
        else if (reorderSince !== undefined) {
          range(reorders, reorderSince, atNs, { rate: SCENARIO_PATH_FAULTS.reorder.probability });
          reorderSince = undefined;
        }
        break;
      default:
        break; // duplicate off: a no-op (on was refused above)
    }
  }
  for (const end of ["subscriber", "publisher"] as const) {
    const since = cutSince[end];
    if (since !== undefined) partitions.push({ type: "ANY", to: end, fromNs: since });
  }
  if (loss !== undefined) range(losses, loss.sinceNs, undefined, { rate: loss.ratio });
  if (reorderSince !== undefined) range(reorders, reorderSince, undefined, { rate: SCENARIO_PATH_FAULTS.reorder.probability });
  return [
    ...[...partitions, ...losses].map((filter): FaultSpec => ({ kind: "drop", filter })),
    ...reorders.map((filter): FaultSpec => ({ kind: "delay", filter, delayNs: SCENARIO_PATH_FAULTS.reorder.delayNs })),
  ];
}
