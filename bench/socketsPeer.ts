// One process of the sockets benchmark (bench/sockets.ts spawns two of these). Roles:
//  - petrel-pub / petrel-sub: a Petrel publication streaming fixed-size messages as fast as flow
//    control allows / a subscription counting them over a measured window;
//  - petrel-ping / petrel-pong: round trips of one message over two Petrel streams;
//  - dgram-send / dgram-recv / dgram-ping / dgram-pong: the same work on plain node:dgram, one
//    message per datagram (what a Node program without Petrel would do).
// It prints JSON lines on stdout ({ready}, then its result) and stops when stdin says "stop".
import * as dgram from "node:dgram";
import hdr from "hdr-histogram-js";
import type { Histogram } from "hdr-histogram-js";
import { Engine } from "../src/core/engine/engine.js";
import { ADMIN_ACTION } from "../src/core/engine/networkPublication.js";
import { createSocketsDriver } from "../src/drivers/socketsDriver.js";
import { EngineRuntime, monotonicClockNs } from "../src/drivers/runtime.js";
import { Prng } from "../src/sim/prng.js";

export interface PeerArgs {
  readonly role: string;
  readonly port: number;
  readonly port2: number;
  readonly size: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly roundTrips: number;
  readonly warmupRoundTrips: number;
  /** Aeron MTU for the throughput stream (0: the default, 1408). */
  readonly mtu?: number;
  /** Block in poll(2) after 50 idle cycles instead of spinning. */
  readonly park?: boolean;
  /** The runtime's transmitFirst (default true). */
  readonly transmitFirst?: boolean;
}

const args = JSON.parse(process.argv[2] ?? "{}") as PeerArgs;
const park = args.park === true;
let stopped = false;
process.stdin.on("data", (d) => {
  if (String(d).includes("stop")) stopped = true;
});
process.stdin.on("end", () => {
  stopped = true;
});

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Stream parameters for throughput: a 16 MiB term and a 2 MiB receiver window and socket buffer. */
const THROUGHPUT = "term-length=16m|rcv-wnd=2m|so-rcvbuf=4m|so-sndbuf=4m";
const THROUGHPUT_CHANNEL = args.mtu !== undefined && args.mtu > 0 ? `${THROUGHPUT}|mtu=${args.mtu}` : THROUGHPUT;
const channel = (port: number, extra = THROUGHPUT_CHANNEL): string => `aeron:udp?endpoint=127.0.0.1:${port}|${extra}`;

function petrel(role: string): { engine: Engine; runtime: EngineRuntime } {
  const engine = new Engine({ random: new Prng(0x5eed).fork(role) });
  // Slots must hold a whole datagram: at least the stream's MTU.
  const slotLength = Math.max(2048, args.mtu ?? 0);
  const runtime = new EngineRuntime(engine, createSocketsDriver({
    prefer: "native", transmitCapacity: 256, receiveCapacity: 256, transmitSlotLength: slotLength, receiveSlotLength: slotLength,
  }), { transmitFirst: args.transmitFirst ?? true });
  return { engine, runtime };
}

async function petrelPub(): Promise<void> {
  const { runtime, engine } = petrel("pub");
  const publication = engine.addPublication(channel(args.port), 1);
  runtime.doWork();
  print({ ready: true });
  const message = new Uint8Array(args.size).fill(7);
  let offered = 0;
  let cycles = 0;
  let idle = 0;
  while (!stopped) {
    // Offer until back-pressured (bounded), then one duty cycle.
    const before = offered;
    for (let k = 0; k < 4096; k++) {
      const result = publication.offer(message, 0, args.size);
      if (result === ADMIN_ACTION) continue;
      if (result < 0) break;
      offered++;
    }
    const work = runtime.doWork() + offered - before;
    idle = work > 0 ? 0 : idle + 1;
    // Back-pressured and nothing arrived: with park, wait in poll(2) for the next status message.
    if (park && idle > 50) runtime.waitForWork(1);
    if ((++cycles & 1023) === 0) await yieldToLoop();
  }
  print({ offered, driver: runtime.driver.stats() });
  await runtime.close();
}

