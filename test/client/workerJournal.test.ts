// Goal: a run of the client API in worker mode (Petrel.launch({ worker, journal })) replays bit-exact.
// The worker records what the application did on its own thread as it observes it: the log bytes
// between two producer positions (APPEND) and each subscriber position move with a digest of what
// was read (SUBSCRIBER_POSITION); the replay writes the bytes into its own log and moves the
// positions, and checks every output as usual.
// - One worker-mode client publishes to and subscribes from itself over UDP loopback with 64 KiB
//   terms (the log wraps many times), messages of 4 B to three MTUs (fragmented), some offered by
//   offerv and with a reserved value (recordable here: the bytes are copied from the log); close
//   ends the journal; replayJournal of it is bit-exact with the delivered count the client saw.
// - Two worker-mode clients, each with its own journal (a for-await subscriber and a publisher):
//   both replay bit-exact, the subscriber's with every message delivered, and `petrel replay` says
//   so; replayed with a fault (three DATA datagrams delayed 0 ns: the run goes live) it delivers
//   every message exactly once and in order (fragmented ones were reported as gaps before the fix).
// - A mutation: one byte of one recorded append changed (block checksum fixed up) makes the replay
//   diverge at the first datagram that carries it; one changed digest of a read diverges there.
// - A subscription whose port is taken (BindError) and a publication with a bad term length
//   (refused by the worker's engine) are recorded with their errors and closes; with a stream over
//   an interface search beside them, the journal replays bit-exact.
// - A journal the worker cannot open rejects the launch with a LaunchOptionError naming
//   journal.path; payloadHash is refused in worker mode (journal.payloadHash).
import * as dgram from "node:dgram";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { runReplayCommand } from "../../src/cli/replayCommand.js";
import { parseDelay } from "../../src/journal/frameFilter.js";
import { BindError, DirectBufferVector, LaunchOptionError, type Petrel, type PetrelOptions } from "../../src/client/index.js";
import { BLOCK_HEADER_BYTES, FILE_HEADER_BYTES, RecordType } from "../../src/journal/format.js";
import { JournalReader, replayJournal } from "../../src/journal/index.js";
import { blockCrc } from "../../src/journal/segmentFiles.js";
import { checkMessage, fillMessage, freeUdpPort, messageLengths } from "../drivers/streamSupport.js";
import { compileWorker, launchIn } from "./clientModes.js";

const dir = mkdtempSync(join(tmpdir(), "petrel-worker-journal-"));
const clients: Petrel[] = [];
let removeWorker: () => void = () => undefined;

beforeAll(() => {
  removeWorker = compileWorker();
}, 120_000);

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close({ timeoutMs: 200 });
});

afterAll(() => {
  removeWorker();
  rmSync(dir, { recursive: true, force: true });
});

async function launchWorker(options: PetrelOptions): Promise<Petrel> {
  const client = await launchIn("worker", options);
  clients.push(client);
  return client;
}

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = performance.now();
  // Bounded by timeoutMs.
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error("timed out waiting");
    await yieldToLoop();
  }
}

function expectBitExact(path: string): ReturnType<typeof replayJournal> {
  const result = replayJournal(path);
  expect(result.divergence, JSON.stringify(result.divergence, null, 2)).toBeUndefined();
  expect(result.ok).toBe(true);
  expect(result.end).toBe("closed");
  expect(result.truncatedTail).toBe(false);
  return result;
}

/** Messages per run: about 175 B each on average, so about eight 64 KiB terms (the log wraps twice). */
const COUNT = 3000;
const TERM = 64 * 1024;

