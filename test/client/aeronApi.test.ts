// Goal: the Aeron-style API reaches a user of Petrel.launch over real loopback sockets:
// controlledPoll (ABORT redelivers, BREAK stops), blockPoll, images polled on their own,
// offer with a ReservedValueSupplier and offerv, tryClaim with header flags, availableWindow,
// channelStatus (ACTIVE, CLOSING while the client closes, NO_ID_ALLOCATED once closed),
// localSocketAddresses (the bound ports), and the counters reader's per-stream counters. In worker
// mode (Petrel.launch({ worker })) offer with a ReservedValueSupplier, offerv, channelStatus and
// localSocketAddresses work the same; what needs the engine's own objects (tryClaim on its log,
// controlledPoll, blockPoll, images, counters, the engine) fails at the call with a WorkerModeError.
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BufferClaim,
  ChannelEndpointStatus,
  ControlledAction,
  CounterTypeId,
  DirectBufferVector,
  Petrel,
  WorkerModeError,
  channelStatusName,
  type FragmentHeader,
  type Image,
} from "../../src/index.js";
import { freeUdpPort } from "../drivers/streamSupport.js";
import { compileWorker, launchIn } from "./clientModes.js";

const clients: Petrel[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close({ timeoutMs: 200 });
});

async function launch(): Promise<Petrel> {
  const client = await Petrel.launch({ driver: { prefer: "native" } });
  clients.push(client);
  return client;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = performance.now();
  // Bounded by timeoutMs.
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error("timed out waiting");
    await yieldToLoop();
  }
}

