// Goal: the sockets drivers keep the batch ABI exactly, without an engine in the way: a transmit
// batch of mixed destinations and lengths (runs of equal sizes that go out as one GSO send, a
// shorter last segment, single datagrams) arrives as the same datagrams, one per receive slot, with
// the right source address and endpoint id, with GSO/GRO on and off and on the node:dgram fallback.
// A datagram longer than a receive slot is dropped and counted, never copied past its slot. Failing
// system calls come back as DriverError with the errno name and syscall (EADDRINUSE from bind).
import { afterEach, describe, expect, it } from "vitest";
import { ipv4 } from "../../src/core/address.js";
import type { EndpointInfo } from "../../src/core/engine/engine.js";
import type { Driver } from "../../src/drivers/driver.js";
import { DgramDriver } from "../../src/drivers/dgramDriver.js";
import { DriverError } from "../../src/drivers/driverError.js";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "../../src/drivers/nativeAddon.js";
import { NativeSocketsDriver } from "../../src/drivers/nativeSocketsDriver.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";

const LOCALHOST = ipv4(127, 0, 0, 1);
const addon = tryLoadNativeAddon();
const native = !(addon instanceof NativeAddonUnavailableError);
const requireNative = process.env["PETREL_REQUIRE_NATIVE"] === "1" || process.env["CI"] === "true";

const drivers: Driver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

function endpoint(id: number, role: "send" | "receive", port: number, rcvbuf = 0): EndpointInfo {
  return { id, role, channel: "aeron:udp?endpoint=127.0.0.1:0", bindIp: LOCALHOST, bindPort: port, socketRcvbufBytes: rcvbuf, socketSndbufBytes: 0, ttl: 0,
    multicastGroupIp: 0, interfaceIp: 0 };
}

function makeDriver(kind: "native" | "native-plain" | "dgram", receiveSlotLength = 2048): Driver {
  let d: Driver;
  if (kind === "dgram") d = new DgramDriver({ receiveSlotLength, receiveCapacity: 256, transmitCapacity: 256 });
  else {
    if (addon instanceof NativeAddonUnavailableError) throw addon;
    const offload = kind === "native";
    d = new NativeSocketsDriver(addon, { receiveSlotLength, receiveCapacity: 256, transmitCapacity: 256, gso: offload, gro: offload });
  }
  drivers.push(d);
  return d;
}

function pattern(slot: number, i: number): number {
  return (slot * 7 + i * 13) & 255;
}

/** Sends everything in the batch, retrying when the socket buffer is full. */
function sendAll(d: Driver): void {
  let start = 0;
  for (let spins = 0; start < d.transmit.count && spins < 100_000; spins++) start += d.transmitBatch(d.transmit, start);
  expect(start).toBe(d.transmit.count);
}