/** Each record of `type` in a journal's first segment: the file offset of its body and its block. */
function recordsOf(bytes: Uint8Array, type: number): Array<{ bodyAt: number; bodyLength: number; blockAt: number; payloadBytes: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found: Array<{ bodyAt: number; bodyLength: number; blockAt: number; payloadBytes: number }> = [];
  // Bounded by the file's length: each block and record moves forward.
  for (let blockAt = FILE_HEADER_BYTES; blockAt + BLOCK_HEADER_BYTES <= bytes.length;) {
    const payloadBytes = view.getUint32(blockAt + 4, true);
    const end = blockAt + BLOCK_HEADER_BYTES + payloadBytes;
    for (let at = blockAt + BLOCK_HEADER_BYTES; at < end;) {
      const word = view.getUint32(at, true);
      const bodyLength = word >>> 8;
      if ((word & 0xff) === type) found.push({ bodyAt: at + 4, bodyLength, blockAt, payloadBytes });
      at += 4 + ((bodyLength + 3) & ~3);
    }
    blockAt = end;
  }
  return found;
}

describe("a journaled worker-mode client", () => {
  it("publishes to itself over 64 KiB terms (fragmented messages, offerv, reserved values) and replays bit-exact with the delivered count", async () => {
    const path = join(dir, "self.pjournal");
    const channel = `aeron:udp?endpoint=127.0.0.1:${await freeUdpPort()}|term-length=${TERM}`;
    const petrel = await launchWorker({ journal: { path }, seed: 21 });
    expect(petrel.mode).toBe("worker");
    expect(petrel.journaling).toBe(true);
    const subscription = await petrel.addSubscription(channel, 1001);
    const publication = await petrel.addPublication(channel, 1001);
    await until(() => publication.isConnected);

    const lengths = messageLengths(4409, COUNT);
    const scratch = new Uint8Array(3 * 1376);
    const head = new DirectBufferVector();
    const tail = new DirectBufferVector();
    const failures: string[] = [];
    let received = 0;
    let bytesSent = 0;
    const handler = (buffer: Uint8Array, offset: number, length: number): void => {
      const failure = checkMessage(buffer, offset, length, received, lengths[received]!);
      if (failure !== undefined) failures.push(failure);
      received++;
    };
    let sent = 0;
    await until(() => {
      for (let burst = 0; burst < 16 && sent < COUNT; burst++) {
        const length = lengths[sent]!;
        fillMessage(scratch, length, sent);
        // Every third message by offerv (two slices), every fifth with a reserved value.
        const result = sent % 3 === 1 && length > 8
          ? publication.offerv([head.reset(scratch, 0, 8), tail.reset(scratch, 8, length - 8)])
          : sent % 5 === 2 ? publication.offer(scratch, 0, length, () => 0x1234_5678n) : publication.offer(scratch, 0, length);
        if (result < 0) break;
        sent++;
        bytesSent += length;
      }
      subscription.poll(handler, 10);
      return received === COUNT;
    });
    expect(failures).toEqual([]);
    // Enough data for the log to wrap: more than three terms.
    expect(bytesSent + 32 * COUNT).toBeGreaterThan(3 * TERM);
    const report = await petrel.close({ timeoutMs: 5000 });
    expect(report.drained).toBe(true);

    const result = expectBitExact(path);
    expect(result.counts.messages).toBe(COUNT);
    expect(result.counts.appends).toBeGreaterThan(0);
    expect(result.counts.subscriberMoves).toBeGreaterThan(0);
    expect(result.counts.datagramsIn).toBeGreaterThan(0);
    expect(result.counts.datagramsOut).toBeGreaterThan(0);
    expect(result.counts.randomDraws).toBeGreaterThan(0);

    // The log wrapped (appends past three terms), and a move across a term end was recorded in
    // one record per term (one ending exactly at the term's end).
    const reader = new JournalReader(path);
    let lastTo = 0;
    let endsAtTermEnd = 0;
    try {
      while (reader.next()) {
        if (reader.type !== RecordType.APPEND) continue;
        const to = reader.view.getFloat64(reader.bodyOffset + 12, true);
        lastTo = Math.max(lastTo, to);
        if (to % TERM === 0) endsAtTermEnd++;
      }
    } finally {
      reader.close();
    }
    expect(lastTo).toBeGreaterThan(3 * TERM);
    expect(endsAtTermEnd).toBeGreaterThan(0);

    // A mutation of a read: one SUBSCRIBER_POSITION record's digest changed (checksum fixed up).
    const bytes = new Uint8Array(readFileSync(path));
    const moves = recordsOf(bytes, RecordType.SUBSCRIBER_POSITION);
    expect(moves.length).toBeGreaterThan(0);
    const move = moves[Math.floor(moves.length / 2)]!;
    bytes[move.bodyAt + 32]! ^= 1;
    new DataView(bytes.buffer).setUint32(move.blockAt + 12, blockCrc(bytes.subarray(move.blockAt), move.payloadBytes), true);
    writeFileSync(join(dir, "read-mutated.pjournal"), bytes);
    const mutated = replayJournal(join(dir, "read-mutated.pjournal"));
    expect(mutated.ok).toBe(false);
    expect(mutated.divergence!.recordType).toBe("SUBSCRIBER_POSITION");
    expect(mutated.divergence!.what).toMatch(/read of image 0/);
  }, 60_000);

  it("two clients, each journaled (a for-await subscriber and a publisher), both replay bit-exact", async () => {
    const subscriberPath = join(dir, "subscriber.pjournal");
    const publisherPath = join(dir, "publisher.pjournal");
    // A 1 MiB term (the 64 KiB term's wrap is the first test's): the faulted replay below runs the
    // subscriber against a scripted publisher that never repairs, and data a reordering pushes past
    // the receiver's overrun limit (its last SM + half a term) is lost for good. With 64 KiB terms a
    // 1 ms delay already lost data in some recordings (and a 0 ns one did once, in CI under load).
    const channel = `aeron:udp?endpoint=127.0.0.1:${await freeUdpPort()}|term-length=1m`;
    const subscriber = await launchWorker({ journal: { path: subscriberPath }, seed: 31 });
    const publisher = await launchWorker({ journal: { path: publisherPath }, seed: 32 });
    const subscription = await subscriber.addSubscription(channel, 7);
    const publication = await publisher.addPublication(channel, 7);
    const lengths = messageLengths(5501, COUNT);
    const failures: string[] = [];
    const reading = (async () => {
      let index = 0;
      for await (const message of subscription) {
        const failure = checkMessage(message.data, 0, message.data.length, index, lengths[index]!);
        if (failure !== undefined) failures.push(failure);
        if (++index === COUNT) break;
      }
      return index;
    })();
    await until(() => publication.isConnected);
    const scratch = new Uint8Array(3 * 1376);
    let sent = 0;
    await until(() => {
      for (let burst = 0; burst < 16 && sent < COUNT; burst++) {
        fillMessage(scratch, lengths[sent]!, sent);
        if (publication.offer(scratch, 0, lengths[sent]!) < 0) break;
        sent++;
      }
      return sent === COUNT;
    });
    expect(await reading).toBe(COUNT);
    expect(failures).toEqual([]);
    await publisher.close({ timeoutMs: 5000 });
    await subscriber.close({ timeoutMs: 5000 });

    const published = expectBitExact(publisherPath);
    expect(published.counts.appends).toBeGreaterThan(0);
    const subscribed = expectBitExact(subscriberPath);
    expect(subscribed.counts.messages).toBe(COUNT);

    // `petrel replay` says the same (exit 0, every message checked).
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = runReplayCommand([subscriberPath, "--quiet"]);
    } finally {
      write.mockRestore();
    }
    expect(code, out.join("")).toBe(0);
    expect(out.join("")).toContain(`reads delivering ${COUNT.toLocaleString("en-US")} messages`);
    expect(out.join("")).toContain("result bit-exact");

    // With a fault (three DATA datagrams delayed 1 ms: reordered) the subscriber's journal runs
    // live from the first: each recorded read becomes a read of whatever has arrived, and every
    // message (fragmented ones too) comes exactly once, in order. A delay long enough to push data
    // past the receiver's overrun limit loses it for good against the scripted publisher (a
    // liveness violation, as for any journal: docs/JOURNAL.md); with 1 MiB terms 10 ms did not.
    const faulted = replayJournal(subscriberPath, { faults: [parseDelay("DATA,every=5,count=3:1ms")] });
    expect(faulted.faulted!.changed).toBe(true);
    expect(faulted.faulted!.violations, JSON.stringify(faulted.faulted!.violations.slice(0, 3))).toEqual([]);
    expect(faulted.faulted!.deliveredFragments).toBe(COUNT);

    // A mutation: one byte of a recorded message (in an append's first frame, past its header)
    // changed, the block's checksum fixed up: the replay sends other bytes and diverges.
    const bytes = new Uint8Array(readFileSync(publisherPath));
    const view = new DataView(bytes.buffer);
    // An append whose first frame is a DATA frame with at least two payload bytes (not padding, whose body is never sent).
    const appends = recordsOf(bytes, RecordType.APPEND).filter((record) =>
      record.bodyLength >= 20 + 64 && view.getUint16(record.bodyAt + 20 + 6, true) === 1 && view.getInt32(record.bodyAt + 20, true) >= 34);
    expect(appends.length).toBeGreaterThan(0);
    const target = appends[Math.floor(appends.length / 2)]!;
    bytes[target.bodyAt + 20 + 32 + 1]! ^= 0x5a;
    view.setUint32(target.blockAt + 12, blockCrc(bytes.subarray(target.blockAt), target.payloadBytes), true);
    const mutated = join(dir, "mutated.pjournal");
    writeFileSync(mutated, bytes);
    const result = replayJournal(mutated);
    expect(result.ok).toBe(false);
    expect(result.divergence!.recordType).toBe("TRANSMIT");
    // The same journal, unchanged, still replays (the mutation is what diverged).
    copyFileSync(publisherPath, join(dir, "copy.pjournal"));
    expect(replayJournal(join(dir, "copy.pjournal")).ok).toBe(true);
  }, 60_000);

  it("a subscription whose port is taken and a bad channel reject their adds; the journal (the adds, their closes, a stream, an interface search) replays", async () => {
    const path = join(dir, "refused.pjournal");
    const taken = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => taken.bind(0, "127.0.0.1", resolve));
    try {
      const petrel = await launchWorker({ journal: { path }, seed: 41 });
      await expect(petrel.addSubscription(`aeron:udp?endpoint=127.0.0.1:${taken.address().port}`, 3)).rejects.toBeInstanceOf(BindError);
      await expect(petrel.addPublication("aeron:udp?endpoint=127.0.0.1:1|term-length=1000", 3)).rejects.toThrow(/term-length/);
      const port = await freeUdpPort();
      const subscription = await petrel.addSubscription(`aeron:udp?endpoint=127.0.0.1:${port}`, 4);
      const publication = await petrel.addPublication(`aeron:udp?endpoint=127.0.0.1:${port}|interface=127.0.0.0/8`, 4);
      await until(() => publication.isConnected);
      const message = new Uint8Array(40);
      await until(() => publication.offer(message) > 0);
      let received = 0;
      await until(() => {
        subscription.poll(() => received++, 10);
        return received === 1;
      });
      await petrel.close({ timeoutMs: 2000 });
      const result = expectBitExact(path);
      expect(result.counts.messages).toBe(1);
      expect(result.counts.commands).toBeGreaterThanOrEqual(6);
    } finally {
      taken.close();
    }
  }, 30_000);

  it("a journal the worker cannot open rejects the launch (journal.path); payloadHash is refused in worker mode", async () => {
    const failure = await launchIn("worker", { journal: { path: dir } }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LaunchOptionError);
    expect((failure as LaunchOptionError).option).toBe("journal.path");
    const hashed = await launchIn("worker", { journal: { path: join(dir, "h.pjournal"), payloadHash: true } }).catch((error: unknown) => error);
    expect(hashed).toBeInstanceOf(LaunchOptionError);
    expect((hashed as LaunchOptionError).option).toBe("journal.payloadHash");
  }, 30_000);
});
