// `npm run bench journal [--duration=S] [--runs=N] [--size=B] [--variants=a,b,...] [--block-bytes=B]
// [--writer-slots=N]`: what
// journaling costs and what it gives, measured side by side in this one process:
//  (a) throughput of 32 B messages (default) from a publisher engine to a subscriber engine, each on
//      its own runtime and native sockets driver over UDP loopback, both driven by one loop on this
//      thread: msgs/s without journals ("plain"), and with both sides journaled: payloads in full,
//      blocks written by a writer thread ("payloads"); offers as length + hash, writer thread
//      ("hashes"); payloads in full, blocks written by writeSync on the loop ("inline"). Runs
//      alternated (one of each variant in turn), median of N (default 3) runs of S seconds (default
//      3) after a 0.5 s warm-up; each run's ratio is to the plain run just before it;
//  (b) journal size per 10^6 messages, each side, of each journaled variant (its last run);
//  (c) replay speed of those journals: recorded seconds per wall second, each side.
// Both sides share one core here, so the ratio includes the journaling of both.
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../src/core/engine/engine.js";
import { ADMIN_ACTION } from "../src/core/engine/networkPublication.js";
import { createSocketsDriver } from "../src/drivers/socketsDriver.js";
import { EngineRuntime } from "../src/drivers/runtime.js";
import { JournalRecorder } from "../src/journal/recorder.js";
import { replayJournal } from "../src/journal/replay.js";
import { segmentPath } from "../src/journal/format.js";
import { Prng } from "../src/sim/prng.js";

const VARIANTS = ["plain", "payloads", "hashes", "inline"] as const;
type Variant = (typeof VARIANTS)[number];

interface Options {
  readonly durationMs: number;
  readonly runs: number;
  readonly size: number;
  readonly variants: ReadonlyArray<Variant>;
  /** JournalRecorderOptions.blockBytes and writerSlots, when given. */
  readonly blockBytes: number | undefined;
  readonly writerSlots: number | undefined;
}

