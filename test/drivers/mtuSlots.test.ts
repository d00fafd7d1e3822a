// Goal: slots follow the channel (issue #11, attack 6). Before, a channel with mtu=8192 lost
// everything on the subscriber side (every datagram longer than the 2048-byte receive slots was
// dropped, seen only by a `truncated` counter, and the image timed out) and the publisher's doWork
// threw `RangeError: datagram length 7968 outside 1..2048`. Now:
//  - a stream published with mtu=8192 (messages up to three 8 KiB frames, some loss so that
//    retransmits of full frames happen too) arrives complete, in order and intact through the
//    native sockets driver (GSO/GRO and plain), io_uring and node:dgram, with the drivers' default
//    options: the receive slots hold any Aeron frame, the transmit slots grow when the publication
//    is added, nothing is truncated;
//  - where the slots cannot hold a channel's mtu (fixedSlots, smaller receive slots, a netstack link
//    MTU), adding the publication or subscription fails at once with SlotTooSmallError naming the
//    channel, the mtu and the slot length, and adds nothing; a runtime joining an engine that
//    already has such a publication fails at construction;
//  - growing keeps the slots still waiting to be sent;
//  - a datagram that still arrives too long for a (user-chosen) receive slot is counted AND kept as
//    a typed lastError (EMSGSIZE) naming the endpoint, its length and the slot length.
import { afterEach, describe, expect, it } from "vitest";
import { ipv4 } from "../../src/core/address.js";
import { formatChannelUri, parseChannelUri } from "../../src/core/channel/channelUri.js";
import { Counter } from "../../src/core/engine/counters.js";
import { Engine, type EndpointInfo } from "../../src/core/engine/engine.js";
import { DgramDriver } from "../../src/drivers/dgramDriver.js";
import type { Driver } from "../../src/drivers/driver.js";
import { DriverError, SlotTooSmallError } from "../../src/drivers/driverError.js";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "../../src/drivers/nativeAddon.js";
import { NativeSocketsDriver } from "../../src/drivers/nativeSocketsDriver.js";
import { uringConstructor } from "../../src/drivers/nativeUring.js";
import { FrameBatch, type FramePort, type FramePortStats } from "../../src/drivers/netstack/framePort.js";
import { NetstackDriver } from "../../src/drivers/netstack/netstackDriver.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { MAX_UDP_PAYLOAD_BYTES } from "../../src/drivers/slots.js";
import { createUringDriver } from "../../src/drivers/uringDriver.js";
import { Prng } from "../../src/sim/prng.js";
import { freeUdpPort, offerSome, protocolCounters, SeededDropFilter, STREAM_ID, StreamChecker } from "./streamSupport.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261111);
const replay = `replay: PETREL_SEED=${SEED} npx vitest run test/drivers/mtuSlots.test.ts`;
const LOCALHOST = ipv4(127, 0, 0, 1);
const addon = tryLoadNativeAddon();
const native = !(addon instanceof NativeAddonUnavailableError);
const required = process.env["PETREL_REQUIRE_NATIVE"] === "1" || process.env["CI"] === "true";
const uring = native && uringConstructor(addon) !== undefined;
if (!native && !required) console.warn("mtu tests over the native drivers SKIPPED: the native addon is missing");
const nativeAddon = addon as Exclude<typeof addon, NativeAddonUnavailableError>;

const runtimes: EngineRuntime[] = [];
const drivers: Driver[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) {
    runtime.engine.close();
    runtime.doWork();
    await runtime.close();
  }
  for (const d of drivers.splice(0)) d.dispose();
});

function keep<T extends Driver>(d: T): T {
  drivers.push(d);
  return d;
}

/** Lengths for an 8 KiB-mtu stream: small, up to one frame (8160 payload bytes), up to three frames. */
function bigLengths(seed: number, count: number): Int32Array {
  const prng = new Prng(seed).fork("mtu-lengths");
  const lengths = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const bucket = prng.intBelow(100);
    lengths[i] = bucket < 40 ? prng.intRange(4, 128) : bucket < 90 ? prng.intRange(2048, 8160) : prng.intRange(8161, 3 * 8160);
  }
  return lengths;
}

interface Kind {
  readonly name: string;
  readonly available: boolean;
  make(): Driver;
}

const kinds: Kind[] = [
  { name: "native sockets (GSO/GRO)", available: native, make: () => new NativeSocketsDriver(nativeAddon) },
  { name: "native sockets (plain)", available: native, make: () => new NativeSocketsDriver(nativeAddon, { gso: false, gro: false }) },
  { name: "io_uring", available: uring, make: () => createUringDriver() },
  { name: "node:dgram", available: true, make: () => new DgramDriver() },
];

