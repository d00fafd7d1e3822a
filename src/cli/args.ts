// Argument parsing for the `petrel` command, kept apart from the process so that tests can call
// it: every mistake becomes a UsageError whose message says what was wrong and what is allowed.
import { readFileSync } from "node:fs";
import type { parseArgs as ParseArgs } from "node:util";
import { parseDurationNs } from "../core/config/duration.js";
import type { PcapTapMode } from "../sim/pcapTap.js";
import { parseSchedule as parseScenarioSchedule, SCENARIO_DEFAULTS, type ScenarioOptions, type Schedule } from "../sim/scenario.js";
import type { FaultAction } from "../sim/simulator.js";
import { EXPERIMENT_MIN_DURATION_NS, EXPERIMENTS, findExperiment, type ExperimentSpec } from "./experimentScenarios.js";
import { findScenario, PUB_HOST, SCENARIOS, SUB_HOST, type ScenarioSpec } from "./scenarios.js";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `usage:
  petrel demo                      run the demo scenario (seed 1, 10 s simulated) and print a summary
  petrel sim [scenario] [options]  run a named scenario (default: demo)
  petrel sim --list                list the scenarios
  petrel sim --replay JSON|FILE    run runScenario with {"seed", "schedule", "options"} (what a failing fuzz test
                                   prints), print its result line and exit 0 (ok) or 1 (a violation)
  petrel stat [--once] [--dir DIR] [--interval MS] [--count N] [--json]
                                   a live view of every running Petrel client on this host (AeronStat)
  petrel replay JOURNAL [JOURNAL] [--set NAME=VALUE]... [--quiet]
                                   replay a journal of a live run on a fresh engine and check every
                                   output; two: both ends of one run, paired (petrel replay --help)
  petrel report SCENARIO|CAPTURE|JOURNAL --html OUT
                                   one self-contained HTML page of a run: positions, windows, NAKs, RTT,
                                   faults and stalls over time (petrel report --help)
  petrel help

options for sim:
  --seed N            the run's seed, an integer 0..9007199254740991 (default 1)
  --duration D        simulated time: an integer with unit ns, us, ms or s (default 10s; at most 1h)
  --pcap FILE         write every datagram that crossed the link to FILE (pcap, Ethernet/IPv4/UDP)
  --pcap-mode MODE    sent (default: every datagram sent onto the link, drops included) or delivered
  --schedule FILE     extra faults, as JSON in runScenario's format (an array, or {"schedule": [...]});
                      subscriber 0 is the host sub:
                        [{"atNs": 3000000000, "action": {"kind": "partition", "sub": 0, "direction": "both"}}]
                      kinds: loss (loss: {"numerator", "denominator"}, at most 1/2), reorder and duplicate
                      (on: true/false), partition (direction: both, toSubscriber, fromSubscriber), heal,
                      crash, restart (a crash of a host that is down, a restart of one that is up: no-ops);
                      or the short form: [{"at": "3s", "kind": "partition", "a": "pub", "b": "sub"}],
                      kinds: partition, heal (a, b, optional oneWay), healAll, crash, restart (host)
  --list              list the scenarios and exit
  -h, --help          this text

scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}; hosts: ${PUB_HOST} (10.0.0.1), ${SUB_HOST} (10.0.0.2)
experiments: ${EXPERIMENTS.map((e) => e.name).join(", ")}
  print their figures and checks; they take --seed, and the bottleneck ones (cubic*, bbr) --duration
  (default 10s, 20s for two flows; at least 2s)
exit codes: 0 invariants (an experiment's checks) hold, 1 one failed, 2 bad arguments`;

/** Every name `petrel sim` runs: the two-host scenarios, then the experiments. */
export const SCENARIO_NAMES: ReadonlyArray<string> = [...SCENARIOS.map((s) => s.name), ...EXPERIMENTS.map((e) => e.name)];

