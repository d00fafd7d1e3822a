// Goal: closing loses nothing. Over real UDP loopback, a publisher offers 20,000 messages and then
// closes by each path a service uses: publication.close(), petrel.close(), `await using`
// (Symbol.asyncDispose), and on the subscriber's side a close made when the publisher's image goes
// away. Every path must deliver all 20,000 messages, in order and intact, and the publisher's
// close must report that the receiver acknowledged them (not a timeout). All of it twice: with the
// engines on the application's thread, and with each client's engine in a worker thread (where the
// worker reports the acknowledged position through shared memory).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { Petrel, type DrainReport, type PetrelPublication, type PetrelSubscription } from "../../src/client/index.js";
import { freeUdpPort } from "../drivers/streamSupport.js";
import { compileWorker, launchIn, MODES, type Mode } from "./clientModes.js";

const COUNT = 20_000;
const STREAM_ID = 1001;
const clients: Petrel[] = [];
let removeWorker = (): void => undefined;

beforeAll(() => {
  removeWorker = compileWorker();
});

afterAll(() => removeWorker());

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close({ timeoutMs: 500 });
});

async function launch(mode: Mode): Promise<Petrel> {
  const client = await launchIn(mode);
  clients.push(client);
  return client;
}

/** Offers COUNT messages of 4..259 bytes; each starts with its index. Yields to the loop when refused. */
async function offerAll(publication: PetrelPublication): Promise<void> {
  const buffer = new Uint8Array(260);
  const view = new DataView(buffer.buffer);
  for (let i = 0; i < COUNT; i++) {
    const length = 4 + (i % 256);
    view.setUint32(0, i, true);
    buffer.fill(i & 0xff, 4, length);
    // Bounded by the test timeout: refused offers wait for the duty cycle to send and for SMs.
    while (publication.offer(buffer, 0, length) < 0) await yieldToLoop();
  }
}

/** Reads with `for await` until the subscription closes; checks order and contents as it goes. */
async function readAll(subscription: PetrelSubscription, onMessage?: (received: number) => Promise<void> | undefined): Promise<number> {
  let received = 0;
  for await (const message of subscription) {
    const view = new DataView(message.data.buffer, message.data.byteOffset, message.data.byteLength);
    const index = view.getUint32(0, true);
    if (index !== received) throw new Error(`message ${received} expected, ${index} read`);
    if (message.data.length !== 4 + (index % 256)) throw new Error(`message ${index} has length ${message.data.length}`);
    if (message.data.length > 4 && message.data[message.data.length - 1] !== (index & 0xff)) throw new Error(`message ${index} corrupt`);
    received++;
    const wait = onMessage?.(received);
    if (wait !== undefined) await wait;
  }
  return received;
}

async function pair(mode: Mode): Promise<{ publisher: Petrel; subscriber: Petrel; publication: PetrelPublication; subscription: PetrelSubscription }> {
  const port = await freeUdpPort();
  const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=64k`;
  const subscriber = await launch(mode);
  const publisher = await launch(mode);
  const subscription = await subscriber.addSubscription(channel, STREAM_ID);
  const publication = await publisher.addPublication(channel, STREAM_ID);
  return { publisher, subscriber, publication, subscription };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = performance.now();
  // Bounded by timeoutMs.
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function expectAcknowledged(report: DrainReport): void {
  expect(report.outcome).toBe("acknowledged");
  expect(report.drained).toBe(true);
  expect(report.acknowledgedPosition).toBeGreaterThanOrEqual(report.position);
}

describe.each(MODES)("close drains (%s): 20,000 offers over UDP loopback arrive whatever the close path", (mode) => {
  it("publication.close() resolves once the receiver acknowledged everything", async () => {
    const { publication, subscription } = await pair(mode);
    const reading = readAll(subscription);
    await offerAll(publication);
    const report = await publication.close();
    expectAcknowledged(report);
    await subscription.close();
    expect(await reading).toBe(COUNT);
  });

  it("petrel.close() drains every publication before it stops", async () => {
    const { publisher, publication, subscription } = await pair(mode);
    const reading = readAll(subscription);
    await offerAll(publication);
    const report = await publisher.close();
    expect(report.drained).toBe(true);
    expect(report.publications).toHaveLength(1);
    expectAcknowledged(report.publications[0]!);
    expect(publisher.isClosed).toBe(true);
    await subscription.close();
    expect(await reading).toBe(COUNT);
  });

  it("await using (Symbol.asyncDispose) drains the same way", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=64k`;
    const subscriber = await launch(mode);
    const subscription = await subscriber.addSubscription(channel, STREAM_ID);
    const reading = readAll(subscription);
    let publisher: Petrel | undefined;
    {
      await using scoped = await launchIn(mode);
      publisher = scoped;
      const publication = await scoped.addPublication(channel, STREAM_ID);
      await offerAll(publication);
    }
    expect(publisher.isClosed).toBe(true);
    // close() after the dispose hands back the dispose's own report: it drained, not timed out.
    const report = await publisher.close();
    expect(report.drained).toBe(true);
    expectAcknowledged(report.publications[0]!);
    await subscription.close();
    expect(await reading).toBe(COUNT);
  });

  it("the subscriber side closes when the publisher's image goes away, and still reads everything", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=64k`;
    const subscriber = await launch(mode);
    let unavailable = 0;
    const subscription = await subscriber.addSubscription(channel, STREAM_ID, {
      // End of stream: the subscriber closes at once, with messages still queued for the reader.
      onUnavailableImage: () => {
        unavailable++;
        void subscriber.close();
      },
    });
    // A slow reader (a pause every 500 messages), which stops 1,000 messages before the end until
    // the image has gone: the queue still holds messages when the close comes.
    let queuedAtClose = -1;
    subscriber.on("imageUnavailable", (event) => {
      queuedAtClose = event.subscription.queuedMessages;
    });
    const reading = readAll(subscription, (received) => {
      if (received === COUNT - 1000) return until(() => unavailable > 0);
      return received % 500 === 0 ? new Promise((r) => setTimeout(r, 2)) : undefined;
    });
    const publisher = await launch(mode);
    const publication = await publisher.addPublication(channel, STREAM_ID);
    await offerAll(publication);
    const report = await publication.close();
    expectAcknowledged(report);
    expect(await reading).toBe(COUNT);
    expect(unavailable).toBe(1);
    expect(queuedAtClose).toBeGreaterThan(0);
    expect(subscriber.isClosed).toBe(true);
  });
});
