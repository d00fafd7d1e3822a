// Goal: sampling a scenario for a report does not change the run, and the report stays bounded.
// The partition scenario sampled every millisecond ends with the same trace hash as the same run
// left alone; its stall starts at the partition (30% of the run) with the partition named; a run
// with more samples than --points is downsampled to at most that many points with its totals
// exact; progress is drawn on a terminal and cleared at the end; and the schedule's faults are
// the report's fault marks.
import { describe, expect, it } from "vitest";
import { buildScenario, findScenario } from "../../src/cli/scenarios.js";
import { simReportSeries } from "../../src/report/index.js";

const partition = findScenario("partition")!;

describe("petrel report: simulated input", () => {
  it("leaves the run as it was and finds the partition's stall", () => {
    const series = simReportSeries(partition, { seed: 5, durationNs: 1e9 });
    const plain = buildScenario(partition, { seed: 5, durationNs: 1e9 });
    plain.sim.runFor(1e9);
    expect(series.source.details.join("\n")).toContain(`trace hash ${plain.sim.traceHash()}`);
    expect(series.timesNs).toHaveLength(1001);
    expect(series.faults.map((f) => [f.timeNs, f.label])).toEqual([
      [300_000_000, "partition pub ↔ sub"],
      [500_000_000, "heal pub ↔ sub"],
    ]);
    const stall = series.stalls[0]!;
    expect(stall.startNs).toBe(300_000_000);
    expect(stall.endNs).toBeGreaterThan(500_000_000);
    expect(stall.faults).toContain("partition pub ↔ sub at 0.300000 s");
    const s = series.streams[0]!;
    expect(s.totals.messages).toBe(plain.log.delivered);
    expect(s.totals.drops).toBeGreaterThan(0);
  });

  it("downsamples to --points, totals exact, with progress and the schedule's faults", () => {
    const writes: string[] = [];
    const series = simReportSeries(findScenario("demo")!, {
      seed: 2,
      durationNs: 2e9,
      maxPoints: 300,
      schedule: [{ atNs: 1_000_000_000, action: { kind: "loss", sub: 0, loss: { numerator: 1, denominator: 5 } } }],
      progress: { isTTY: true, write: (text) => void writes.push(text) },
    });
    expect(series.timesNs.length).toBeLessThanOrEqual(300);
    expect(series.timesNs.length).toBeGreaterThanOrEqual(150);
    const s = series.streams[0]!;
    expect(s.counts.naks.reduce((a, b) => a + b, 0)).toBe(s.totals.naks);
    expect(s.totals.naks).toBeGreaterThan(0);
    expect(series.faults).toEqual([{ timeNs: 1_000_000_000, label: "loss 1/5" }]);
    expect(writes[0]).toMatch(/^\r\[#*-*\] +\d+% .* s simulated/);
    expect(writes.at(-1)).toBe("\r\x1b[K");
  });
});
