// Goal: the runtime agent's loop and idle strategies behave as documented: start() runs duty cycles
// and the application's callback until stop(), under each idle strategy, and a stream crosses real
// sockets that way; backoff spins, then yields, then sleeps with a doubling bound; a clock that
// steps backwards never makes the engine see time regress. The Effect shell acquires an engine on a
// sockets driver in a Scope and releases every socket when the scope closes, and a bind failure
// surfaces as a typed DriverError in the error channel.
import { Effect, Exit } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine/engine.js";
import { DriverError } from "../../src/drivers/driverError.js";
import { acquirePetrelNode, PetrelNode, petrelNodeLayer } from "../../src/drivers/effect.js";
import { BackoffIdleStrategy, idleStrategy, type IdleStrategyName } from "../../src/drivers/idleStrategy.js";
import type { Driver } from "../../src/drivers/driver.js";
import type { ReceiveBatch } from "../../src/drivers/receiveBatch.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import type { TransmitBatch } from "../../src/core/transmitBatch.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { Prng } from "../../src/sim/prng.js";
import { freeUdpPort, messageLengths, offerSome, STREAM_ID, StreamChecker } from "./streamSupport.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261124);
const runtimes: EngineRuntime[] = [];
afterEach(async () => {
  for (const r of runtimes.splice(0)) {
    r.engine.close();
    await r.stop();
    r.doWork();
    await r.close();
  }
});


