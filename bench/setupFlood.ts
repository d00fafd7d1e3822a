// Issue #11, attacks 2 and 3: RSS and time during a flood of hostile sessions. Each fake session
// is one SETUP with a 1 GiB term length whose term offset sits 64 bytes before the term end, then
// one DATA frame there; the application polls (reading past the term end) and the engine runs its
// timers, which is when a log that cleans the whole join term zero-fills a gigabyte. Sessions come
// from distinct source addresses (10.0.x.y) so that a per-source cap does not hide the budget.
// After the flood a real publisher (64 KiB terms, another address) sends a SETUP every 100 ms of
// virtual time until it has an image: how long it waited is the lock-out the flood caused.
//
// Options: --sessions=N (1024), --max-rss-mib=M (4096: stop the flood when RSS passes it; the
// count reached is reported, so that a run on a tree without the budget can be extrapolated),
// --budget-mib=B (imageLogBudgetBytes; default: the engine's), --per-source=K
// (maxImagesPerSource), --term-length=BYTES (1073741824).
// Virtual time: 1 ms per fake session. Wall time is measured per session (its longest stall too).
//
// With the default budget (2 GiB) every 1 GiB-term SETUP is refused (3 GiB reservation): RSS stays
// flat trivially. `--budget-mib=4194304` admits all 1024 (3 TiB reserved, accounting only) and
// shows the lazy logs and ranged cleaning alone: one partition allocated per session (virtual
// memory), 64 bytes written and cleaned. `--term-length=65536` shows the lock-out: how long a real
// publisher waits once the flood filled maxImages. On a tree without the budget (before issue
// #11) the options are ignored and the run stops at --max-rss-mib.
import { performance } from "node:perf_hooks";
import { Counter } from "../src/core/engine/counters.js";
import { Engine, type EngineOptions } from "../src/core/engine/engine.js";
import { ipv4 } from "../src/core/address.js";
import { writeDataHeader } from "../src/core/protocol/dataFrame.js";
import { HDR_TYPE_DATA } from "../src/core/protocol/frameHeader.js";
import { SETUP_LENGTH, writeSetup } from "../src/core/protocol/setupFrame.js";
import { TransmitBatch } from "../src/core/transmitBatch.js";
import { Prng } from "../src/sim/prng.js";

const STREAM = 1001;
const PORT = 20121;
const NS_PER_MS = 1_000_000;

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
  return value;
}

const MIB = 1024 * 1024;