describe("an mtu=8192 channel on loopback, default driver options", () => {
  for (const kind of kinds) {
    const run = kind.available || (required && kind.name !== "node:dgram") ? it : it.skip;
    run(`${kind.name}: every message arrives intact, nothing truncated`, async () => {
      const count = 3000;
      const port = await freeUdpPort();
      const prng = new Prng(SEED);
      const pubEngine = new Engine({ random: prng.fork("publisher") });
      const subEngine = new Engine({ random: prng.fork("subscriber") });
      const pubDriver = keep(kind.make());
      const subDriver = keep(kind.make());
      // 2% of received datagrams dropped at the subscriber: full 8 KiB frames are NAKed and resent too.
      const drop = new SeededDropFilter(SEED + 1, 20, 1000);
      const pub = new EngineRuntime(pubEngine, pubDriver);
      const sub = new EngineRuntime(subEngine, subDriver, { receiveFilter: drop });
      runtimes.push(pub, sub);
      // The subscriber's channel does not say the mtu: the publisher's SETUP decides it.
      const subscription = subEngine.addSubscription(`aeron:udp?endpoint=127.0.0.1:${port}`, STREAM_ID);
      const publication = pubEngine.addPublication(`aeron:udp?endpoint=127.0.0.1:${port}|mtu=8192|term-length=4m`, STREAM_ID);
      expect(pubDriver.transmit.slotLength, "the transmit slots grew to the mtu").toBeGreaterThanOrEqual(8192);
      expect(subDriver.receive.slotLength).toBe(MAX_UDP_PAYLOAD_BYTES);
      const lengths = bigLengths(SEED, count);
      const checker = new StreamChecker(lengths);
      const scratch = new Uint8Array(3 * 8160);
      let sent = 0;
      const started = performance.now();
      for (let cycle = 0; checker.received < count && checker.failures.length === 0 && performance.now() - started < 60_000; cycle++) {
        sent = offerSome(publication, lengths, sent, count, scratch, 64);
        pub.doWork();
        sub.doWork();
        checker.drain(subscription);
        // node:dgram delivers only while the event loop turns; the others lose nothing by it.
        if (cycle % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const publisher = protocolCounters(pubEngine);
      const subscriber = protocolCounters(subEngine);
      console.log(`${kind.name}: ${checker.received}/${count} in ${(performance.now() - started).toFixed(0)} ms; dropped ${drop.dropped}; ` +
        `publisher ${JSON.stringify(publisher)}; subscriber ${JSON.stringify(subscriber)}; sub driver ${JSON.stringify(subDriver.stats())}`);
      expect(checker.failures, replay).toEqual([]);
      expect(checker.received, replay).toBe(count);
      expect(subDriver.stats().truncated).toBe(0);
      expect(pubDriver.stats().truncated).toBe(0);
      expect(subDriver.lastError()).toBeUndefined();
      expect(pubDriver.lastError()).toBeUndefined();
      expect(subscriber.invalidPackets).toBe(0);
      expect(publisher.retransmitsSent, "full frames were resent after loss").toBeGreaterThan(0);
      // Datagrams longer than the old 2048-byte slots did cross: bytes per data datagram well above it.
      expect(subEngine.counters.get(Counter.BYTES_RECEIVED) / Math.max(1, subDriver.stats().datagramsReceived)).toBeGreaterThan(2048);
    });
  }
});

function expectSlotTooSmall(call: () => unknown, channel: string, mtuBytes: number, slotLength: number, direction: "transmit" | "receive"): void {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error, "the add must throw").toBeInstanceOf(SlotTooSmallError);
  const e = error as SlotTooSmallError;
  expect(e).toBeInstanceOf(DriverError);
  expect(e.code).toBe("EMSGSIZE");
  // The engine names the channel in its canonical form (mtu=8192 reads mtu=8k).
  const canonical = formatChannelUri(parseChannelUri(channel));
  expect(e.channel).toBe(canonical);
  expect(e.mtuBytes).toBe(mtuBytes);
  expect(e.slotLength).toBe(slotLength);
  expect(e.direction).toBe(direction);
  expect(e.message).toContain(canonical);
  expect(e.message).toContain(`mtu ${mtuBytes}`);
  expect(e.message).toContain(`${slotLength} bytes`);
}

describe("an mtu the slots cannot hold fails at add time", () => {
  const channel = "aeron:udp?endpoint=127.0.0.1:40999|mtu=8192";
  it("fixedSlots: addPublication throws SlotTooSmallError and adds nothing; doWork goes on", () => {
    const engine = new Engine({ random: new Prng(SEED).fork("e") });
    const runtime = new EngineRuntime(engine, keep(new DgramDriver({ fixedSlots: true })));
    runtimes.push(runtime);
    expectSlotTooSmall(() => engine.addPublication(channel, 1), channel, 8192, 2048, "transmit");
    expectSlotTooSmall(() => engine.addExclusivePublication(channel, 1), channel, 8192, 2048, "transmit");
    expect(engine.publications).toHaveLength(0);
    expect(engine.pollEndpointEvent()).toBeUndefined();
    expect(() => runtime.doWork()).not.toThrow();
    // An mtu that fits is added as before.
    engine.addPublication("aeron:udp?endpoint=127.0.0.1:40999|mtu=2048", 1);
    expect(engine.publications).toHaveLength(1);
  });

  it("native sockets and io_uring with fixedSlots: the same, before any socket opens", () => {
    const made: Driver[] = [];
    if (native || required) made.push(new NativeSocketsDriver(nativeAddon, { fixedSlots: true, transmitSlotLength: 4096 }));
    if (uring || required) made.push(createUringDriver({ fixedSlots: true, transmitSlotLength: 4096 }));
    for (const driver of made) {
      const engine = new Engine({ random: new Prng(SEED).fork("e") });
      runtimes.push(new EngineRuntime(engine, keep(driver)));
      expectSlotTooSmall(() => engine.addPublication(channel, 1), channel, 8192, 4096, "transmit");
      expect(driver.stats().sockets).toBe(0);
    }
  });

  it("a subscription naming an mtu larger than the receive slots throws; one naming none is added", () => {
    const engine = new Engine({ random: new Prng(SEED).fork("e") });
    runtimes.push(new EngineRuntime(engine, keep(new DgramDriver({ receiveSlotLength: 4096 }))));
    const subscribeChannel = "aeron:udp?endpoint=127.0.0.1:40998|mtu=8192";
    expectSlotTooSmall(() => engine.addSubscription(subscribeChannel, 1), subscribeChannel, 8192, 4096, "receive");
    expect(engine.pollEndpointEvent()).toBeUndefined();
    engine.addSubscription("aeron:udp?endpoint=127.0.0.1:40998", 1);
    expect(engine.pollEndpointEvent()?.type).toBe("open");
  });

  it("a runtime joining an engine that already has a too-large publication fails at construction", () => {
    const engine = new Engine({ random: new Prng(SEED).fork("e") });
    engine.addPublication(channel, 1);
    const driver = keep(new DgramDriver({ fixedSlots: true }));
    expect(() => new EngineRuntime(engine, driver)).toThrow(SlotTooSmallError);
    // Without fixedSlots the runtime grows the slots instead.
    const growing = keep(new DgramDriver());
    runtimes.push(new EngineRuntime(engine, growing));
    expect(growing.transmit.slotLength).toBe(8192);
  });

  it("netstack (AF_PACKET's stack): an mtu beyond the link MTU fails, naming the datagram limit", () => {
    const port = new StubFramePort();
    const engine = new Engine({ random: new Prng(SEED).fork("e") });
    const driver = keep(new NetstackDriver(port, { ip: 0x0a000001, clockNs: () => 0 }));
    runtimes.push(new EngineRuntime(engine, driver));
    // A 1500-byte link carries UDP payloads of 1500 - 20 - 8 bytes.
    expectSlotTooSmall(() => engine.addPublication("aeron:udp?endpoint=10.0.0.2:40999|mtu=4096", 1),
      "aeron:udp?endpoint=10.0.0.2:40999|mtu=4096", 4096, 1472, "transmit");
    engine.addPublication("aeron:udp?endpoint=10.0.0.2:40999|mtu=1408", 1);
    expect(engine.publications).toHaveLength(1);
  });
});

describe("growing the transmit slots", () => {
  const growable: Kind[] = kinds.filter((k) => k.name !== "native sockets (plain)");
  for (const kind of growable) {
    const run = kind.available || (required && kind.name !== "node:dgram") ? it : it.skip;
    run(`${kind.name}: slots still waiting to be sent move to the grown batch intact`, async () => {
      const d = keep(kind.make());
      const rx = d.open(endpointInfo(1, "receive"));
      d.open(endpointInfo(2, "send"));
      await d.ready();
      const before = d.transmit;
      before.clear();
      for (const length of [100, 2048, 7]) {
        const slot = before.claim(2, LOCALHOST, rx.localPort);
        before.bytes.fill(length & 255, before.slotOffset(slot), before.slotOffset(slot) + length);
        before.commit(slot, length);
      }
      d.fitMtu!("aeron:udp?endpoint=127.0.0.1:1|mtu=16384", 16384, "send");
      const after = d.transmit;
      expect(after).not.toBe(before);
      expect(after.slotLength).toBe(16384);
      expect(after.count).toBe(3);
      expect(() => d.transmitBatch(before)).toThrow(RangeError);
      // A datagram of the new size fits now, behind the three that waited.
      const slot = after.claim(2, LOCALHOST, rx.localPort);
      after.bytes.fill(16384 & 255, after.slotOffset(slot), after.slotOffset(slot) + 16384);
      after.commit(slot, 16384);
      expect(d.transmitBatch(after)).toBe(4);
      const got: Array<[number, number]> = [];
      const deadline = performance.now() + 3000;
      while (got.length < 4 && performance.now() < deadline) {
        const n = d.pollBatch(d.receive);
        for (let i = 0; i < n; i++) {
          const offset = d.receive.slotOffset(i);
          const length = d.receive.lengths[i]!;
          for (let k = 0; k < length; k++) if (d.receive.bytes[offset + k] !== (length & 255)) throw new Error(`datagram of ${length}: byte ${k} differs`);
          got.push([length, d.receive.endpointIds[i]!]);
        }
        if (n === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(got.map(([length]) => length).sort((a, b) => a - b)).toEqual([7, 100, 2048, 16384]);
    });
  }
});

function endpointInfo(id: number, role: "send" | "receive"): EndpointInfo {
  return { id, role, channel: "aeron:udp?endpoint=127.0.0.1:0", bindIp: LOCALHOST, bindPort: 0, socketRcvbufBytes: 0, socketSndbufBytes: 0,
    ttl: 0, multicastGroupIp: 0, interfaceIp: 0 };
}

describe("a datagram longer than a user-chosen receive slot is counted and surfaced", () => {
  const small: Kind[] = [
    { name: "native sockets (GSO/GRO)", available: native, make: () => new NativeSocketsDriver(nativeAddon, { receiveSlotLength: 1024 }) },
    { name: "native sockets (plain)", available: native, make: () => new NativeSocketsDriver(nativeAddon, { receiveSlotLength: 1024, gso: false, gro: false }) },
    { name: "io_uring", available: uring, make: () => createUringDriver({ receiveSlotLength: 1024 }) },
    { name: "io_uring single-shot", available: uring, make: () => createUringDriver({ receiveSlotLength: 1024, forceSingleShotRecv: true }) },
    { name: "node:dgram", available: true, make: () => new DgramDriver({ receiveSlotLength: 1024 }) },
  ];
  for (const kind of small) {
    const run = kind.available || (required && kind.name !== "node:dgram") ? it : it.skip;
    run(`${kind.name}: EMSGSIZE in lastError names the endpoint, the length and the slot`, async () => {
      const d = keep(kind.make());
      const rx = d.open(endpointInfo(7, "receive"));
      d.open(endpointInfo(2, "send"));
      await d.ready();
      const batch = d.transmit;
      batch.clear();
      for (const length of [2000, 500]) {
        const slot = batch.claim(2, LOCALHOST, rx.localPort);
        batch.bytes.fill(1, batch.slotOffset(slot), batch.slotOffset(slot) + length);
        batch.commit(slot, length);
      }
      expect(d.transmitBatch(batch)).toBe(2);
      const deadline = performance.now() + 3000;
      let received = 0;
      while ((received < 1 || d.stats().truncated < 1) && performance.now() < deadline) {
        received += d.pollBatch(d.receive);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(received).toBe(1);
      expect(d.stats().truncated).toBe(1);
      const error = d.lastError();
      expect(error).toBeInstanceOf(DriverError);
      expect(error!.code).toBe("EMSGSIZE");
      expect(error!.endpointId).toBe(7);
      expect(error!.message).toContain("2000 bytes");
      expect(error!.message).toContain("receive slot of 1024 bytes");
    });
  }
});

/** A frame port that goes nowhere, with a 1500-byte link MTU. */
class StubFramePort implements FramePort {
  readonly mac = new Uint8Array([2, 0, 0, 0, 0, 1]);
  readonly mtu = 1500;
  sendFrames(batch: FrameBatch, start: number): number {
    return batch.count - start;
  }
  receiveFrames(batch: FrameBatch): number {
    batch.count = 0;
    return 0;
  }
  stats(): FramePortStats {
    return { framesSent: 0, framesReceived: 0, sendCalls: 0, receiveCalls: 0, wouldBlock: 0, dropped: 0, errors: 0 };
  }
  lastError(): undefined {
    return undefined;
  }
  dispose(): void {}
}
