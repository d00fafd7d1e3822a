// Goal: a journal of a live run replays bit-exact, and a replay that departs from it says where.
// - Two processes (a publisher and a subscriber on the native sockets driver over 127.0.0.1, with
//   seeded receive-side loss on both) each record a journal (the publisher's written by a writer
//   thread, the subscriber's on its own thread); a fresh engine replays each one and
//   every transmitted datagram and delivered message matches (the loss made NAKs and retransmits,
//   so those paths are in the journals too). `petrel replay` says the same from the command line.
// - A flipped byte is caught by a block's CRC-32: a JournalFormatError naming the file. A journal
//   cut short mid-block replays up to its last complete block and says it ended uncleanly.
// - A missing file, a file that is not a journal and another format version are typed errors.
// - A changed engine is reported as a divergence at the first output the change alters: another
//   receiver window at the subscriber's first status message, another mtu at the publisher's SETUP.
// - `petrel replay` does the same from the command line (exit 0, 1, 2), and replays a capture (its
//   totals: what the engine sent, received and resent; exit 2 for a link type it does not read).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JournalFormatError, JournalReader, RecordType, replayJournal } from "../../src/journal/index.js";
import { freeUdpPort } from "../drivers/streamSupport.js";
import type { JournalPeerArgs } from "./journalPeer.js";

const root = join(import.meta.dirname, "..", "..");
const addonPath = process.env["PETREL_NATIVE_ADDON"] ?? join(root, "build", "Release", "petrel.node");
const dir = mkdtempSync(join(tmpdir(), "petrel-journal-"));
const SEED = 1515;
const COUNT = 4000;

interface Peer {
  readonly child: ChildProcess;
  readonly lines: AsyncIterator<string>;
}

let peerScript = "";

function startPeer(args: JournalPeerArgs): Peer {
  const child = spawn(process.execPath, [peerScript, JSON.stringify(args)], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, PETREL_NATIVE_ADDON: addonPath, PETREL_REQUIRE_NATIVE: "1" },
  });
  child.stdin!.on("error", () => undefined);
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

async function nextLine(peer: Peer): Promise<Record<string, unknown>> {
  const line = await peer.lines.next();
  if (line.done === true) throw new Error("journal peer exited early");
  const value = JSON.parse(line.value) as Record<string, unknown>;
  if (value["error"] !== undefined) throw new Error(`journal peer failed: ${String(value["error"])}`);
  return value;
}

/** Copies a journal (one segment) so that a test can damage its copy. */
function copyOf(path: string, name: string): string {
  const target = join(dir, name);
  writeFileSync(target, readFileSync(path));
  return target;
}

const publisherJournal = join(dir, "publisher.pjournal");
const subscriberJournal = join(dir, "subscriber.pjournal");
let subscriberResult: Record<string, unknown> = {};
let publisherResult: Record<string, unknown> = {};

