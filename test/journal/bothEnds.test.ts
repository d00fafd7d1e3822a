// Goal: both ends' journals of one run replay together (`petrel replay pub.pjournal sub.pjournal`):
// the pair is checked to be one run's, each journal replays bit-exact, and what is wrong is named.
// - One lossy two-process run (test/journal/journalPeer.ts, loss injected on receive at both ends,
//   so NAKs are in the subscriber's journal and retransmissions in the publisher's) records both journals; a second run on
//   another port records another pair.
// - The pair replays bit-exact through the API (replayJournalPair) and the CLI (exit 0); the pairing
//   finds the publisher's session as the subscriber's image and matches sent and received datagrams
//   by hash in both directions.
// - A journal from the other run, or one journal given twice, is refused with a JournalPairError
//   saying why (exit 2).
// - A corrupted journal is a JournalFormatError naming that file (exit 2); a pair replayed with a
//   changed engine diverges and the result names which journal (exit 1).
// - With faults, the two engines run live against each other from the first change: a fault that
//   picks nothing leaves both bit-exact; DATA dropped on the link is NAKed and repaired by the live
//   publisher (the same loss from the subscriber's journal alone is a liveness violation: its
//   scripted publisher never repairs), deterministically; the subscriber's first SMs lost (dir=tx)
//   make the publisher repeat SETUP and the run still passes; all DATA lost from 300 ms on is a
//   liveness violation at both ends (exit 1); a changed engine diverges before the first change
//   and is reported so; --shrink finds the breaking fault among harmless ones.
// - to= in a pair is the receiving journal's role (DATA never goes to the publisher; 3 SMs to it
//   dropped); a simulator schedule file (10% loss both ways for 300 ms) is repaired live, the same
//   run twice (exit 0), and a partition towards the subscriber to the end is a liveness violation.
// - A journal that both publishes and subscribes has no role for to=: refused (exit 2), as is a
//   pair where a journal is at both ends of the sessions.
// - Hand-written journals (only what pairing reads) that share a session but not their datagrams,
//   or whose datagram went to another port than the receiving socket's, are refused saying so.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JournalFormatError, RecordType } from "../../src/journal/format.js";
import { hashBytes, WordView } from "../../src/journal/hash.js";
import { JournalWriter } from "../../src/journal/writer.js";
import { JournalPairError, pairJournals, replayJournalPair, type JournalPair } from "../../src/journal/journalPair.js";
import { FrameFilterError, parseFrameFilter, type FaultSpec } from "../../src/journal/frameFilter.js";
import { journalRole, pairRoles } from "../../src/journal/faultEnds.js";
import { replayJournalPairWithFaults } from "../../src/journal/pairReplay.js";
import { replayJournal } from "../../src/journal/replay.js";
import { freeUdpPort } from "../drivers/streamSupport.js";
import type { JournalPeerArgs } from "./journalPeer.js";

const root = join(import.meta.dirname, "..", "..");
const addonPath = process.env["PETREL_NATIVE_ADDON"] ?? join(root, "build", "Release", "petrel.node");
const dir = mkdtempSync(join(tmpdir(), "petrel-both-ends-"));
const COUNT = 3000;
let out = "";

const publisherJournal = join(dir, "publisher.pjournal");
const subscriberJournal = join(dir, "subscriber.pjournal");
const otherPublisherJournal = join(dir, "other-publisher.pjournal");
const otherSubscriberJournal = join(dir, "other-subscriber.pjournal");

function startPeer(args: JournalPeerArgs): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, [join(out, "test", "journal", "journalPeer.js"), JSON.stringify(args)], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, PETREL_NATIVE_ADDON: addonPath, PETREL_REQUIRE_NATIVE: "1" },
  });
  child.stdin!.on("error", () => undefined);
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

async function nextLine(peer: { lines: AsyncIterator<string> }): Promise<Record<string, unknown>> {
  const line = await peer.lines.next();
  if (line.done === true) throw new Error("journal peer exited early");
  const value = JSON.parse(line.value) as Record<string, unknown>;
  if (value["error"] !== undefined) throw new Error(`journal peer failed: ${String(value["error"])}`);
  return value;
}

