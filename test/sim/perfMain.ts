// Prints the simulator's throughput. Run: npx tsc -p tsconfig.json --outDir /tmp/petrel-perf;
// node /tmp/petrel-perf/test/sim/perfMain.js
import { ratio } from "../../src/sim/prng.js";
import { runPerf } from "./perfHarness.js";

const scenarios = [
  { name: "perfect links, 10 pairs x 64 in flight", model: { latencyNs: 10_000 } },
  // No loss here: a lost datagram shrinks the bouncing window for good.
  { name: "jitter + 1% reordered, 10 pairs x 64 in flight", model: { latencyNs: 10_000, jitterNs: 2_000, reorder: { probability: ratio(1, 100), delayNs: 5_000 } } },
];
for (const scenario of scenarios) {
  for (const traceBytes of [true, false]) {
    runPerf({ pairs: 10, window: 64, simulatedNs: 20_000_000, model: scenario.model, traceBytes }); // warm-up
    const result = runPerf({ pairs: 10, window: 64, simulatedNs: 100_000_000, model: scenario.model, traceBytes });
    console.log(
      `${scenario.name}, traceBytes=${traceBytes}: ${result.events} events in ${result.wallMs.toFixed(0)} ms = ${result.eventsPerSecond.toLocaleString("en-US")} events/s (trace ${result.traceHash})`,
    );
  }
}
