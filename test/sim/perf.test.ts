// Goal: the kernel's throughput workload (src/sim/workloadBounce.ts, timed by benchmarks, not
// here: performance is measured by benchmarks, never by timed tests) does what it should: every
// delivery answers with one datagram, so with perfect links the event count is exactly determined
// by the window, latency and simulated time, and the run is deterministic.
import { describe, expect, it } from "vitest";
import { buildBounceWorkload } from "../../src/sim/workloadBounce.js";

describe("simulator throughput workload", () => {
  it("bounces a full window per pair for the whole run, deterministically", () => {
    const options = { pairs: 10, window: 64, model: { latencyNs: 10_000 } };
    const run = () => {
      const sim = buildBounceWorkload(options);
      sim.runFor(5_000_000);
      return sim;
    };
    const sim = run();
    // 10 pairs x 64 in flight, one delivery per 10 us each: 500 rounds of 640 deliveries (plus boots).
    expect(sim.counters.datagramsDelivered).toBe(10 * 64 * 500);
    expect(sim.inFlightDatagrams).toBe(10 * 64);
    expect(run().traceHash()).toBe(sim.traceHash());
  });
});
