// Goal: `petrel report <journal>` replays a journal of a live run and reports on it.
// - A short in-process run (test/report/journalRun.ts: a publisher and a subscriber engine over
//   127.0.0.1 with cc=cubic, each recording a journal) in which the subscriber's application stops
//   polling for 400 ms: the subscriber's journal has receiver series with data (rebuild position,
//   high-water mark, subscriber position, window), its own RTT measurements, every message read,
//   and one stall near the pause (the subscriber position flat while the high-water mark was
//   ahead); the publisher's has the sender series. What one end cannot know (drops, the other
//   end's series, a publisher's RTT) is absent (no series, null totals, a note on the page),
//   never zeros.
// - Sampling leaves the replay bit-exact; progress goes to the given output (a bar on a terminal).
// - The command recognizes a journal by its magic whatever its name; a corrupt journal (a flipped
//   byte) and one that diverges on replay (a data byte changed, its block's CRC fixed) exit 2 with
//   the JournalFormatError's or the divergence's message.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockCrc } from "../../src/journal/segmentFiles.js";
import { BLOCK_HEADER_BYTES, FILE_HEADER_BYTES, RecordType } from "../../src/journal/format.js";
import { isJournalFile, journalReportSeries, runReportCommand, type ReportSeries } from "../../src/report/index.js";
import { recordPausedRun, type PausedRun } from "./journalRun.js";

const dir = mkdtempSync(join(tmpdir(), "petrel-journal-report-"));
const MS = 1_000_000;
const COUNT = 3000;
const PAUSE_MS = 400;
let run: PausedRun;