/** One two-process run: both journals recorded, the subscriber's checks passed. */
async function record(seed: number, publisher: string, subscriber: string): Promise<{ sub: Record<string, unknown>; pub: Record<string, unknown> }> {
  const port = await freeUdpPort();
  const common = { port, count: COUNT, seed, lossPerMille: 20, timeoutMs: 60_000 };
  const sub = startPeer({ ...common, role: "subscriber", journal: subscriber });
  await nextLine(sub);
  const pub = startPeer({ ...common, role: "publisher", journal: publisher });
  await nextLine(pub);
  const subResult = await nextLine(sub);
  pub.child.stdin!.end("stop\n");
  const pubResult = await nextLine(pub);
  await Promise.all([sub, pub].map((p) => p.child.exitCode === null ? new Promise((resolve) => p.child.once("exit", resolve)) : undefined));
  return { sub: subResult, pub: pubResult };
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(out, "src", "cli", "petrel.js"), "replay", "--quiet", ...args], { encoding: "utf8" });
}

let recorded: { sub: Record<string, unknown>; pub: Record<string, unknown> } = { sub: {}, pub: {} };

beforeAll(async () => {
  out = join(dir, "peer");
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--ignoreConfig", "--outDir", out, "--rootDir", root,
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--strict",
    join(root, "test", "journal", "journalPeer.ts"), join(root, "src", "cli", "petrel.ts")],
    { encoding: "utf8", cwd: root });
  if (tsc.status !== 0) throw new Error(`compiling the journal peer failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(out, "package.json"), '{"type":"module"}\n');
  recorded = await record(2024, publisherJournal, subscriberJournal);
  await record(2025, otherPublisherJournal, otherSubscriberJournal);
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("both ends' journals", () => {
  it("recorded a lossy run: the subscriber dropped data, everything was delivered", () => {
    expect(recorded.sub["failures"]).toEqual([]);
    expect(recorded.sub["received"]).toBe(COUNT);
    // The publisher's loss (of SMs, NAKs) depends on how many it got: not asserted.
    expect(recorded.sub["dropped"] as number).toBeGreaterThan(0);
    expect(recorded.pub["sent"]).toBe(COUNT);
  });

  it("pairs the two journals: the publisher's session is the subscriber's image, datagrams match both ways", () => {
    const pair = pairJournals(publisherJournal, subscriberJournal);
    expect(pair.sessions).toHaveLength(1);
    const session = pair.sessions[0]!;
    expect(session.publisher).toBe(publisherJournal);
    expect(session.subscriber).toBe(subscriberJournal);
    expect(pair.a.publications.map((p) => p.sessionId)).toEqual([session.sessionId]);
    // Loss is on receive, after which the journal records: everything received was sent by the other end.
    expect(pair.bReceivedFromA).toBe(pair.b.datagramsIn);
    expect(pair.aReceivedFromB).toBe(pair.a.datagramsIn);
    expect(pair.bReceivedFromA).toBeGreaterThan(0);
    expect(pair.oneWayDelayNs).toBeGreaterThanOrEqual(0);
    // Either order pairs.
    expect(pairJournals(subscriberJournal, publisherJournal).sessions[0]!.publisher).toBe(publisherJournal);
  });

  it("replays both bit-exact through the API", () => {
    const r = replayJournalPair(publisherJournal, subscriberJournal);
    expect(r.diverged).toEqual([]);
    expect(r.ok).toBe(true);
    for (const result of r.results) {
      expect(result.divergence, JSON.stringify(result.divergence)).toBeUndefined();
      expect(result.end).toBe("closed");
      expect(result.counts.datagramsOut).toBeGreaterThan(0);
    }
    expect(r.results[0].file).toBe(publisherJournal);
    expect(r.results[1].counts.messages).toBe(COUNT);
    expect(r.results[1].framesOut["NAK"] ?? 0, "the subscriber NAKed the injected loss").toBeGreaterThan(0);
  });

  it("replays both bit-exact through the CLI, exit 0", () => {
    const run = cli(publisherJournal, subscriberJournal);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/are both ends of one run/);
    expect(run.stdout).toMatch(/both journals replayed bit-exact/);
    expect(run.stdout.match(/result bit-exact/g)).toHaveLength(2);
  });

  it("refuses a pair from two runs, and one journal given twice, saying why (exit 2)", () => {
    for (const [a, b] of [[publisherJournal, otherSubscriberJournal], [otherPublisherJournal, subscriberJournal]] as const) {
      let error: unknown;
      try {
        pairJournals(a, b);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(JournalPairError);
      expect((error as JournalPairError).reason).toBe("no-shared-session");
      expect((error as Error).message).toContain(a);
      expect((error as Error).message).toContain(b);
    }
    expect(() => replayJournalPair(subscriberJournal, subscriberJournal)).toThrowError(expect.objectContaining({ name: "JournalPairError", reason: "same-journal" }));
    const run = cli(publisherJournal, otherSubscriberJournal);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/are not both ends of one run: no publication of one is an image of the other/);
  });

  it("a corrupted journal is an error naming that file (exit 2)", () => {
    const damaged = join(dir, "damaged-subscriber.pjournal");
    const bytes = readFileSync(subscriberJournal);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x10;
    writeFileSync(damaged, bytes);
    expect(() => replayJournalPair(publisherJournal, damaged)).toThrowError(JournalFormatError);
    try {
      replayJournalPair(publisherJournal, damaged);
    } catch (error) {
      expect((error as JournalFormatError).file).toBe(damaged);
    }
    const run = cli(publisherJournal, damaged);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(damaged);
    expect(run.stderr).not.toContain(`${publisherJournal}:`);
    expect(run.stderr).toMatch(/CRC-32/);
  });

  it("a changed engine diverges, and the result names the journal (exit 1)", () => {
    // The subscriber's receiver window changes its first status message; the publisher's replay
    // with the same setting may also depart, so the test checks only that the subscriber is named.
    const r = replayJournalPair(publisherJournal, subscriberJournal, { config: { initialReceiverWindowBytes: 32768 } });
    expect(r.ok).toBe(false);
    expect(r.diverged).toContain(subscriberJournal);
    const run = cli(publisherJournal, subscriberJournal, "--set", "initialReceiverWindowBytes=32768");
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`DIVERGENCE in .*${subscriberJournal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  });

});

