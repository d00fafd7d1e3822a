// `npm run bench stages [--size=32] [--runs=5] [--messages=2000000] [--compare-runs]`: nanoseconds per message in
// each stage of Petrel's path, publisher and subscriber in one process on one thread, over real
// UDP loopback sockets (the native sockets driver: sendmmsg with UDP_SEGMENT, recvmmsg with GRO).
//
// One turn of the loop is what a single-threaded runtime does, with a clock read around each stage:
//   publisher  offer        publication.offer until back-pressured (append to the term)
//              scan+frame   A.pollTransmit into the driver's transmit batch (sender scan, DATA frames)
//              send         driver.transmitBatch (the system calls)
//   subscriber receive      driver.pollBatch (the system calls)
//              rebuild      B.handleDatagram per datagram (walker, image rebuild, loss check)
//              poll         subscription.poll (log scan, the handler)
//   both       control      B.pollTransmit (status messages) handed in memory to A.handleDatagram
//              timers       handleTimeout on both when due
// Each figure is the stage's time over the messages delivered in the run; the median of --runs runs
// is printed, with the sum, the rate the sum implies, and the rate of the same loop measured
// without the per-stage clock reads (the clock costs ~8 reads a turn, thousands of messages apart).
import * as dgram from "node:dgram";
import { ipv4 } from "../src/core/address.js";
import { Counter } from "../src/core/engine/counters.js";
import { Engine, type EndpointInfo } from "../src/core/engine/engine.js";
import { ADMIN_ACTION, BACK_PRESSURED, NOT_CONNECTED } from "../src/core/engine/networkPublication.js";
import type { Publication } from "../src/core/engine/publication.js";
import type { Subscription } from "../src/core/engine/subscription.js";
import { TransmitBatch } from "../src/core/transmitBatch.js";
import type { Driver } from "../src/drivers/driver.js";
import { createSocketsDriver } from "../src/drivers/socketsDriver.js";
import { Prng } from "../src/sim/prng.js";

const STAGES = ["offer", "scan+frame", "send", "receive", "rebuild", "poll", "control", "timers"] as const;
type Stage = (typeof STAGES)[number];
const LOCALHOST = ipv4(127, 0, 0, 1);

export interface StageOptions {
  size: number;
  runs: number;
  messages: number;
}

export function parseStageOptions(argv: ReadonlyArray<string>): StageOptions {
  const value = (name: string, fallback: number, max: number): number => {
    const arg = argv.find((a) => a.startsWith(`--${name}=`));
    if (arg === undefined) return fallback;
    const n = Number(arg.slice(name.length + 3));
    if (!Number.isInteger(n) || n <= 0 || n > max) throw new RangeError(`--${name} must be an integer from 1 to ${max}, got ${arg.slice(name.length + 3)}`);
    return n;
  };
  return { size: value("size", 32, 8192), runs: value("runs", 5, 100), messages: value("messages", 2_000_000, 1e9) };
}

async function freePort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function openFirst(engine: Engine, driver: Driver): { info: EndpointInfo } {
  const event = engine.pollEndpointEvent();
  if (event?.type !== "open") throw new Error("expected the engine to open an endpoint");
  driver.open(event.endpoint);
  return { info: event.endpoint };
}

/** A publisher engine and a subscriber engine in one process, each on its own sockets driver. */
class StagedPair {
  readonly a = new Engine({ random: new Prng(1) });
  readonly b = new Engine({ random: new Prng(2) });
  readonly da: Driver;
  readonly db: Driver;
  readonly publication: Publication;
  readonly subscription: Subscription;
  readonly ns = new Float64Array(STAGES.length);
  received = 0;
  nowNs = 0;
  private readonly control = new TransmitBatch(64, 2048);
  private readonly message: Uint8Array;
  private readonly aEndpoint: number;
  private readonly handler = (): void => {
    this.received++;
  };