async function petrelSub(): Promise<void> {
  const { runtime, engine } = petrel("sub");
  const subscription = engine.addSubscription(channel(args.port), 1);
  runtime.doWork();
  print({ ready: true });
  let messages = 0;
  let bytes = 0;
  const handler = (_b: Uint8Array, _o: number, length: number): void => {
    messages++;
    bytes += length;
  };
  let idle = 0;
  await measure(() => {
    const work = runtime.doWork() + subscription.poll(handler, 4096);
    idle = work > 0 ? 0 : idle + 1;
    if (park && idle > 50) runtime.waitForWork(1);
    return work;
  }, () => [messages, bytes]);
  print({ driver: runtime.driver.stats(), counters: nonZero(engine) });
  await runtime.close();
}

function nonZero(engine: Engine): Record<string, number> {
  return Object.fromEntries(Object.entries(engine.counters.snapshot()).filter(([, v]) => v !== 0));
}

/** Runs `work` until stopped; counts from the first message + warmup over durationMs. */
async function measure(work: () => number, totals: () => [number, number]): Promise<void> {
  let cycles = 0;
  let phase: "waiting" | "warmup" | "measuring" = "waiting";
  let phaseStartMs = 0;
  let base: [number, number] = [0, 0];
  while (!stopped) {
    work();
    if ((++cycles & 255) !== 0) continue;
    const now = performance.now();
    if (phase === "waiting" && totals()[0] > 0) {
      phase = "warmup";
      phaseStartMs = now;
    } else if (phase === "warmup" && now - phaseStartMs >= args.warmupMs) {
      phase = "measuring";
      phaseStartMs = now;
      base = totals();
    } else if (phase === "measuring" && now - phaseStartMs >= args.durationMs) {
      const [m, b] = totals();
      const seconds = (now - phaseStartMs) / 1000;
      print({ messagesPerSecond: (m - base[0]) / seconds, megabytesPerSecond: (b - base[1]) / seconds / 1e6, seconds });
      return;
    }
    if ((cycles & 4095) === 0) await yieldToLoop();
  }
}

async function petrelPing(): Promise<void> {
  const { runtime, engine } = petrel("ping");
  const latency = "term-length=1m";
  const publication = engine.addPublication(channel(args.port, latency), 1);
  const subscription = engine.addSubscription(channel(args.port2, latency), 2);
  const message = new Uint8Array(args.size);
  const view = new DataView(message.buffer);
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: 3 });
  let echoed = false;
  let echoedStamp = 0;
  const handler = (buffer: Uint8Array, offset: number): void => {
    echoed = true;
    echoedStamp = new DataView(buffer.buffer, buffer.byteOffset).getFloat64(offset, true);
  };
  runtime.doWork();
  print({ ready: true });
  // Wait for both directions to connect.
  while (!stopped && !(publication.isConnected && subscription.isConnected)) {
    runtime.doWork();
    await yieldToLoop();
  }
  const total = args.warmupRoundTrips + args.roundTrips;
  const started = performance.now();
  for (let i = 0; i < total && !stopped; i++) {
    const sentNs = monotonicClockNs();
    view.setFloat64(0, sentNs, true);
    while (publication.offer(message, 0, args.size) < 0) runtime.doWork();
    echoed = false;
    // Spin until the echo arrives; with park, block in poll(2) after a few idle spins.
    for (let spins = 0; !echoed; spins++) {
      const work = runtime.doWork() + subscription.poll(handler, 1);
      if (park && work === 0 && spins > 50) runtime.waitForWork(1);
      if (spins > 10_000_000) throw new Error(`no echo for round trip ${i}`);
    }
    const rttNs = monotonicClockNs() - echoedStamp;
    if (i >= args.warmupRoundTrips) histogram.recordValue(Math.max(1, Math.round(rttNs)));
  }
  print({ ...percentiles(histogram, (performance.now() - started) / 1000), counters: nonZero(engine) });
  await runtime.close();
}

async function petrelPong(): Promise<void> {
  const { runtime, engine } = petrel("pong");
  const latency = "term-length=1m";
  const subscription = engine.addSubscription(channel(args.port, latency), 1);
  const publication = engine.addPublication(channel(args.port2, latency), 2);
  runtime.doWork();
  print({ ready: true });
  const handler = (buffer: Uint8Array, offset: number, length: number): void => {
    while (publication.offer(buffer, offset, length) < 0) {
      runtime.doWork();
      if (stopped) return;
    }
  };
  let cycles = 0;
  let idle = 0;
  while (!stopped) {
    const work = runtime.doWork() + subscription.poll(handler, 16);
    idle = work > 0 ? 0 : idle + 1;
    if (park && idle > 50) runtime.waitForWork(1);
    if ((++cycles & 4095) === 0) await yieldToLoop();
  }
  await runtime.close();
}

