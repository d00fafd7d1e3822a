// Goal: the client puts each failure at the call that caused it and keeps the rest running. A
// subscription on a port already taken rejects its own add with a BindError naming the channel,
// address and errno (native sockets and node:dgram), while another stream of the same client
// carries messages; offer keeps Aeron's codes; images come and go as events; randomness is
// entropy unless a seed is asked for; an idle subscriber costs next to no CPU. Each of these runs
// with the engine on the application's thread and, through Petrel.launch({ worker }), in a worker
// thread (where the idle figure counts the worker thread too: process.cpuUsage covers all threads).
import * as dgram from "node:dgram";
import { setImmediate as yieldToLoop, setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BindError, ClosedError, WorkerModeError, type ImageEvent, type Petrel, type PetrelOptions } from "../../src/client/index.js";
import { CLOSED, NOT_CONNECTED } from "../../src/core/engine/networkPublication.js";
import { ChannelUriError } from "../../src/core/errors.js";
import { freeUdpPort } from "../drivers/streamSupport.js";
import { compileWorker, launchIn, MODES, type Mode } from "./clientModes.js";

const clients: Petrel[] = [];
const sockets: dgram.Socket[] = [];
let removeWorker = (): void => undefined;

beforeAll(() => {
  removeWorker = compileWorker();
});

afterAll(() => removeWorker());

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close({ timeoutMs: 200 });
  for (const socket of sockets.splice(0)) socket.close();
});

async function launch(mode: Mode, options: PetrelOptions = {}): Promise<Petrel> {
  const client = await launchIn(mode, options);
  clients.push(client);
  return client;
}

async function takePort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return socket.address().port;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = performance.now();
  // Bounded by timeoutMs.
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error("timed out waiting");
    await yieldToLoop();
  }
}

