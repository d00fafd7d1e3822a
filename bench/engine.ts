// Engine throughput: messages per second from a publication in one Engine to a subscription in
// another, in one process, over a perfect in-memory link (no PRNG per packet, no queue: each
// datagram is handed from one engine's transmit batch straight to the other's handleDatagram).
// The loop is what a single-threaded runtime does: offer as much as the publication accepts,
// A.pollTransmit -> B.handleDatagram, poll the subscription, B.pollTransmit -> A.handleDatagram,
// and handleTimeout whenever pollTimeout says so. Time is virtual (1 us per loop turn) so the
// engines' timers behave as they would in a real run without reading a clock inside the loop.
// Figures: the median of 5 runs for 32-byte and 1 KiB messages, and heap growth per 10^6
// messages on a warmed pair (global.gc between the heapUsed readings; run with --expose-gc).
import { performance } from "node:perf_hooks";
import { Counter } from "../src/core/engine/counters.js";
import { Engine } from "../src/core/engine/engine.js";
import { BACK_PRESSURED, ADMIN_ACTION } from "../src/core/engine/networkPublication.js";
import type { Publication } from "../src/core/engine/publication.js";
import type { Subscription } from "../src/core/engine/subscription.js";
import { ipv4 } from "../src/core/address.js";
import { TransmitBatch } from "../src/core/transmitBatch.js";
import { Prng } from "../src/sim/prng.js";

const RUNS = 5;
const CHANNEL = "aeron:udp?endpoint=127.0.0.2:20121|term-length=16m";
const STREAM = 1001;
const IP_A = ipv4(127, 0, 0, 1);
const IP_B = ipv4(127, 0, 0, 2);
const LOOP_STEP_NS = 1_000;

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Two engines joined back to back; run(n) moves n more messages through them. */
class EnginePair {
  readonly a: Engine;
  readonly b: Engine;
  readonly publication: Publication;
  readonly subscription: Subscription;
  received = 0;
  receivedBytes = 0;
  nowNs = 0;
  private readonly batch = new TransmitBatch(1024, 2048);
  private readonly message: Uint8Array;
  private readonly aSendEndpoint: number;
  private readonly bReceiveEndpoint: number;
  private readonly aPort = 40000;
  private readonly handler = (_buffer: Uint8Array, _offset: number, length: number): void => {
    this.received++;
    this.receivedBytes += length;
  };

  constructor(readonly messageLength: number) {
    this.a = new Engine({ random: new Prng(1) });
    this.b = new Engine({ random: new Prng(2) });
    this.subscription = this.b.addSubscription(CHANNEL, STREAM);
    this.publication = this.a.addPublication(CHANNEL, STREAM);
    this.aSendEndpoint = openedEndpoint(this.a);
    this.bReceiveEndpoint = openedEndpoint(this.b);
    this.message = new Uint8Array(messageLength).fill(0x5a);
    // Bounded: the SETUP/SM handshake completes in a few turns on a perfect link.
    for (let i = 0; i < 100 && !this.publication.isConnected; i++) this.turn();
    if (!this.publication.isConnected) throw new Error("the pair did not connect");
  }

  /** Offers and delivers until `count` more messages have been received. */
  run(count: number): void {
    const target = this.received + count;
    let offered = this.received;
    // Bounded: every turn moves data unless flow control waits for an SM, which the next turn sends.
    for (let turns = 0; this.received < target; turns++) {
      if (turns > count * 4 + 1_000_000) throw new Error(`stalled at ${this.received} of ${target}`);
      while (offered < target) {
        const result = this.publication.offer(this.message, 0, this.messageLength);
        if (result === ADMIN_ACTION) continue;
        if (result === BACK_PRESSURED) break;
        if (result < 0) throw new Error(`offer failed: ${result}`);
        offered++;
      }
      this.turn();
    }
  }

  private turn(): void {
    const now = (this.nowNs += LOOP_STEP_NS);
    const a = this.a;
    const b = this.b;
    if (a.pollTimeout() <= now) a.handleTimeout(now);
    this.transfer(a, now, b, IP_A, this.aPort, this.bReceiveEndpoint);
    if (b.pollTimeout() <= now) b.handleTimeout(now);
    // Bounded: the subscription drains what has arrived.
    while (this.subscription.poll(this.handler, 1 << 20) > 0) {
      /* drain */
    }
    this.transfer(b, now, a, IP_B, 20121, this.aSendEndpoint);
  }

  private transfer(from: Engine, now: number, to: Engine, fromIp: number, fromPort: number, toEndpoint: number): void {
    const batch = this.batch;
    // Bounded: an engine has finitely much due at one instant.
    for (let pass = 0; pass < 100_000; pass++) {
      batch.clear();
      const n = from.pollTransmit(now, batch);
      const bytes = batch.bytes;
      const lengths = batch.lengths;
      for (let slot = 0; slot < batch.count; slot++) {
        to.handleDatagram(now, fromIp, fromPort, toEndpoint, bytes, batch.slotOffset(slot), lengths[slot]!);
      }
      if (n < batch.capacity) return;
    }
    throw new Error("pollTransmit never drained");
  }
}

function openedEndpoint(engine: Engine): number {
  const event = engine.pollEndpointEvent();
  if (event?.type !== "open") throw new Error("expected an endpoint to open");
  return event.endpoint.id;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    g();
  }
}

function measureRate(messageLength: number, perRun: number): void {
  const pair = new EnginePair(messageLength);
  pair.run(Math.min(perRun, 500_000)); // warm-up: lets the JIT settle
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    pair.run(perRun);
    rates.push(perRun / ((performance.now() - start) / 1000));
  }
  const m = median(rates);
  const mbps = (m * messageLength) / 1e6;
  const spread = `${(Math.min(...rates) / 1e6).toFixed(2)}..${(Math.max(...rates) / 1e6).toFixed(2)}`;
  console.log(
    `${String(messageLength).padStart(5)} B messages: ${(m / 1e6).toFixed(2).padStart(6)} M msgs/s median of ${RUNS} x ${perRun}` +
      ` (runs ${spread} M; ${mbps.toFixed(0)} MB/s payload); NAKs ${pair.b.counters.get(Counter.NAKS_SENT)}, data frames ${pair.a.counters.get(Counter.DATA_FRAMES_SENT)}`,
  );
}

function measureHeap(messageLength: number): void {
  const pair = new EnginePair(messageLength);
  pair.run(1_000_000); // warm: every term touched once, the JIT settled
  gc();
  const before = process.memoryUsage().heapUsed;
  pair.run(1_000_000);
  gc();
  const after = process.memoryUsage().heapUsed;
  console.log(`${String(messageLength).padStart(5)} B messages: heap growth ${((after - before) / 1024).toFixed(1)} KiB per 10^6 messages (heapUsed ${(before / 1048576).toFixed(1)} -> ${(after / 1048576).toFixed(1)} MiB)`);
}

export async function runEngineBench(): Promise<void> {
  console.log(`engine: two engines, one process, perfect in-memory link; ${CHANNEL}; transmit batch 1024 slots`);
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") console.log("(no global.gc: run node with --expose-gc for the heap figures)");
  measureRate(32, 5_000_000);
  measureRate(1024, 1_000_000);
  measureHeap(32);
  measureHeap(1024);
}