describe("both ends' journals with faults: the two engines live against each other", () => {
  const drop = (text: string): FaultSpec => ({ kind: "drop", filter: parseFrameFilter(text) });

  it("a fault that picks nothing leaves both replays bit-exact", () => {
    const progress: number[] = [];
    const r = replayJournalPairWithFaults(publisherJournal, subscriberJournal, {
      faults: [drop("DATA,t=..0ns,offset=1..2")], progressIntervalMs: 0, onProgress: (p) => progress.push(p.records),
    });
    expect(progress.length, "progress reported").toBeGreaterThan(0);
    expect(r.changed).toBe(false);
    expect(r.ok).toBe(true);
    expect(r.results.map((x) => x.ok)).toEqual([true, true]);
    expect(r.results[1].counts.messages).toBe(COUNT);
  });

  it("dropped DATA is NAKed and repaired by the live publisher: exactly once, in order, complete (one journal cannot)", () => {
    const plain = replayJournalPair(publisherJournal, subscriberJournal);
    const r = replayJournalPairWithFaults(publisherJournal, subscriberJournal, { faults: [drop("DATA,every=2,count=20")] });
    expect(r.diverged).toBeUndefined();
    expect(r.changed).toBe(true);
    expect(r.dropped).toBe(20);
    expect(r.unroutable).toBe(0);
    expect(r.violations, JSON.stringify(r.violations)).toEqual([]);
    expect(r.ok).toBe(true);
    const sub = r.results[1].faulted!;
    expect(sub.deliveredFragments).toBeGreaterThanOrEqual(sub.recordedFragments);
    // The repair: 20 DATA datagrams lost and everything delivered, after more NAKs than the recording had.
    // (The publisher's DATA datagram count is not compared: live, its messages may batch differently.)
    expect(r.results[1].framesOut["NAK"] ?? 0).toBeGreaterThan(plain.results[1].framesOut["NAK"] ?? 0);
    // The same loss from the subscriber's journal alone: its scripted publisher never repairs it.
    const alone = replayJournal(subscriberJournal, { faults: [drop("DATA,dir=rx,every=2,count=20")] });
    expect(alone.faulted!.violations.map((v) => v.kind)).toContain("liveness");
    // A replay is deterministic: the same faults give the same run.
    const again = replayJournalPairWithFaults(publisherJournal, subscriberJournal, { faults: [drop("DATA,every=2,count=20")] });
    expect(again.results.map((x) => x.framesOut)).toEqual(r.results.map((x) => x.framesOut));
    expect(again.results.map((x) => x.counts)).toEqual(r.results.map((x) => x.counts));
  });

  it("dir=tx: the subscriber's first status messages lost, the publisher keeps sending SETUP until one arrives (CLI, exit 0)", () => {
    const r = replayJournalPairWithFaults(publisherJournal, subscriberJournal, { faults: [drop("SM,dir=tx,count=5")] });
    expect(r.ok).toBe(true);
    expect(r.firstChange!.file).toBe(subscriberJournal);
    expect(r.results[0].framesOut["SETUP"] ?? 0).toBeGreaterThan(1);
    const run = cli(publisherJournal, subscriberJournal, "--drop", "SM,dir=tx,count=5");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/the two engines live against each other/);
    expect(run.stdout).toMatch(/faults: 5 datagrams dropped, 0 delayed; first change at record \d+ of .*subscriber\.pjournal/);
    expect(run.stdout).toMatch(/VERDICT ok/);
  });

  it("all DATA lost from some time on is a liveness violation at both ends (CLI, exit 1)", () => {
    const r = replayJournalPairWithFaults(publisherJournal, subscriberJournal, { faults: [drop("DATA,t=300ms..")] });
    expect(r.ok).toBe(false);
    expect(r.violations.filter((v) => v.kind === "liveness").map((v) => v.file).sort()).toEqual([publisherJournal, subscriberJournal].sort());
    expect(r.violations.filter((v) => v.kind === "safety")).toEqual([]);
    const run = cli(publisherJournal, subscriberJournal, "--drop", "DATA,t=300ms..");
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/VERDICT liveness violation in .*subscriber\.pjournal: delivered \d+ of the 3000 messages/);
  });

  it("a divergence before the first change is reported as such, naming the journal (exit 1)", () => {
    const r = replayJournalPairWithFaults(publisherJournal, subscriberJournal, { faults: [drop("DATA,t=100s..")], config: { initialReceiverWindowBytes: 32768 } });
    expect(r.changed).toBe(false);
    expect(r.diverged).toBe(subscriberJournal);
    expect(r.ok).toBe(false);
    const run = cli(publisherJournal, subscriberJournal, "--drop", "DATA,t=100s..", "--set", "initialReceiverWindowBytes=32768");
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/DIVERGENCE in .*subscriber\.pjournal \(before any fault changed a datagram\)/);
  });

  it("--shrink with two journals finds the fault that breaks the run", () => {
    const run = cli(publisherJournal, subscriberJournal, "--shrink", "--delay", "DATA,every=7,count=3:200us", "--drop", "DATA,t=300ms..", "--drop", "SM,dir=tx,count=2");
    expect(run.status).toBe(1);
    expect((JSON.parse(run.stdout) as { faults: unknown[] }).faults).toEqual([{ drop: "DATA,t=300ms.." }]);
  });
});