export type CliRequest =
  | { readonly kind: "help" }
  | { readonly kind: "list" }
  | {
      readonly kind: "sim" | "demo";
      readonly scenario: ScenarioSpec;
      readonly seed: number;
      readonly durationNs: number;
      readonly pcapPath?: string;
      readonly pcapMode: PcapTapMode;
      readonly extraFaults: ReadonlyArray<{ readonly atNs: number; readonly action: FaultAction }>;
      readonly schedule: Schedule;
    }
  | { readonly kind: "experiment"; readonly experiment: ExperimentSpec; readonly seed: number; readonly durationNs?: number }
  | { readonly kind: "replay"; readonly seed: number; readonly schedule: Schedule; readonly options: ScenarioOptions };

const MAX_DURATION_NS = 3600 * 1_000_000_000;
const HOSTS = [PUB_HOST, SUB_HOST];

export function parseSimArgs(argv: ReadonlyArray<string>, parseArgs: typeof ParseArgs): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        seed: { type: "string" },
        duration: { type: "string" },
        pcap: { type: "string" },
        "pcap-mode": { type: "string" },
        schedule: { type: "string" },
        replay: { type: "string" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? "demo";
  if (values.help === true || command === "help") return { kind: "help" };
  if (command !== "sim" && command !== "demo") {
    throw new UsageError(`unknown command '${command}' (commands: demo, sim, help)`);
  }
  if (values.list === true) return { kind: "list" };
  if (values.replay !== undefined) {
    const extra = [
      ...(command === "sim" ? positionals.slice(1) : positionals),
      ...(["duration", "pcap", "pcap-mode", "schedule"] as const).filter((k) => values[k] !== undefined).map((k) => `--${k}`),
    ];
    if (command !== "sim" || extra.length > 0) {
      throw new UsageError(`--replay goes with 'petrel sim' alone (and --seed for a bare schedule), not with ${command !== "sim" ? command : extra.join(", ")}`);
    }
    return readReplay(values.replay, values.seed);
  }
  if (positionals.length > (command === "sim" ? 2 : 1)) {
    throw new UsageError(`unexpected argument '${positionals[command === "sim" ? 2 : 1]}'`);
  }
  const scenarioName = command === "sim" ? (positionals[1] ?? "demo") : "demo";
  const scenario = findScenario(scenarioName);
  const experiment = scenario === undefined ? findExperiment(scenarioName) : undefined;
  if (experiment !== undefined) return experimentRequest(experiment, values);
  if (scenario === undefined) {
    throw new UsageError(`unknown scenario '${scenarioName}'; known scenarios: ${SCENARIO_NAMES.join(", ")}`);
  }
  const seed = parseSeed(values.seed ?? "1");
  const durationNs = parseDuration(values.duration ?? "10s");
  const mode = values["pcap-mode"] ?? "sent";
  if (mode !== "sent" && mode !== "delivered") throw new UsageError(`--pcap-mode '${mode}' must be sent or delivered`);
  const { extraFaults, schedule } = values.schedule === undefined ? { extraFaults: [], schedule: [] } : readSchedule(values.schedule, durationNs);
  return {
    kind: command,
    scenario,
    seed,
    durationNs,
    ...(values.pcap !== undefined ? { pcapPath: values.pcap } : {}),
    pcapMode: mode,
    extraFaults,
    schedule,
  };
}

/** `petrel sim <experiment>`: --seed, and --duration for the experiments that take one; nothing else. */
function experimentRequest(
  experiment: ExperimentSpec,
  values: { readonly seed?: string | undefined; readonly duration?: string | undefined; readonly [key: string]: unknown },
): CliRequest {
  const refused = (["pcap", "pcap-mode", "schedule"] as const).filter((k) => values[k] !== undefined).map((k) => `--${k}`);
  if (refused.length > 0) {
    throw new UsageError(`${refused.join(", ")} go(es) with the two-host scenarios (${SCENARIOS.map((s) => s.name).join(", ")}), not with the experiment '${experiment.name}'`);
  }
  const seed = parseSeed(values.seed ?? "1");
  if (values.duration === undefined) return { kind: "experiment", experiment, seed };
  if (experiment.defaultDurationNs === undefined) {
    throw new UsageError(`--duration: the experiment '${experiment.name}' has a fixed timeline; only the bottleneck experiments (cubic*, bbr) take --duration`);
  }
  const durationNs = parseDuration(values.duration);
  if (durationNs < EXPERIMENT_MIN_DURATION_NS) {
    throw new UsageError(`--duration '${values.duration}' is too short for the experiment '${experiment.name}' (at least 2s: the second flow starts at 1 s)`);
  }
  return { kind: "experiment", experiment, seed, durationNs };
}