async function receiveAtLeast(d: Driver, want: number, onSlot: (i: number) => void): Promise<number> {
  let got = 0;
  const deadline = performance.now() + 5000;
  while (got < want && performance.now() < deadline) {
    const n = d.pollBatch(d.receive);
    for (let i = 0; i < n; i++) onSlot(i);
    got += n;
    if (n === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return got;
}

const kinds: Array<"native" | "native-plain" | "dgram"> = native ? ["native", "native-plain", "dgram"] : ["dgram"];

describe("sockets driver batch ABI", () => {
  it("has the native addon where it is required (the AddressSanitizer build where CI asks for it)", () => {
    if (requireNative) expect(native, "PETREL_REQUIRE_NATIVE=1/CI=true but the native addon did not load").toBe(true);
    if (process.env["PETREL_EXPECT_ASAN"] === "1") {
      expect(native).toBe(true);
      expect((addon as Exclude<typeof addon, NativeAddonUnavailableError>).buildInfo().asan).toBe(true);
    }
  });

  for (const kind of kinds) {
    it(`${kind}: mixed runs, lengths and destinations arrive one datagram per slot`, async () => {
      const d = makeDriver(kind);
      const rxA = d.open(endpoint(1, "receive", 0));
      const rxB = d.open(endpoint(2, "receive", 0));
      const tx = d.open(endpoint(3, "send", 0));
      await d.ready();
      expect(rxA.localPort).toBeGreaterThan(0);
      expect(tx.localPort).toBeGreaterThan(0);
      // 40 x 1000 B to A (one GSO run), a 500 B tail, 3 singles to B, 20 x 64 B to A, 1 x 1400 B to B.
      const plan: Array<[number, number]> = [];
      for (let i = 0; i < 40; i++) plan.push([rxA.localPort, 1000]);
      plan.push([rxA.localPort, 500]);
      plan.push([rxB.localPort, 33], [rxB.localPort, 1400], [rxB.localPort, 33]);
      for (let i = 0; i < 20; i++) plan.push([rxA.localPort, 64]);
      plan.push([rxB.localPort, 1400]);
      const batch = d.transmit;
      batch.clear();
      for (const [port, length] of plan) {
        const slot = batch.claim(3, LOCALHOST, port);
        const offset = batch.slotOffset(slot);
        for (let i = 0; i < length; i++) batch.bytes[offset + i] = pattern(slot, i);
        batch.bytes[offset] = slot;
        batch.commit(slot, length);
      }
      sendAll(d);
      const seen = new Map<number, { length: number; endpointId: number; port: number; ip: number }>();
      const rx = d.receive;
      const got = await receiveAtLeast(d, plan.length, (i) => {
        const offset = rx.slotOffset(i);
        const slot = rx.bytes[offset]!;
        const length = rx.lengths[i]!;
        for (let k = 1; k < length; k++) if (rx.bytes[offset + k] !== pattern(slot, k)) throw new Error(`slot ${slot} byte ${k} differs`);
        seen.set(slot, { length, endpointId: rx.endpointIds[i]!, port: rx.sourcePorts[i]!, ip: rx.sourceIps[i]! });
      });
      expect(got).toBe(plan.length);
      plan.forEach(([port, length], slot) => {
        const s = seen.get(slot);
        expect(s, `slot ${slot}`).toBeDefined();
        expect(s!.length).toBe(length);
        expect(s!.endpointId).toBe(port === rxA.localPort ? 1 : 2);
        expect(s!.port).toBe(tx.localPort);
        expect(s!.ip).toBe(LOCALHOST);
      });
      const stats = d.stats();
      expect(stats.datagramsSent).toBe(plan.length);
      expect(stats.errors).toBe(0);
      if (kind === "native" && d instanceof NativeSocketsDriver && d.gso) expect(stats.gsoSends).toBeGreaterThanOrEqual(2);
      // On loopback a GSO send reaches a GRO socket as one coalesced read, split here into slots.
      if (kind === "native" && d instanceof NativeSocketsDriver && d.gro) expect(stats.groReceives).toBeGreaterThanOrEqual(1);
      if (kind === "native-plain") expect(stats.gsoSends).toBe(0);
    });

    it(`${kind}: a datagram longer than a receive slot is dropped and counted`, async () => {
      const d = makeDriver(kind, 256);
      const rx = d.open(endpoint(1, "receive", 0));
      d.open(endpoint(2, "send", 0));
      await d.ready();
      const batch = d.transmit;
      batch.clear();
      for (const length of [200, 1000, 256]) {
        const slot = batch.claim(2, LOCALHOST, rx.localPort);
        batch.bytes.fill(length & 255, batch.slotOffset(slot), batch.slotOffset(slot) + length);
        batch.commit(slot, length);
      }
      sendAll(d);
      const lengths: number[] = [];
      await receiveAtLeast(d, 2, (i) => lengths.push(d.receive.lengths[i]!));
      // Let a late oversize datagram be counted.
      for (let k = 0; k < 20 && d.stats().truncated === 0; k++) {
        d.pollBatch(d.receive);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(lengths).toEqual([200, 256]);
      expect(d.stats().truncated).toBe(1);
    });
  }

  it("native: binding a port in use fails with DriverError EADDRINUSE from bind", () => {
    if (!native) return;
    const d = makeDriver("native");
    const first = d.open(endpoint(1, "receive", 0));
    let error: unknown;
    try {
      d.open(endpoint(2, "receive", first.localPort));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DriverError);
    expect((error as DriverError).code).toBe("EADDRINUSE");
    expect((error as DriverError).syscall).toBe("bind");
    expect((error as DriverError).errno).toBe(98);
    expect((error as DriverError).endpointId).toBe(2);
    // The failed open leaves nothing behind; the first socket still works.
    expect(d.stats().sockets).toBe(1);
  });

  it("native: a datagram the kernel refuses is consumed, counted and kept as a typed lastError; the rest still go", async () => {
    if (!native) return;
    const d = makeDriver("native");
    const rx = d.open(endpoint(1, "receive", 0));
    d.open(endpoint(2, "send", 0));
    const batch = d.transmit;
    batch.clear();
    // Slot 0: from an endpoint that is not open. Slot 1: to the broadcast address without
    // SO_BROADCAST (EACCES from the kernel). Slot 2: a good datagram.
    for (const [endpointId, ip] of [[7, LOCALHOST], [2, ipv4(255, 255, 255, 255)], [2, LOCALHOST]] as const) {
      const slot = batch.claim(endpointId, ip, rx.localPort);
      batch.bytes[batch.slotOffset(slot)] = slot;
      batch.commit(slot, 100);
    }
    expect(d.transmitBatch(batch)).toBe(3);
    const stats = d.stats();
    expect(stats.dropped).toBe(2);
    expect(stats.errors).toBe(2);
    expect(stats.datagramsSent).toBe(1);
    const error = d.lastError();
    expect(error).toBeInstanceOf(DriverError);
    expect(error!.code).toBe("EACCES");
    expect(error!.syscall).toBe("sendmmsg");
    expect(error!.endpointId).toBe(2);
    expect(await receiveAtLeast(d, 1, () => undefined)).toBe(1);
    expect(d.receive.bytes[0]).toBe(2);
  });

  it("native: waitForReceive blocks until a datagram is readable, or times out", () => {
    if (!native) return;
    const d = makeDriver("native");
    const rx = d.open(endpoint(1, "receive", 0));
    d.open(endpoint(2, "send", 0));
    const started = performance.now();
    expect(d.waitForReceive!(20)).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    const batch = d.transmit;
    batch.clear();
    batch.commit(batch.claim(2, LOCALHOST, rx.localPort), 64);
    expect(d.transmitBatch(batch)).toBe(1);
    expect(d.waitForReceive!(1000)).toBe(true);
    expect(d.pollBatch(d.receive)).toBe(1);
    expect(() => d.waitForReceive!(5000)).toThrow(RangeError);
  });

  it("native: full datagrams alternating with tails go as two GSO runs, and every datagram arrives whole", async () => {
    if (!native) return;
    const d = makeDriver("native");
    const rx = d.open(endpoint(1, "receive", 0, 4 * 1024 * 1024));
    d.open(endpoint(2, "send", 0));
    await d.ready();
    // What a stream of 1400 B messages at the default mtu (1408) sends: 1408, 56, 1408, 56, ...
    const plan: number[] = [];
    for (let i = 0; i < 40; i++) plan.push(1408, 56);
    plan.push(1408);
    const batch = d.transmit;
    batch.clear();
    for (const length of plan) {
      const slot = batch.claim(2, LOCALHOST, rx.localPort);
      const offset = batch.slotOffset(slot);
      batch.bytes[offset] = slot;
      for (let k = 1; k < length; k++) batch.bytes[offset + k] = (slot * 7 + k) & 255;
      batch.commit(slot, length);
    }
    expect(d.transmitBatch(batch)).toBe(plan.length);
    const seen = new Map<number, number>();
    const receive = d.receive;
    const got = await receiveAtLeast(d, plan.length, (i) => {
      const offset = receive.slotOffset(i);
      const slot = receive.bytes[offset]!;
      const length = receive.lengths[i]!;
      for (let k = 1; k < length; k++) if (receive.bytes[offset + k] !== ((slot * 7 + k) & 255)) throw new Error(`slot ${slot} byte ${k} differs`);
      expect(seen.has(slot), `slot ${slot} twice`).toBe(false);
      seen.set(slot, length);
    });
    expect(got).toBe(plan.length);
    plan.forEach((length, slot) => expect(seen.get(slot), `slot ${slot}`).toBe(length));
    const stats = d.stats() as ReturnType<Driver["stats"]> & { pairRuns?: number };
    if (d instanceof NativeSocketsDriver && d.gso) {
      expect(stats.pairRuns).toBeGreaterThanOrEqual(1);
      expect(stats.gsoSends).toBeGreaterThanOrEqual(2);
    }
    expect(stats.datagramsSent).toBe(plan.length);
  });

  it("native: armWake calls back from the event loop once a socket is readable, never while disarmed, and survives closes", async () => {
    if (!native) return;
    const d = makeDriver("native");
    const rx = d.open(endpoint(1, "receive", 0));
    d.open(endpoint(2, "send", 0));
    let wakes = 0;
    const onWake = (): void => void wakes++;
    const send = (): void => {
      const batch = d.transmit;
      batch.clear();
      batch.commit(batch.claim(2, LOCALHOST, rx.localPort), 64);
      expect(d.transmitBatch(batch)).toBe(1);
    };
    const until = async (predicate: () => boolean): Promise<void> => {
      // Bounded: 2 s of event-loop turns.
      for (const started = performance.now(); !predicate() && performance.now() - started < 2000;) await new Promise((r) => setTimeout(r, 1));
    };
    // Armed with nothing to read: no call.
    expect(d.armWake!(onWake)).toBe("armed");
    await new Promise((r) => setTimeout(r, 30));
    expect(wakes).toBe(0);
    // A datagram: exactly one call (one-shot), delivered without a duty cycle.
    send();
    await until(() => wakes === 1);
    expect(wakes).toBe(1);
    send();
    await new Promise((r) => setTimeout(r, 30));
    expect(wakes).toBe(1);
    // Re-armed while data is waiting: it calls at once.
    expect(d.armWake!(onWake)).toBe("armed");
    await until(() => wakes === 2);
    expect(wakes).toBe(2);
    expect(d.pollBatch(d.receive)).toBe(2);
    // Disarmed: a datagram makes no call.
    expect(d.armWake!(onWake)).toBe("armed");
    d.disarmWake!();
    send();
    await new Promise((r) => setTimeout(r, 30));
    expect(wakes).toBe(2);
    expect(d.pollBatch(d.receive)).toBe(1);
    // A socket opened after the first arm is watched too; a closed one is simply gone.
    d.close(1);
    const rx2 = d.open(endpoint(3, "receive", 0));
    expect(d.armWake!(onWake)).toBe("armed");
    const batch = d.transmit;
    batch.clear();
    batch.commit(batch.claim(2, LOCALHOST, rx2.localPort), 64);
    expect(d.transmitBatch(batch)).toBe(1);
    await until(() => wakes === 3);
    expect(wakes).toBe(3);
    // Disposed while armed: the helper thread stops with the driver.
    expect(d.armWake!(onWake)).toBe("armed");
    d.dispose();
  });

  it("native: a bind address that is not local fails with EADDRNOTAVAIL; misuse throws a TypeError", () => {
    if (!native) return;
    const d = makeDriver("native");
    expect(() => d.open({ ...endpoint(1, "receive", 0), bindIp: ipv4(192, 0, 2, 1) })).toThrow(/EADDRNOTAVAIL/);
    const handle = new (addon as Exclude<typeof addon, NativeAddonUnavailableError>).SocketsDriver(
      new Uint8Array(64), new Int32Array(1), new Uint32Array(1), new Uint16Array(1), new Int32Array(1), 1, 64,
      new Uint8Array(64), new Int32Array(1), new Uint32Array(1), new Uint16Array(1), new Int32Array(1), 1, 64, false, false);
    expect(() => handle.open(-1, 0, 0, 0, 0, 0, 0, 0)).toThrow(TypeError);
    expect(() => handle.send(0, 2)).toThrow(RangeError);
    // A slot length beyond the slot is refused before any pointer reaches the kernel.
    expect(() => new (addon as Exclude<typeof addon, NativeAddonUnavailableError>).SocketsDriver(
      new Uint8Array(63), new Int32Array(1), new Uint32Array(1), new Uint16Array(1), new Int32Array(1), 1, 64,
      new Uint8Array(64), new Int32Array(1), new Uint32Array(1), new Uint16Array(1), new Int32Array(1), 1, 64, false, false)).toThrow(TypeError);
    handle.closeAll();
  });

  it("dgram: binding a port in use rejects ready() with DriverError EADDRINUSE", async () => {
    const d = makeDriver("dgram");
    // node:dgram binds asynchronously: the returned endpoint learns its port when ready() resolves.
    const first = d.open(endpoint(1, "receive", 0));
    await d.ready();
    const port = first.localPort;
    expect(port).toBeGreaterThan(0);
    const other = makeDriver("dgram");
    other.open(endpoint(1, "receive", port));
    const error = await other.ready().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect((error as DriverError).code).toBe("EADDRINUSE");
    expect((error as DriverError).syscall).toBe("bind");
  });

  it("chooses the native driver when the addon loads, the fallback with a warning otherwise", () => {
    const warnings: string[] = [];
    const d = createSocketsDriver({ warn: (m) => warnings.push(m) });
    drivers.push(d);
    expect(d.kind).toBe(native ? "native-sockets" : "dgram");
    const forced = createSocketsDriver({ prefer: "dgram" });
    drivers.push(forced);
    expect(forced.kind).toBe("dgram");
  });
});
