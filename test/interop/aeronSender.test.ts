// Goal: the sender side of issue #12 against the real Aeron C media driver (1.48): a Petrel
// publication to an Aeron subscriber
//  - stays connected through 15 s of idleness with the subscriber's cc=cubic, measuring RTT
//    (AERON_CUBICCONGESTIONCONTROL_MEASURERTT=true; its RTTM requests, answered, used to starve
//    Petrel's heartbeats, and Aeron's image timed out at 10 s);
//  - sees the subscriber's close at once, by its EOS status messages, instead of after the 5 s
//    connection timeout;
//  - with eos=false ends without an end-of-stream (Aeron's image never reaches end of stream),
//    and with the default it does;
// an idle Aeron publication to a Petrel cc=cubic subscriber stays connected for 15 s (reverse);
// and a Petrel subscription that rejects an Aeron publication's image sends error frames that
// Aeron's client reports through its publication error frame handler (interop_errframe_pub.c).
// (Aeron's C client cannot reject an image in 1.48, so a Petrel publication receiving error frames
// is checked in test/engine/errorFrames.test.ts only.)
// Every message is checked by the C client (test/interop/clients/interop_hold_sub.c). Skipped with
// a printed reason when PETREL_AERON_BIN is unset; CI sets it.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { Engine } from "../../src/core/engine/engine.js";
import type { Publication } from "../../src/core/engine/publication.js";
import type { Image } from "../../src/core/engine/subscription.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { Prng } from "../../src/sim/prng.js";
import { freeUdpPort, offerSome, StreamChecker } from "../drivers/streamSupport.js";
import { buildClients, Client, interopLengths, interopSkipReason, MediaDriver } from "./aeronPeer.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261205);
const STREAM = 1001;
const skipReason = interopSkipReason();
if (skipReason !== undefined) console.log(`sender interop with Aeron skipped: ${skipReason}`);

/** Resolves once `client` has printed a line starting with `prefix`, with the time it was seen; rejects at the deadline. */
async function lineFrom(client: Client, prefix: string, pump: () => void, timeoutMs: number): Promise<number> {
  const started = performance.now();
  let cycles = 0;
  // Bounded by the wall-clock budget.
  while (performance.now() - started < timeoutMs) {
    if (client.output.split("\n").some((line) => line.startsWith(prefix))) return performance.now();
    if (client.exited) break;
    pump();
    if (++cycles % 64 === 0) await new Promise((r) => setImmediate(r));
  }
  throw new Error(`no "${prefix}" from the Aeron subscriber within ${timeoutMs} ms; it printed: ${client.output}`);
}

let clients: ReturnType<typeof buildClients> | undefined;
let holdSub: { path: string } | undefined;
let errorFramePub: { path: string } | undefined;
let holdPub: { path: string } | undefined;