  constructor(readonly size: number, port: number, dataRuns: boolean) {
    const options = { prefer: "native" as const, transmitCapacity: 256, receiveCapacity: 256, transmitSlotLength: 2048, receiveSlotLength: 2048 };
    this.da = createSocketsDriver(options);
    this.db = createSocketsDriver(options);
    if (this.da.kind !== "native-sockets") throw new Error(`bench stages needs the native addon (got the ${this.da.kind} driver): npm run build:native`);
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=16m|rcv-wnd=512k|so-rcvbuf=8m|so-sndbuf=4m`;
    // Without runs the walker visits each DATA frame on its own (the path before onDataRun).
    if (!dataRuns) Object.defineProperty(this.b, "onDataRun", { value: undefined });
    this.subscription = this.b.addSubscription(channel, 1);
    openFirst(this.b, this.db);
    this.publication = this.a.addPublication(channel, 1);
    this.aEndpoint = openFirst(this.a, this.da).info.id;
    this.message = new Uint8Array(size).fill(0x5a);
    // Bounded: SETUP, SM and the first data cross loopback within a few hundred turns.
    for (let i = 0; i < 100_000 && !this.publication.isConnected; i++) this.turn(false);
    if (!this.publication.isConnected) throw new Error("the pair did not connect over loopback");
  }

  dispose(): void {
    this.da.dispose();
    this.db.dispose();
  }

  /** Runs turns until `count` more messages arrived; with `timed`, adds each stage's ns to `ns`. */
  run(count: number, timed: boolean): void {
    const target = this.received + count;
    // Bounded: each turn moves up to a window of data; a lost datagram is repaired by NAK in a few ms.
    for (let turns = 0; this.received < target; turns++) {
      if (turns > count * 16 + 10_000_000) throw new Error(`stalled at ${this.received} of ${target}`);
      this.turn(timed);
    }
  }

  private turn(timed: boolean): void {
    const ns = this.ns;
    const a = this.a;
    const b = this.b;
    const now = (this.nowNs = Math.max(this.nowNs + 1, Math.round(performance.now() * 1e6)));
    let t0 = timed ? performance.now() : 0;
    let t1 = 0;
    const clock = (stage: number): void => {
      t1 = performance.now();
      ns[stage]! += (t1 - t0) * 1e6;
      t0 = t1;
    };
    const publication = this.publication;
    for (;;) {
      const result = publication.offer(this.message, 0, this.size);
      if (result === ADMIN_ACTION) continue;
      if (result === BACK_PRESSURED || result === NOT_CONNECTED) break;
      if (result < 0) throw new Error(`offer failed: ${result}`);
    }
    if (timed) clock(0);
    if (a.pollTimeout() <= now) a.handleTimeout(now);
    if (b.pollTimeout() <= now) b.handleTimeout(now);
    if (timed) clock(7);
    const tx = this.da.transmit;
    // Bounded: a window's worth of data, 256 datagrams a batch.
    for (let pass = 0; pass < 10_000; pass++) {
      tx.clear();
      const n = a.pollTransmit(now, tx);
      if (timed) clock(1);
      let sent = 0;
      // Bounded: loopback takes a batch at once unless the socket buffer is full, and then the
      // receive below empties it.
      for (let tries = 0; sent < n && tries < 1000; tries++) {
        sent += this.da.transmitBatch(tx, sent);
        if (timed) clock(2);
        if (sent < n) this.receive(timed, now, clock);
      }
      if (n < tx.capacity) break;
    }
    this.receive(timed, now, clock);
    // Bounded: the subscription drains what has arrived.
    while (this.subscription.poll(this.handler, 1 << 20) > 0) {
      /* drain */
    }
    if (timed) clock(5);
    const control = this.control;
    const cb = control.bytes;
    for (let pass = 0; pass < 100; pass++) {
      control.clear();
      const n = b.pollTransmit(now, control);
      for (let i = 0; i < n; i++) a.handleDatagram(now, LOCALHOST, control.destinationPorts[i]!, this.aEndpoint, cb, control.slotOffset(i), control.lengths[i]!);
      if (n < control.capacity) break;
    }
    if (timed) clock(6);
  }

  private receive(timed: boolean, now: number, clock: (stage: number) => void): void {
    const rx = this.db.receive;
    const b = this.b;
    // Bounded: the socket holds finitely many datagrams.
    for (let pass = 0; pass < 100_000; pass++) {
      const count = this.db.pollBatch(rx);
      if (timed) clock(3);
      if (count === 0) return;
      const slot = rx.slotLength;
      for (let i = 0; i < count; i++) b.handleDatagram(now, rx.sourceIps[i]!, rx.sourcePorts[i]!, rx.endpointIds[i]!, rx.bytes, i * slot, rx.lengths[i]!);
      if (timed) clock(4);
      if (count < rx.capacity) return;
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

interface VariantResult {
  perStage: number[][];
  untimed: number[];
}

function measureRun(pair: StagedPair, messages: number, into: VariantResult): void {
  pair.ns.fill(0);
  const before = pair.received;
  pair.run(messages, true);
  const delivered = pair.received - before;
  for (let s = 0; s < STAGES.length; s++) into.perStage[s]!.push(pair.ns[s]! / delivered);
  const start = performance.now();
  const base = pair.received;
  pair.run(messages, false);
  into.untimed.push((pair.received - base) / ((performance.now() - start) / 1000));
}

function report(label: string, pair: StagedPair, r: VariantResult): { sum: number; rate: number } {
  console.log(`\n${label}`);
  console.log("stage          ns/msg (median)   runs");
  let sum = 0;
  for (let s = 0; s < STAGES.length; s++) {
    const m = median(r.perStage[s]!);
    sum += m;
    console.log(`${(STAGES[s] as Stage).padEnd(12)} ${m.toFixed(1).padStart(12)}      ${r.perStage[s]!.map((v) => v.toFixed(1)).join(", ")}`);
  }
  const rate = median(r.untimed);
  console.log(`${"sum".padEnd(12)} ${sum.toFixed(1).padStart(12)}      (implies ${(1e9 / sum / 1e6).toFixed(2)} M msgs/s on one thread)`);
  console.log(`untimed loop: ${(rate / 1e6).toFixed(2)} M msgs/s median (runs ${r.untimed.map((x) => (x / 1e6).toFixed(2)).join(", ")}); ` +
    `datagrams sent ${pair.a.counters.get(Counter.DATAGRAMS_SENT)}, NAKs ${pair.b.counters.get(Counter.NAKS_SENT)}, retransmits ${pair.a.counters.get(Counter.RETRANSMITS_SENT)}`);
  const side = (from: number): number => median(r.perStage[from]!) + median(r.perStage[from + 1]!) + median(r.perStage[from + 2]!);
  console.log(`publisher stages ${side(0).toFixed(1)} ns/msg, subscriber stages ${side(3).toFixed(1)} ns/msg ` +
    "(a pipeline of the two on their own cores would run at the slower side's rate)");
  return { sum, rate };
}

export async function runStagesBench(argv: ReadonlyArray<string> = process.argv.slice(2)): Promise<void> {
  const o = parseStageOptions(argv);
  const compare = argv.includes("--compare-runs");
  console.log(`stages: publisher and subscriber engines in one process, one thread, native sockets driver over UDP loopback;` +
    ` ${o.size} B messages, ${o.runs} runs of ${o.messages.toLocaleString("en-US")} messages each (timed), each followed by an untimed run` +
    (compare ? "; --compare-runs: a second pair whose receiver takes DATA frames one by one (no onDataRun), runs taken in turn" : ""));
  const pairs = [new StagedPair(o.size, await freePort(), true)];
  if (compare) pairs.push(new StagedPair(o.size, await freePort(), false));
  try {
    for (const pair of pairs) pair.run(Math.min(o.messages, 500_000), false); // warm-up: lets the JIT settle
    const results: VariantResult[] = pairs.map(() => ({ perStage: STAGES.map(() => []), untimed: [] }));
    for (let run = 0; run < o.runs; run++) {
      for (let p = 0; p < pairs.length; p++) measureRun(pairs[p]!, o.messages, results[p]!);
      process.stderr.write(`  run ${run + 1}/${o.runs} done\n`);
    }
    const withRuns = report(compare ? "receiver takes DATA frame runs whole (the default)" : "stages", pairs[0]!, results[0]!);
    if (compare) {
      const frames = report("receiver takes DATA frames one by one", pairs[1]!, results[1]!);
      const rebuild = (r: VariantResult): number => median(r.perStage[4]!);
      console.log(`\nruns / one by one: rebuild ${(rebuild(results[0]!) / rebuild(results[1]!)).toFixed(2)}x the ns, sum ${(withRuns.sum / frames.sum).toFixed(2)}x, ` +
        `untimed loop ${(withRuns.rate / frames.rate).toFixed(2)}x the msgs/s`);
    }
  } finally {
    for (const pair of pairs) pair.dispose();
  }
}
