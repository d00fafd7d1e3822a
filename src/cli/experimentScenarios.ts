// The CLI's experiment scenarios: `petrel sim <name>` runs one of the measured experiments of
// transportExperiments.ts (multicast flow control, NAK-implosion control, congestion control) with
// --seed and prints its figures, its checks and the trace hash; the exit code is 0 when every
// check holds, 1 otherwise. The same experiments, with the same checks, are what test/sim asserts.
//
// The bottleneck experiments (cubic, cubic-2flows, cubic-2flows-tcp, bbr) take --duration; the
// first 40% of the run is startup and is not measured. The multicast ones have a fixed timeline.
import {
  bbrVersusCubicChecks,
  bottleneckDeliveryCheck,
  type BottleneckOptions,
  type BottleneckResult,
  type Check,
  FC_SLOW_BITS_PER_SECOND,
  FC_WINDOW_BYTES,
  runBottleneck,
  runFcMax,
  runFcMin,
  runFcTagged,
  runNakImplosion,
  singleFlowChecks,
  twoFlowChecks,
} from "./transportExperiments.js";
import type { Simulation } from "../sim/simulator.js";

export interface ExperimentReport {
  /** Figure lines: [label, text]. */
  readonly figures: ReadonlyArray<readonly [string, string]>;
  readonly checks: ReadonlyArray<Check>;
  readonly traceHash: string;
  /** The simulations run (a comparison runs more than one), for time and event totals. */
  readonly sims: ReadonlyArray<Simulation>;
}

export interface ExperimentSpec {
  readonly name: string;
  readonly description: string;
  /** Simulated time with no --duration; undefined: a fixed timeline, --duration is refused. */
  readonly defaultDurationNs?: number;
  run(seed: number, durationNs: number | undefined): ExperimentReport;
}

const MS = 1_000_000;
const S = 1_000_000_000;
/** The shortest --duration a bottleneck experiment takes (the second flow starts at 1 s). */
export const EXPERIMENT_MIN_DURATION_NS = 2 * S;

const mbps = (bitsPerSecond: number, digits = 1): string => `${(bitsPerSecond / 1e6).toFixed(digits)} Mbit/s`;
const msText = (ns: number, digits = 3): string => `${(ns / MS).toFixed(digits)} ms`;
const pct = (fraction: number): string => `${(fraction * 100).toFixed(1)}%`;

function bottleneckRun(seed: number, durationNs: number, options: Omit<BottleneckOptions, "durationNs" | "warmupNs">): BottleneckResult {
  return runBottleneck(seed, { ...options, durationNs, warmupNs: Math.floor(durationNs * 0.4), secondFlowStartNs: 1 * S });
}

function bottleneckFigures(r: BottleneckResult, durationNs: number): Array<readonly [string, string]> {
  const from = (durationNs * 0.4) / S;
  const figures: Array<readonly [string, string]> = [
    ["utilisation", `${pct(r.utilisation)} of ${mbps(r.capacityBitsPerSecond, 0)} (payload, seconds ${from.toFixed(1)}-${(durationNs / S).toFixed(1)})`],
  ];
  if (r.flows > 1) {
    const rates = r.flowRatesBitsPerSecond;
    const fair = rates.reduce((a, b) => a + b, 0) / rates.length;
    figures.push(["flows", rates.map((x, i) => `flow ${i} ${mbps(x)} (${x >= fair ? "+" : ""}${pct(x / fair - 1)} of the fair share)`).join(", ")]);
    figures.push(["fairness", `Jain's index ${r.jain.toFixed(3)}`]);
  }
  figures.push(["queueing", `delay mean ${msText(r.queueDelayMeanNs)}, p99 ${msText(r.queueDelayP99Ns)}; ${r.queueDrops} queue drops, ${r.naksSent} NAKs`]);
  return figures;
}

function bottleneckExperiment(name: string, description: string, cc: "cubic" | "bbr", flows: number, defaultDurationNs: number,
  cubicTcpMode: boolean): ExperimentSpec {
  return {
    name,
    description,
    defaultDurationNs,
    run(seed, durationNs = defaultDurationNs) {
      const r = bottleneckRun(seed, durationNs, { cc, flows, cubicTcpMode });
      const figures = bottleneckFigures(r, durationNs);
      let checks: Check[];
      const sims = [r.sim];
      if (cc === "bbr") {
        const cubic = bottleneckRun(seed, durationNs, { cc: "cubic", flows: 1 });
        sims.push(cubic.sim);
        figures.push(["cubic", `same seed and path: utilisation ${pct(cubic.utilisation)}, queueing delay mean ${msText(cubic.queueDelayMeanNs)}, p99 ${msText(cubic.queueDelayP99Ns)}`]);
        checks = bbrVersusCubicChecks(r, cubic);
      } else {
        checks = flows === 1 ? singleFlowChecks(r) : twoFlowChecks(r, cubicTcpMode);
      }
      return { figures, checks: [...checks, bottleneckDeliveryCheck(r)], traceHash: r.traceHash, sims };
    },
  };
}

const PATH = "100 Mbit/s bottleneck, 64-packet tail-drop queue, 1 ms each way";

