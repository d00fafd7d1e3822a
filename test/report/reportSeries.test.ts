// Goal: the report's data model holds whatever feeds it. A long input ends with a bounded number of
// points (gauges keep the later value, counts the sum, totals stay exact); a receiver flat for longer
// than the threshold while its sender is ahead is one stall, from when the sender got ahead of it to
// its next advance, with the NAKs counted and the faults near it named; a receiver that is merely
// idle (nothing to read) is not a stall; a lower position (a second receiver) does not end one;
// and a stall still open at the end is marked ongoing. A quantity declared absent has no series, a
// null total and null in the stalls (not zeros); with stallReceiver "subscriberPosition" the
// application's read position is watched against the receiver's high-water mark.
import { describe, expect, it } from "vitest";
import { ReportSeriesBuilder, type ReportSource } from "../../src/report/index.js";

const SOURCE: ReportSource = { kind: "sim", name: "unit", details: [], notes: [] };
const MS = 1_000_000;

describe("ReportSeriesBuilder", () => {
  it("downsamples a long input to at most maxPoints buckets, exact totals kept", () => {
    const builder = new ReportSeriesBuilder(SOURCE, { bucketNs: MS, maxPoints: 100, stallThresholdNs: 50 * MS });
    const stream = builder.stream(7, 1001);
    for (let t = 0; t < 10_000; t++) {
      stream.gauge("senderPosition", t * MS, t * 32);
      stream.gauge("receiverPosition", t * MS, t * 32);
      stream.count("naks", t * MS);
    }
    const series = builder.finish(9_999 * MS);
    expect(series.timesNs.length).toBeLessThanOrEqual(100);
    expect(series.timesNs.length).toBeGreaterThanOrEqual(50);
    expect(series.bucketNs).toBe(128 * MS);
    const s = series.streams[0]!;
    expect(s.totals.naks).toBe(10_000);
    expect(s.counts.naks.reduce((a, b) => a + b, 0)).toBe(10_000);
    // Bucket 0 holds samples 0..127: the later value is kept.
    expect(s.gauges.senderPosition[0]).toBe(127 * 32);
    expect(series.stalls).toEqual([]);
  });

  it("finds a stall while the sender is ahead, not while the receiver is idle", () => {
    const builder = new ReportSeriesBuilder(SOURCE, { bucketNs: MS, maxPoints: 1000, stallThresholdNs: 20 * MS });
    const stream = builder.stream(7, 1001);
    builder.fault(100 * MS, "partition pub ↔ sub");
    builder.fault(150 * MS, "heal pub ↔ sub");
    let position = 0;
    for (let t = 0; t <= 400; t++) {
      const timeNs = t * MS;
      // Sending until 300 ms; the receiver follows except from 100 to 160 ms; idle (caught up) after 300 ms.
      const sent = Math.min(t, 300) * 64;
      if (t < 100 || t >= 160) position = sent;
      stream.gauge("publisherPosition", timeNs, sent);
      stream.gauge("receiverPosition", timeNs, position);
      if (t >= 110 && t < 160 && t % 10 === 0) stream.count("naks", timeNs);
      builder.advance(timeNs);
    }
    const series = builder.finish(400 * MS);
    expect(series.stalls).toHaveLength(1);
    const stall = series.stalls[0]!;
    expect(stall.startNs).toBe(100 * MS);
    expect(stall.endNs).toBe(160 * MS);
    expect(stall.ongoing).toBe(false);
    expect(stall.naks).toBe(5);
    expect(stall.faults).toEqual(["partition pub ↔ sub at 0.100000 s", "heal pub ↔ sub at 0.150000 s"]);
  });

  it("marks a stall that lasts to the end as ongoing", () => {
    const builder = new ReportSeriesBuilder(SOURCE, { bucketNs: MS, maxPoints: 1000, stallThresholdNs: 10 * MS });
    const stream = builder.stream(1, 1);
    for (let t = 0; t <= 100; t++) {
      stream.gauge("senderPosition", t * MS, t * 32);
      stream.gauge("receiverPosition", t * MS, Math.min(t, 40) * 32);
      builder.advance(t * MS);
    }
    const [stall] = builder.finish(100 * MS).stalls;
    expect(stall).toMatchObject({ startNs: 41 * MS, endNs: 100 * MS, ongoing: true });
  });

  it("does not end a stall on a lower receiver position (another receiver's SM)", () => {
    const builder = new ReportSeriesBuilder(SOURCE, { bucketNs: MS, maxPoints: 1000, stallThresholdNs: 10 * MS });
    const stream = builder.stream(1, 1);
    for (let t = 0; t <= 100; t++) {
      stream.gauge("senderPosition", t * MS, t * 32);
      // Two receivers: one stops at 40 ms, the other lags behind it by 320 bytes and stops too.
      stream.gauge("receiverPosition", t * MS, Math.min(t, 40) * 32);
      stream.gauge("receiverPosition", t * MS, Math.min(t, 40) * 32 - 320);
      builder.advance(t * MS);
    }
    const stalls = builder.finish(100 * MS).stalls;
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toMatchObject({ startNs: 41 * MS, endNs: 100 * MS, ongoing: true });
  });

  it("leaves an absent quantity out, and watches the subscriber position against the high-water mark", () => {
    const builder = new ReportSeriesBuilder(SOURCE, { bucketNs: MS, maxPoints: 1000, stallThresholdNs: 20 * MS, stallReceiver: "subscriberPosition" });
    const stream = builder.stream(7, 1001);
    for (let t = 0; t <= 200; t++) {
      // Data arrives all along; the application stops reading from 50 ms to 120 ms.
      stream.gauge("receiverHwm", t * MS, t * 64);
      stream.gauge("receiverPosition", t * MS, t * 64);
      stream.gauge("subscriberPosition", t * MS, (t < 50 ? t : t < 120 ? 50 : t) * 64);
      stream.count("naks", t * MS, 1);
      builder.advance(t * MS);
    }
    builder.absent("drops", "not on this input");
    builder.absent("rttUs", "not measured");
    const series = builder.finish(200 * MS);
    expect(series.absent).toEqual([{ name: "drops", reason: "not on this input" }, { name: "rttUs", reason: "not measured" }]);
    const s = series.streams[0]!;
    expect(s.counts.drops).toEqual([]);
    expect(s.gauges.rttUs).toEqual([]);
    expect(s.totals.drops).toBeNull();
    expect(s.totals.naks).toBe(201);
    expect(series.stalls).toHaveLength(1);
    // At 50 ms the application had read all there was; from 51 ms the high-water mark is ahead.
    expect(series.stalls[0]).toMatchObject({ startNs: 51 * MS, endNs: 120 * MS, ongoing: false, drops: null });
    expect(series.stalls[0]!.naks).toBeGreaterThan(0);
  });

  it("refuses a bound it cannot keep", () => {
    expect(() => new ReportSeriesBuilder(SOURCE, { maxPoints: 4 })).toThrow(/maxPoints/);
    expect(() => new ReportSeriesBuilder(SOURCE, { bucketNs: 0 })).toThrow(/bucketNs/);
  });
});