describe("both ends' journals: to= and the simulator's schedule", () => {
  const drop = (text: string): FaultSpec => ({ kind: "drop", filter: parseFrameFilter(text) });

  it("to= is the receiving journal's role: DATA never goes to the publisher, SMs do", () => {
    const none = replayJournalPairWithFaults(publisherJournal, subscriberJournal, { faults: [drop("DATA,to=publisher"), drop("SM,to=subscriber")] });
    expect(none.changed).toBe(false);
    expect(none.ok).toBe(true);
    const sms = replayJournalPairWithFaults(subscriberJournal, publisherJournal, { faults: [drop("SM,to=publisher,count=3")] });
    expect(sms.dropped).toBe(3);
    expect(sms.firstChange!.file).toBe(subscriberJournal);
    expect(sms.ok).toBe(true);
  });

  it("to= on the publisher's journal alone: what it received went to the publisher", () => {
    const none = replayJournal(publisherJournal, { faults: [drop("ANY,to=subscriber")] });
    expect(none.faulted!.changed).toBe(false);
    const one = replayJournal(publisherJournal, { faults: [drop("SM,to=publisher,count=1")] });
    expect(one.faulted!.changed).toBe(true);
    expect(one.faulted!.dropped).toBe(1);
  });

  it("a simulator schedule file: loss both ways for 300 ms is repaired live (exit 0, the same run twice); a partition to the subscriber to the end is a liveness violation (exit 1)", () => {
    // Time is from the pair's first record (the subscriber started first): find when DATA begins.
    const dataNs = replayJournalPairWithFaults(publisherJournal, subscriberJournal, { faults: [drop("DATA,count=1")] }).firstChange!.relNs;
    const file = join(dir, "sim-loss.json");
    writeFileSync(file, JSON.stringify([
      { atNs: Math.round(dataNs), action: { kind: "loss", sub: 0, loss: { numerator: 1, denominator: 10 } } },
      { atNs: Math.round(dataNs) + 300_000_000, action: { kind: "loss", sub: 0, loss: { numerator: 0, denominator: 1 } } },
    ]));
    const run = cli(publisherJournal, subscriberJournal, "--schedule", file);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/faults: [1-9][\d,]* datagrams dropped, 0 delayed/);
    expect(run.stdout).toMatch(/VERDICT ok/);
    expect(cli(publisherJournal, subscriberJournal, "--schedule", file).stdout.match(/faults: .*/)![0]).toBe(run.stdout.match(/faults: .*/)![0]);
    writeFileSync(file, JSON.stringify({ schedule: [{ atNs: Math.round(dataNs) + 100_000_000, action: { kind: "partition", sub: 0, direction: "toSubscriber" } }] }));
    const cut = cli(publisherJournal, subscriberJournal, "--schedule", file);
    expect(cut.status).toBe(1);
    expect(cut.stdout).toMatch(/VERDICT liveness violation in .*subscriber\.pjournal/);
  });
});