export function parseSeed(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`--seed '${text}' must be a non-negative decimal integer`);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed '${text}' is too large (at most ${Number.MAX_SAFE_INTEGER})`);
  return seed;
}

export function parseDuration(text: string, what = "--duration"): number {
  const result = parseDurationNs(text);
  if (!result.ok) throw new UsageError(`${what} '${text}' ${result.reason}`);
  if (result.value <= 0) throw new UsageError(`${what} '${text}' must be more than zero`);
  if (result.value > MAX_DURATION_NS) throw new UsageError(`${what} '${text}' is longer than the limit of 1h`);
  return result.value;
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`${what} '${path}': cannot read it (${error instanceof Error ? error.message : String(error)})`);
  }
  return parseJson(text, `${what} '${path}'`);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** True for runScenario's schedule format: {"schedule": [...]}, or an array of {"atNs", "action"}. */
function isScenarioSchedule(json: unknown): boolean {
  if (typeof json === "object" && json !== null && !Array.isArray(json)) return "schedule" in json;
  return Array.isArray(json) && json.some((e: unknown) => typeof e === "object" && e !== null && ("atNs" in e || "action" in e));
}

/** Reads a schedule in runScenario's format for `subscribers` subscribers; mistakes become UsageErrors. */
function toScenarioSchedule(json: unknown, subscribers: number, where: string): Schedule {
  try {
    return parseScenarioSchedule(JSON.stringify(json), subscribers);
  } catch (error) {
    throw new UsageError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Reads and checks a fault schedule file in either format (see USAGE). */
export function readSchedule(path: string, durationNs: number): { extraFaults: Array<{ atNs: number; action: FaultAction }>; schedule: Schedule } {
  const where = `--schedule '${path}'`;
  const json = readJson(path, "--schedule");
  if (!isScenarioSchedule(json)) return { extraFaults: parseShortSchedule(json, durationNs, where), schedule: [] };
  const schedule = toScenarioSchedule(json, 1, where);
  schedule.forEach((entry, i) => {
    if (entry.atNs >= durationNs) throw new UsageError(`${where} entry ${i}: atNs ${entry.atNs} is not before the end of the run`);
  });
  return { extraFaults: [], schedule };
}

const SCENARIO_OPTION_KEYS: ReadonlyArray<keyof ScenarioOptions> = [
  "subscribers", "messages", "messageIntervalNs", "faultWindowNs", "livenessBoundNs", "latencyNs", "termLengthBytes",
  "config", "brokenEngine", "bounds", "traceBytes",
];

/**
 * Reads --replay: JSON text (when it starts with { or [) or a file holding it. {"seed", "schedule",
 * "options"?} as the fuzz test prints it, or a bare schedule array run with --seed.
 */
export function readReplay(value: string, seedText: string | undefined): CliRequest {
  const inline = /^\s*[[{]/.test(value);
  const json = inline ? parseJson(value, "--replay") : readJson(value, "--replay");
  if (Array.isArray(json)) return { kind: "replay", seed: parseSeed(seedText ?? "1"), schedule: toScenarioSchedule(json, 1, "--replay"), options: {} };
  if (typeof json !== "object" || json === null) throw new UsageError(`--replay must be {"seed": N, "schedule": [...], "options"?: {...}} or a schedule array`);
  const replay = json as Record<string, unknown>;
  for (const key of Object.keys(replay)) {
    if (key !== "seed" && key !== "schedule" && key !== "options") throw new UsageError(`--replay: unknown key "${key}" (keys: seed, schedule, options)`);
  }
  if (seedText !== undefined && replay["seed"] !== undefined) throw new UsageError("--replay names its own seed: drop --seed");
  const seed = replay["seed"] === undefined ? parseSeed(seedText ?? "1") : replay["seed"];
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--replay: "seed" must be a non-negative integer`);
  const options = replay["options"] ?? {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw new UsageError(`--replay: "options" must be an object`);
  for (const key of Object.keys(options)) {
    if (!(SCENARIO_OPTION_KEYS as ReadonlyArray<string>).includes(key)) {
      throw new UsageError(`--replay: unknown option "${key}" (runScenario's options: ${SCENARIO_OPTION_KEYS.join(", ")})`);
    }
  }
  const scenarioOptions = options as ScenarioOptions;
  const subscribers = scenarioOptions.subscribers ?? SCENARIO_DEFAULTS.subscribers;
  return { kind: "replay", seed, schedule: toScenarioSchedule(replay["schedule"] ?? [], subscribers, "--replay"), options: scenarioOptions };
}

