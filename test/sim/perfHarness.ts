// Times the simulator kernel's bounce workload (src/sim/workloadBounce.ts) for perfMain.ts. The
// workload itself lives in src/sim so that a benchmark (bench/) can run it too; timing stays out of
// the test suite (performance is measured by benchmarks, never by timed tests).
import type { LinkModel } from "../../src/sim/link.js";
import { buildBounceWorkload } from "../../src/sim/workloadBounce.js";

export interface PerfOptions {
  readonly pairs: number;
  readonly window: number;
  readonly simulatedNs: number;
  readonly model: LinkModel;
  readonly seed?: number;
  readonly traceBytes?: boolean;
}

export interface PerfResult {
  readonly events: number;
  readonly wallMs: number;
  readonly eventsPerSecond: number;
  readonly traceHash: string;
}

export function runPerf(options: PerfOptions): PerfResult {
  const sim = buildBounceWorkload(options);
  const started = performance.now();
  sim.runFor(options.simulatedNs);
  const wallMs = performance.now() - started;
  const events = sim.counters.eventsProcessed;
  return { events, wallMs, eventsPerSecond: Math.round(events / (wallMs / 1000)), traceHash: sim.traceHash() };
}
