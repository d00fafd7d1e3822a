// Goal: in worker mode (runtime mode b) the engine, sockets driver and runtime agent run in a
// worker thread while the application offers into and polls from SharedArrayBuffer logs on its own
// thread, with no system call there. Over real UDP sockets on 127.0.0.1, a worker-mode publisher
// delivers a stream of 10^5 mixed-size messages to a worker-mode subscriber, and to a plain
// on-thread engine (and an on-thread publisher to a worker-mode subscriber), complete, in order and
// byte-identical, with 5% of received datagrams dropped by a seeded filter; the engines' counters
// show the repair (NAKs, retransmits); and closing a WorkerClient ends its worker thread (the test
// finishes: no hang).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_ACTION } from "../../src/core/engine/networkPublication.js";
import { Counter } from "../../src/core/engine/counters.js";
import { Engine } from "../../src/core/engine/engine.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { WorkerClient, type WorkerPublication, type WorkerSubscription } from "../../src/drivers/worker/workerClient.js";
import { Prng } from "../../src/sim/prng.js";
import { fillMessage, freeUdpPort, streamCount, streamTimeoutMs, messageLengths, offerSome, protocolCounters, SeededDropFilter, STREAM_ID, StreamChecker } from "./streamSupport.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261124);
const replay = `replay: PETREL_SEED=${SEED} npx vitest run test/drivers/workerMode.test.ts`;
const root = join(import.meta.dirname, "..", "..");
let buildDir = "";
let workerUrl: URL;