function parseOptions(argv: ReadonlyArray<string>): Options {
  const value = (name: string, fallback: number): number => {
    const arg = argv.find((a) => a.startsWith(`--${name}=`));
    if (arg === undefined) return fallback;
    const n = Number(arg.slice(name.length + 3));
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name} must be a positive number`);
    return n;
  };
  const named = argv.find((a) => a.startsWith("--variants="))?.slice("--variants=".length).split(",") ?? [...VARIANTS];
  const variants = named.filter((v): v is Variant => (VARIANTS as ReadonlyArray<string>).includes(v));
  if (variants.length !== named.length || variants.length === 0) throw new RangeError(`--variants takes a list of ${VARIANTS.join(", ")}`);
  return { durationMs: value("duration", 3) * 1000, runs: value("runs", 3), size: value("size", 32), variants,
    blockBytes: argv.some((a) => a.startsWith("--block-bytes=")) ? value("block-bytes", 0) : undefined,
    writerSlots: argv.some((a) => a.startsWith("--writer-slots=")) ? value("writer-slots", 0) : undefined,
  };
}

const WARMUP_MS = 500;
const CHANNEL_PARAMS = "term-length=16m|rcv-wnd=2m|so-rcvbuf=4m|so-sndbuf=4m";
let nextPort = 42000 + Math.floor(Math.random() * 1000) * 2;

interface RunResult {
  readonly messagesPerSecond: number;
  readonly delivered: number;
  readonly journals?: { readonly publisher: string; readonly subscriber: string };
  /** Both recorders: times the loop waited for the writer thread, and time spent writing (ms). */
  readonly writerWaits?: number;
  readonly writeMs?: number;
}

/** Minimal surfaces both the plain and the journaled handles offer. */
interface Offerer {
  offer(buffer: Uint8Array, offset: number, length: number): number;
}
interface Poller {
  poll(handler: (buffer: Uint8Array, offset: number, length: number) => void, fragmentLimit: number): number;
}

function side(role: string, recorder: JournalRecorder | undefined): { engine: Engine; runtime: EngineRuntime } {
  const options = { random: new Prng(0x5eed).fork(role) };
  const engine = recorder === undefined ? new Engine(options) : recorder.createEngine(options);
  const driver = createSocketsDriver({ prefer: "native", transmitCapacity: 256, receiveCapacity: 256, transmitSlotLength: 2048, receiveSlotLength: 2048 });
  const runtime = new EngineRuntime(engine, driver, recorder === undefined ? {} : { journal: recorder });
  return { engine, runtime };
}

function run(o: Options, journalDir: string | undefined, writerThread = false, payloadHash = false): RunResult {
  const port = nextPort++;
  const channel = `aeron:udp?endpoint=127.0.0.1:${port}|${CHANNEL_PARAMS}`;
  const journal = (name: string): JournalRecorder | undefined =>
    journalDir === undefined ? undefined : new JournalRecorder({
      path: join(journalDir, name), writerThread, payloadHash,
      ...(o.blockBytes === undefined ? {} : { blockBytes: o.blockBytes }),
      ...(o.writerSlots === undefined ? {} : { writerSlots: o.writerSlots }),
    });
  const pubJournal = journal("publisher.pjournal");
  const subJournal = journal("subscriber.pjournal");
  const pub = side("pub", pubJournal);
  const sub = side("sub", subJournal);
  const subscription: Poller = subJournal === undefined ? sub.engine.addSubscription(channel, 1) : subJournal.addSubscription(channel, 1);
  const publication: Offerer = pubJournal === undefined ? pub.engine.addPublication(channel, 1) : pubJournal.addPublication(channel, 1);
  const message = new Uint8Array(o.size).fill(7);
  let delivered = 0;
  const handler = (): void => {
    delivered++;
  };
  const started = performance.now();
  let measuredFrom = -1;
  let base = 0;
  let result = 0;
  for (let cycles = 0; ; cycles++) {
    for (let k = 0; k < 4096; k++) {
      const r = publication.offer(message, 0, o.size);
      if (r === ADMIN_ACTION) continue;
      if (r < 0) break;
    }
    pub.runtime.doWork();
    sub.runtime.doWork();
    subscription.poll(handler, 4096);
    if ((cycles & 255) !== 0) continue;
    const now = performance.now();
    if (measuredFrom < 0) {
      if (now - started >= WARMUP_MS && delivered > 0) {
        measuredFrom = now;
        base = delivered;
      }
    } else if (now - measuredFrom >= o.durationMs) {
      result = ((delivered - base) * 1000) / (now - measuredFrom);
      break;
    }
    if (now - started > o.durationMs + 30_000) throw new Error("no messages arrived");
  }
  let writerWaits = 0;
  let writeMs = 0;
  for (const recorder of [pubJournal, subJournal]) {
    if (recorder === undefined) continue;
    recorder.close();
    writerWaits += recorder.writer.stats().writerWaits;
    writeMs += recorder.writer.stats().writeNs / 1e6;
  }
  void pub.runtime.close();
  void sub.runtime.close();
  return {
    messagesPerSecond: result,
    delivered,
    ...(journalDir === undefined ? {} : {
      journals: { publisher: join(journalDir, "publisher.pjournal"), subscriber: join(journalDir, "subscriber.pjournal") }, writerWaits, writeMs,
    }),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function journalBytes(path: string): number {
  let total = 0;
  for (let i = 0; ; i++) {
    try {
      total += statSync(segmentPath(path, i)).size;
    } catch {
      return total;
    }
  }
}

const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function runJournalBench(argv: ReadonlyArray<string> = process.argv.slice(2)): Promise<void> {
  const o = parseOptions(argv);
  const dir = mkdtempSync(join(tmpdir(), "petrel-journal-bench-"));
  console.log(`journal: ${o.size} B messages, publisher and subscriber engines in this process over UDP loopback (native sockets),`);
  console.log(`one loop drives both; median of ${o.runs} runs x ${o.durationMs / 1000} s (after ${WARMUP_MS} ms warm-up), variants alternated`);
  console.log(`load before: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  try {
    const rates = new Map<Variant, number[]>(o.variants.map((v) => [v, []]));
    const ratios = new Map<Variant, number[]>(o.variants.map((v) => [v, []]));
    const last = new Map<Variant, RunResult>();
    for (let r = 0; r < o.runs; r++) {
      let plainRate = Number.NaN;
      for (const variant of o.variants) {
        const journalDir = variant === "plain" ? undefined : join(dir, variant);
        if (journalDir !== undefined) mkdirSync(journalDir, { recursive: true });
        const result = run(o, journalDir, variant === "payloads" || variant === "hashes", variant === "hashes");
        if (variant === "plain") plainRate = result.messagesPerSecond;
        rates.get(variant)!.push(result.messagesPerSecond);
        ratios.get(variant)!.push(result.messagesPerSecond / plainRate);
        last.set(variant, result);
        globalThis.gc?.();
      }
    }
    console.log(`load after:  ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
    console.log("\n(a) throughput        median msgs/s   median ratio   runs (msgs/s, ratio to the plain run before it)");
    for (const variant of o.variants) {
      const values = rates.get(variant)!;
      const rs = ratios.get(variant)!;
      const ratio = o.variants.includes("plain") ? `${fmt(median(rs), 2)}x` : "";
      console.log(`${variant.padEnd(18)}  ${fmt(median(values)).padStart(12)}   ${ratio.padStart(12)}   ` +
        values.map((x, i) => `${fmt(x)}${o.variants.includes("plain") ? ` (${fmt(rs[i]!, 2)}x)` : ""}`).join(", "));
    }
    console.log("(target: journals >= 0.80x the msgs/s without; plain: no journal; payloads / hashes: offers recorded with their payload /");
    console.log(" as length + hash, blocks written by a writer thread; inline: payloads, blocks written by writeSync on the loop)");
    console.log("\n(b) journal size, each journaled variant's last run (messages delivered include the warm-up)");
    console.log("variant   side          bytes          per 10^6 messages   writes (ms, writer side)   loop waited for the writer");
    for (const [variant, result] of last) {
      if (result.journals === undefined) continue;
      for (const [name, path] of Object.entries(result.journals)) {
        const bytes = journalBytes(path);
        console.log(`${variant.padEnd(8)}  ${name.padEnd(12)}  ${fmt(bytes).padStart(13)}  ${fmt((bytes / result.delivered) * 1e6 / 1e6, 1).padStart(10)} MB` +
          (name === "subscriber" ? `   ${fmt(result.writeMs!).padStart(10)}   ${fmt(result.writerWaits!).padStart(10)}` : ""));
      }
    }
    console.log("\n(c) replay of those journals: recorded seconds per wall second");
    for (const [variant, result] of last) {
      if (result.journals === undefined) continue;
      for (const [name, path] of Object.entries(result.journals)) {
        const replayed = replayJournal(path);
        const speed = replayed.recordedSeconds / replayed.wallSeconds;
        console.log(`${variant.padEnd(8)}  ${name.padEnd(12)}  ${fmt(replayed.records)} records, ${fmt(replayed.recordedSeconds, 2)} s recorded, replayed in ` +
          `${fmt(replayed.wallSeconds, 2)} s: ${fmt(speed, 2)}x, ${replayed.ok ? "bit-exact" : `DIVERGED at record ${replayed.divergence!.recordIndex}`}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
