// `petrel report <scenario | capture.pcap | run.pjournal> --html out.html [options]`: runs a named
// simulation scenario (sampling its engines), reads a pcap, or replays a journal (sampling the
// replayed engine), and writes one self-contained HTML page. The input is a scenario when the name
// is one (petrel sim --list), a journal when the file starts with PETRELJ1, else a pcap. Exit
// codes: 0 the page was written, 2 bad arguments or input (a ReportInputError or a UsageError,
// printed with usage; a corrupt or diverging journal is one).
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseDurationNs } from "../core/config/duration.js";
import { parseDuration, parseSeed, readSchedule, UsageError } from "../cli/args.js";
import { findExperiment } from "../cli/experimentScenarios.js";
import { findScenario, SCENARIOS } from "../cli/scenarios.js";
import { isJournalFile, journalReportSeries } from "./journalInput.js";
import { pcapReportSeries } from "./pcapInput.js";
import type { ReportProgress } from "./progress.js";
import { ReportInputError } from "./reportErrors.js";
import { reportHtml } from "./reportHtml.js";
import { REPORT_DEFAULTS, type ReportSeries } from "./reportSeries.js";
import { simReportSeries } from "./simInput.js";
import { formatTimeNs } from "./stallDetector.js";

export const REPORT_USAGE = `usage:
  petrel report SCENARIO --html FILE [options]   run a named scenario (${SCENARIOS.map((s) => s.name).join(", ")}), sampling its engines
  petrel report CAPTURE.pcap --html FILE [options] read a capture (Petrel's pcap taps, tcpdump of Aeron traffic)
  petrel report JOURNAL --html FILE [options]      replay a journal of a live run (recognized by its PETRELJ1
                                                   magic), sampling the replayed engine; what one end cannot
                                                   know (drops, the other end's series, an RTT it did not
                                                   measure) is marked absent, not drawn as zeros

Writes one self-contained HTML page (uPlot inlined: it opens without network access): per stream over
time the sender and receiver positions, high-water mark, flow-control limit, NAKs, retransmits, drops,
RTT, the receiver (congestion) window and the faults applied; stalls are marked and listed at the top.

options:
  --html FILE       where to write the page (required)
  --interval D      sampling interval of simulated (or recorded) time, and the finest bucket (default 1ms)
  --points N        at most N points per series; longer runs are downsampled (default ${REPORT_DEFAULTS.maxPoints}, at least 16)
  --stall D         a receiver flat for longer than D while its sender has data is a stall (default 50ms)
scenario only:
  --seed N, --duration D (default 10s), --schedule FILE   as for petrel sim
  --cc static|cubic|bbr                                   congestion control on both engines (RTT and a
                                                          congestion window need cubic or bbr)
exit codes: 0 the page was written, 2 bad arguments or input (a corrupt journal, or one that diverges on replay)`;

export interface ReportCommandOutput {
  readonly stdout: { write(text: string): void };
  readonly stderr: ReportProgress;
}

const SIM_ONLY = ["seed", "duration", "schedule", "cc"] as const;