async function pair(petrel: Petrel): Promise<{ channel: string; port: number; publication: Awaited<ReturnType<Petrel["addPublication"]>>;
  subscription: Awaited<ReturnType<Petrel["addSubscription"]>> }> {
  const port = await freeUdpPort();
  const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=64k`;
  const subscription = await petrel.addSubscription(channel, 11);
  const publication = await petrel.addPublication(channel, 11);
  await until(() => publication.isConnected && subscription.images.length === 1);
  return { channel, port, publication, subscription };
}

describe("the Aeron-style client API", () => {
  it("controlledPoll redelivers an aborted message and stops on BREAK; blockPoll and Image.poll read on their own", async () => {
    const petrel = await launch();
    const { publication, subscription } = await pair(petrel);
    for (let i = 0; i < 4; i++) expect(publication.offer(new Uint8Array([i, 1, 2, 3]))).toBeGreaterThan(0);
    const image = subscription.imageBySessionId(publication.sessionId)!;
    expect(image).toBe(subscription.images[0]);
    await until(() => framesCommitted(image, 4));
    const seen: number[] = [];
    expect(subscription.controlledPoll((buffer, offset) => (seen.push(buffer[offset]!), ControlledAction.ABORT), 10)).toBe(0);
    expect(subscription.controlledPoll((buffer, offset) => (seen.push(buffer[offset]!), ControlledAction.BREAK), 10)).toBe(1);
    expect(seen).toEqual([0, 0]);
    expect(image.position - image.joinPosition).toBe(64);
    const blocks: number[] = [];
    expect(subscription.blockPoll((_b, _o, length, sessionId) => {
      expect(sessionId).toBe(publication.sessionId);
      blocks.push(length);
    }, 64)).toBe(64);
    expect(image.poll((buffer, offset) => seen.push(buffer[offset]!), 10)).toBe(2);
    expect(seen).toEqual([0, 0, 2, 3]);
    expect(blocks).toEqual([64]);
  });

  it("offer with a ReservedValueSupplier, offerv and tryClaim with flags reach the subscriber", async () => {
    const petrel = await launch();
    const { publication, subscription } = await pair(petrel);
    expect(publication.availableWindow).toBe(publication.positionLimit - publication.position);
    expect(publication.availableWindow).toBeGreaterThan(0);
    expect(publication.offer(new Uint8Array([1]), 0, 1, () => -0x7654_3210_fedc_ba98n)).toBeGreaterThan(0);
    const vectors = [new DirectBufferVector(new Uint8Array([2, 3])), new DirectBufferVector(new Uint8Array([9, 4, 5]), 1, 2)];
    expect(publication.offerv(vectors)).toBeGreaterThan(0);
    const claim = new BufferClaim();
    expect(publication.tryClaim(1, claim)).toBeGreaterThan(0);
    claim.putBytes(new Uint8Array([6])).putFlags(0xc0 | 0x20).putReservedValue(77n);
    claim.commit();
    const got: Array<[number[], bigint, number]> = [];
    const handler = (buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void => {
      const view = header.term.view;
      got.push([[...buffer.subarray(offset, offset + length)], view.getBigInt64(header.frameOffset + 24, true), header.flags]);
    };
    await until(() => (subscription.poll(handler, 10), got.length === 3));
    expect(got).toEqual([
      [[1], -0x7654_3210_fedc_ba98n, 0xc0],
      [[2, 3, 4, 5], 0n, 0xc0],
      [[6], 77n, 0xe0],
    ]);
  });

  it("reports channelStatus and the bound local socket addresses", async () => {
    const petrel = await launch();
    const { port, publication, subscription } = await pair(petrel);
    expect(subscription.channelStatus).toBe(ChannelEndpointStatus.ACTIVE);
    expect(publication.channelStatus).toBe(ChannelEndpointStatus.ACTIVE);
    expect(channelStatusName(publication.channelStatus)).toBe("ACTIVE");
    expect(subscription.localSocketAddresses()).toEqual([`127.0.0.1:${port}`]);
    const [local] = publication.localSocketAddresses();
    expect(local).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(Number(local!.split(":")[1])).toBeGreaterThan(0);
    const ipc = await petrel.addPublication("aeron:ipc", 3);
    expect(ipc.channelStatus).toBe(ChannelEndpointStatus.ACTIVE);
    expect(ipc.localSocketAddresses()).toEqual([]);
    await publication.close({ timeoutMs: 200 });
    expect(publication.channelStatus).toBe(ChannelEndpointStatus.NO_ID_ALLOCATED);
    expect(publication.localSocketAddresses()).toEqual([]);
    const closing = petrel.close({ timeoutMs: 200 });
    expect(subscription.channelStatus).toBe(ChannelEndpointStatus.CLOSING);
    await closing;
    expect(subscription.channelStatus).toBe(ChannelEndpointStatus.NO_ID_ALLOCATED);
  });

  it("lists the streams' position counters under Aeron's names", async () => {
    const petrel = await launch();
    const { channel, publication, subscription } = await pair(petrel);
    expect(publication.offer(new Uint8Array(100))).toBeGreaterThan(0);
    await until(() => subscription.poll(() => undefined, 10) > 0);
    const reader = petrel.countersReader;
    const labels = new Map<number, string>();
    reader.forEach((_id, typeId, label) => {
      if (typeId !== CounterTypeId.SYSTEM) labels.set(typeId, label);
    });
    expect(labels.get(CounterTypeId.PUBLISHER_POSITION)).toBe(`pub-pos (sampled): ${publication.registrationId} ${publication.sessionId} 11 ${channel}`);
    for (const type of [CounterTypeId.PUBLISHER_LIMIT, CounterTypeId.SENDER_POSITION, CounterTypeId.SENDER_LIMIT, CounterTypeId.SENDER_BPE,
      CounterTypeId.RECEIVER_HWM, CounterTypeId.RECEIVER_POSITION, CounterTypeId.SUBSCRIBER_POSITION]) {
      expect(labels.has(type)).toBe(true);
    }
    const subPos = reader.findByTypeIdAndRegistrationId(CounterTypeId.SUBSCRIBER_POSITION, subscription.registrationId);
    expect(reader.getCounterValue(subPos)).toBe(subscription.images[0]!.position);
    expect(reader.getCounterLabel(0)).toBe("Bytes sent");
  });
});

/** True once `count` 64-byte frames from the image's position are committed in its log (the last one's length word is set). */
function framesCommitted(image: Image, count: number): boolean {
  const term = image.source.log.readableTerm(0);
  if (term === null) return false;
  return term.view.getInt32((image.position & 0xffff) + (count - 1) * 64, true) > 0;
}

describe("the Aeron-style client API in worker mode", () => {
  let removeWorker = (): void => undefined;
  beforeAll(() => {
    removeWorker = compileWorker();
  });
  afterAll(() => removeWorker());

  async function launchWorker(): Promise<Petrel> {
    const client = await launchIn("worker", { driver: { prefer: "native" } });
    clients.push(client);
    return client;
  }

  async function workerPair(petrel: Petrel): Promise<{ port: number; publication: Awaited<ReturnType<Petrel["addPublication"]>>;
    subscription: Awaited<ReturnType<Petrel["addSubscription"]>> }> {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=64k`;
    const subscription = await petrel.addSubscription(channel, 12);
    const publication = await petrel.addPublication(channel, 12);
    await until(() => publication.isConnected && subscription.imageCount === 1);
    return { port, publication, subscription };
  }

  it("offer with a ReservedValueSupplier and offerv reach the subscriber; channelStatus and local addresses as in-process", async () => {
    const petrel = await launchWorker();
    expect(petrel.mode).toBe("worker");
    const { port, publication, subscription } = await workerPair(petrel);
    expect(publication.availableWindow).toBe(publication.positionLimit - publication.position);
    expect(publication.availableWindow).toBeGreaterThan(0);
    expect(publication.registrationId).toBeGreaterThanOrEqual(0);
    expect(subscription.registrationId).toBeGreaterThanOrEqual(0);
    expect(publication.offer(new Uint8Array([1]), 0, 1, () => -0x7654_3210_fedc_ba98n)).toBeGreaterThan(0);
    const vectors = [new DirectBufferVector(new Uint8Array([2, 3])), new DirectBufferVector(new Uint8Array([9, 4, 5]), 1, 2)];
    expect(publication.offerv(vectors)).toBeGreaterThan(0);
    const got: Array<[number[], bigint]> = [];
    const handler = (buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void => {
      got.push([[...buffer.subarray(offset, offset + length)], header.term.view.getBigInt64(header.frameOffset + 24, true)]);
    };
    await until(() => (subscription.poll(handler, 10), got.length === 2));
    expect(got).toEqual([
      [[1], -0x7654_3210_fedc_ba98n],
      [[2, 3, 4, 5], 0n],
    ]);
    expect(subscription.channelStatus).toBe(ChannelEndpointStatus.ACTIVE);
    expect(publication.channelStatus).toBe(ChannelEndpointStatus.ACTIVE);
    expect(subscription.localSocketAddresses()).toEqual([`127.0.0.1:${port}`]);
    expect(publication.localSocketAddresses()[0]).toMatch(/^0\.0\.0\.0:[1-9]\d*$/);
    await publication.close({ timeoutMs: 200 });
    expect(publication.channelStatus).toBe(ChannelEndpointStatus.NO_ID_ALLOCATED);
    const closing = petrel.close({ timeoutMs: 200 });
    expect(subscription.channelStatus).toBe(ChannelEndpointStatus.CLOSING);
    await closing;
    expect(subscription.channelStatus).toBe(ChannelEndpointStatus.NO_ID_ALLOCATED);
  });

  it("what needs the engine's own objects fails at the call with a WorkerModeError", async () => {
    const petrel = await launchWorker();
    const { publication, subscription } = await workerPair(petrel);
    const calls: Array<[string, () => unknown]> = [
      ["petrel.engine", () => petrel.engine],
      ["petrel.runtime", () => petrel.runtime],
      ["petrel.driver", () => petrel.driver],
      ["petrel.countersReader", () => petrel.countersReader],
      ["petrel.counters", () => petrel.counters],
      ["publication.core", () => publication.core],
      ["publication.tryClaim", () => publication.tryClaim(1, new BufferClaim())],
      ["subscription.core", () => subscription.core],
      ["subscription.controlledPoll", () => subscription.controlledPoll(() => ControlledAction.CONTINUE, 1)],
      ["subscription.blockPoll", () => subscription.blockPoll(() => undefined, 64)],
      ["subscription.images", () => subscription.images],
      ["subscription.imageBySessionId", () => subscription.imageBySessionId(publication.sessionId)],
    ];
    for (const [what, call] of calls) {
      expect(call, what).toThrow(WorkerModeError);
      expect(call, what).toThrow(`${what} is not available in worker mode`);
    }
    await expect(petrel.addPublication("aeron:ipc", 3)).rejects.toBeInstanceOf(WorkerModeError);
    await expect(Petrel.launch({ worker: true, receiveFilter: { drop: () => false } })).rejects.toBeInstanceOf(WorkerModeError);
    // The streams still work after the refused calls.
    expect(publication.offer(new Uint8Array(8))).toBeGreaterThan(0);
    await until(() => subscription.poll(() => undefined, 10) > 0);
  });
});