export async function runSetupFloodBench(): Promise<void> {
  const sessions = option("sessions", 1024);
  const maxRssMib = option("max-rss-mib", 4096);
  const termLength = option("term-length", 1 << 30);
  const budgetMib = option("budget-mib", -1);
  const perSource = option("per-source", -1);
  const extra: Record<string, number> = {};
  if (budgetMib >= 0) extra["imageLogBudgetBytes"] = budgetMib * MIB;
  if (perSource >= 0) extra["maxImagesPerSource"] = perSource;
  console.log(`setup-flood: ${sessions} hostile sessions, term length ${termLength}, DATA 64 B before the term end, ` +
    `application polling; stop at RSS ${maxRssMib} MiB; options ${JSON.stringify(extra)}`);

  const engine = new Engine({ random: new Prng(7), ...(extra as Partial<EngineOptions>) });
  const subscription = engine.addSubscription(`aeron:udp?endpoint=127.0.0.2:${PORT}`, STREAM);
  const opened = engine.pollEndpointEvent();
  if (opened?.type !== "open") throw new Error("expected the subscription's endpoint to open");
  const endpointId = opened.endpoint.id;
  const batch = new TransmitBatch(256, 2048);
  const datagram = new Uint8Array(128);
  const view = new DataView(datagram.buffer);
  let received = 0;
  const handler = (): void => {
    received++;
  };
  let nowNs = 1_000 * NS_PER_MS;

  const step = (): void => {
    if (engine.pollTimeout() <= nowNs) engine.handleTimeout(nowNs);
    while (subscription.poll(handler, 100) > 0) {
      /* drain */
    }
    if (engine.pollTimeout() <= nowNs) engine.handleTimeout(nowNs);
    // Bounded: the engine has finitely much due at one instant.
    for (let pass = 0; pass < 1000; pass++) {
      batch.clear();
      if (engine.pollTransmit(nowNs, batch) < batch.capacity) break;
    }
  };

  const rssMib = (): number => process.memoryUsage.rss() / MIB;
  const startRss = rssMib();
  let peakRss = startRss;
  let worstStepMs = 0;
  let done = 0;
  const started = performance.now();
  const termOffset = termLength - 64;
  for (let i = 0; i < sessions; i++) {
    const fromIp = ipv4(10, 0, (i >> 8) & 0xff, i & 0xff);
    const sessionId = 0x10000 + i;
    const initialTermId = 7;
    const t0 = performance.now();
    writeSetup(view, 0, 0, termOffset, sessionId, STREAM, initialTermId, initialTermId, termLength, 1408, 0);
    engine.handleDatagram(nowNs, fromIp, 40000, endpointId, datagram, 0, SETUP_LENGTH);
    writeDataHeader(view, 0, 64, 0xc0, HDR_TYPE_DATA, termOffset, sessionId, STREAM, initialTermId, 0, 0);
    datagram.fill(0x5a, 32, 64);
    engine.handleDatagram(nowNs, fromIp, 40000, endpointId, datagram, 0, 64);
    step();
    nowNs += NS_PER_MS;
    step();
    const stepMs = performance.now() - t0;
    if (stepMs > worstStepMs) worstStepMs = stepMs;
    done++;
    const rss = rssMib();
    if (rss > peakRss) peakRss = rss;
    if (rss > maxRssMib) {
      console.log(`stopped: RSS ${rss.toFixed(0)} MiB passed ${maxRssMib} MiB after ${done} sessions`);
      break;
    }
  }
  const floodMs = performance.now() - started;
  const c = engine.counters;
  console.log(`flood: ${done} sessions in ${(floodMs / 1000).toFixed(2)} s wall (worst session ${worstStepMs.toFixed(0)} ms); ` +
    `RSS ${startRss.toFixed(0)} -> peak ${peakRss.toFixed(0)} MiB (+${((peakRss - startRss) / Math.max(done, 1)).toFixed(1)} MiB per session); ` +
    `messages read ${received}`);
  console.log(`counters: images created ${c.get(Counter.IMAGES_CREATED)}, active ${c.get(Counter.IMAGES_ACTIVE)}, ` +
    `refused limit ${c.get(Counter.IMAGES_REFUSED_LIMIT)}, refused source limit ${c.get(Counter.IMAGES_REFUSED_SOURCE_LIMIT)}, ` +
    `refused budget ${c.get(Counter.IMAGES_REFUSED_BUDGET)}, allocation failures ${c.get(Counter.IMAGE_ALLOCATION_FAILURES)}, ` +
    `evicted unjoined ${c.get(Counter.IMAGES_EVICTED_UNJOINED)}; log bytes reserved ${c.get(Counter.IMAGE_LOG_BYTES_RESERVED)}, ` +
    `allocated ${c.get(Counter.IMAGE_LOG_BYTES_ALLOCATED)}, cleaned ${c.get(Counter.IMAGE_LOG_BYTES_CLEANED)}`);

  // A real publisher: SETUP every 100 ms (Aeron's setup resend interval) until its image exists.
  const realSession = 0x7e57;
  const realIp = ipv4(192, 168, 1, 50);
  const floodEndNs = nowNs;
  const imagesBefore = c.get(Counter.IMAGES_CREATED);
  let admittedAfterNs = -1;
  for (let attempt = 0; attempt < 200; attempt++) {
    writeSetup(view, 0, 0, 0, realSession, STREAM, 100, 100, 64 * 1024, 1408, 0);
    engine.handleDatagram(nowNs, realIp, 40001, endpointId, datagram, 0, SETUP_LENGTH);
    if (c.get(Counter.IMAGES_CREATED) > imagesBefore && engine.images.some((image) => image.sessionId === realSession)) {
      admittedAfterNs = nowNs - floodEndNs;
      break;
    }
    nowNs += 100 * NS_PER_MS;
    step();
  }
  console.log(admittedAfterNs < 0
    ? "real publisher: no image within 20 s of virtual time"
    : `real publisher: image after ${(admittedAfterNs / NS_PER_MS).toFixed(0)} ms of virtual time (SETUP every 100 ms); ` +
      `images evicted unjoined ${c.get(Counter.IMAGES_EVICTED_UNJOINED)}, refused limit ${c.get(Counter.IMAGES_REFUSED_LIMIT)}`);
  console.log(`final RSS ${rssMib().toFixed(0)} MiB`);
}