function percentiles(histogram: Histogram, seconds: number): Record<string, number> {
  const us = (q: number): number => histogram.getValueAtPercentile(q) / 1000;
  return { count: histogram.totalCount, p50: us(50), p90: us(90), p99: us(99), p999: us(99.9), max: histogram.maxValue / 1000, seconds };
}

async function dgramSend(): Promise<void> {
  const socket = dgram.createSocket("udp4");
  // After the receiver exits, the kernel reports ICMP port-unreachable as ECONNREFUSED: expected.
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  // A connected socket: no address lookup per send (the fastest plain node:dgram sender).
  await new Promise<void>((resolve) => socket.connect(args.port, "127.0.0.1", resolve));
  print({ ready: true });
  const message = Buffer.alloc(args.size, 7);
  let sent = 0;
  while (!stopped) {
    // node:dgram queues sends in libuv: send a burst, then let the loop flush it.
    for (let k = 0; k < 256; k++) socket.send(message);
    sent += 256;
    await yieldToLoop();
  }
  print({ sent });
  socket.close();
}

async function dgramRecv(): Promise<void> {
  const socket = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
  let messages = 0;
  let bytes = 0;
  socket.on("message", (m) => {
    messages++;
    bytes += m.length;
  });
  await new Promise<void>((resolve) => socket.bind(args.port, "127.0.0.1", resolve));
  print({ ready: true });
  let phase: "waiting" | "warmup" | "measuring" = "waiting";
  let phaseStartMs = 0;
  let base: [number, number] = [0, 0];
  while (!stopped) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const now = performance.now();
    if (phase === "waiting" && messages > 0) {
      phase = "warmup";
      phaseStartMs = now;
    } else if (phase === "warmup" && now - phaseStartMs >= args.warmupMs) {
      phase = "measuring";
      phaseStartMs = now;
      base = [messages, bytes];
    } else if (phase === "measuring" && now - phaseStartMs >= args.durationMs) {
      const seconds = (now - phaseStartMs) / 1000;
      print({ messagesPerSecond: (messages - base[0]) / seconds, megabytesPerSecond: (bytes - base[1]) / seconds / 1e6, seconds });
      break;
    }
  }
  socket.close();
}

async function dgramPing(): Promise<void> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(args.port2, "127.0.0.1", resolve));
  print({ ready: true });
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: 3 });
  const message = Buffer.alloc(args.size);
  const total = args.warmupRoundTrips + args.roundTrips;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let i = 0;
    let sentNs = 0;
    const send = (): void => {
      sentNs = monotonicClockNs();
      socket.send(message, args.port, "127.0.0.1");
    };
    socket.on("message", () => {
      const rttNs = monotonicClockNs() - sentNs;
      if (i >= args.warmupRoundTrips) histogram.recordValue(Math.max(1, Math.round(rttNs)));
      if (++i >= total || stopped) resolve();
      else send();
    });
    send();
  });
  print(percentiles(histogram, (performance.now() - started) / 1000));
  socket.close();
}

async function dgramPong(): Promise<void> {
  const socket = dgram.createSocket("udp4");
  socket.on("error", () => undefined);
  socket.on("message", (m) => socket.send(m, args.port2, "127.0.0.1"));
  await new Promise<void>((resolve) => socket.bind(args.port, "127.0.0.1", resolve));
  print({ ready: true });
  while (!stopped) await new Promise((resolve) => setTimeout(resolve, 20));
  socket.close();
}

const roles: Record<string, () => Promise<void>> = {
  "petrel-pub": petrelPub,
  "petrel-sub": petrelSub,
  "petrel-ping": petrelPing,
  "petrel-pong": petrelPong,
  "dgram-send": dgramSend,
  "dgram-recv": dgramRecv,
  "dgram-ping": dgramPing,
  "dgram-pong": dgramPong,
};

const run = roles[args.role];
if (run === undefined) {
  print({ error: `unknown role ${args.role}` });
  process.exit(2);
}
run().then(() => process.exit(0), (error: unknown) => {
  print({ error: error instanceof Error ? error.stack ?? error.message : String(error) });
  process.exit(1);
});
