#!/usr/bin/env node
// The `petrel` command: runs Petrel engines in the deterministic network simulator.
//   petrel demo                     the quick start's job: the demo scenario, seed 1, 10 s simulated
//   petrel sim [scenario] [options] any named scenario (see --list), with a seed, a duration, a pcap
//                                   and an extra fault schedule; or an experiment (fc-min, cubic, ...,
//                                   experimentScenarios.ts): its figures and checks
//   petrel sim --replay JSON|FILE   runScenario with {"seed", "schedule", "options"}, as a failing fuzz
//                                   test prints it
//   petrel stat [--once] [--dir D]  a live view of every running Petrel client on the host (AeronStat)
//   petrel replay JOURNAL [JOURNAL] a fresh engine over a journal of a live run, every output checked
//                                   (replayCommand.ts); two: both ends of one run, paired first
//   petrel report SCENARIO|PCAP|JOURNAL --html OUT   one self-contained HTML page of a run (src/report)
// Exit codes: 0 the run's invariants (an experiment's checks) hold, 1 one failed, 2 bad arguments.
import { parseArgs } from "node:util";
import { formatScenarioResult, runScenario } from "../sim/scenario.js";
import { parseSimArgs, UsageError, USAGE } from "./args.js";
import { EXPERIMENTS, formatExperiment, runExperiment } from "./experimentScenarios.js";
import { SCENARIOS } from "./scenarios.js";
import { formatSummary, runSimScenario } from "./simRun.js";
import { runStat } from "./stat.js";
import { runReplayCommand } from "./replayCommand.js";
import { runReportCommand } from "../report/reportCommand.js";

function main(argv: ReadonlyArray<string>): number {
  if (argv[0] === "replay") return runReplayCommand(argv.slice(1));
  if (argv[0] === "report") return runReportCommand(argv.slice(1), { stdout: process.stdout, stderr: { isTTY: process.stderr.isTTY === true, write: (text) => void process.stderr.write(text) } });
  let request;
  try {
    request = parseSimArgs(argv, parseArgs);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`petrel: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (request.kind === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (request.kind === "list") {
    const all = [...SCENARIOS, ...EXPERIMENTS];
    const width = Math.max(...all.map((s) => s.name.length));
    for (const s of all) process.stdout.write(`${s.name.padEnd(width)}  ${s.description}\n`);
    return 0;
  }
  if (request.kind === "experiment") {
    const summary = runExperiment(request.experiment, request.seed, request.durationNs);
    process.stdout.write(`${formatExperiment(summary)}\n`);
    return summary.report.checks.every((c) => c.ok) ? 0 : 1;
  }
  if (request.kind === "replay") {
    let result;
    try {
      result = runScenario(request.seed, request.schedule, request.options);
    } catch (error) {
      // runScenario checks its options before it runs; a failure inside the run is a violation.
      process.stderr.write(`petrel: --replay: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
      return 2;
    }
    process.stdout.write(`petrel sim --replay: seed ${request.seed}, ${request.schedule.length} fault(s)\n${formatScenarioResult(result)}\n`);
    return result.ok ? 0 : 1;
  }
  const stderr = process.stderr;
  const summary = runSimScenario(request.scenario, {
    seed: request.seed,
    durationNs: request.durationNs,
    ...(request.pcapPath !== undefined ? { pcapPath: request.pcapPath } : {}),
    pcapMode: request.pcapMode,
    extraFaults: request.extraFaults,
    schedule: request.schedule,
    progress: { isTTY: stderr.isTTY === true, write: (text) => void stderr.write(text) },
  });
  process.stdout.write(`${formatSummary(summary)}\n`);
  if (request.kind === "demo") {
    process.stdout.write(`\nNext: petrel sim --list; petrel sim lossy --seed 7 --pcap lossy.pcap (then: tshark -r lossy.pcap -d udp.port==20121,aeron)\n`);
  }
  return summary.invariants.every((i) => i.ok) ? 0 : 1;
}

const argv = process.argv.slice(2);
if (argv[0] === "stat") {
  // The live view runs until interrupted (or --once / --count), so it is asynchronous.
  void runStat(argv.slice(1)).then((code) => {
    process.exitCode = code;
  });
} else {
  process.exitCode = main(argv);
}