/** Parses `argv` (after "report"), builds the series and writes the page; returns the exit code. */
export function runReportCommand(argv: ReadonlyArray<string>, out: ReportCommandOutput): number {
  try {
    const series = reportSeriesFromArgs(argv, out.stderr);
    if (series === null) {
      out.stdout.write(`${REPORT_USAGE}\n`);
      return 0;
    }
    const htmlPath = series.htmlPath;
    const html = reportHtml(series.series);
    try {
      writeFileSync(htmlPath, html);
    } catch (error) {
      throw new ReportInputError("bad-option", `--html '${htmlPath}': cannot write it (${error instanceof Error ? error.message : String(error)})`);
    }
    out.stdout.write(`${summaryLine(series.series, htmlPath, html.length)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ReportInputError || error instanceof UsageError) {
      out.stderr.write(`petrel report: ${error.message}\n\n${REPORT_USAGE}\n`);
      return 2;
    }
    throw error;
  }
}

/** The series the arguments ask for, and where to write the page; null for --help. */
export function reportSeriesFromArgs(argv: ReadonlyArray<string>, progress: ReportProgress | null): { series: ReportSeries; htmlPath: string } | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        html: { type: "string" },
        interval: { type: "string" },
        points: { type: "string" },
        stall: { type: "string" },
        seed: { type: "string" },
        duration: { type: "string" },
        schedule: { type: "string" },
        cc: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return null;
  if (positionals.length === 0) throw new UsageError("name a scenario, a pcap file or a journal to report on");
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}' (one input at a time)`);
  const input = positionals[0]!;
  if (values.html === undefined) throw new UsageError("--html FILE is required: where to write the page");
  const common = {
    bucketNs: values.interval === undefined ? REPORT_DEFAULTS.bucketNs : positiveDuration(values.interval, "--interval"),
    maxPoints: values.points === undefined ? REPORT_DEFAULTS.maxPoints : parsePoints(values.points),
    stallThresholdNs: values.stall === undefined ? REPORT_DEFAULTS.stallThresholdNs : positiveDuration(values.stall, "--stall"),
    progress,
  };
  const scenario = findScenario(input);
  if (scenario !== undefined) {
    const seed = parseSeed(values.seed ?? "1");
    const durationNs = parseDuration(values.duration ?? "10s");
    const cc = values.cc;
    if (cc !== undefined && cc !== "static" && cc !== "cubic" && cc !== "bbr") throw new UsageError(`--cc '${cc}' must be static, cubic or bbr`);
    const { extraFaults, schedule } = values.schedule === undefined ? { extraFaults: [], schedule: [] } : readSchedule(values.schedule, durationNs);
    const series = simReportSeries(scenario, { ...common, seed, durationNs, extraFaults, schedule, ...(cc === undefined ? {} : { congestionControl: cc }) });
    return { series, htmlPath: values.html };
  }
  const refused = SIM_ONLY.filter((k) => values[k] !== undefined).map((k) => `--${k}`);
  if (findExperiment(input) !== undefined) {
    throw new ReportInputError("unknown-scenario", `'${input}' is an experiment; petrel report runs the two-host scenarios (${SCENARIOS.map((s) => s.name).join(", ")}) or reads a pcap`);
  }
  const journal = isJournalFile(input);
  if (!journal && !looksLikeFile(input)) {
    throw new ReportInputError("unknown-scenario", `unknown scenario '${input}' (scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}; or give a .pcap file or a journal)`);
  }
  if (refused.length > 0) throw new UsageError(`${refused.join(", ")} go(es) with a scenario, not with a ${journal ? "journal" : "capture"}`);
  return { series: journal ? journalReportSeries(input, common) : pcapReportSeries(input, common), htmlPath: values.html };
}

/** A name with a path separator or an extension is a file; a bare word is a scenario name. */
function looksLikeFile(input: string): boolean {
  return input.includes("/") || input.includes(".");
}

function positiveDuration(text: string, what: string): number {
  const result = parseDurationNs(text);
  if (!result.ok) throw new UsageError(`${what} '${text}' ${result.reason}`);
  if (result.value <= 0) throw new UsageError(`${what} '${text}' must be more than zero`);
  return result.value;
}

function parsePoints(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`--points '${text}' must be a whole number`);
  const points = Number(text);
  if (!(points >= 16 && points <= 1_000_000)) throw new UsageError(`--points '${text}' must be from 16 to 1000000`);
  return points;
}

function summaryLine(series: ReportSeries, path: string, bytes: number): string {
  const first = series.stalls[0];
  const noReceiver = series.absent.some((a) => a.name === series.stallReceiver);
  const stalls = noReceiver ? "no receiver, so no stall can be found"
    : first === undefined ? "no stall" : `${series.stalls.length} stall(s), the first at ${formatTimeNs(first.startNs)} for ${(first.durationNs / 1e6).toFixed(1)} ms`;
  return `petrel report: wrote ${path} (${bytes} bytes): ${series.source.kind} ${series.source.name}, ${series.streams.length} stream(s), ${series.timesNs.length} points per series, ${series.faults.length} fault(s), ${stalls}`;
}