describe.each([
  { name: "native sockets", mode: "in-process" as const, driver: { prefer: "native" as const } },
  { name: "node:dgram", mode: "in-process" as const, driver: { prefer: "dgram" as const } },
  { name: "worker, native sockets", mode: "worker" as const, driver: { prefer: "native" as const } },
])("a bind failure rejects its own add ($name)", ({ mode, driver }) => {
  it("rejects addSubscription with a BindError naming channel, address and errno; other streams run", async () => {
    const petrel = await launch(mode, { driver });
    const errors: Error[] = [];
    petrel.on("error", (error) => errors.push(error));
    const taken = await takePort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${taken}`;
    const failure = await petrel.addSubscription(channel, 7).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(BindError);
    const bind = failure as BindError;
    expect(bind.code).toBe("EADDRINUSE");
    expect(bind.errno).toBeGreaterThan(0);
    expect(bind.channel).toBe(channel);
    expect(bind.streamId).toBe(7);
    expect(bind.address).toBe(`127.0.0.1:${taken}`);
    expect(bind.role).toBe("subscription");
    expect(bind.message).toContain(channel);
    expect(bind.message).toContain("EADDRINUSE");

    // The same client still carries another stream, and the failed one left nothing behind.
    const port = await freeUdpPort();
    const good = `aeron:udp?endpoint=127.0.0.1:${port}`;
    const subscription = await petrel.addSubscription(good, 8);
    const publication = await petrel.addPublication(good, 8);
    let received = 0;
    const message = new TextEncoder().encode("after the failure");
    let offered = 0;
    await until(() => {
      if (offered < 10 && publication.offer(message) > 0) offered++;
      subscription.poll(() => received++, 10);
      return received === 10;
    });
    expect(errors).toEqual([]);
    if (mode === "in-process") expect(petrel.engine.counters.snapshot()).toBeDefined();
    else expect(() => petrel.engine).toThrow(WorkerModeError);
  });
});

describe.each(MODES)("the client (%s)", (mode) => {
  it("rejects a bad channel with the engine's ChannelUriError, and adds after close with ClosedError", async () => {
    const petrel = await launch(mode);
    await expect(petrel.addSubscription("aeron:udp?endpoint=127.0.0.1:0", 1)).rejects.toBeInstanceOf(ChannelUriError);
    await petrel.close();
    await expect(petrel.addPublication("aeron:udp?endpoint=127.0.0.1:40000", 1)).rejects.toBeInstanceOf(ClosedError);
  });

  it("offer keeps Aeron's codes: NOT_CONNECTED before a receiver, a position when connected, CLOSED after close", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
    const publisher = await launch(mode);
    const publication = await publisher.addPublication(channel, 3);
    const message = new Uint8Array(32);
    expect(publication.offer(message)).toBe(NOT_CONNECTED);
    const subscriber = await launch(mode);
    const subscription = await subscriber.addSubscription(channel, 3);
    await until(() => publication.isConnected);
    let position = -1;
    await until(() => (position = publication.offer(message)) > 0);
    expect(position).toBeGreaterThan(0);
    // The subscriber's reader takes it; its SM then acknowledges it and the close resolves.
    const reading = (async () => {
      for await (const received of subscription) return received.data.length;
      return -1;
    })();
    const report = await publication.close({ timeoutMs: 5000 });
    expect(await reading).toBe(32);
    expect(report.drained).toBe(true);
    expect(publication.offer(message)).toBe(CLOSED);
    expect(subscription.isClosed).toBe(false);
  });

  it("reports a close with nothing offered as nothing-offered, and one a reader never acknowledges as a timeout", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
    const publisher = await launch(mode);
    const lonely = await publisher.addPublication(channel, 4);
    const nothing = await lonely.close();
    expect(nothing.outcome).toBe("nothing-offered");
    expect(nothing.drained).toBe(true);

    // A subscriber whose reader never reads: the SMs stop short of what was offered.
    const subscriber = await launch(mode);
    const subscription = await subscriber.addSubscription(channel, 5);
    const publication = await publisher.addPublication(channel, 5);
    await until(() => publication.isConnected);
    const message = new Uint8Array(1000);
    let offered = 0;
    await until(() => {
      if (publication.offer(message) > 0) offered++;
      return offered === 200;
    });
    const report = await publication.close({ timeoutMs: 300 });
    expect(report.outcome).toBe("timeout");
    expect(report.drained).toBe(false);
    expect(report.acknowledgedPosition).toBeLessThan(report.position);
    expect(report.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(subscription.isConnected).toBe(true);
  });

  it("delivers image available and unavailable as events, on the client and on the subscription", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
    const subscriber = await launch(mode);
    const seen: string[] = [];
    subscriber.on("imageAvailable", (event: ImageEvent) => seen.push(`available ${event.sessionId}`));
    subscriber.on("imageUnavailable", (event: ImageEvent) => seen.push(`unavailable ${event.sessionId}`));
    const onSubscription: string[] = [];
    await subscriber.addSubscription(channel, 6, {
      onAvailableImage: (event) => onSubscription.push(`available ${event.sessionId}`),
      onUnavailableImage: (event) => onSubscription.push(`unavailable ${event.sessionId}`),
    });
    const publisher = await launch(mode);
    const publication = await publisher.addPublication(channel, 6);
    await until(() => seen.length === 1);
    expect(seen).toEqual([`available ${publication.sessionId}`]);
    await publisher.close();
    await until(() => seen.length === 2);
    expect(seen).toEqual([`available ${publication.sessionId}`, `unavailable ${publication.sessionId}`]);
    expect(onSubscription).toEqual(seen);
  });

  it("tells a subscription added while an image exists about that image", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
    const subscriber = await launch(mode);
    const first: number[] = [];
    await subscriber.addSubscription(channel, 11, { onAvailableImage: (event) => first.push(event.sessionId) });
    const publisher = await launch(mode);
    const publication = await publisher.addPublication(channel, 11);
    await until(() => first.length === 1);
    const late: number[] = [];
    const second = await subscriber.addSubscription(channel, 11, { onAvailableImage: (event) => late.push(event.sessionId) });
    await until(() => late.length === 1);
    expect(late).toEqual([publication.sessionId]);
    expect(second.imageCount).toBe(1);
  });

  it("draws session ids from entropy unless seeded", async () => {
    const channel = "aeron:udp?endpoint=127.0.0.1:40999";
    const sessions = async (options: PetrelOptions): Promise<number> => {
      const petrel = await launch(mode, options);
      const publication = await petrel.addPublication(channel, 9);
      const sessionId = publication.sessionId;
      await petrel.close({ timeoutMs: 100 });
      return sessionId;
    };
    const a = await sessions({});
    const b = await sessions({});
    expect(a).not.toBe(b); // 1 in 2^32 to fail by chance
    expect(await sessions({ seed: 42 })).toBe(await sessions({ seed: 42 }));
  });

  it("an idle subscriber (default idle strategy) uses a small fraction of a core, and still wakes for data", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
    const maxParkMs = Number(process.env["PETREL_PARK_MS"] ?? 1);
    const subscriber = await launch(mode, { maxParkMs });
    const subscription = await subscriber.addSubscription(channel, 10);
    await sleep(300);
    const before = process.cpuUsage();
    const loopBefore = performance.eventLoopUtilization();
    const wallStart = performance.now();
    await sleep(2000);
    const used = process.cpuUsage(before);
    // The application thread alone: a loop that spun on setImmediate would keep its event loop busy
    // nearly all the time; one that sleeps (on the sockets, or on the worker's doorbell) does not.
    const loopBusy = performance.eventLoopUtilization(loopBefore).utilization;
    const fraction = (used.user + used.system) / 1000 / (performance.now() - wallStart);
    console.log(`idle subscriber: ${(fraction * 100).toFixed(1)}% of a core over 2 s (${mode === "worker" ? "worker thread included" : `driver ${subscriber.driver.kind}`}, maxParkMs ${maxParkMs})`);
    console.log(`idle subscriber: application thread's event loop busy ${(loopBusy * 100).toFixed(1)}% of the time`);
    expect(fraction).toBeLessThan(0.15);
    expect(loopBusy).toBeLessThan(0.1);

    // Parked, it still receives: a publisher's messages arrive.
    const publisher = await launch(mode);
    const publication = await publisher.addPublication(channel, 10);
    let received = 0;
    const reading = (async () => {
      for await (const message of subscription) {
        expect(message.data.length).toBe(8);
        if (++received === 100) break;
      }
    })();
    let offered = 0;
    await until(() => {
      if (offered < 100 && publication.offer(new Uint8Array(8)) > 0) offered++;
      return received === 100;
    });
    await reading;
  });
});
