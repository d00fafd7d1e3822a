// Goal: a capture is a report input. From the reference captures (test/fixtures/README.md says what
// is in them), the pcap input finds each stream and counts its messages (300 on stream 1002 and
// 2000 on 1003, every retransmit left out), the 168 NAKs the capturing driver counted, the RTT
// measurements of the CUBIC capture (about 2170 requests and 2171 replies) with an RTT per reply,
// and its receiver window growing from 14080 to 130944. Bad input fails with a typed error: a
// missing file, a file that is not a pcap, a name that is no scenario. The command writes a page
// with the series in it (no browser needed here; test/report/browser.test.ts opens one).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pcapReportSeries, ReportInputError, reportSeriesFromArgs, runReportCommand, type ReportSeries } from "../../src/report/index.js";

const fixtures = join(import.meta.dirname, "..", "fixtures");
const dir = mkdtempSync(join(tmpdir(), "petrel-report-"));

function byStreamId(series: ReportSeries, streamId: number) {
  const found = series.streams.filter((s) => s.streamId === streamId);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function sum(series: ReportSeries, name: "naks" | "rttMeasurements"): number {
  return series.streams.reduce((total, s) => total + (s.totals[name] ?? 0), 0);
}

function inputError(run: () => unknown): ReportInputError {
  try {
    run();
  } catch (error) {
    if (error instanceof ReportInputError) return error;
    throw error;
  }
  throw new Error("expected a ReportInputError");
}

describe("petrel report: pcap input", () => {
  it("counts the unicast capture's messages per stream and its NAKs", () => {
    const series = pcapReportSeries(join(fixtures, "aeron-unicast-loss.pcap"));
    expect(series.source.kind).toBe("pcap");
    expect(series.streams.map((s) => s.streamId)).toEqual([1001, 1002, 1003]);
    expect(byStreamId(series, 1002).totals.messages).toBe(300);
    expect(byStreamId(series, 1003).totals.messages).toBe(2000);
    expect(byStreamId(series, 1001).totals.messages).toBeGreaterThan(0);
    expect(sum(series, "naks")).toBe(168);
    // Loss was real: retransmits on the lossy streams, and the per-bucket counts add up to the totals.
    for (const s of series.streams) {
      expect(s.counts.naks.reduce((a, b) => a + b, 0)).toBe(s.totals.naks);
      expect(s.counts.messages.reduce((a, b) => a + b, 0)).toBe(s.totals.messages);
    }
    expect(byStreamId(series, 1002).totals.retransmits).toBeGreaterThan(0);
    // Positions: 2000 messages of 32 bytes take 64 bytes of term each; the receiver's last SM is behind or at the sender.
    const s1003 = byStreamId(series, 1003);
    const last = (values: ReadonlyArray<number | null>): number => values.filter((v): v is number => v !== null).at(-1) ?? -1;
    expect(last(s1003.gauges.senderPosition)).toBeGreaterThanOrEqual(2000 * 64);
    expect(last(s1003.gauges.receiverPosition)).toBeGreaterThan(0);
    expect(last(s1003.gauges.receiverPosition)).toBeLessThanOrEqual(last(s1003.gauges.senderPosition));
    expect(series.timesNs.length).toBeLessThanOrEqual(4000);
  });

  it("counts the same messages over multicast", () => {
    const series = pcapReportSeries(join(fixtures, "aeron-multicast-loss.pcap"));
    expect(byStreamId(series, 1002).totals.messages).toBe(300);
    expect(byStreamId(series, 1003).totals.messages).toBe(2000);
  });

  it("reads RTTs and the growing window from the CUBIC capture", () => {
    const series = pcapReportSeries(join(fixtures, "aeron-unicast-cubic-rttm.pcap"));
    const s = byStreamId(series, 1001);
    expect(s.totals.rttMeasurements).toBeGreaterThanOrEqual(4300);
    expect(s.totals.rttMeasurements).toBeLessThanOrEqual(4400);
    const rtts = s.gauges.rttUs.filter((v): v is number => v !== null);
    expect(rtts.length).toBeGreaterThan(100);
    for (const rtt of rtts) expect(rtt).toBeGreaterThanOrEqual(0);
    const windows = s.gauges.receiverWindowBytes.filter((v): v is number => v !== null);
    expect(windows[0]).toBe(14080);
    expect(Math.max(...windows)).toBe(130944);
  });

  it("fails with typed errors on bad input", () => {
    expect(inputError(() => pcapReportSeries(join(dir, "absent.pcap"))).kind).toBe("missing-file");
    const notPcap = join(dir, "notes.pcap");
    writeFileSync(notPcap, "this is not a capture, just text that is long enough\n");
    const error = inputError(() => pcapReportSeries(notPcap));
    expect(error.kind).toBe("not-pcap");
    expect(error.message).toMatch(/not a pcap file.*magic/);
    expect(inputError(() => reportSeriesFromArgs(["no-such-scenario", "--html", join(dir, "x.html")], null)).kind).toBe("unknown-scenario");
    expect(inputError(() => reportSeriesFromArgs(["fc-min", "--html", join(dir, "x.html")], null)).message).toMatch(/experiment/);
  });

  it("the command writes a page with the capture's series and exits 2 on bad input", () => {
    const out = join(dir, "capture.html");
    const stdout: string[] = [];
    const stderr: string[] = [];
    const io = { stdout: { write: (t: string) => void stdout.push(t) }, stderr: { isTTY: false, write: (t: string) => void stderr.push(t) } };
    expect(runReportCommand([join(fixtures, "aeron-unicast-loss.pcap"), "--html", out, "--points", "500"], io)).toBe(0);
    expect(stdout.join("")).toMatch(/wrote .*capture\.html .*pcap aeron-unicast-loss\.pcap, 3 stream\(s\)/);
    const html = readFileSync(out, "utf8");
    expect(html).toContain("uPlot");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    const data = JSON.parse(/<script id="petrel-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!) as { series: ReportSeries };
    expect(data.series.timesNs.length).toBeLessThanOrEqual(500);
    expect(sum(data.series, "naks")).toBe(168);

    expect(runReportCommand([join(dir, "absent.pcap"), "--html", out], io)).toBe(2);
    expect(stderr.join("")).toMatch(/absent\.pcap' does not exist/);
    expect(runReportCommand(["partition"], io)).toBe(2);
    expect(stderr.join("")).toMatch(/--html FILE is required/);
    expect(runReportCommand([join(fixtures, "aeron-unicast-loss.pcap"), "--html", out, "--seed", "3"], io)).toBe(2);
    expect(stderr.join("")).toMatch(/--seed go\(es\) with a scenario/);
  });
});