beforeAll(async () => {
  run = await recordPausedRun(dir, "paused", { count: COUNT, pauseAfter: 1000, pauseMs: PAUSE_MS, seed: 4242, cc: "cubic" });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function report(...args: string[]): { status: number; stdout: string; stderr: string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const status = runReportCommand(args, { stdout: { write: (t) => void stdout.push(t) }, stderr: { isTTY: false, write: (t) => void stderr.push(t) } });
  return { status, stdout: stdout.join(""), stderr: stderr.join("") };
}

function nonNull(values: ReadonlyArray<number | null>): number {
  return values.filter((v) => v !== null).length;
}

/** A copy of `path` with `change` applied to its bytes. */
function changed(path: string, name: string, change: (bytes: Buffer) => void): string {
  const bytes = readFileSync(path);
  change(bytes);
  const target = join(dir, name);
  writeFileSync(target, bytes);
  return target;
}

/** Flips a payload byte of the first DATAGRAM record with data (past the record's 20-byte prefix and the DATA frame's 32-byte header) and fixes its block's CRC-32. */
function changeDataByte(bytes: Buffer): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Bounded by the file: each step moves to the next block.
  for (let blockAt = FILE_HEADER_BYTES; blockAt + BLOCK_HEADER_BYTES <= bytes.length; ) {
    const payload = view.getUint32(blockAt + 4, true);
    const end = blockAt + BLOCK_HEADER_BYTES + payload;
    for (let at = blockAt + BLOCK_HEADER_BYTES; at + 4 <= end; ) {
      const word = view.getUint32(at, true);
      const type = word & 0xff;
      const length = word >>> 8;
      if (type === RecordType.DATAGRAM && length > 500) {
        bytes[at + 4 + 20 + 32 + 10] = bytes[at + 4 + 20 + 32 + 10]! ^ 0x5a;
        const block = new Uint8Array(bytes.buffer, bytes.byteOffset + blockAt, BLOCK_HEADER_BYTES + payload);
        view.setUint32(blockAt + 12, blockCrc(block, payload), true);
        return;
      }
      at += 4 + ((length + 3) & ~3);
    }
    blockAt = end;
  }
  throw new Error("no DATAGRAM record with data in the journal");
}

describe("petrel report: a journal", () => {
  it("recorded the run with its pause", () => {
    expect(run.failures).toEqual([]);
    expect(run.received).toBe(COUNT);
    expect(run.pauseStartNs).toBeGreaterThan(0);
    // In recorded time: well over the stall threshold (the first poll after it is stamped with the latest timed record's time).
    expect(run.pauseEndNs - run.pauseStartNs).toBeGreaterThan(150 * MS);
  });

  it("samples the subscriber's engine: receiver series, one stall at the pause, the rest absent", () => {
    const series: ReportSeries = journalReportSeries(run.subscriber);
    expect(series.source.kind).toBe("journal");
    expect(series.source.details.join("\n")).toMatch(/replayed bit-exact/);
    expect(series.streams).toHaveLength(1);
    const s = series.streams[0]!;
    for (const name of ["receiverPosition", "receiverHwm", "subscriberPosition", "receiverWindowBytes", "rttUs"] as const) {
      expect(nonNull(s.gauges[name]), name).toBeGreaterThan(10);
    }
    expect(s.totals.messages).toBe(COUNT);
    expect(s.totals.statusMessages).toBeGreaterThan(0);
    // The other end's series, drops and RTT: absent, not zeros.
    const absent = series.absent.map((a) => a.name);
    expect(absent).toEqual(expect.arrayContaining(["drops", "publisherPosition", "senderPosition", "senderLimit", "retransmits", "dataFrames"]));
    expect(absent).not.toContain("receiverPosition");
    expect(absent).not.toContain("rttUs");
    // Loopback RTTs: positive, and well under a second.
    const rtts = s.gauges.rttUs.filter((v): v is number => v !== null);
    expect(Math.min(...rtts)).toBeGreaterThan(0);
    expect(Math.max(...rtts)).toBeLessThan(1e6);
    expect(s.totals.rttMeasurements).toBeGreaterThan(0);
    expect(s.totals.drops).toBeNull();
    expect(s.totals.retransmits).toBeNull();
    expect(s.counts.drops).toEqual([]);
    expect(s.gauges.senderPosition).toEqual([]);

    const atPause = series.stalls.filter((stall) => stall.endNs > run.pauseStartNs && stall.startNs < run.pauseEndNs);
    expect(atPause, JSON.stringify(series.stalls)).toHaveLength(1);
    const stall = atPause[0]!;
    expect(stall.startNs).toBeGreaterThanOrEqual(run.pauseStartNs - 5 * MS);
    expect(stall.startNs).toBeLessThanOrEqual(run.pauseStartNs + series.stallThresholdNs);
    expect(stall.endNs).toBeGreaterThanOrEqual(run.pauseEndNs - 5 * MS);
    expect(stall.endNs).toBeLessThanOrEqual(run.pauseEndNs + series.stallThresholdNs);
    expect(stall.ongoing).toBe(false);
    expect(stall.senderPosition).toBeGreaterThan(stall.receiverPosition);
    expect(stall.drops).toBeNull();
    expect(stall.retransmits).toBeNull();
  });

  it("samples the publisher's engine: sender series, receiver side absent, with progress", () => {
    const writes: string[] = [];
    // Progress as often as the replay reports it (every 1024 records), drawn as a bar on a terminal.
    const series = journalReportSeries(run.publisher, { bucketNs: 2 * MS, progressIntervalMs: 0, progress: { isTTY: true, write: (t) => void writes.push(t) } });
    expect(writes[0]).toMatch(/^\r\[#*-*\] +\d+% \d+ records, \d+\.\d{3} s recorded/);
    expect(writes.at(-1)).toBe("\r\x1b[K");
    const s = series.streams[0]!;
    for (const name of ["publisherPosition", "senderPosition", "senderLimit"] as const) expect(nonNull(s.gauges[name]), name).toBeGreaterThan(10);
    expect(s.totals.dataFrames).toBeGreaterThan(0);
    expect(s.totals.messages).toBeNull();
    expect(s.gauges.receiverPosition).toEqual([]);
    expect(series.absent.map((a) => a.name)).toEqual(expect.arrayContaining(["receiverPosition", "subscriberPosition", "receiverHwm", "messages", "drops", "rttUs"]));
    // The publisher answered the subscriber's RTT requests: the measurements are the subscriber's.
    expect(series.absent.find((a) => a.name === "rttUs")!.reason).toMatch(/measured by its peer/);
    expect(s.gauges.rttUs).toEqual([]);
    expect(series.stalls).toEqual([]);
    // The publisher reached the end of what it offered.
    const positions = s.gauges.senderPosition.filter((v): v is number => v !== null);
    expect(positions.at(-1)).toBeGreaterThan(positions[0]!);
  });

  it("writes the page from the command line, a journal known by its magic whatever its name", () => {
    const renamed = changed(run.subscriber, "subscriber-journal.pcap", () => undefined);
    expect(isJournalFile(renamed)).toBe(true);
    expect(isJournalFile(join(import.meta.dirname, "..", "fixtures", "aeron-unicast-loss.pcap"))).toBe(false);
    const html = join(dir, "journal.html");
    const out = report(renamed, "--html", html);
    expect(out.stderr).toBe("");
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/wrote .*journal\.html .*: journal subscriber-journal\.pcap, 1 stream\(s\), .* 1 stall\(s\)/);
    const page = readFileSync(html, "utf8");
    expect(page).toContain('<section id="absent">');
    expect(page).toContain('data-absent="drops"');
    expect(page).toMatch(/drops not known/);
    // A publisher's journal has no receiver: the page says stalls cannot be found, not that there was none.
    expect(report(run.publisher, "--html", html)).toMatchObject({ status: 0, stdout: expect.stringMatching(/journal paused-pub\.pjournal, .* no receiver, so no stall can be found\n$/) });
    const publisherPage = readFileSync(html, "utf8");
    expect(publisherPage).toMatch(/<p id="no-receiver">Stalls cannot be found from this input: it has no subscriber position/);
    expect(publisherPage).not.toContain('id="no-stall"');
    expect(report(run.subscriber, "--seed", "3", "--html", html)).toMatchObject({ status: 2, stderr: expect.stringMatching(/--seed go\(es\) with a scenario, not with a journal/) });
  });

  it("exits 2 on a corrupt journal, with the JournalFormatError's message", () => {
    const corrupt = changed(run.subscriber, "corrupt.pjournal", (bytes) => {
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0x10;
    });
    const out = report(corrupt, "--html", join(dir, "corrupt.html"));
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/^petrel report: '.*corrupt\.pjournal' cannot be read as a journal: .*corrupt\.pjournal: block at byte \d+ fails its CRC-32/);
    expect(out.stdout).toBe("");
  });

  it("exits 2 on a journal that diverges on replay, with the divergence", () => {
    const diverging = changed(run.subscriber, "diverging.pjournal", changeDataByte);
    const out = report(diverging, "--html", join(dir, "diverging.html"));
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/^petrel report: '.*diverging\.pjournal' diverged on replay at record \d+ \(POLL.*\): poll\(limit 256\) on subscription 0.*expected .* got /);
  });
});