/** The short form: simulator fault actions on the hosts pub and sub, times as durations. */
export function parseShortSchedule(json: unknown, durationNs: number, where = "schedule"): Array<{ atNs: number; action: FaultAction }> {
  if (!Array.isArray(json)) throw new UsageError(`${where} must be a JSON array of faults`);
  const out: Array<{ atNs: number; action: FaultAction }> = [];
  json.forEach((entry: unknown, index) => {
    const at = `${where} entry ${index}`;
    if (typeof entry !== "object" || entry === null) throw new UsageError(`${at} must be an object`);
    const e = entry as Record<string, unknown>;
    const when = e["at"];
    let atNs: number;
    if (typeof when === "number" && Number.isSafeInteger(when) && when >= 0) atNs = when;
    else if (typeof when === "string") {
      const r = parseDurationNs(when);
      if (!r.ok) throw new UsageError(`${at}: at '${when}' ${r.reason}`);
      atNs = r.value;
    } else throw new UsageError(`${at} needs "at": a duration such as "3s" (or integer nanoseconds)`);
    if (atNs >= durationNs) throw new UsageError(`${at}: at ${when} is not before the end of the run`);
    const host = (key: string): string => {
      const value = e[key];
      if (typeof value !== "string" || !HOSTS.includes(value)) throw new UsageError(`${at}: "${key}" must be one of the hosts ${HOSTS.join(", ")}`);
      return value;
    };
    const oneWay = e["oneWay"] === true;
    switch (e["kind"]) {
      case "partition":
      case "heal":
        out.push({ atNs, action: { kind: e["kind"], a: host("a"), b: host("b"), oneWay } });
        break;
      case "healAll":
        out.push({ atNs, action: { kind: "healAll" } });
        break;
      case "crash":
      case "restart":
        out.push({ atNs, action: { kind: e["kind"], host: host("host") } });
        break;
      default:
        throw new UsageError(`${at}: "kind" must be partition, heal, healAll, crash or restart`);
    }
  });
  // A crash of a host that is down, or a restart of one that is up, would fail mid-run: say so now.
  const ordered = out.map((f, i) => ({ ...f, i })).sort((a, b) => a.atNs - b.atNs || a.i - b.i);
  const down = new Set<string>();
  for (const f of ordered) {
    if (f.action.kind === "crash") {
      const name = f.action.host as string;
      if (down.has(name)) throw new UsageError(`${where} entry ${f.i}: ${name} is already down`);
      down.add(name);
    } else if (f.action.kind === "restart") {
      const name = f.action.host as string;
      if (!down.has(name)) throw new UsageError(`${where} entry ${f.i}: ${name} is not down`);
      down.delete(name);
    }
  }
  return out;
}
