// Goal: Petrel and the real Aeron C media driver (1.48, built from ../shared/aeron) exchange streams
// in both directions over loopback, every message checked for index (exactly once, in order),
// length and every byte: by Petrel's StreamChecker when Aeron publishes, and by a C client on
// libaeron (test/interop/clients/interop_sub.c) when Petrel publishes. Cases: unicast, multicast on
// lo, loss injected by Petrel's rule chain and by Aeron's own loss interceptor, and messages of
// 64 KiB (fragmented into ~48 frames), and dynamic MDC with both of Aeron's subscription forms. Skipped with a printed reason when PETREL_AERON_BIN is unset;
// CI builds the peer and sets it.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { Engine } from "../../src/core/engine/engine.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { Prng } from "../../src/sim/prng.js";
import { freeUdpPort, offerSome, SeededDropFilter, StreamChecker } from "../drivers/streamSupport.js";
import { buildClients, Client, interopLengths, interopSkipReason, MediaDriver } from "./aeronPeer.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261204);
const STREAM = 1001;
const skipReason = interopSkipReason();
if (skipReason !== undefined) console.log(`interop with Aeron skipped: ${skipReason}`);
/** CI sets PETREL_REQUIRE_AERON=1: there a missing peer is a failure, not a skip. */
const requireAeron = process.env["PETREL_REQUIRE_AERON"] === "1";

describe.runIf(skipReason !== undefined && requireAeron)("interop with Aeron, required here", () => {
  it("has the Aeron peer", () => {
    throw new Error(`PETREL_REQUIRE_AERON=1 but ${skipReason}`);
  });
});

interface Case {
  readonly name: string;
  /** The publication's channel (and the subscription's unless subscriptionChannel is given). */
  readonly channel: (port: number) => string;
  /** The subscription's channel where it differs (MDC), given a second free port. */
  readonly subscriptionChannel?: (port: number, port2: number) => string;
  readonly count: number;
  readonly maxLength: number;
  /** Drop this many per mille of the datagrams Petrel receives (Petrel's rule chain). */
  readonly petrelLossPerMille?: number;
  /** Aeron's loss interceptor on the media driver's incoming datagrams, e.g. "rate=0.05|recv-msg-mask=0xF". */
  readonly aeronLoss?: string;
  readonly timeoutMs: number;
}

const cases: Case[] = [
  { name: "unicast", channel: (p) => `aeron:udp?endpoint=127.0.0.1:${p}`, count: 100_000, maxLength: 2000, timeoutMs: 60_000 },
  { name: "multicast on lo", channel: (p) => `aeron:udp?endpoint=224.0.1.1:${p}|interface=127.0.0.1`, count: 50_000, maxLength: 2000, timeoutMs: 60_000 },
  { name: "unicast, 5% loss in Petrel's rule chain", channel: (p) => `aeron:udp?endpoint=127.0.0.1:${p}`, count: 50_000, maxLength: 2000,
    petrelLossPerMille: 50, timeoutMs: 90_000 },
  { name: "unicast, 5% loss in Aeron's loss interceptor", channel: (p) => `aeron:udp?endpoint=127.0.0.1:${p}`, count: 50_000, maxLength: 2000,
    aeronLoss: "rate=0.05|recv-msg-mask=0xFF", timeoutMs: 90_000 },
  // The stream starts in the last term before the term id wraps from 2^31-1 to -2^31, on 64 KiB
  // terms, so ~20 MB of messages cross the wrap and ~300 term rotations.
  { name: "term id wrap near 2^31",
    channel: (p) => `aeron:udp?endpoint=127.0.0.1:${p}|term-length=64k|init-term-id=2147483600|term-id=2147483647|term-offset=0`,
    count: 20_000, maxLength: 2000, timeoutMs: 60_000 },
  // Datagrams of up to 8 KiB: Petrel's receive slots must hold what Aeron's SETUP announces.
  { name: "mtu=8192", channel: (p) => `aeron:udp?endpoint=127.0.0.1:${p}|mtu=8192`, count: 20_000, maxLength: 20_000, timeoutMs: 60_000 },
  { name: "64 KiB messages", channel: (p) => `aeron:udp?endpoint=127.0.0.1:${p}`, count: 1_000, maxLength: 65_536, timeoutMs: 60_000 },
  // Dynamic multi-destination-cast in Aeron's own subscription forms: `control` without
  // control-mode, and `control` with no endpoint (an ephemeral port the publication learns).
  { name: "dynamic MDC, subscription endpoint + control", channel: (p) => `aeron:udp?control=127.0.0.1:${p}|control-mode=dynamic`,
    subscriptionChannel: (p, p2) => `aeron:udp?endpoint=127.0.0.1:${p2}|control=127.0.0.1:${p}`, count: 20_000, maxLength: 2000, timeoutMs: 60_000 },
  { name: "dynamic MDC, subscription with control only", channel: (p) => `aeron:udp?control=127.0.0.1:${p}|control-mode=dynamic`,
    subscriptionChannel: (p) => `aeron:udp?control=127.0.0.1:${p}`, count: 20_000, maxLength: 2000, timeoutMs: 60_000 },
];

let clients: { pub: string; sub: string; dir: string } | undefined;

