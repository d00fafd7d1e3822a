// Goal: the journal's bounds and options hold on a live in-process run (a publisher and a
// subscriber engine, each on its own runtime and sockets driver over 127.0.0.1):
// - small segments roll over into `<path>.1`, `<path>.2`, ... and a replay reads them in order,
//   reporting its progress as it goes;
// - a size limit stops recording with an END "limit" record, and the journal up to it still
//   replays bit-exact (the limit keeps a journal's beginning, which is what a replay needs);
// - with payloads recorded as length + hash, the journal is smaller and still replays (outputs
//   checked by length);
// - a command from inside a poll handler is refused with a JournalUsageError (it could not be
//   replayed at the same point).
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { JournalRecorder, JournalUsageError, replayJournal, segmentPath } from "../../src/journal/index.js";
import { Prng } from "../../src/sim/prng.js";
import { fillMessage, freeUdpPort, messageLengths, STREAM_ID, StreamChecker } from "../drivers/streamSupport.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 1516);
const dir = mkdtempSync(join(tmpdir(), "petrel-journal-segments-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface RunOptions {
  readonly segmentBytes?: number;
  readonly maxBytes?: number;
  readonly payloadHash?: boolean;
}

/** Streams `count` messages from a journaled publisher to a journaled subscriber; returns the journals. */
async function journaledRun(name: string, count: number, options: RunOptions): Promise<{ publisher: string; subscriber: string; received: number }> {
  const port = await freeUdpPort();
  const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=128k`;
  const prng = new Prng(SEED);
  const paths = { publisher: join(dir, `${name}-pub.pjournal`), subscriber: join(dir, `${name}-sub.pjournal`) };
  const pubJournal = new JournalRecorder({ path: paths.publisher, ...options });
  const subJournal = new JournalRecorder({ path: paths.subscriber, ...options });
  const pub = new EngineRuntime(pubJournal.createEngine({ random: prng.fork("p") }), createSocketsDriver(), { journal: pubJournal });
  const sub = new EngineRuntime(subJournal.createEngine({ random: prng.fork("s") }), createSocketsDriver(), { journal: subJournal });
  const subscription = subJournal.addSubscription(channel, STREAM_ID);
  const publication = pubJournal.addPublication(channel, STREAM_ID);
  const lengths = messageLengths(SEED, count, 1376);
  const checker = new StreamChecker(lengths);
  const scratch = new Uint8Array(2048);
  let sent = 0;
  const deadline = performance.now() + 30_000;
  for (let cycle = 0; checker.received < count && performance.now() < deadline; cycle++) {
    for (let k = 0; k < 64 && sent < count; k++) {
      fillMessage(scratch, lengths[sent]!, sent);
      const result = publication.offer(scratch, 0, lengths[sent]!);
      if (result === -3) continue;
      if (result < 0) break;
      sent++;
    }
    pub.doWork();
    sub.doWork();
    subscription.poll(checker.handler, 256);
    if ((cycle & 255) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  expect(checker.failures).toEqual([]);
  for (const [journal, runtime] of [[pubJournal, pub], [subJournal, sub]] as const) {
    journal.closeEngine();
    runtime.doWork();
    journal.close();
    await runtime.close();
  }
  return { ...paths, received: checker.received };
}

describe("journal bounds", () => {
  it("rolls segments over and replays across them", async () => {
    const run = await journaledRun("rolling", 20_000, { segmentBytes: 256 * 1024 });
    expect(run.received).toBe(20_000);
    expect(existsSync(segmentPath(run.subscriber, 2))).toBe(true);
    for (const path of [run.publisher, run.subscriber]) {
      const result = replayJournal(path);
      expect(result.divergence, JSON.stringify(result.divergence)).toBeUndefined();
      expect(result.end).toBe("closed");
    }
    expect(replayJournal(run.subscriber).counts.messages).toBe(20_000);
    // A long replay reports progress as it goes (here at every chance: interval 0).
    const progress: Array<{ records: number; bytesRead: number; totalBytes: number }> = [];
    replayJournal(run.subscriber, { progressIntervalMs: 0, onProgress: (p) => progress.push(p) });
    expect(progress.length).toBeGreaterThan(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.records).toBeGreaterThan(progress[i - 1]!.records);
    expect(progress.at(-1)!.bytesRead).toBeLessThanOrEqual(progress.at(-1)!.totalBytes);
  });

  it("stops at its size limit with an END record, and what it kept replays", async () => {
    const maxBytes = 512 * 1024;
    const run = await journaledRun("limited", 20_000, { maxBytes });
    let total = 0;
    for (let i = 0; existsSync(segmentPath(run.subscriber, i)); i++) total += statSync(segmentPath(run.subscriber, i)).size;
    expect(total).toBeLessThanOrEqual(maxBytes);
    const result = replayJournal(run.subscriber);
    expect(result.divergence, JSON.stringify(result.divergence)).toBeUndefined();
    expect(result.end).toBe("limit");
    expect(result.counts.messages).toBeGreaterThan(0);
    expect(result.counts.messages).toBeLessThan(20_000);
  });

  it("records offers as length + hash on request, and still replays", async () => {
    const full = await journaledRun("full", 5_000, {});
    const hashed = await journaledRun("hashed", 5_000, { payloadHash: true });
    expect(statSync(hashed.publisher).size).toBeLessThan(statSync(full.publisher).size);
    const result = replayJournal(hashed.publisher);
    expect(result.divergence, JSON.stringify(result.divergence)).toBeUndefined();
    expect(result.payloadHash).toBe(true);
    expect(result.counts.offers).toBeGreaterThanOrEqual(5_000);
  });

  it("refuses a command from inside a poll handler", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
    const journal = new JournalRecorder({ path: join(dir, "nested.pjournal") });
    const runtime = new EngineRuntime(journal.createEngine({ random: new Prng(SEED) }), createSocketsDriver(), { journal });
    const subscription = journal.addSubscription(channel, STREAM_ID);
    const publication = journal.addPublication(channel, STREAM_ID);
    const message = new Uint8Array(8);
    let thrown: unknown;
    const deadline = performance.now() + 10_000;
    while (thrown === undefined && performance.now() < deadline) {
      publication.offer(message, 0, 8);
      runtime.doWork();
      subscription.poll(() => {
        try {
          publication.offer(message, 0, 8);
        } catch (error) {
          thrown = error;
        }
      }, 1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(thrown).toBeInstanceOf(JournalUsageError);
    expect((thrown as Error).message).toMatch(/from inside a poll handler/);
    journal.closeEngine();
    runtime.doWork();
    journal.close();
    await runtime.close();
  });
});