describe("runtime agent", () => {
  for (const name of ["busy-spin", "yield", "backoff", "park"] as IdleStrategyName[]) {
    it(`start() with the ${name} idle strategy streams 2x10^4 messages over loopback`, async () => {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const prng = new Prng(SEED);
      const pub = new EngineRuntime(new Engine({ random: prng.fork("p") }), createSocketsDriver(), { idle: idleStrategy(name) });
      const sub = new EngineRuntime(new Engine({ random: prng.fork("s") }), createSocketsDriver(), { idle: idleStrategy(name) });
      runtimes.push(pub, sub);
      const count = 20_000;
      const lengths = messageLengths(SEED, count);
      const checker = new StreamChecker(lengths);
      const subscription = sub.engine.addSubscription(channel, STREAM_ID);
      const publication = pub.engine.addPublication(channel, STREAM_ID);
      const scratch = new Uint8Array(8192);
      let sent = 0;
      const pubLoop = pub.start(() => {
        const before = sent;
        sent = offerSome(publication, lengths, sent, count, scratch, 256);
        return sent - before;
      });
      const subLoop = sub.start(() => checker.drain(subscription));
      const deadline = performance.now() + 30_000;
      while (checker.received < count && checker.failures.length === 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await pub.stop();
      await sub.stop();
      await pubLoop;
      await subLoop;
      expect(checker.failures).toEqual([]);
      expect(checker.received).toBe(count);
      expect(pub.isRunning).toBe(false);
      expect(pub.counters.cycles).toBeGreaterThan(0);
    });
  }

  it("backoff spins, then yields, then sleeps 1, 2, 4 ... up to its maximum, and resets on work", () => {
    const backoff = new BackoffIdleStrategy({ maxSpins: 3, maxYields: 2, minSleepMs: 1, maxSleepMs: 4 });
    const kinds: string[] = [];
    for (let i = 0; i < 9; i++) {
      const wait = backoff.idle(0);
      kinds.push(wait === undefined ? "spin" : "wait");
    }
    // Spins may also yield once per 5 ms slice; in a tight test loop they return undefined.
    expect(kinds.slice(0, 3)).toEqual(["spin", "spin", "spin"]);
    expect(kinds.slice(3)).toEqual(["wait", "wait", "wait", "wait", "wait", "wait"]);
    expect((backoff as unknown as { sleepMs: number }).sleepMs).toBe(4);
    backoff.idle(1);
    expect((backoff as unknown as { sleepMs: number }).sleepMs).toBe(1);
  });

  for (const transmitFirst of [true, false]) {
    it(`transmitFirst ${transmitFirst}: an offer made between cycles is sent ${transmitFirst ? "before" : "after"} the next cycle's receive calls`, async () => {
      const port = await freeUdpPort();
      const calls: string[] = [];
      const inner = createSocketsDriver();
      const driver: Driver = Object.create(inner) as Driver;
      Object.assign(driver, {
        pollBatch: (batch: ReceiveBatch): number => {
          calls.push("receive");
          return inner.pollBatch(batch);
        },
        transmitBatch: (batch: TransmitBatch, start?: number): number => {
          calls.push(`send ${batch.count - (start ?? 0)}`);
          return inner.transmitBatch(batch, start);
        },
      });
      const runtime = new EngineRuntime(new Engine({ random: new Prng(SEED).fork("t") }), driver, { transmitFirst });
      runtimes.push(runtime);
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const subscription = runtime.engine.addSubscription(channel, STREAM_ID);
      const publication = runtime.engine.addPublication(channel, STREAM_ID);
      const deadline = performance.now() + 10_000;
      while (!publication.isConnected && performance.now() < deadline) runtime.doWork();
      expect(publication.isConnected).toBe(true);
      for (let i = 0; i < 100; i++) runtime.doWork();
      const message = new Uint8Array(32).fill(9);
      for (let round = 0; round < 5; round++) {
        calls.length = 0;
        expect(publication.offer(message, 0, message.length)).toBeGreaterThan(0);
        runtime.doWork();
        const firstSend = calls.findIndex((c) => c.startsWith("send"));
        expect(firstSend, calls.join(", ")).toBeGreaterThanOrEqual(0);
        // transmitFirst: the cycle's first system call sends the message; otherwise receives come first.
        if (transmitFirst) expect(firstSend, calls.join(", ")).toBe(0);
        else expect(calls.slice(0, firstSend), calls.join(", ")).toContain("receive");
        let delivered = 0;
        while (delivered === 0 && performance.now() < deadline) {
          runtime.doWork();
          delivered = subscription.poll(() => undefined, 10);
        }
        expect(delivered).toBe(1);
      }
    });
  }

  it("never lets the engine see time go backwards, whatever the clock does", () => {
    const clock = [5_000, 4_000, 6_000, 1_000];
    let i = 0;
    const engine = new Engine({ random: new Prng(SEED).fork("clock") });
    const runtime = new EngineRuntime(engine, createSocketsDriver(), { clockNs: () => clock[Math.min(i++, clock.length - 1)]! });
    runtimes.push(runtime);
    for (let k = 0; k < 4; k++) runtime.doWork();
    expect(engine.nowNs).toBe(6_000);
  });
});

describe("Effect shell", () => {
  it("acquires an engine on a sockets driver in a Scope and closes every socket when the scope ends", async () => {
    const port = await freeUdpPort();
    let runtime: EngineRuntime | undefined;
    const program = Effect.gen(function* () {
      const node = yield* PetrelNode;
      runtime = node.runtime;
      node.engine.addSubscription(`aeron:udp?endpoint=127.0.0.1:${port}`, STREAM_ID);
      node.runtime.doWork();
      return node.runtime.driver.stats().sockets;
    });
    const sockets = await Effect.runPromise(Effect.provide(program, petrelNodeLayer({ engine: { random: new Prng(SEED).fork("e") } })));
    expect(sockets).toBe(1);
    expect(runtime!.driver.stats().sockets).toBe(0);
  });

  it("reports a port in use as a DriverError (EADDRINUSE) in the error channel", async () => {
    const port = await freeUdpPort();
    const first = Effect.gen(function* () {
      const a = yield* acquirePetrelNode({ engine: { random: new Prng(SEED).fork("a") } });
      a.engine.addSubscription(`aeron:udp?endpoint=127.0.0.1:${port}`, STREAM_ID);
      a.runtime.doWork();
      const b = yield* acquirePetrelNode({ engine: { random: new Prng(SEED).fork("b") } });
      b.engine.addSubscription(`aeron:udp?endpoint=127.0.0.1:${port}`, STREAM_ID);
      // The open happens in the duty cycle; lift its typed failure into the error channel.
      yield* Effect.try({ try: () => b.runtime.doWork(), catch: (e) => e as DriverError });
    });
    const exit = await Effect.runPromiseExit(Effect.scoped(first));
    expect(Exit.isFailure(exit)).toBe(true);
    const error = Exit.isFailure(exit) ? findError(exit.cause) : undefined;
    expect(error).toBeInstanceOf(DriverError);
    expect((error as DriverError).code).toBe("EADDRINUSE");
  });
});

describe("the Effect node's loop", () => {
  it("startLoop: a port in use ends the loop with a DriverError in loopExit's error channel, never an unhandled rejection", async () => {
    const port = await freeUdpPort();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const program = Effect.gen(function* () {
        const a = yield* acquirePetrelNode({ engine: { random: new Prng(SEED).fork("a") } });
        a.engine.addSubscription(`aeron:udp?endpoint=127.0.0.1:${port}`, STREAM_ID);
        yield* a.doWork;
        const b = yield* acquirePetrelNode({ engine: { random: new Prng(SEED).fork("b") }, startLoop: true });
        b.engine.addSubscription(`aeron:udp?endpoint=127.0.0.1:${port}`, STREAM_ID);
        yield* b.loopExit;
      });
      const exit = await Effect.runPromiseExit(Effect.scoped(program));
      // Give a stray rejection the turns it would need to surface.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(Exit.isFailure(exit)).toBe(true);
      const error = Exit.isFailure(exit) ? findError(exit.cause) : undefined;
      expect(error).toBeInstanceOf(DriverError);
      expect((error as DriverError).code).toBe("EADDRINUSE");
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

function findError(cause: unknown): unknown {
  // Walk the cause structure for the first DriverError (robust to Cause's internal shape).
  const seen = new Set<unknown>();
  const stack: unknown[] = [cause];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof DriverError) return item;
    if (typeof item !== "object" || item === null || seen.has(item)) continue;
    seen.add(item);
    for (const value of Object.values(item)) stack.push(value);
    if (Array.isArray(item)) stack.push(...item);
  }
  return undefined;
}
