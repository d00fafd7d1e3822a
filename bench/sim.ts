// `npm run bench sim`: the simulator running two Petrel engines, not toy nodes. Two hosts on a
// 1 Gbit/s, 100 us, 1%-loss path; the publisher offers 32-byte messages flat out (until
// back-pressured, again at every SM). Reports events per wall second and simulated seconds per
// wall second, median of 3 runs after a warm-up. The bar is 1,000,000 events/s.
import { buildScenario, type ScenarioSpec } from "../src/cli/scenarios.js";
import { ratio } from "../src/sim/prng.js";

const SPEC: ScenarioSpec = {
  name: "bench",
  description: "flat-out 32-byte messages, 1 Gbit/s, 100 us, 1% loss",
  model: { latencyNs: 100_000, bandwidthBitsPerSecond: 1_000_000_000, loss: ratio(1, 100) },
  messageBytes: 32,
  burstMessages: 0,
  burstIntervalNs: 0,
  faults: [],
};
const SIMULATED_NS = 1_000_000_000;
const RUNS = 3;
const BAR_EVENTS_PER_SECOND = 1_000_000;

interface Sample {
  readonly events: number;
  readonly wallMs: number;
  readonly messages: number;
  readonly traceHash: string;
}

function once(seed: number, simulatedNs: number): Sample {
  const run = buildScenario(SPEC, { seed, durationNs: simulatedNs });
  const started = performance.now();
  run.sim.runFor(simulatedNs);
  const wallMs = performance.now() - started;
  return { events: run.sim.counters.eventsProcessed, wallMs, messages: run.log.delivered, traceHash: run.sim.traceHash() };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export async function runSimBench(): Promise<void> {
  console.log(`sim: 2 engines, ${SPEC.description}; ${SIMULATED_NS / 1e9} s simulated per run, median of ${RUNS}`);
  once(1, SIMULATED_NS / 4); // warm-up
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    globalThis.gc?.();
    samples.push(once(1, SIMULATED_NS));
  }
  const eventsPerSecond = median(samples.map((s) => s.events / (s.wallMs / 1000)));
  const simPerWall = median(samples.map((s) => SIMULATED_NS / 1e9 / (s.wallMs / 1000)));
  const messagesPerSecond = median(samples.map((s) => s.messages / (s.wallMs / 1000)));
  const first = samples[0]!;
  console.log(`  events per run ${first.events.toLocaleString("en-US")}, messages delivered per run ${first.messages.toLocaleString("en-US")}, trace ${first.traceHash}` +
    (samples.every((s) => s.traceHash === first.traceHash) ? " (same every run)" : " (DIFFERS between runs: nondeterminism)"));
  console.log(`  wall ms per run: ${samples.map((s) => s.wallMs.toFixed(0)).join(", ")}`);
  console.log(`  events/s (median): ${Math.round(eventsPerSecond).toLocaleString("en-US")} ${eventsPerSecond >= BAR_EVENTS_PER_SECOND ? "(meets" : "(BELOW"} the bar of ${BAR_EVENTS_PER_SECOND.toLocaleString("en-US")})`);
  console.log(`  simulated s per wall s (median): ${simPerWall.toFixed(3)}`);
  console.log(`  messages delivered per wall s (median): ${Math.round(messagesPerSecond).toLocaleString("en-US")}`);
}