beforeAll(() => {
  // The worker runs compiled JavaScript (Node 20 cannot load TypeScript in a worker thread).
  buildDir = mkdtempSync(join(tmpdir(), "petrel-worker-"));
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--ignoreConfig", "--outDir", buildDir, "--rootDir", root,
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--strict",
    join(root, "src", "drivers", "worker", "engineWorker.ts")], { encoding: "utf8", cwd: root });
  if (tsc.status !== 0) throw new Error(`compiling the worker failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(buildDir, "package.json"), '{"type":"module"}\n');
  workerUrl = pathToFileURL(join(buildDir, "src", "drivers", "worker", "engineWorker.js"));
  // The compiled copy is outside the package: point it at the package's addon.
  const addon = join(root, "build", "Release", "petrel.node");
  if (process.env["PETREL_NATIVE_ADDON"] === undefined && existsSync(addon)) process.env["PETREL_NATIVE_ADDON"] = addon;
});

afterAll(() => {
  if (buildDir !== "") rmSync(buildDir, { recursive: true, force: true });
});

const clients: WorkerClient[] = [];
const runtimes: EngineRuntime[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const runtime of runtimes.splice(0)) {
    runtime.engine.close();
    runtime.doWork();
    await runtime.close();
  }
});

function startClient(seed: number, lossPerMille: number): WorkerClient {
  const client = new WorkerClient({ workerUrl, seed, receiveDropPerMille: lossPerMille, driver: { prefer: "auto" } });
  clients.push(client);
  return client;
}

function onThreadRuntime(seed: number, label: string, lossPerMille: number): { runtime: EngineRuntime; drop: SeededDropFilter } {
  const engine = new Engine({ random: new Prng(seed).fork(label) });
  const drop = new SeededDropFilter(seed + 7, lossPerMille, 1000);
  const runtime = new EngineRuntime(engine, createSocketsDriver({ prefer: "auto" }), { receiveFilter: drop });
  runtimes.push(runtime);
  return { runtime, drop };
}

/** offerSome for a worker-mode publication. */
function offerWorker(publication: WorkerPublication, lengths: Int32Array, sent: number, count: number, scratch: Uint8Array, limit: number): number {
  for (let k = 0; k < limit && sent < count; k++) {
    const length = lengths[sent]!;
    fillMessage(scratch, length, sent);
    const result = publication.offer(scratch, 0, length);
    if (result === ADMIN_ACTION) continue;
    if (result < 0) break;
    sent++;
  }
  return sent;
}

interface Ends {
  readonly offer: (sent: number) => number;
  readonly drain: () => void;
  /** On-thread runtimes to turn each cycle (mode a ends). */
  readonly turn: () => void;
}

/** Runs the stream until complete or the budget ends; the app loop never waits on the event loop. */
async function stream(count: number, checker: StreamChecker, ends: Ends, wallMs: number): Promise<number> {
  const started = performance.now();
  let sent = 0;
  let cycles = 0;
  while (checker.received < count && checker.failures.length === 0) {
    sent = ends.offer(sent);
    ends.turn();
    ends.drain();
    if (++cycles % 1024 === 0) {
      if (performance.now() - started > wallMs) break;
      // Only so that vitest's own timers can run; the stream itself does not need it.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return performance.now() - started;
}

function drainWorker(subscription: WorkerSubscription, checker: StreamChecker): void {
  for (let k = 0; k < 64; k++) if (subscription.poll(checker.handler, 1024) === 0) break;
}

describe("worker mode: engine and driver in a worker thread, the application on shared logs", () => {
  const workerCount = streamCount(100_000);
  it(`streams ${workerCount} mixed-size messages worker-mode to worker-mode with 5% loss; NAKs and retransmits repair it`, async () => {
    const count = workerCount;
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=1m`;
    const subscriberClient = startClient(SEED, 50);
    const publisherClient = startClient(SEED + 1, 50);
    const subscription = await subscriberClient.addSubscription(channel, STREAM_ID);
    const publication = await publisherClient.addPublication(channel, STREAM_ID);
    const lengths = messageLengths(SEED, count);
    const checker = new StreamChecker(lengths);
    const scratch = new Uint8Array(8192);
    const elapsedMs = await stream(count, checker, {
      offer: (sent) => offerWorker(publication, lengths, sent, count, scratch, 256),
      drain: () => drainWorker(subscription, checker),
      turn: () => undefined,
    }, streamTimeoutMs(count, 400_000));
    expect(checker.failures, replay).toEqual([]);
    expect(checker.received, replay).toBe(count);
    expect(subscription.images.length).toBe(1);
    expect(subscription.images[0]!.sessionId).toBe(publication.sessionId);

    publication.close();
    subscription.close();
    const pubReport = await publisherClient.close();
    const subReport = await subscriberClient.close();
    console.log(`worker->worker: ${count} messages in ${elapsedMs.toFixed(0)} ms; publisher ${JSON.stringify(pick(pubReport.counters))} ` +
      `runtime ${JSON.stringify(pubReport.runtime)}; subscriber ${JSON.stringify(pick(subReport.counters))} runtime ${JSON.stringify(subReport.runtime)}`);
    expect(subReport.counters["naks sent"]).toBeGreaterThan(0);
    expect(pubReport.counters["naks received"]).toBeGreaterThan(0);
    expect(pubReport.counters["retransmits sent"]).toBeGreaterThan(0);
    expect(subReport.counters["invalid packets"]).toBe(0);
    // The counters mirror on the application side agrees with the final report.
    expect(publisherClient.counter(Counter.RETRANSMITS_SENT)).toBe(pubReport.counters["retransmits sent"]);
    expect(publisherClient.errors).toEqual([]);
    expect(subscriberClient.errors).toEqual([]);
    // Closing ended both worker threads.
    expect(publisherClient.hasExited).toBe(true);
    expect(subscriberClient.hasExited).toBe(true);
  });

  it("streams 10^5 messages worker-mode publisher to an on-thread engine with 5% loss", async () => {
    const count = 100_000;
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=1m`;
    const { runtime: sub, drop } = onThreadRuntime(SEED + 2, "subscriber", 50);
    const subscription = sub.engine.addSubscription(channel, STREAM_ID);
    sub.doWork();
    await sub.driver.ready();
    const publisherClient = startClient(SEED + 3, 50);
    const publication = await publisherClient.addPublication(channel, STREAM_ID);
    const lengths = messageLengths(SEED + 2, count);
    const checker = new StreamChecker(lengths);
    const scratch = new Uint8Array(8192);
    const elapsedMs = await stream(count, checker, {
      offer: (sent) => offerWorker(publication, lengths, sent, count, scratch, 256),
      drain: () => checker.drain(subscription),
      turn: () => void sub.doWork(),
    }, 60_000);
    expect(checker.failures, replay).toEqual([]);
    expect(checker.received, replay).toBe(count);
    const pubReport = await publisherClient.close();
    const subscriber = protocolCounters(sub.engine);
    console.log(`worker->on-thread: 10^5 messages in ${elapsedMs.toFixed(0)} ms; dropped ${drop.dropped} at the subscriber; ` +
      `publisher ${JSON.stringify(pick(pubReport.counters))}; subscriber ${JSON.stringify(subscriber)}`);
    expect(drop.dropped).toBeGreaterThan(0);
    expect(subscriber.naksSent).toBeGreaterThan(0);
    expect(pubReport.counters["retransmits sent"]).toBeGreaterThan(0);
    expect(publisherClient.errors).toEqual([]);
    expect(publisherClient.hasExited).toBe(true);
  });

  it("streams 10^5 messages from an on-thread engine to a worker-mode subscriber with 5% loss", async () => {
    const count = 100_000;
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=1m`;
    const subscriberClient = startClient(SEED + 4, 50);
    const subscription = await subscriberClient.addSubscription(channel, STREAM_ID);
    const { runtime: pub } = onThreadRuntime(SEED + 5, "publisher", 50);
    const publication = pub.engine.addPublication(channel, STREAM_ID);
    pub.doWork();
    await pub.driver.ready();
    const lengths = messageLengths(SEED + 4, count);
    const checker = new StreamChecker(lengths);
    const scratch = new Uint8Array(8192);
    const elapsedMs = await stream(count, checker, {
      offer: (sent) => offerSome(publication, lengths, sent, count, scratch, 256),
      drain: () => drainWorker(subscription, checker),
      turn: () => void pub.doWork(),
    }, 60_000);
    expect(checker.failures, replay).toEqual([]);
    expect(checker.received, replay).toBe(count);
    const subReport = await subscriberClient.close();
    const publisher = protocolCounters(pub.engine);
    console.log(`on-thread->worker: 10^5 messages in ${elapsedMs.toFixed(0)} ms; publisher ${JSON.stringify(publisher)}; ` +
      `subscriber ${JSON.stringify(pick(subReport.counters))}`);
    expect(subReport.counters["naks sent"]).toBeGreaterThan(0);
    expect(publisher.retransmitsSent).toBeGreaterThan(0);
    expect(subscriberClient.errors).toEqual([]);
    expect(subscriberClient.hasExited).toBe(true);
  });
});

function pick(counters: Record<string, number>): Record<string, number> {
  const keys = ["naks sent", "naks received", "retransmits sent", "datagrams sent", "datagrams received", "invalid packets", "errors"];
  const out: Record<string, number> = {};
  for (const key of keys) out[key] = counters[key] ?? 0;
  return out;
}