export const EXPERIMENTS: ReadonlyArray<ExperimentSpec> = [
  {
    name: "fc-min",
    description: "multicast fc=min,t:500ms: 10 receivers, one on a 2 Mbit/s path; it crashes at 3.2 s",
    run(seed) {
      const r = runFcMin(seed);
      return {
        figures: [
          ["gap", `sender ahead of the slowest receiver by at most ${r.senderLeadMaxBytes} B (window ${FC_WINDOW_BYTES} B); fast receivers at most ${r.fastLeadMaxBytes} B`],
          ["held", `fast receiver ${mbps(r.heldBitsPerSecond, 2)} while the ${mbps(FC_SLOW_BITS_PER_SECOND, 0)} receiver is in the group`],
          ["drop", `the crashed receiver dropped ${msText(r.droppedNs - r.lastSmNs, 1)} after its last SM (${msText(r.droppedNs - r.crashNs, 1)} after the crash)`],
          ["after", `fast receiver ${mbps(r.afterBitsPerSecond, 2)} once it is dropped`],
        ],
        checks: r.checks,
        traceHash: r.traceHash,
        sims: [r.sim],
      };
    },
  },
  {
    name: "fc-max",
    description: "multicast fc=max (the default): 10 receivers, one on a 2 Mbit/s path, against none",
    run(seed) {
      const r = runFcMax(seed);
      return {
        figures: [
          ["throughput", `fast receiver ${mbps(r.withSlowBitsPerSecond)} with the slow receiver, ${mbps(r.withoutSlowBitsPerSecond)} without (0.5-1.5 s)`],
          ["gap", `sender ahead of the slowest receiver by ${r.slowGapBytes} B at 1.5 s (window ${FC_WINDOW_BYTES} B): it is left behind`],
          ["without", `the run without the slow receiver: trace hash ${r.withoutTraceHash}`],
        ],
        checks: r.checks,
        traceHash: r.traceHash,
        sims: [r.sim],
      };
    },
  },
  {
    name: "fc-tagged",
    description: "multicast fc=tagged,g:7/3: 3 tagged receivers (the 3rd joins at 1 s); a slow untagged, then a slow tagged one",
    run(seed) {
      const r = runFcTagged(seed);
      return {
        figures: [
          ["connect", r.connectedNs < 0 ? "never connected" : `connected ${msText(r.connectedNs - 1000 * MS, 1)} after the 3rd tagged subscription; ${r.sentBeforeThirdTagged} messages sent before`],
          ["untagged", `tagged receiver ${mbps(r.taggedWithSlowUntaggedBitsPerSecond)} with a slow untagged receiver`],
          ["gap", `with a slow tagged receiver: sender ahead of it by at most ${r.slowTaggedLeadMaxBytes} B (window ${FC_WINDOW_BYTES} B), tagged receiver ${mbps(r.taggedWithSlowTaggedBitsPerSecond, 2)}`],
          ["slow tagged", `that second run's trace hash ${r.slowTaggedTraceHash}`],
        ],
        checks: r.checks,
        traceHash: r.traceHash,
        sims: [r.sim],
      };
    },
  },
  {
    name: "nak-implosion",
    description: "50 multicast receivers lose the same frames (every 40th, first transmission); optimal NAK delays",
    run(seed) {
      const r = runNakImplosion(seed);
      return {
        figures: [
          ["naks", `${r.naksPerGap.toFixed(2)} NAKs per gap (${pct(r.nakFractionPerGap)} of ${r.receivers} receivers): ${r.naksSent} NAKs for ${r.gaps} common gaps`],
          ["recovery", `${r.retransmits} retransmits; every receiver has every message: ${r.allDelivered} (at ${msText(r.timeNs, 1)})`],
        ],
        checks: r.checks,
        traceHash: r.traceHash,
        sims: [r.sim],
      };
    },
  },
  bottleneckExperiment("cubic", `one cc=cubic flow on a ${PATH}`, "cubic", 1, 10 * S, false),
  bottleneckExperiment("cubic-2flows", `two cc=cubic flows (Aeron's default, tcp mode off) on a ${PATH}`, "cubic", 2, 20 * S, false),
  bottleneckExperiment("cubic-2flows-tcp", `two cc=cubic flows with cubicTcpMode on a ${PATH}`, "cubic", 2, 20 * S, true),
  bottleneckExperiment("bbr", `one cc=bbr (delay-based) flow on a ${PATH}, against cc=cubic`, "bbr", 1, 10 * S, false),
];

export function findExperiment(name: string): ExperimentSpec | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}

export interface ExperimentSummary {
  readonly name: string;
  readonly seed: number;
  readonly report: ExperimentReport;
  readonly wallMs: number;
}

export function runExperiment(spec: ExperimentSpec, seed: number, durationNs: number | undefined): ExperimentSummary {
  const started = performance.now();
  const report = spec.run(seed, durationNs);
  return { name: spec.name, seed, report, wallMs: performance.now() - started };
}

export function formatExperiment(s: ExperimentSummary): string {
  const r = s.report;
  const simulatedNs = r.sims.reduce((a, sim) => a + sim.nowNs, 0);
  const events = r.sims.reduce((a, sim) => a + sim.counters.eventsProcessed, 0);
  const allOk = r.checks.every((c) => c.ok);
  const width = Math.max(12, ...r.figures.map(([label]) => label.length));
  const lines = [`petrel sim ${s.name}: seed ${s.seed}, ${((r.sims[0]?.nowNs ?? 0) / S).toFixed(3)} s simulated${r.sims.length > 1 ? ` (and ${r.sims.length - 1} comparison run)` : ""}`];
  for (const [label, text] of r.figures) lines.push(`  ${label.padEnd(width)} ${text}`);
  lines.push(`  ${"time".padEnd(width)} ${(simulatedNs / S).toFixed(3)} s simulated in ${(s.wallMs / 1000).toFixed(3)} s wall, ${Math.round(events).toLocaleString("en-US")} events`);
  lines.push(`  ${"checks".padEnd(width)} ${allOk ? "all hold" : "FAILED"}`);
  for (const c of r.checks) lines.push(`    ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
  lines.push(`  ${"trace hash".padEnd(width)} ${r.traceHash}`);
  return lines.join("\n");
}
