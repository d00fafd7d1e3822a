// Goal: Petrel's receiver side against the real Aeron C media driver (1.48) on loopback (issue #12):
//  - a Petrel multicast subscriber that joins an Aeron multicast publication late (Aeron's own
//    subscriber got it connected, so Aeron sends no SETUP on its own) asks the control group for
//    SETUP, gets an image and every message from its join on;
//  - when a Petrel subscription closes, its EOS status messages make Aeron's publication see the
//    receiver go at once (aeron_publication_is_connected false), not after the 5 s timeout;
//  - manual multi-destination-cast in both directions with the plain `endpoint=` subscription form
//    (dynamic MDC's two forms are in aeron.test.ts; the subscription-side `control-mode=manual`
//    form needs Subscription.addDestination, issue #12 item 5);
//  - `reliable=false`: Petrel subscribing under loss fills gaps and never NAKs; Aeron subscribing
//    unreliably under its own loss interceptor gets whole messages in order with gaps, and Petrel's
//    publication receives no NAK.
// Every message is checked for index, length and every byte (interop_common.h's content rule).
// Skipped with a printed reason when PETREL_AERON_BIN is unset; CI sets it. New C clients:
// test/interop/clients/interop_watch_pub.c and interop_lossy_sub.c.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { Engine } from "../../src/core/engine/engine.js";
import type { Subscription } from "../../src/core/engine/subscription.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { Prng } from "../../src/sim/prng.js";
import { checkMessage, freeUdpPort, offerSome, SeededDropFilter, StreamChecker } from "../drivers/streamSupport.js";
import { buildClients, Client, interopLengths, interopMessageLength, interopSkipReason, MediaDriver } from "./aeronPeer.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261205);
const STREAM = 1002;
const MAX_LENGTH = 200;
const skipReason = interopSkipReason();
if (skipReason !== undefined) console.log(`interop with Aeron (receiver side) skipped: ${skipReason}`);

