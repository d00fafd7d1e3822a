// `npm run bench sim`: the simulator's two speed figures (issue #16 item 6), each the median of
// RUNS runs after a warm-up, with the run's trace hash to show that every run was the same run.
//  1. Simulated seconds per wall second on the engine path: two Petrel engines on a 1 Gbit/s,
//     100 us, 1%-loss path; the publisher offers 32-byte messages flat out (until back-pressured,
//     again at every SM). Goal: 10 (FoundationDB's 10:1).
//  2. Events per wall second on a small-datagram workload: the kernel's bounce workload
//     (src/sim/workloadBounce.ts: 10 host pairs, 64 32-byte datagrams in flight per pair, 10 us
//     perfect links, payload bytes folded into the trace hash), where each event is one delivery
//     and one send. Goal: 1,000,000 events/s.
// `--runs=N` changes the number of timed runs (default 3).
import { buildScenario, type ScenarioSpec } from "../src/cli/scenarios.js";
import { ratio } from "../src/sim/prng.js";
import { buildBounceWorkload } from "../src/sim/workloadBounce.js";

const SPEC: ScenarioSpec = {
  name: "bench",
  description: "flat-out 32-byte messages, 1 Gbit/s, 100 us, 1% loss",
  model: { latencyNs: 100_000, bandwidthBitsPerSecond: 1_000_000_000, loss: ratio(1, 100) },
  messageBytes: 32,
  burstMessages: 0,
  burstIntervalNs: 0,
  faults: [],
};
const ENGINE_SIMULATED_NS = 1_000_000_000;
const BOUNCE = { pairs: 10, window: 64, model: { latencyNs: 10_000 } } as const;
const BOUNCE_SIMULATED_NS = 100_000_000;
const BAR_SIM_PER_WALL = 10;
const BAR_EVENTS_PER_SECOND = 1_000_000;

interface Sample {
  readonly events: number;
  readonly simulatedNs: number;
  readonly wallMs: number;
  readonly messages: number;
  readonly traceHash: string;
}

function engineRun(seed: number, simulatedNs: number): Sample {
  const run = buildScenario(SPEC, { seed, durationNs: simulatedNs });
  const started = performance.now();
  run.sim.runFor(simulatedNs);
  const wallMs = performance.now() - started;
  return { events: run.sim.counters.eventsProcessed, simulatedNs, wallMs, messages: run.log.delivered, traceHash: run.sim.traceHash() };
}

function bounceRun(simulatedNs: number): Sample {
  const sim = buildBounceWorkload(BOUNCE);
  const started = performance.now();
  sim.runFor(simulatedNs);
  const wallMs = performance.now() - started;
  return { events: sim.counters.eventsProcessed, simulatedNs, wallMs, messages: sim.counters.datagramsDelivered, traceHash: sim.traceHash() };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function runsOption(): number {
  const arg = process.argv.find((a) => a.startsWith("--runs="));
  const runs = arg === undefined ? 3 : Number(arg.slice("--runs=".length));
  if (!Number.isSafeInteger(runs) || runs < 1 || runs > 100) throw new Error("--runs must be an integer in 1..100");
  return runs;
}

function timed(runs: number, warmUp: () => void, once: () => Sample): Sample[] {
  warmUp();
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    globalThis.gc?.();
    samples.push(once());
  }
  return samples;
}

function describe(samples: Sample[], what: string): void {
  const first = samples[0]!;
  const same = samples.every((s) => s.traceHash === first.traceHash && s.events === first.events);
  console.log(`  events per run ${first.events.toLocaleString("en-US")}, ${what} per run ${first.messages.toLocaleString("en-US")}, trace ${first.traceHash}` +
    (same ? " (same every run)" : " (DIFFERS between runs: nondeterminism)"));
  console.log(`  wall ms per run: ${samples.map((s) => s.wallMs.toFixed(0)).join(", ")}`);
}

export async function runSimBench(): Promise<void> {
  const runs = runsOption();
  console.log(`sim 1/2: 2 engines, ${SPEC.description}; ${ENGINE_SIMULATED_NS / 1e9} s simulated per run, median of ${runs}`);
  const engine = timed(runs, () => void engineRun(1, ENGINE_SIMULATED_NS / 4), () => engineRun(1, ENGINE_SIMULATED_NS));
  describe(engine, "messages delivered");
  const simPerWall = median(engine.map((s) => s.simulatedNs / 1e9 / (s.wallMs / 1000)));
  console.log(`  simulated s per wall s (median): ${simPerWall.toFixed(3)} ${simPerWall >= BAR_SIM_PER_WALL ? "(meets" : "(BELOW"} the goal of ${BAR_SIM_PER_WALL})`);
  console.log(`  events/s (median): ${Math.round(median(engine.map((s) => s.events / (s.wallMs / 1000)))).toLocaleString("en-US")}`);
  console.log(`  messages delivered per wall s (median): ${Math.round(median(engine.map((s) => s.messages / (s.wallMs / 1000)))).toLocaleString("en-US")}`);

  console.log(`sim 2/2: small datagrams, ${BOUNCE.pairs} pairs x ${BOUNCE.window} x 32-byte datagrams in flight, ${BOUNCE.model.latencyNs / 1000} us perfect links; ` +
    `${BOUNCE_SIMULATED_NS / 1e6} ms simulated per run, median of ${runs}`);
  const bounce = timed(runs, () => void bounceRun(BOUNCE_SIMULATED_NS / 5), () => bounceRun(BOUNCE_SIMULATED_NS));
  describe(bounce, "datagrams delivered");
  const eventsPerSecond = median(bounce.map((s) => s.events / (s.wallMs / 1000)));
  console.log(`  events/s (median): ${Math.round(eventsPerSecond).toLocaleString("en-US")} ${eventsPerSecond >= BAR_EVENTS_PER_SECOND ? "(meets" : "(BELOW"} the goal of ${BAR_EVENTS_PER_SECOND.toLocaleString("en-US")})`);
  console.log(`  simulated s per wall s (median): ${median(bounce.map((s) => s.simulatedNs / 1e9 / (s.wallMs / 1000))).toFixed(3)}`);
}
