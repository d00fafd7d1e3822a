// Goal: over real UDP sockets on 127.0.0.1, two engines joined by the sockets driver and the runtime
// agent deliver a stream of 10^6 mixed-size messages complete, in order and byte-identical, even
// with 5% of received datagrams dropped by a seeded filter between driver and engine; the protocol's
// counters show the repair (NAKs sent and received, retransmits). The same holds, on a smaller
// stream, with GSO/GRO turned off and on the node:dgram fallback driver.
import { afterEach, describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine/engine.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import type { DriverOptions } from "../../src/drivers/driver.js";
import { Prng } from "../../src/sim/prng.js";
import { messageLengths, offerSome, protocolCounters, SeededDropFilter, STREAM_ID, StreamChecker } from "./streamSupport.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261124);
const replay = `replay: PETREL_SEED=${SEED} npx vitest run test/drivers/loopback.test.ts`;

const runtimes: EngineRuntime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) {
    runtime.engine.close();
    runtime.doWork();
    await runtime.close();
  }
});

interface StreamCase {
  readonly count: number;
  readonly lossPerMille: number;
  readonly driver: DriverOptions & { prefer?: "auto" | "native" | "dgram" };
  readonly wallMs: number;
}

async function runLoopbackStream(seed: number, c: StreamCase) {
  const port = 20000 + new Prng(seed).fork("port").intBelow(20000);
  const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=1m`;
  const prng = new Prng(seed);
  const publisherEngine = new Engine({ random: prng.fork("publisher") });
  const subscriberEngine = new Engine({ random: prng.fork("subscriber") });
  const publisherDrop = new SeededDropFilter(seed + 1, c.lossPerMille, 1000);
  const subscriberDrop = new SeededDropFilter(seed + 2, c.lossPerMille, 1000);
  const pub = new EngineRuntime(publisherEngine, createSocketsDriver(c.driver), c.lossPerMille > 0 ? { receiveFilter: publisherDrop } : {});
  const sub = new EngineRuntime(subscriberEngine, createSocketsDriver(c.driver), c.lossPerMille > 0 ? { receiveFilter: subscriberDrop } : {});
  runtimes.push(pub, sub);
  const subscription = subscriberEngine.addSubscription(channel, STREAM_ID);
  sub.doWork();
  await sub.driver.ready();
  const publication = publisherEngine.addPublication(channel, STREAM_ID);
  pub.doWork();
  await pub.driver.ready();

  const lengths = messageLengths(seed, c.count);
  const checker = new StreamChecker(lengths);
  const scratch = new Uint8Array(8192);
  const needsLoop = pub.driver.needsEventLoop;
  let sent = 0;
  const started = performance.now();
  let cycles = 0;
  // Bounded by the wall-clock budget.
  while (checker.received < c.count && checker.failures.length === 0) {
    sent = offerSome(publication, lengths, sent, c.count, scratch, 256);
    pub.doWork();
    sub.doWork();
    checker.drain(subscription);
    if (++cycles % 64 === 0) {
      if (performance.now() - started > c.wallMs) break;
      if (needsLoop) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const elapsedMs = performance.now() - started;
  return { checker, sent, elapsedMs, pub, sub, publisherDrop, subscriberDrop, publisherEngine, subscriberEngine };
}

describe("loopback stream over the sockets driver", () => {
  it("delivers 10^6 mixed-size messages in order with 5% receive loss; NAKs and retransmits repair it", async () => {
    const count = 1_000_000;
    const r = await runLoopbackStream(SEED, { count, lossPerMille: 50, driver: { prefer: "auto" }, wallMs: 100_000 });
    const publisher = protocolCounters(r.publisherEngine);
    const subscriber = protocolCounters(r.subscriberEngine);
    console.log(`10^6 messages in ${r.elapsedMs.toFixed(0)} ms (${r.pub.driver.kind}); dropped ${r.subscriberDrop.dropped} at the subscriber, ` +
      `${r.publisherDrop.dropped} at the publisher; publisher ${JSON.stringify(publisher)}; subscriber ${JSON.stringify(subscriber)}; ` +
      `driver ${JSON.stringify(r.pub.driver.stats())}`);
    expect(r.checker.failures, replay).toEqual([]);
    expect(r.checker.received, replay).toBe(count);
    expect(r.subscriberDrop.dropped).toBeGreaterThan(0);
    expect(subscriber.naksSent).toBeGreaterThan(0);
    expect(publisher.naksReceived).toBeGreaterThan(0);
    expect(publisher.retransmitsSent).toBeGreaterThan(0);
    expect(subscriber.invalidPackets).toBe(0);
  });
});