describe("pairing rules, on hand-written journals", () => {
  const drop = (text: string): FaultSpec => ({ kind: "drop", filter: parseFrameFilter(text) });
  const words = new WordView();
  const toSubscriber = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
  const toPublisher = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);

  function datagram(w: JournalWriter, nowNs: number, bytes: Uint8Array, endpoint: number): void {
    const at = w.begin(RecordType.DATAGRAM, 20 + bytes.length);
    w.view.setFloat64(at, nowNs, true);
    w.view.setUint32(at + 8, 0x7f000001, true);
    w.view.setUint16(at + 12, 40000, true);
    w.view.setInt32(at + 16, endpoint, true);
    w.bytes.set(bytes, at + 20);
  }

  function transmit(w: JournalWriter, nowNs: number, bytes: Uint8Array, port: number): void {
    const at = w.begin(RecordType.TRANSMIT, 32);
    w.view.setFloat64(at, nowNs, true);
    w.view.setUint16(at + 8, 16, true);
    w.view.setUint16(at + 10, 1, true);
    w.view.setUint32(at + 12, 2048, true);
    w.view.setUint16(at + 16, bytes.length, true);
    w.view.setUint16(at + 18, port, true);
    w.view.setUint32(at + 20, 0x7f000001, true);
    w.view.setInt32(at + 24, 0, true);
    w.view.setUint32(at + 28, hashBytes(words, bytes, 0, bytes.length), true);
  }

  function publisher(name: string): string {
    const path = join(dir, name);
    const w = new JournalWriter({ path });
    w.json(RecordType.ENGINE, { seed: 1, options: {} });
    w.json(RecordType.ADD_PUBLICATION, { h: 0, channel: "aeron:udp?endpoint=127.0.0.1:20121", streamId: 1001, exclusive: false, sessionId: 7 });
    transmit(w, 1_000_000, toSubscriber, 20121);
    datagram(w, 3_000_000, toPublisher, 0);
    w.end("closed");
    return path;
  }

  function subscriber(name: string, options: { bindPort?: number; received?: Uint8Array } = {}): string {
    const path = join(dir, name);
    const w = new JournalWriter({ path });
    w.json(RecordType.ENGINE, { seed: 2, options: {} });
    w.json(RecordType.ENDPOINT_EVENT, { type: "open", endpoint: { id: 0, role: "receive", channel: "aeron:udp?endpoint=127.0.0.1:20121", bindIp: 0x7f000001, bindPort: options.bindPort ?? 20121 } });
    w.json(RecordType.IMAGE_AVAILABLE, { h: 0, sessionId: 7, streamId: 1001, joinPosition: 0 });
    w.json(RecordType.ADD_SUBSCRIPTION, { h: 0, channel: "aeron:udp?endpoint=127.0.0.1:20121", streamId: 1001 });
    datagram(w, 1_250_000, options.received ?? toSubscriber, 0);
    transmit(w, 2_000_000, toPublisher, 40000);
    w.end("closed");
    return path;
  }

  it("pairs journals whose sessions and datagrams match, and measures the one-way delay", () => {
    const pair = pairJournals(publisher("p.pjournal"), subscriber("s.pjournal"));
    expect(pair.sessions).toEqual([expect.objectContaining({ streamId: 1001, sessionId: 7, subscriptionChannel: "aeron:udp?endpoint=127.0.0.1:20121" })]);
    expect(pair.bReceivedFromA).toBe(1);
    expect(pair.aReceivedFromB).toBe(1);
    // Received 0.25 ms after sent one way, 1 ms the other: a delay of 0.625 ms, and the
    // subscriber's clock 0.375 ms behind the publisher's.
    expect(pair.oneWayDelayNs).toBe(625_000);
    expect(pair.clockOffsetNs).toBe(-375_000);
  });

  it("refuses a shared session without shared datagrams", () => {
    const p = publisher("p2.pjournal");
    const s = subscriber("s2.pjournal", { received: Uint8Array.of(9, 9, 9, 9) });
    expect(() => pairJournals(p, s)).toThrowError(expect.objectContaining({ name: "JournalPairError", reason: "no-shared-datagrams" }));
    expect(() => pairJournals(p, s)).toThrowError(/none of the 1 datagrams .*s2\.pjournal received is one of the 1 .*p2\.pjournal sent/);
  });

  it("to= needs one role per journal: a journal that both publishes and subscribes is refused, not guessed", () => {
    const fault = drop("DATA,to=subscriber");
    expect(journalRole(publisher("p4.pjournal"), fault)).toBe("publisher");
    expect(journalRole(subscriber("s4.pjournal"), fault)).toBe("subscriber");
    const path = join(dir, "both.pjournal");
    const w = new JournalWriter({ path });
    w.json(RecordType.ENGINE, { seed: 1, options: {} });
    w.json(RecordType.ADD_PUBLICATION, { h: 0, channel: "aeron:udp?endpoint=127.0.0.1:20121", streamId: 1001, exclusive: false, sessionId: 7 });
    w.json(RecordType.ADD_SUBSCRIPTION, { h: 1, channel: "aeron:udp?endpoint=127.0.0.1:20122", streamId: 1002 });
    w.end("closed");
    expect(() => replayJournal(path, { faults: [fault] })).toThrowError(FrameFilterError);
    expect(() => replayJournal(path, { faults: [fault] })).toThrowError(/'DATA,to=subscriber': to= needs the journal's role, and .*both\.pjournal has none: its engine added 1 publications, 1 subscriptions/);
    const run = cli(path, "--drop", "DATA,to=subscriber");
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/to= needs the journal's role/);
    // A pair where one journal is at both ends of the sessions.
    const a = { publisher: "a", subscriber: "b" };
    const pair = { a: { path: "a" }, b: { path: "b" }, sessions: [a, { publisher: "b", subscriber: "a" }] } as unknown as JournalPair;
    expect(() => pairRoles(pair, fault)).toThrowError(/to= needs each journal's role, and a both publishes and subscribes/);
    expect(pairRoles({ ...pair, sessions: [a] } as unknown as JournalPair, fault)).toEqual(["publisher", "subscriber"]);
  });

  it("refuses a datagram sent to another port than the receiving socket's", () => {
    const p = publisher("p3.pjournal");
    const s = subscriber("s3.pjournal", { bindPort: 20999 });
    expect(() => pairJournals(p, s)).toThrowError(expect.objectContaining({ name: "JournalPairError", reason: "port-mismatch" }));
    expect(() => pairJournals(p, s)).toThrowError(/sent a datagram to port 20121 .* bound to port 20999/);
  });
});