describe.skipIf(skipReason !== undefined)("interop with the Aeron C media driver", () => {
  beforeAll(() => {
    clients = buildClients();
  });
  afterAll(() => {
    if (clients !== undefined) rmSync(clients.dir, { recursive: true, force: true });
  });

  async function withDriver<T>(c: Case, body: (driver: MediaDriver) => Promise<T>): Promise<T> {
    const env: Record<string, string> = c.aeronLoss === undefined ? {} : {
      AERON_UDP_CHANNEL_INCOMING_INTERCEPTORS: "loss",
      AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_LOSS_ARGS: c.aeronLoss,
    };
    const driver = new MediaDriver(env);
    try {
      await driver.ready();
      return await body(driver);
    } finally {
      await driver.close();
    }
  }

  function petrelRuntime(c: Case, seed: number): { engine: Engine; runtime: EngineRuntime; drop: SeededDropFilter } {
    const engine = new Engine({ random: new Prng(seed).fork("petrel") });
    const drop = new SeededDropFilter(seed + 1, c.petrelLossPerMille ?? 0, 1000);
    const runtime = new EngineRuntime(engine, createSocketsDriver({ prefer: "auto" }),
      (c.petrelLossPerMille ?? 0) > 0 ? { receiveFilter: drop } : {});
    return { engine, runtime, drop };
  }

  for (const [index, c] of cases.entries()) {
    const seed = SEED + index;
    const replay = `replay: PETREL_SEED=${SEED} PETREL_AERON_BIN=... npx vitest run test/interop/aeron.test.ts -t "${c.name}"`;

    it(`Petrel publishes, Aeron subscribes: ${c.name}`, async () => {
      await withDriver(c, async (driver) => {
        const port = await freeUdpPort();
        const channel = c.channel(port);
        const subscriptionChannel = c.subscriptionChannel?.(port, await freeUdpPort()) ?? channel;
        const subscriber = new Client(clients!.sub, [driver.aeronDir, subscriptionChannel, String(STREAM), String(c.count), String(c.maxLength),
          String(c.timeoutMs / 1000)]);
        const { engine, runtime, drop } = petrelRuntime(c, seed);
        try {
          const publication = engine.addPublication(channel, STREAM);
          runtime.doWork();
          await runtime.driver.ready();
          const lengths = interopLengths(c.count, c.maxLength);
          const scratch = new Uint8Array(c.maxLength);
          const started = performance.now();
          let sent = 0;
          let cycles = 0;
          // Bounded by the wall-clock budget; the C subscriber exits once it has verified every message.
          while (!subscriber.exited && performance.now() - started < c.timeoutMs + 5_000) {
            sent = offerSome(publication, lengths, sent, c.count, scratch, 64);
            runtime.doWork();
            if (++cycles % 64 === 0) await new Promise((r) => setImmediate(r));
          }
          const result = await subscriber.done;
          const elapsedMs = performance.now() - started;
          console.log(`Petrel -> Aeron, ${c.name}: ${c.count} messages verified by libaeron in ${elapsedMs.toFixed(0)} ms; ` +
            `Petrel dropped ${drop.dropped}, NAKs received ${engine.counters.get(Counter.NAKS_RECEIVED)}, ` +
            `retransmits ${engine.counters.get(Counter.RETRANSMITS_SENT)}`);
          expect(result.stderr, replay).toBe("");
          expect(result.code, replay).toBe(0);
          expect(result.stdout).toContain(`verified ${c.count}`);
          expect(sent).toBe(c.count);
          // Aeron's interceptor drops data at the subscriber, which NAKs it; Petrel's rule chain, on the
          // publisher's side, can only drop Aeron's SMs and NAKs, which the protocol outlives.
          if (c.aeronLoss !== undefined) expect(engine.counters.get(Counter.NAKS_RECEIVED)).toBeGreaterThan(0);
          if ((c.petrelLossPerMille ?? 0) > 0) expect(drop.dropped).toBeGreaterThan(0);
        } finally {
          engine.close();
          runtime.doWork();
          await runtime.close();
        }
      });
    }, c.timeoutMs + 30_000);

    it(`Aeron publishes, Petrel subscribes: ${c.name}`, async () => {
      await withDriver(c, async (driver) => {
        const port = await freeUdpPort();
        const channel = c.channel(port);
        const subscriptionChannel = c.subscriptionChannel?.(port, await freeUdpPort()) ?? channel;
        const { engine, runtime, drop } = petrelRuntime(c, seed);
        try {
          const subscription = engine.addSubscription(subscriptionChannel, STREAM);
          runtime.doWork();
          await runtime.driver.ready();
          const publisher = new Client(clients!.pub, [driver.aeronDir, channel, String(STREAM), String(c.count), String(c.maxLength),
            String(c.timeoutMs / 1000)]);
          const checker = new StreamChecker(interopLengths(c.count, c.maxLength));
          const started = performance.now();
          let cycles = 0;
          // Bounded by the wall-clock budget.
          while (checker.received < c.count && checker.failures.length === 0 && performance.now() - started < c.timeoutMs) {
            runtime.doWork();
            checker.drain(subscription);
            if (++cycles % 64 === 0) await new Promise((r) => setImmediate(r));
          }
          const elapsedMs = performance.now() - started;
          const result = await publisher.done;
          console.log(`Aeron -> Petrel, ${c.name}: ${checker.received} of ${c.count} messages verified by Petrel in ${elapsedMs.toFixed(0)} ms; ` +
            `Petrel dropped ${drop.dropped}, NAKs sent ${engine.counters.get(Counter.NAKS_SENT)}`);
          expect(checker.failures, replay).toEqual([]);
          expect(checker.received, replay).toBe(c.count);
          expect(result.stderr, replay).toBe("");
          expect(result.code, replay).toBe(0);
          if (c.aeronLoss === undefined && (c.petrelLossPerMille ?? 0) > 0) {
            expect(engine.counters.get(Counter.NAKS_SENT)).toBeGreaterThan(0);
          }
        } finally {
          engine.close();
          runtime.doWork();
          await runtime.close();
        }
      });
    }, c.timeoutMs + 30_000);
  }
});
