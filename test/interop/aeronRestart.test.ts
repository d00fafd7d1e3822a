// Goal (issue #12, interop matrix: end of stream and publisher restart), both directions:
// - an Aeron publisher (the C client on libaeron, through the real media driver) sends a stream to
//   a Petrel subscription, closes (end of stream), and a second Aeron publisher process then sends
//   another on the same channel. Petrel must deliver both sessions whole (index, length and every
//   byte, per session), see the first image reach end of stream and go, and take the second
//   session as a new image;
// - a Petrel publication sends a stream, closes, and a new one sends another: Aeron's subscriber
//   (clients/interop_sessions_sub.c) must verify both sessions whole.
// Skipped with a printed reason when PETREL_AERON_BIN is unset; CI sets it.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Image } from "../../src/core/engine/subscription.js";
import { Engine } from "../../src/core/engine/engine.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { Prng } from "../../src/sim/prng.js";
import { freeUdpPort, offerSome, StreamChecker } from "../drivers/streamSupport.js";
import { buildClients, Client, interopLengths, interopSkipReason, MediaDriver } from "./aeronPeer.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261205);
const STREAM = 1003;
const COUNT = 5_000;
const MAX_LENGTH = 2_000;
const skipReason = interopSkipReason();
if (skipReason !== undefined) console.log(`interop with Aeron (publisher restart) skipped: ${skipReason}`);

let clients: ReturnType<typeof buildClients> | undefined;

describe.skipIf(skipReason !== undefined)("interop with the Aeron C media driver: end of stream and publisher restart", () => {
  beforeAll(() => {
    clients = buildClients(["interop_sessions_sub"]);
  });
  afterAll(() => {
    if (clients !== undefined) rmSync(clients.dir, { recursive: true, force: true });
  });

  it("Aeron publishes, closes and restarts: Petrel delivers both sessions whole and sees the first end", async () => {
    const driver = new MediaDriver();
    await driver.ready();
    const engine = new Engine({ random: new Prng(SEED).fork("petrel") });
    const runtime = new EngineRuntime(engine, createSocketsDriver({ prefer: "auto" }));
    try {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const available: number[] = [];
      const ended: Array<{ sessionId: number; endOfStream: boolean }> = [];
      const subscription = engine.addSubscription(channel, STREAM, {
        onAvailableImage: (image: Image) => available.push(image.sessionId),
        onUnavailableImage: (image: Image) => ended.push({ sessionId: image.sessionId, endOfStream: image.isEndOfStream }),
      });
      runtime.doWork();
      await runtime.driver.ready();
      const checkers = new Map<number, StreamChecker>();
      const handler = (buffer: Uint8Array, offset: number, length: number, header: { sessionId: number }): void => {
        let checker = checkers.get(header.sessionId);
        if (checker === undefined) {
          checker = new StreamChecker(interopLengths(COUNT, MAX_LENGTH));
          checkers.set(header.sessionId, checker);
        }
        checker.handler(buffer, offset, length);
      };
      const replay = `replay: PETREL_SEED=${SEED} PETREL_AERON_BIN=... npx vitest run test/interop/aeronRestart.test.ts`;
      const sessionsDone = (n: number): boolean => [...checkers.values()].filter((c) => c.received === COUNT).length >= n;

      for (const round of [1, 2]) {
        const publisher = new Client(clients!.pub, [driver.aeronDir, channel, String(STREAM), String(COUNT), String(MAX_LENGTH), "30"]);
        const started = performance.now();
        let cycles = 0;
        // Bounded by 30 s of wall clock.
        while (!sessionsDone(round) && performance.now() - started < 30_000) {
          runtime.doWork();
          subscription.poll(handler, 1024);
          if (++cycles % 64 === 0) await new Promise((r) => setImmediate(r));
        }
        const result = await publisher.done;
        expect(result.code, `${replay}\n${result.stderr}`).toBe(0);
        // The first session's image reaches end of stream and goes before the second starts.
        if (round === 1) {
          const endedAt = performance.now();
          while (ended.length === 0 && performance.now() - endedAt < 15_000) {
            runtime.doWork();
            subscription.poll(handler, 1024);
            await new Promise((r) => setTimeout(r, 1));
          }
          console.log(`Aeron -> Petrel, publisher restart: first session's image went ${(performance.now() - endedAt).toFixed(0)} ms after its publisher exited`);
        }
      }
      const sessions = [...checkers.entries()];
      console.log(`Aeron -> Petrel, publisher restart: sessions ${sessions.map(([s, c]) => `${s}: ${c.received}`).join(", ")} of ${COUNT} each`);
      expect(sessions).toHaveLength(2);
      for (const [, checker] of sessions) {
        expect(checker.failures).toEqual([]);
        expect(checker.received).toBe(COUNT);
      }
      expect(available).toEqual(sessions.map(([s]) => s));
      expect(ended[0]).toEqual({ sessionId: sessions[0]![0], endOfStream: true });
    } finally {
      engine.close();
      runtime.doWork();
      await runtime.close();
      await driver.close();
    }
  }, 90_000);

  it("Petrel publishes, closes and publishes again: Aeron's subscriber verifies both sessions whole", async () => {
    const driver = new MediaDriver();
    await driver.ready();
    const engine = new Engine({ random: new Prng(SEED + 1).fork("petrel") });
    const runtime = new EngineRuntime(engine, createSocketsDriver({ prefer: "auto" }));
    try {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const subscriber = new Client(clients!.paths["interop_sessions_sub"]!, [driver.aeronDir, channel, String(STREAM), "2", String(COUNT),
        String(MAX_LENGTH), "30"]);
      const lengths = interopLengths(COUNT, MAX_LENGTH);
      const scratch = new Uint8Array(MAX_LENGTH);
      const sessions: number[] = [];
      const started = performance.now();
      for (let round = 0; round < 2; round++) {
        const publication = engine.addPublication(channel, STREAM);
        sessions.push(publication.sessionId);
        let sent = 0;
        let cycles = 0;
        // Bounded by 30 s of wall clock.
        while (sent < COUNT && !subscriber.exited && performance.now() - started < 30_000) {
          sent = offerSome(publication, lengths, sent, COUNT, scratch, 64);
          runtime.doWork();
          if (++cycles % 64 === 0) await new Promise((r) => setImmediate(r));
        }
        expect(sent).toBe(COUNT);
        publication.close();
      }
      // The second publication lingers while Aeron reads the rest; the client exits once verified.
      while (!subscriber.exited && performance.now() - started < 30_000) {
        runtime.doWork();
        await new Promise((r) => setTimeout(r, 1));
      }
      const result = await subscriber.done;
      console.log(`Petrel -> Aeron, publisher restart: sessions ${sessions.join(", ")}: ${result.stdout.trim().split("\n").pop()} in ${(performance.now() - started).toFixed(0)} ms`);
      expect(sessions[0]).not.toBe(sessions[1]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`verified 2 x ${COUNT}`);
    } finally {
      engine.close();
      runtime.doWork();
      await runtime.close();
      await driver.close();
    }
  }, 90_000);
});
