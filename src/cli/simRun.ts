// Runs a named scenario for the CLI: in slices of simulated time, with a progress display, an
// optional pcap of every link, and a summary (messages, protocol counters, network counters, time,
// trace hash, invariants). The summary is data; formatSummary() makes the text the CLI prints.
import { Counter } from "../core/engine/index.js";
import { PcapTap, type PcapTapMode } from "../sim/pcapTap.js";
import type { Schedule } from "../sim/scenario.js";
import type { FaultAction } from "../sim/simulator.js";
import { PcapFileSink } from "./pcapFileSink.js";
import { buildScenario, checkInvariants, formatSeconds, sumCounter, type InvariantResult, type ScenarioSpec } from "./scenarios.js";

export interface SimRunOptions {
  readonly seed: number;
  readonly durationNs: number;
  readonly pcapPath?: string;
  readonly pcapMode?: PcapTapMode;
  /** Extra faults: simulator actions (the short form) and runScenario's { atNs, action } form. */
  readonly extraFaults?: ReadonlyArray<{ readonly atNs: number; readonly action: FaultAction }>;
  readonly schedule?: Schedule;
  /** Where progress goes; null for none. */
  readonly progress?: ProgressOutput | null;
}

export interface ProgressOutput {
  readonly isTTY: boolean;
  write(text: string): void;
}

export interface SimSummary {
  readonly scenario: string;
  readonly seed: number;
  readonly simulatedNs: number;
  readonly wallMs: number;
  readonly events: number;
  readonly messagesOffered: number;
  readonly messagesDelivered: number;
  readonly dataFramesSent: number;
  readonly naksSent: number;
  readonly retransmitsSent: number;
  readonly statusMessagesSent: number;
  readonly setupsSent: number;
  readonly heartbeatsSent: number;
  readonly rttmSent: number;
  readonly datagramsSent: number;
  readonly datagramsDelivered: number;
  readonly datagramsDropped: number;
  readonly traceHash: string;
  readonly invariants: ReadonlyArray<InvariantResult>;
  readonly pcap?: { readonly path: string; readonly records: number; readonly bytes: number };
}

const SLICE_NS = 50_000_000;
const PLAIN_PROGRESS_EVERY_MS = 2000;

export function runSimScenario(spec: ScenarioSpec, options: SimRunOptions): SimSummary {
  const run = buildScenario(spec, {
    seed: options.seed,
    durationNs: options.durationNs,
    extraFaults: options.extraFaults ?? [],
    schedule: options.schedule ?? [],
  });
  const sim = run.sim;
  let tap: PcapTap | null = null;
  if (options.pcapPath !== undefined) {
    tap = new PcapTap(new PcapFileSink(options.pcapPath), { mode: options.pcapMode ?? "sent" }).attach(sim);
  }
  const progress = options.progress ?? null;
  const started = performance.now();
  let lastPlainMs = 0;
  let drawn = false;
  try {
    // Bounded: each slice advances simulated time by SLICE_NS (or to the end).
    for (let doneNs = 0; doneNs < options.durationNs; ) {
      const slice = Math.min(SLICE_NS, options.durationNs - doneNs);
      sim.runFor(slice);
      doneNs += slice;
      if (progress === null) continue;
      const elapsedMs = performance.now() - started;
      if (progress.isTTY) {
        progress.write(`\r${progressBar(doneNs / options.durationNs)} ${formatSeconds(doneNs)}/${formatSeconds(options.durationNs)} s simulated, ${(elapsedMs / 1000).toFixed(1)} s wall`);
        drawn = true;
      } else if (elapsedMs - lastPlainMs >= PLAIN_PROGRESS_EVERY_MS) {
        lastPlainMs = elapsedMs;
        progress.write(`progress: ${formatSeconds(doneNs)} of ${formatSeconds(options.durationNs)} s simulated (${Math.floor((100 * doneNs) / options.durationNs)}%), ${(elapsedMs / 1000).toFixed(1)} s wall\n`);
      }
    }
  } finally {
    if (drawn && progress !== null) progress.write("\r\x1b[K");
    tap?.close();
  }
  const wallMs = performance.now() - started;
  let datagramsDropped = 0;
  for (const link of sim.links) datagramsDropped += link.counters.droppedPackets;
  const pub = run.engines.pub;
  const sub = run.engines.sub;
  const all = [...pub, ...sub];
  const summary: SimSummary = {
    scenario: spec.name,
    seed: options.seed,
    simulatedNs: options.durationNs,
    wallMs,
    events: sim.counters.eventsProcessed,
    messagesOffered: run.publisher.offered,
    messagesDelivered: run.log.delivered,
    dataFramesSent: sumCounter(pub, Counter.DATA_FRAMES_SENT),
    naksSent: sumCounter(sub, Counter.NAKS_SENT),
    retransmitsSent: sumCounter(pub, Counter.RETRANSMITS_SENT),
    statusMessagesSent: sumCounter(sub, Counter.STATUS_MESSAGES_SENT),
    setupsSent: sumCounter(pub, Counter.SETUPS_SENT),
    heartbeatsSent: sumCounter(pub, Counter.HEARTBEATS_SENT),
    rttmSent: sumCounter(all, Counter.RTTM_SENT),
    datagramsSent: sim.counters.datagramsSent,
    datagramsDelivered: sim.counters.datagramsDelivered,
    datagramsDropped,
    traceHash: sim.traceHash(),
    invariants: checkInvariants(run),
    ...(tap !== null && options.pcapPath !== undefined ? { pcap: { path: options.pcapPath, records: tap.records, bytes: tap.bytesWritten } } : {}),
  };
  return summary;
}

function progressBar(fraction: number): string {
  const width = 30;
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

function group(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** The summary as the CLI prints it. */
export function formatSummary(s: SimSummary): string {
  const simSeconds = s.simulatedNs / 1e9;
  const wallSeconds = s.wallMs / 1000;
  const eventsPerSecond = wallSeconds > 0 ? s.events / wallSeconds : 0;
  const allOk = s.invariants.every((i) => i.ok);
  const lines = [
    `petrel sim ${s.scenario}: seed ${s.seed}, ${simSeconds} s simulated`,
    `  messages     ${group(s.messagesDelivered)} delivered of ${group(s.messagesOffered)} offered`,
    `  protocol     ${group(s.dataFramesSent)} data frames, ${group(s.naksSent)} NAKs, ${group(s.retransmitsSent)} retransmits, ${group(s.statusMessagesSent)} status messages, ${group(s.setupsSent)} setups, ${group(s.heartbeatsSent)} heartbeats, ${group(s.rttmSent)} RTT measurements`,
    `  network      ${group(s.datagramsSent)} datagrams sent, ${group(s.datagramsDelivered)} delivered, ${group(s.datagramsDropped)} dropped`,
    `  time         ${simSeconds.toFixed(3)} s simulated in ${wallSeconds.toFixed(3)} s wall (${wallSeconds > 0 ? (simSeconds / wallSeconds).toFixed(1) : "inf"}x), ${group(s.events)} events, ${group(eventsPerSecond)} events/s`,
  ];
  if (s.pcap !== undefined) lines.push(`  pcap         ${s.pcap.path}: ${group(s.pcap.records)} packets, ${group(s.pcap.bytes)} bytes`);
  lines.push(`  invariants   ${allOk ? "all hold" : "FAILED"}`);
  for (const i of s.invariants) lines.push(`    ${i.ok ? "ok  " : "FAIL"} ${i.name}: ${i.detail}`);
  lines.push(`  trace hash   ${s.traceHash}`);
  return lines.join("\n");
}
