// Goal: a user's own Effect program runs under the simulator in simulated time (issue #13). A
// price publisher written with Effect.sleep and Effect.repeat/Schedule sends a tick every 10 ms of
// simulated time; a subscriber written with a Queue, a polling fiber and Effect.timeout reads them
// over a simulated link with 5 ms latency and 5% loss. Checked:
// - every tick arrives, in order, and the Clock the programs read is the simulation's: the send
//   times are exactly 10 ms apart, every receive is at least the link latency after its send;
// - Effect.timeout fires at the simulated deadline (the subscriber's last wait ends at exactly 3 s
//   of silence), not on a wall clock;
// - the run is deterministic: the same seed gives the same transcript and trace hash, another seed
//   another one (the losses differ).
import { Clock, Effect, Exit, Option, Queue, Schedule } from "effect";
import { describe, expect, it } from "vitest";
import { SimulatedEffects } from "../../src/effect/simulated.js";
import { attachEngine } from "../../src/sim/engineHost.js";
import { ratio } from "../../src/sim/prng.js";
import { Simulation } from "../../src/sim/simulator.js";

const CHANNEL = "aeron:udp?endpoint=10.0.0.2:40123|term-length=64k";
const TICKS = 200;
const LATENCY_MS = 5;

interface Transcript {
  readonly sentAtMs: number[];
  readonly received: Array<{ index: number; sentAtMs: number; receivedAtMs: number }>;
  timedOutAtMs: number;
  readonly traceHash: string;
}

function run(seed: number): Transcript {
  const sim = new Simulation({ seed, defaultLink: { latencyNs: LATENCY_MS * 1_000_000, loss: ratio(5, 100) } });
  const sentAtMs: number[] = [];
  const received: Transcript["received"] = [];
  let timedOutAtMs = -1;
  let publisherExit: Exit.Exit<unknown, unknown> | undefined;
  let subscriberExit: Exit.Exit<unknown, unknown> | undefined;

  sim.host("pub", (host) => {
    const node = attachEngine(host);
    const publication = node.engine.addPublication(CHANNEL, 10);
    const effects = new SimulatedEffects(node);
    const message = new Uint8Array(12);
    const view = new DataView(message.buffer);
    let index = 0;
    // The user's publisher: one tick every 10 ms, retrying while not connected or back-pressured.
    const sendTick = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis;
      view.setUint32(0, index, true);
      view.setFloat64(4, nowMs, true);
      while (publication.offer(message) < 0) yield* Effect.sleep("1 millis");
      sentAtMs.push(yield* Clock.currentTimeMillis);
      index++;
    });
    const publisher = Effect.gen(function* () {
      // Wait for the subscriber's image (SETUP, SM) before the timed ticks start.
      while (!publication.isConnected) yield* Effect.sleep("1 millis");
      yield* sendTick.pipe(Effect.andThen(Effect.sleep("10 millis")), Effect.repeat(Schedule.recurs(TICKS - 1)));
    });
    const fiber = effects.fork(publisher);
    fiber.addObserver((exit) => (publisherExit = exit));
  }, { ip: "10.0.0.1" });

  sim.host("sub", (host) => {
    const node = attachEngine(host);
    const subscription = node.engine.addSubscription(CHANNEL, 10);
    const effects = new SimulatedEffects(node);
    const subscriber = Effect.gen(function* () {
      const queue = yield* Queue.unbounded<{ index: number; sentAtMs: number; receivedAtMs: number }>();
      // A polling fiber: the engine's messages into the queue, stamped with the simulated clock.
      yield* Effect.forkChild(Effect.forever(Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis;
        subscription.poll((buffer, offset) => {
          const view = new DataView(buffer.buffer, buffer.byteOffset + offset, 12);
          Queue.offerUnsafe(queue, { index: view.getUint32(0, true), sentAtMs: view.getFloat64(4, true), receivedAtMs: nowMs });
        }, 16);
        yield* Effect.sleep("1 millis");
      })));
      // The consumer: take until 3 s pass with nothing new.
      for (;;) {
        const next = yield* Queue.take(queue).pipe(Effect.timeoutOption("3 seconds"));
        if (Option.isNone(next)) {
          timedOutAtMs = yield* Clock.currentTimeMillis;
          return;
        }
        received.push(next.value);
      }
    });
    const fiber = effects.fork(subscriber);
    fiber.addObserver((exit) => (subscriberExit = exit));
  }, { ip: "10.0.0.2" });

  sim.runUntil(() => subscriberExit !== undefined, 60e9);
  expect(publisherExit !== undefined && Exit.isSuccess(publisherExit), `publisher: ${String(publisherExit)}`).toBe(true);
  expect(subscriberExit !== undefined && Exit.isSuccess(subscriberExit), `subscriber: ${String(subscriberExit)}`).toBe(true);
  return { sentAtMs, received, timedOutAtMs, traceHash: sim.traceHash() };
}

describe("a user's Effect program under the simulator, in simulated time", () => {
  it("delivers every tick in order, with Clock, sleep and timeouts on simulated time", () => {
    const seed = 20261205;
    const t = run(seed);
    expect(t.sentAtMs).toHaveLength(TICKS);
    for (let i = 1; i < TICKS; i++) expect(t.sentAtMs[i]! - t.sentAtMs[i - 1]!, `seed ${seed}, tick ${i}`).toBe(10);
    expect(t.received.map((r) => r.index)).toEqual(Array.from({ length: TICKS }, (_, i) => i));
    for (const r of t.received) {
      expect(r.sentAtMs).toBe(t.sentAtMs[r.index]);
      expect(r.receivedAtMs - r.sentAtMs, `seed ${seed}, tick ${r.index}`).toBeGreaterThanOrEqual(LATENCY_MS);
    }
    // Some ticks were lost on the link and recovered by NAK: they arrive later than one latency.
    expect(t.received.some((r) => r.receivedAtMs - r.sentAtMs > 2 * LATENCY_MS)).toBe(true);
    // The last take waited exactly 3 simulated seconds after the last tick was taken.
    expect(t.timedOutAtMs - t.received[TICKS - 1]!.receivedAtMs).toBe(3000);
  });

  it("is deterministic: one seed, one transcript; another seed, another", () => {
    const a = run(7);
    const b = run(7);
    const c = run(8);
    expect(b).toEqual(a);
    expect(c.traceHash).not.toBe(a.traceHash);
    expect(c.received.map((r) => r.receivedAtMs)).not.toEqual(a.received.map((r) => r.receivedAtMs));
  });
});