beforeAll(async () => {
  // The peer (and the CLI) run as plain node: compile them and what they import to JavaScript first.
  const out = join(dir, "peer");
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--ignoreConfig", "--outDir", out, "--rootDir", root,
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--strict",
    join(root, "test", "journal", "journalPeer.ts"), join(root, "src", "journal", "writerThread.ts"), join(root, "src", "cli", "petrel.ts")],
    { encoding: "utf8", cwd: root });
  if (tsc.status !== 0) throw new Error(`compiling the journal peer failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(out, "package.json"), '{"type":"module"}\n');
  peerScript = join(out, "test", "journal", "journalPeer.js");

  const port = await freeUdpPort();
  const common = { port, count: COUNT, seed: SEED, lossPerMille: 20, timeoutMs: 60_000 };
  const subscriber = startPeer({ ...common, role: "subscriber", journal: subscriberJournal });
  await nextLine(subscriber);
  // The publisher writes its journal from a writer thread, the subscriber from its own thread.
  const publisher = startPeer({ ...common, role: "publisher", journal: publisherJournal, writerThread: true });
  await nextLine(publisher);
  subscriberResult = await nextLine(subscriber);
  publisher.child.stdin!.end("stop\n");
  publisherResult = await nextLine(publisher);
  await Promise.all([subscriber, publisher].map((p) => p.child.exitCode === null ? new Promise((resolve) => p.child.once("exit", resolve)) : undefined));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("journal of a live run", () => {
  it("recorded a lossy two-process run to its end", () => {
    expect(subscriberResult["failures"]).toEqual([]);
    expect(subscriberResult["received"]).toBe(COUNT);
    expect(publisherResult["sent"]).toBe(COUNT);
    // Loss was injected on both sides, so NAKs and retransmissions happened.
    expect(subscriberResult["dropped"] as number).toBeGreaterThan(0);
    expect(publisherResult["dropped"] as number).toBeGreaterThan(0);
  });

  it("replays both sides bit-exact", () => {
    for (const path of [subscriberJournal, publisherJournal]) {
      const result = replayJournal(path);
      expect(result.divergence, JSON.stringify(result.divergence, null, 2)).toBeUndefined();
      expect(result.ok).toBe(true);
      expect(result.end).toBe("closed");
      expect(result.counts.datagramsOut).toBeGreaterThan(0);
      expect(result.counts.datagramsIn).toBeGreaterThan(0);
      expect(result.counts.randomDraws).toBeGreaterThan(0);
    }
    expect(replayJournal(subscriberJournal).counts.messages).toBe(COUNT);
    expect(replayJournal(publisherJournal).counts.offers).toBeGreaterThanOrEqual(COUNT);
  });

  it("detects a flipped byte by its block checksum, naming the file", () => {
    const damaged = copyOf(subscriberJournal, "flipped.pjournal");
    const bytes = readFileSync(damaged);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x10;
    writeFileSync(damaged, bytes);
    let caught: unknown;
    try {
      replayJournal(damaged);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(JournalFormatError);
    expect((caught as JournalFormatError).reason).toBe("checksum");
    expect((caught as JournalFormatError).file).toBe(damaged);
    expect((caught as Error).message).toMatch(/fails its CRC-32 .*the journal is corrupt/);
  });

  it("replays a journal cut short (its process died mid-write) up to its last complete block", () => {
    const cut = copyOf(subscriberJournal, "cut.pjournal");
    const bytes = readFileSync(cut);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const result = replayJournal(cut);
    expect(result.divergence, JSON.stringify(result.divergence)).toBeUndefined();
    expect(result.end).toBe("unclean");
    expect(result.truncatedTail).toBe(true);
    expect(result.records).toBeGreaterThan(0);
  });

  it("refuses a missing file, a file that is not a journal and another version with typed errors", () => {
    const missing = join(dir, "nothing.pjournal");
    expect(() => replayJournal(missing)).toThrowError(expect.objectContaining({ name: "JournalFormatError", reason: "missing", file: missing }));
    const text = join(dir, "text.pjournal");
    writeFileSync(text, "hello, this is not a journal at all, just text");
    expect(() => replayJournal(text)).toThrowError(expect.objectContaining({ reason: "not-a-journal", file: text }));
    // Version 2 with a valid header CRC: the version is what is refused.
    const other = copyOf(subscriberJournal, "v2.pjournal");
    const bytes = readFileSync(other);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint16(8, 2, true);
    view.setUint32(28, crc32Of(bytes.subarray(0, 28)), true);
    writeFileSync(other, bytes);
    expect(() => replayJournal(other)).toThrowError(/format version 2; this Petrel reads version 1/);
  });

  it("reports a changed engine at the first output it changes", () => {
    // The receiver window goes into every status message: the first SM the subscriber sent is the
    // first output that differs. Its record: the first pollTransmit that produced a datagram.
    const firstTransmit = firstOutput(subscriberJournal);
    expect(firstTransmit).toBeGreaterThan(0);
    const result = replayJournal(subscriberJournal, { config: { initialReceiverWindowBytes: 32 * 1024 } });
    expect(result.ok).toBe(false);
    expect(result.divergence!.recordIndex).toBe(firstTransmit);
    expect(result.divergence!.recordType).toBe("TRANSMIT");
    expect(result.divergence!.got).toMatch(/first frame SM/);
    expect(result.divergence!.context.length).toBeGreaterThan(0);
    // The publisher's default mtu goes into its SETUP, its first datagram.
    const publisherChanged = replayJournal(publisherJournal, { config: { mtuBytes: 4096 } });
    expect(publisherChanged.ok).toBe(false);
    expect(publisherChanged.divergence!.recordIndex).toBe(firstOutput(publisherJournal));
    expect(publisherChanged.divergence!.got).toMatch(/first frame SETUP/);
  });

  it("petrel replay prints the result and exits 0 on a match, 1 on a divergence", () => {
    const cli = join(dir, "peer", "src", "cli", "petrel.js");
    const ok = spawnSync(process.execPath, [cli, "replay", publisherJournal], { encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/bit-exact/);
    const changed = spawnSync(process.execPath, [cli, "replay", subscriberJournal, "--set", "initialReceiverWindowBytes=32768"], { encoding: "utf8" });
    expect(changed.status).toBe(1);
    expect(changed.stdout).toMatch(/DIVERGENCE at record \d+ \(TRANSMIT/);
    const bad = spawnSync(process.execPath, [cli, "replay", join(dir, "nothing.pjournal")], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/nothing\.pjournal: no such journal file/);
  });

  it("petrel replay feeds a capture to an engine playing one end", () => {
    const cli = join(dir, "peer", "src", "cli", "petrel.js");
    const capture = join(root, "test", "fixtures", "aeron-unicast-loss.pcap");
    const r = spawnSync(process.execPath, [cli, "replay", capture, "--as", "subscriber", "--channel", "aeron:udp?endpoint=127.0.0.1:20121",
      "--stream", "1003", "--summary"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/delivered 2,000 messages, 64,000 B/);
    expect(r.stdout).toMatch(/sent\s+\d+ SMs, 0 NAKs/);
    expect(r.stdout).toMatch(/received\s+0 SMs, 0 NAKs, 4 SETUPs, 0 RTTMs, 2,000 new data frames/);
    const publisher = spawnSync(process.execPath, [cli, "replay", capture, "--as", "publisher", "--channel", "aeron:udp?endpoint=127.0.0.1:20121",
      "--stream", "1001", "--summary"], { encoding: "utf8" });
    expect(publisher.status, publisher.stderr).toBe(0);
    expect(publisher.stdout).toMatch(/received\s+69 SMs, 168 NAKs, 0 SETUPs/);
    expect(publisher.stdout).toMatch(/resent\s+0 NAKed ranges/);
    // A capture of another link type (105, 802.11): exit 2, naming the file and the type.
    const wifi = join(dir, "wifi.pcap");
    writeFileSync(wifi, Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 105, 0, 0, 0));
    const unsupported = spawnSync(process.execPath, [cli, "replay", wifi, "--as", "subscriber", "--channel", "aeron:udp?endpoint=127.0.0.1:20121",
      "--stream", "1003"], { encoding: "utf8" });
    expect(unsupported.status).toBe(2);
    expect(unsupported.stderr).toMatch(/wifi\.pcap: link type 105 is not supported/);
    const missing = spawnSync(process.execPath, [cli, "replay", capture, "--as", "subscriber", "--stream", "1003"], { encoding: "utf8" });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/a capture needs --channel/);
  });
});

/** The index of a journal's first pollTransmit record that produced a datagram. */
function firstOutput(path: string): number {
  const reader = new JournalReader(path);
  try {
    while (reader.next()) {
      if (reader.type === RecordType.TRANSMIT && reader.view.getUint16(reader.bodyOffset + 10, true) > 0) return reader.index;
    }
    return -1;
  } finally {
    reader.close();
  }
}

function crc32Of(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