/** CLOCK_MONOTONIC in seconds, the clock the C clients print (process.hrtime reads it on Linux). */
function monotonicS(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Checks messages that may start late or skip indices: each whole for the index it carries, indices rising. */
class GapChecker {
  first = -1;
  last = -1;
  received = 0;
  readonly failures: string[] = [];
  readonly handler = (buffer: Uint8Array, offset: number, length: number): void => {
    if (this.failures.length > 5) return;
    const index = (buffer[offset]! | (buffer[offset + 1]! << 8) | (buffer[offset + 2]! << 16) | (buffer[offset + 3]! << 24)) >>> 0;
    if (index <= this.last) {
      this.failures.push(`message ${index} after ${this.last}`);
      return;
    }
    const failure = checkMessage(buffer, offset, length, index, interopMessageLength(index, MAX_LENGTH));
    if (failure !== undefined) this.failures.push(failure);
    if (this.first < 0) this.first = index;
    this.last = index;
    this.received++;
  };
  drain(subscription: Subscription): void {
    for (let k = 0; k < 64 && subscription.poll(this.handler, 1024) > 0; k++);
  }
}

let shared: ReturnType<typeof buildClients> | undefined;
let own: { watchPub: string; lossySub: string } | undefined;

describe.skipIf(skipReason !== undefined)("interop with the Aeron C media driver: Petrel's receiver side", () => {
  beforeAll(() => {
    shared = buildClients(["interop_watch_pub", "interop_lossy_sub"]);
    own = { watchPub: shared.paths["interop_watch_pub"]!, lossySub: shared.paths["interop_lossy_sub"]! };
  });
  afterAll(() => {
    if (shared !== undefined) rmSync(shared.dir, { recursive: true, force: true });
  });

  async function withPeer<T>(name: string, seed: number, body: (driver: MediaDriver, engine: Engine, runtime: EngineRuntime) => Promise<T>,
    options: { aeronLoss?: string; petrelLossPerMille?: number } = {}): Promise<{ result: T; drop: SeededDropFilter }> {
    const env: Record<string, string> = options.aeronLoss === undefined ? {} : {
      AERON_UDP_CHANNEL_INCOMING_INTERCEPTORS: "loss",
      AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_LOSS_ARGS: options.aeronLoss,
    };
    const driver = new MediaDriver(env);
    const engine = new Engine({ random: new Prng(seed).fork("petrel") });
    const drop = new SeededDropFilter(seed + 1, options.petrelLossPerMille ?? 0, 1000);
    const runtime = new EngineRuntime(engine, createSocketsDriver({ prefer: "auto" }),
      (options.petrelLossPerMille ?? 0) > 0 ? { receiveFilter: drop } : {});
    try {
      await driver.ready();
      const result = await body(driver, engine, runtime);
      return { result, drop };
    } catch (error) {
      throw new Error(`${name} (replay: PETREL_SEED=${SEED} PETREL_AERON_BIN=... npx vitest run test/interop/aeronReceiver.test.ts -t "${name}"): ${String(error)}`,
        { cause: error });
    } finally {
      engine.close();
      runtime.doWork();
      await runtime.close();
      await driver.close();
    }
  }

  /** Runs the runtime (and `each`) until `done` or `budgetMs` passes; yields to the event loop now and then. */
  async function spin(runtime: EngineRuntime, budgetMs: number, done: () => boolean, each: () => void = () => {}): Promise<void> {
    const started = performance.now();
    let cycles = 0;
    // Bounded by the wall-clock budget.
    while (!done() && performance.now() - started < budgetMs) {
      runtime.doWork();
      each();
      if (++cycles % 64 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  it("a late-joining Petrel multicast subscriber gets an image and every message from its join on", async () => {
    const count = 24_000;
    const rate = 8_000;
    await withPeer("late-joining Petrel multicast subscriber", SEED, async (driver, engine, runtime) => {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=224.0.1.3:${port}|interface=127.0.0.1`;
      // Aeron's own subscriber connects the publication first: after that Aeron sends SETUP only on request.
      const aeronSub = new Client(shared!.sub, [driver.aeronDir, channel, String(STREAM), String(count), String(MAX_LENGTH), "20"]);
      const publisher = new Client(own!.watchPub, [driver.aeronDir, channel, String(STREAM), String(count), String(MAX_LENGTH), String(rate),
        "20", "-", "0"]);
      const started = performance.now();
      while (!publisher.output.includes("connected") && performance.now() - started < 10_000) await sleep(20);
      expect(publisher.output).toContain("connected");
      await sleep(700);
      let available = 0;
      const subscription = engine.addSubscription(channel, STREAM, { onAvailableImage: () => available++ });
      const joinedAt = performance.now();
      const checker = new GapChecker();
      await spin(runtime, 15_000, () => checker.last >= count - 1 || checker.failures.length > 0, () => checker.drain(subscription));
      const pub = await publisher.done;
      const sub = await aeronSub.done;
      console.log(`late multicast join: Petrel joined after ${(joinedAt - started).toFixed(0)} ms at message ${checker.first}, ` +
        `received ${checker.received} (through ${checker.last}); SETUP requests ${engine.counters.get(Counter.STATUS_MESSAGES_SETUP_REQUESTED)}`);
      expect(checker.failures).toEqual([]);
      expect(available).toBe(1);
      expect(engine.counters.get(Counter.STATUS_MESSAGES_SETUP_REQUESTED)).toBeGreaterThan(0);
      expect(checker.first).toBeGreaterThan(0);
      expect(checker.last).toBe(count - 1);
      expect(checker.received).toBe(checker.last - checker.first + 1);
      expect(pub.code, pub.stderr).toBe(0);
      expect(sub.code, sub.stderr).toBe(0);
      expect(sub.stdout).toContain(`verified ${count}`);
    });
  }, 40_000);

  it("Aeron's publication sees a closed Petrel subscription go at once (EOS status messages)", async () => {
    await withPeer("closed Petrel subscription", SEED + 1, async (driver, engine, runtime) => {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const subscription = engine.addSubscription(channel, STREAM);
      runtime.doWork();
      await runtime.driver.ready();
      const publisher = new Client(own!.watchPub, [driver.aeronDir, channel, String(STREAM), "100000000", String(MAX_LENGTH), "5000", "20",
        "-", "1"]);
      const checker = new GapChecker();
      await spin(runtime, 10_000, () => checker.received >= 1000 || checker.failures.length > 0, () => checker.drain(subscription));
      expect(checker.failures).toEqual([]);
      expect(checker.received).toBeGreaterThanOrEqual(1000);
      const smsBefore = engine.counters.get(Counter.STATUS_MESSAGES_SENT);
      const closedAtS = monotonicS();
      subscription.close();
      await spin(runtime, 8_000, () => publisher.exited);
      const result = await publisher.done;
      const match = /disconnected (\d+\.\d+)/.exec(result.stdout);
      const seenGoneAfterS = match === null ? Infinity : Number(match[1]) - closedAtS;
      console.log(`subscription close: Aeron's publication saw the receiver go ${(seenGoneAfterS * 1000).toFixed(1)} ms after Petrel closed it ` +
        `(Aeron's connection timeout is 5 s); Petrel sent ${engine.counters.get(Counter.STATUS_MESSAGES_SENT) - smsBefore} SMs after the close`);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^connected /m);
      expect(seenGoneAfterS).toBeGreaterThanOrEqual(0);
      expect(seenGoneAfterS).toBeLessThan(0.5);
    });
  }, 30_000);

  it("manual MDC: Aeron publishes to a Petrel destination (endpoint= subscription form)", async () => {
    const count = 20_000;
    await withPeer("Aeron publishes to a Petrel destination", SEED + 2, async (driver, engine, runtime) => {
      const control = await freeUdpPort();
      const port = await freeUdpPort();
      const subscription = engine.addSubscription(`aeron:udp?endpoint=127.0.0.1:${port}`, STREAM);
      runtime.doWork();
      await runtime.driver.ready();
      const publisher = new Client(own!.watchPub, [driver.aeronDir, `aeron:udp?control-mode=manual|control=127.0.0.1:${control}`, String(STREAM),
        String(count), String(MAX_LENGTH), "100000", "20", `aeron:udp?endpoint=127.0.0.1:${port}`, "0"]);
      const checker = new StreamChecker(interopLengths(count, MAX_LENGTH));
      await spin(runtime, 15_000, () => checker.received >= count || checker.failures.length > 0, () => checker.drain(subscription));
      const result = await publisher.done;
      console.log(`manual MDC, Aeron -> Petrel: ${checker.received} of ${count} messages verified`);
      expect(checker.failures).toEqual([]);
      expect(checker.received).toBe(count);
      expect(result.code, result.stderr).toBe(0);
    });
  }, 30_000);

  it("manual MDC: Petrel publishes to an Aeron destination (endpoint= subscription form)", async () => {
    const count = 20_000;
    await withPeer("Petrel publishes to an Aeron destination", SEED + 3, async (driver, engine, runtime) => {
      const control = await freeUdpPort();
      const port = await freeUdpPort();
      const destination = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const subscriber = new Client(shared!.sub, [driver.aeronDir, destination, String(STREAM), String(count), String(MAX_LENGTH), "20"]);
      const publication = engine.addPublication(`aeron:udp?control-mode=manual|control=127.0.0.1:${control}`, STREAM);
      publication.addDestination(destination);
      runtime.doWork();
      await runtime.driver.ready();
      const lengths = interopLengths(count, MAX_LENGTH);
      const scratch = new Uint8Array(MAX_LENGTH);
      let sent = 0;
      await spin(runtime, 20_000, () => subscriber.exited, () => (sent = offerSome(publication, lengths, sent, count, scratch, 64)));
      const result = await subscriber.done;
      console.log(`manual MDC, Petrel -> Aeron: ${result.stdout.trim().split("\n").pop()}`);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`verified ${count}`);
    });
  }, 30_000);

  it("reliable=false: Petrel subscribing under 5% loss fills gaps after the NAK delay and never NAKs", async () => {
    const count = 20_000;
    const { drop } = await withPeer("Petrel subscribing under 5% loss", SEED + 4, async (driver, engine, runtime) => {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const subscription = engine.addSubscription(`${channel}|reliable=false`, STREAM);
      runtime.doWork();
      await runtime.driver.ready();
      const publisher = new Client(own!.watchPub, [driver.aeronDir, channel, String(STREAM), String(count), String(MAX_LENGTH), "20000", "20",
        "-", "0"]);
      const checker = new GapChecker();
      let exitedAt = Infinity;
      await spin(runtime, 15_000, () => checker.last >= count - 1 || performance.now() - exitedAt > 500 || checker.failures.length > 0, () => {
        checker.drain(subscription);
        if (publisher.exited && exitedAt === Infinity) exitedAt = performance.now();
      });
      const result = await publisher.done;
      console.log(`reliable=false, Aeron -> Petrel: ${checker.received} of ${count} whole and in order, ` +
        `gap fills ${engine.counters.get(Counter.LOSS_GAP_FILLS)}, NAKs sent ${engine.counters.get(Counter.NAKS_SENT)}`);
      expect(result.code, result.stderr).toBe(0);
      expect(checker.failures).toEqual([]);
      expect(engine.counters.get(Counter.NAKS_SENT)).toBe(0);
      expect(engine.counters.get(Counter.LOSS_GAP_FILLS)).toBeGreaterThan(0);
      expect(checker.received).toBeLessThan(count);
      expect(checker.received).toBeGreaterThan(count * 0.85);
    }, { petrelLossPerMille: 50 });
    expect(drop.dropped).toBeGreaterThan(0);
  }, 30_000);

  it("reliable=false: Aeron subscribing under its loss interceptor gets whole messages with gaps, and no NAK reaches Petrel", async () => {
    const lastIndex = 20_000;
    await withPeer("Aeron subscribing under its loss interceptor", SEED + 5, async (driver, engine, runtime) => {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const subscriber = new Client(own!.lossySub, [driver.aeronDir, `${channel}|reliable=false`, String(STREAM), String(lastIndex),
        String(MAX_LENGTH), "20"]);
      const publication = engine.addPublication(channel, STREAM);
      runtime.doWork();
      await runtime.driver.ready();
      // Petrel keeps publishing past lastIndex (a lost last message would otherwise never come).
      const total = 10 * lastIndex;
      const lengths = interopLengths(total, MAX_LENGTH);
      const scratch = new Uint8Array(MAX_LENGTH);
      let sent = 0;
      await spin(runtime, 20_000, () => subscriber.exited, () => (sent = offerSome(publication, lengths, sent, total, scratch, 16)));
      const result = await subscriber.done;
      const match = /received (\d+) missing (\d+)/.exec(result.stdout);
      console.log(`reliable=false, Petrel -> Aeron (Aeron's loss interceptor, 5% of data): ${result.stdout.trim().split("\n").pop()}; ` +
        `NAKs received by Petrel ${engine.counters.get(Counter.NAKS_RECEIVED)}`);
      expect(result.code, result.stderr).toBe(0);
      expect(match).not.toBeNull();
      expect(Number(match![2])).toBeGreaterThan(0);
      expect(engine.counters.get(Counter.NAKS_RECEIVED)).toBe(0);
    }, { aeronLoss: "rate=0.05|recv-msg-mask=0x2" });
  }, 30_000);
});