describe.skipIf(skipReason !== undefined)("sender conformance against the Aeron C media driver", () => {
  beforeAll(() => {
    clients = buildClients(["interop_hold_sub", "interop_errframe_pub", "interop_hold_pub"]);
    holdSub = { path: clients.paths["interop_hold_sub"]! };
    errorFramePub = { path: clients.paths["interop_errframe_pub"]! };
    holdPub = { path: clients.paths["interop_hold_pub"]! };
  });
  afterAll(() => {
    if (clients !== undefined) rmSync(clients.dir, { recursive: true, force: true });
  });

  async function withPetrel(seed: number, body: (engine: Engine, runtime: EngineRuntime, driver: MediaDriver) => Promise<void>,
    driverEnv: Record<string, string> = {}): Promise<void> {
    const driver = new MediaDriver(driverEnv);
    const engine = new Engine({ random: new Prng(seed).fork("petrel") });
    const runtime = new EngineRuntime(engine, createSocketsDriver({ prefer: "auto" }));
    try {
      await driver.ready();
      await body(engine, runtime, driver);
    } finally {
      engine.close();
      runtime.doWork();
      await runtime.close();
      await driver.close();
    }
  }

  /** Offers `count` messages (the interop content rule) while pumping the runtime, until `client` prints "verified". */
  async function sendAll(publication: Publication, runtime: EngineRuntime, client: Client, count: number, maxLength: number): Promise<void> {
    const lengths = interopLengths(count, maxLength);
    const scratch = new Uint8Array(maxLength);
    let sent = 0;
    await lineFrom(client, "verified", () => {
      sent = offerSome(publication, lengths, sent, count, scratch, 64);
      runtime.doWork();
    }, 15_000);
    expect(sent).toBe(count);
  }

  it("an idle Petrel publication to an Aeron cc=cubic subscriber stays connected for 15 s; Aeron's close is seen at once (EOS SM)", async () => {
    await withPetrel(SEED, async (engine, runtime, driver) => {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const holdS = 15;
      const client = new Client(holdSub!.path, [driver.aeronDir, `${channel}|cc=cubic`, String(STREAM), "10", "1000", String(holdS)]);
      const publication = engine.addPublication(channel, STREAM);
      runtime.doWork();
      await runtime.driver.ready();
      await sendAll(publication, runtime, client, 10, 1000);
      const heartbeatsBefore = engine.counters.get(Counter.HEARTBEATS_SENT);
      const rttmBefore = engine.counters.get(Counter.RTTM_SENT);
      let disconnectedDuringHold = false;
      await lineFrom(client, "held", () => {
        runtime.doWork();
        if (!publication.isConnected) disconnectedDuringHold = true;
      }, (holdS + 5) * 1000);
      const heartbeats = engine.counters.get(Counter.HEARTBEATS_SENT) - heartbeatsBefore;
      const rttmReplies = engine.counters.get(Counter.RTTM_SENT) - rttmBefore;
      // Aeron's subscriber printed no "unavailable" line: its image lived through the hold.
      expect(client.output).not.toContain("unavailable");
      expect(disconnectedDuringHold).toBe(false);
      expect(rttmReplies).toBeGreaterThan(0);
      // One heartbeat per 100 ms of idleness (Aeron's rule), within the slack of a shared machine (each
      // heartbeat is timed from the previous one, so a late duty cycle delays the rest). The
      // previous sender sent 16 in 15 s here.
      expect(heartbeats).toBeGreaterThanOrEqual(holdS * 10 * 0.8);
      expect(heartbeats).toBeLessThanOrEqual(holdS * 10 * 1.1 + 5);
      // The subscriber closes: Aeron's driver sends SMs with the EOS flag; the publication drops it at once.
      const closedAt = await lineFrom(client, "closed", () => runtime.doWork(), 5_000);
      let droppedAt = -1;
      const started = performance.now();
      // Bounded: 4 s, below the 5 s connection timeout that used to be the only way to notice.
      while (performance.now() - started < 4_000) {
        runtime.doWork();
        if (!publication.isConnected) {
          droppedAt = performance.now();
          break;
        }
        await new Promise((r) => setImmediate(r));
      }
      const result = await client.done;
      console.log(`Petrel -> Aeron, idle cc=cubic: held ${holdS} s with ${heartbeats} heartbeats and ${rttmReplies} RTTM replies; ` +
        `subscriber close seen ${droppedAt < 0 ? "never" : `${(droppedAt - closedAt).toFixed(0)} ms`} after it closed ` +
        `(EOS SMs received ${engine.counters.get(Counter.STATUS_MESSAGES_EOS_RECEIVED)})`);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(droppedAt).toBeGreaterThan(0);
      expect(engine.counters.get(Counter.STATUS_MESSAGES_EOS_RECEIVED)).toBeGreaterThan(0);
    }, { AERON_CUBICCONGESTIONCONTROL_MEASURERTT: "true" });
  }, 45_000);

  it("reverse: an idle Aeron publication to a Petrel cc=cubic subscriber stays connected for 15 s, the image never timing out", async () => {
    await withPetrel(SEED + 4, async (engine, runtime, driver) => {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const holdS = 15;
      let unavailable = 0;
      const subscription = engine.addSubscription(`${channel}|cc=cubic`, STREAM, { onUnavailableImage: () => unavailable++ });
      runtime.doWork();
      await runtime.driver.ready();
      const client = new Client(holdPub!.path, [driver.aeronDir, channel, String(STREAM), "10", "1000", String(holdS)]);
      const checker = new StreamChecker(interopLengths(10, 1000));
      await lineFrom(client, "held", () => {
        runtime.doWork();
        checker.drain(subscription);
      }, (holdS + 8) * 1000);
      const result = await client.done;
      console.log(`Aeron -> Petrel, idle cc=cubic: ${checker.received} messages verified, held ${holdS} s; Petrel sent ` +
        `${engine.counters.get(Counter.RTTM_SENT)} RTTM requests, received ${engine.counters.get(Counter.HEARTBEATS_RECEIVED)} heartbeats`);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(checker.failures).toEqual([]);
      expect(checker.received).toBe(10);
      expect(result.stdout).not.toContain("disconnected");
      expect(unavailable).toBe(0);
      expect(engine.counters.get(Counter.IMAGES_TIMED_OUT)).toBe(0);
      expect(engine.counters.get(Counter.RTTM_SENT)).toBeGreaterThan(0);
    });
  }, 45_000);

  for (const eos of [false, true]) {
    it(`eos=${eos}: Aeron's image ${eos ? "reaches" : "never reaches"} end of stream when the Petrel publication closes`, async () => {
      await withPetrel(SEED + (eos ? 1 : 2), async (engine, runtime, driver) => {
        const port = await freeUdpPort();
        const channel = `aeron:udp?endpoint=127.0.0.1:${port}${eos ? "" : "|eos=false"}`;
        const client = new Client(holdSub!.path, [driver.aeronDir, channel, String(STREAM), "100", "2000", "2"]);
        const publication = engine.addPublication(channel, STREAM);
        runtime.doWork();
        await runtime.driver.ready();
        await sendAll(publication, runtime, client, 100, 2000);
        publication.close();
        await lineFrom(client, "closed", () => runtime.doWork(), 8_000);
        const result = await client.done;
        console.log(`Petrel -> Aeron, eos=${eos}: ${result.stdout.trim().split("\n").join(", ")}`);
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
        if (eos) expect(result.stdout).toMatch(/^eos /m);
        else expect(result.stdout).not.toMatch(/^eos /m);
      });
    }, 30_000);
  }

  it("a Petrel subscription rejects an Aeron publication's image: Aeron's publication error frame handler gets IMAGE_REJECTED and the reason", async () => {
    await withPetrel(SEED + 3, async (engine, runtime, driver) => {
      const port = await freeUdpPort();
      const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const reason = "rejected by Petrel: interop check";
      let image: Image | undefined;
      const subscription = engine.addSubscription(channel, STREAM, { onAvailableImage: (i) => (image ??= i) });
      runtime.doWork();
      await runtime.driver.ready();
      const client = new Client(errorFramePub!.path, [driver.aeronDir, channel, String(STREAM), "10"]);
      let received = 0;
      let rejected = false;
      await lineFrom(client, "error_frame", () => {
        runtime.doWork();
        subscription.poll(() => received++, 100);
        if (!rejected && image !== undefined && received >= 5) {
          engine.rejectImage(image, reason);
          rejected = true;
        }
      }, 12_000);
      const result = await client.done;
      console.log(`Petrel rejects Aeron's image after ${received} messages: ${result.stdout.trim().split("\n").join(", ")}; ` +
        `error frames sent ${engine.counters.get(Counter.ERROR_FRAMES_SENT)}`);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("connected");
      expect(result.stdout).toContain(`error_frame code=13 session=${image!.source.sessionId} stream=${STREAM} `);
      expect(result.stdout).toContain(`message=${reason}`);
      expect(engine.counters.get(Counter.ERROR_FRAMES_SENT)).toBeGreaterThan(0);
    });
  }, 30_000);
});
