// Hostile fuzz throughput: hostile datagrams per second through the engine pair of
// test/hostile/hostilePair.ts (the issue #11 property test's loop: live stream, generator,
// mutator, both engines, the checks), for the closing note. Each figure is the median of 5
// batches of 10^5 datagrams (10 runs of 10^4, fresh pair per run, as in the test), after a
// warm-up batch. A run that fails (e.g. a known attack on a branch without its fix) is reported
// with its seed and ends the benchmark: a rate over a failing engine means nothing.
import { performance } from "node:perf_hooks";
import { runHostileCase } from "../test/hostile/hostilePair.js";

const RUNS_PER_BATCH = 10;
const PER_RUN = 10_000;
const BATCHES = 5;

function batch(firstSeed: number, baselineRssBytes: number): number {
  const started = performance.now();
  let sent = 0;
  for (let i = 0; i < RUNS_PER_BATCH; i++) {
    const result = runHostileCase({ seed: firstSeed + i, datagrams: PER_RUN, baselineRssBytes });
    if (result.failure !== undefined) {
      throw new Error(`hostile run failed (seed ${result.seed}; PETREL_HOSTILE_SEED=${result.seed} npx vitest run test/hostile/fuzz.test.ts): ` +
        result.failure.split("\n")[0]);
    }
    sent += result.hostileSent;
  }
  return sent / ((performance.now() - started) / 1000);
}

export async function runFuzzBench(): Promise<void> {
  console.log(`fuzz: hostile datagrams/s through an engine pair carrying a live stream; ${BATCHES} batches of ${RUNS_PER_BATCH} x ${PER_RUN}`);
  const baselineRssBytes = process.memoryUsage.rss();
  try {
    batch(1, baselineRssBytes); // warm-up: lets the JIT settle
    const rates: number[] = [];
    for (let b = 0; b < BATCHES; b++) rates.push(batch(1000 + b * RUNS_PER_BATCH, baselineRssBytes));
    const sorted = [...rates].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(`fuzz inputs: ${(median / 1000).toFixed(1)} k datagrams/s median (runs ${(sorted[0]! / 1000).toFixed(1)}..` +
      `${(sorted[sorted.length - 1]! / 1000).toFixed(1)} k); 10^6 datagrams take ${(1e6 / median).toFixed(1)} s`);
  } catch (error) {
    console.log(`fuzz: ${String((error as Error).message)}`);
    process.exitCode = 1;
  }
}
