// UDP GSO sends and UDP GRO receives through the io_uring driver, below the engine, over loopback:
// batches of many sizes (32 B runs, 1400 B runs with a shorter last datagram, full+tail pair runs,
// mixed sizes, several destinations) arrive datagram for datagram with the right bytes, lengths,
// sources and endpoint ids; the stats show that GSO runs went out (gsoSends, pairRuns) and that
// GRO coalesced receives were split (groReceives, groDatagrams); a receive batch smaller than a
// coalesced receive is filled across polls; and the sockets driver and the io_uring driver
// interoperate both ways. No timing assertions: waits are bounded loops.
import { afterEach, describe, expect, it } from "vitest";
import { ipv4 } from "../../src/core/address.js";
import type { EndpointInfo } from "../../src/core/engine/engine.js";
import type { Driver, DriverOptions } from "../../src/drivers/driver.js";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "../../src/drivers/nativeAddon.js";
import { uringConstructor } from "../../src/drivers/nativeUring.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { createUringDriver, type UringDriver, type UringDriverOptions } from "../../src/drivers/uringDriver.js";

const LOCALHOST = ipv4(127, 0, 0, 1);
const addon = tryLoadNativeAddon();
const available = !(addon instanceof NativeAddonUnavailableError) && uringConstructor(addon) !== undefined;
const required = process.env["PETREL_REQUIRE_NATIVE"] === "1" || process.env["CI"] === "true";
if (!available && !required) console.warn("io_uring GSO/GRO tests SKIPPED: the native addon is missing or was built without liburing");
const run = available || required ? it : it.skip;

const drivers: Driver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

function uring(options: UringDriverOptions = {}): UringDriver {
  const d = createUringDriver(options);
  drivers.push(d);
  return d;
}

function sockets(options: DriverOptions = {}): Driver {
  const d = createSocketsDriver({ ...options, driver: "sockets", prefer: "native" });
  drivers.push(d);
  return d;
}

function endpoint(id: number, role: "send" | "receive"): EndpointInfo {
  return { id, role, channel: "aeron:udp?endpoint=127.0.0.1:0", bindIp: LOCALHOST, bindPort: 0, socketRcvbufBytes: 4 << 20,
    socketSndbufBytes: 4 << 20, ttl: 0, multicastGroupIp: 0, interfaceIp: 0 };
}

// Datagram `n`'s byte k: its first 4 bytes carry n (so every datagram is at least 4 bytes), the rest a pattern of (n, k).
function fill(bytes: Uint8Array, offset: number, n: number, length: number): void {
  for (let k = 0; k < length; k++) bytes[offset + k] = (n * 31 + k * 7) & 255;
  if (length >= 4) new DataView(bytes.buffer, bytes.byteOffset + offset, 4).setUint32(0, n);
}

interface Sent {
  readonly length: number;
  readonly endpointId: number;
}

/**
 * Sends datagrams of `lengths` (datagram n to destination n's port, `destinations(n)`) from `a`
 * (endpoint 1) to `b`'s receive endpoints, then polls `b` until every one has arrived (or a bounded
 * number of polls has passed), checking each datagram's bytes, length, source and endpoint id.
 */
async function exchange(a: Driver, b: Driver, lengths: ReadonlyArray<number>, destinationCount: number,
  destinations: (n: number) => number): Promise<void> {
  const from = a.open(endpoint(1, "send"));
  const to = Array.from({ length: destinationCount }, (_, i) => b.open(endpoint(10 + i, "receive")));
  const expected = new Map<number, Sent>();
  const tx = a.transmit;
  let n = 0;
  // Bounded: lengths.length datagrams, each batch sent in full (bounded spins) before the next.
  while (n < lengths.length) {
    tx.clear();
    while (n < lengths.length && tx.count < tx.capacity) {
      const d = destinations(n);
      const index = tx.claim(1, LOCALHOST, to[d]!.localPort);
      fill(tx.bytes, tx.slotOffset(index), n, lengths[n]!);
      tx.commit(index, lengths[n]!);
      expected.set(n, { length: lengths[n]!, endpointId: 10 + d });
      n++;
    }
    let start = 0;
    for (let spins = 0; start < tx.count && spins < 100_000; spins++) {
      start += a.transmitBatch(tx, start);
      if (start < tx.count) drain(b, expected, from.localPort);
    }
    expect(start).toBe(tx.count);
  }
  for (let polls = 0; expected.size > 0 && polls < 20_000; polls++) {
    if (drain(b, expected, from.localPort) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  expect([...expected.keys()].slice(0, 10)).toEqual([]);
  expect(b.lastError()).toBeUndefined();
  expect(a.lastError()).toBeUndefined();
}

function drain(b: Driver, expected: Map<number, Sent>, sourcePort: number): number {
  const rx = b.receive;
  const count = b.pollBatch(rx);
  for (let i = 0; i < count; i++) {
    const offset = rx.slotOffset(i);
    const length = rx.lengths[i]!;
    const n = new DataView(rx.bytes.buffer, rx.bytes.byteOffset + offset, 4).getUint32(0);
    const want = expected.get(n);
    if (want === undefined) throw new Error(`datagram ${n} arrived twice or was never sent`);
    expect(length, `datagram ${n}`).toBe(want.length);
    expect(rx.endpointIds[i], `datagram ${n}`).toBe(want.endpointId);
    expect(rx.sourceIps[i]).toBe(LOCALHOST);
    expect(rx.sourcePorts[i]).toBe(sourcePort);
    for (let k = 4; k < length; k++) {
      if (rx.bytes[offset + k] !== ((n * 31 + k * 7) & 255)) throw new Error(`datagram ${n} byte ${k} differs`);
    }
    expected.delete(n);
  }
  return count;
}

const repeat = (count: number, f: (n: number) => number): number[] => Array.from({ length: count }, (_, n) => f(n));

const CASES: ReadonlyArray<{ name: string; lengths: number[]; destinations: number; pick: (n: number) => number; pairs?: boolean; noRuns?: boolean }> = [
  { name: "32 B runs to one destination", lengths: repeat(2000, () => 32), destinations: 1, pick: () => 0 },
  // 1400 B runs whose last datagram is shorter (a run of 20 then a 700 B tail, repeated).
  { name: "1400 B runs with a shorter last datagram", lengths: repeat(1050, (n) => (n % 21 === 20 ? 700 : 1400)), destinations: 1, pick: () => 0 },
  // Full + tail pairs (1408, 56, 1408, 56, ...): sent as pair runs.
  { name: "1408 + 56 B pairs (pair runs)", lengths: repeat(1000, (n) => (n % 2 === 0 ? 1408 : 56)), destinations: 1, pick: () => 0, pairs: true },
  // Mixed sizes in blocks of equal length, three destinations in blocks of 40.
  { name: "mixed sizes, three destinations", lengths: repeat(3000, (n) => [32, 1400, 200, 1472, 4, 64, 1200][Math.floor(n / 17) % 7]!),
    destinations: 3, pick: (n) => Math.floor(n / 40) % 3 },
  // Every datagram a different length, destinations alternating: no run is possible, one SENDMSG each.
  { name: "every length different, destinations alternating", lengths: repeat(600, (n) => 4 + ((n * 389) % 1468)), destinations: 2,
    pick: (n) => n % 2, noRuns: true },
];

describe("io_uring driver: UDP GSO sends and UDP GRO receives over loopback", () => {
  for (const c of CASES) {
    run(`${c.name}: every datagram arrives intact; GSO runs go out and GRO receives are split`, async () => {
      const a = uring();
      const b = uring();
      await exchange(a, b, c.lengths, c.destinations, c.pick);
      const sent = a.stats();
      const received = b.stats();
      console.log(`${c.name}: sender ${JSON.stringify(sent)}; receiver ${JSON.stringify(received)}`);
      expect(sent.datagramsSent).toBe(c.lengths.length);
      expect(received.datagramsReceived).toBe(c.lengths.length);
      expect(received.truncated).toBe(0);
      expect(received.controlTruncated).toBe(0);
      expect(a.features().gso).toBe(true);
      expect(b.features().gro).toBe(true);
      if (c.noRuns === true) {
        expect(sent.gsoSends).toBe(0);
        expect(sent.messagesSent).toBe(c.lengths.length);
        return;
      }
      expect(sent.gsoSends).toBeGreaterThan(0);
      // Fewer submissions than datagrams: runs went as one SENDMSG each.
      expect(sent.messagesSent).toBeLessThan(c.lengths.length);
      if (c.pairs === true) expect(sent.pairRuns).toBeGreaterThan(0);
      expect(received.groReceives).toBeGreaterThan(0);
      expect(received.groDatagrams).toBeGreaterThan(0);
    });
  }

  run("a receive batch smaller than a coalesced receive is filled across polls, in order", async () => {
    const a = uring();
    const b = uring({ receiveCapacity: 7 });
    const lengths = repeat(640, () => 100);
    await exchange(a, b, lengths, 1, () => 0);
    expect(b.stats().datagramsReceived).toBe(640);
    expect(b.stats().groReceives).toBeGreaterThan(0);
  });

  run("gso: false and gro: false send and receive one datagram per SQE/CQE", async () => {
    const a = uring({ gso: false });
    const b = uring({ gro: false });
    await exchange(a, b, repeat(300, (n) => (n % 3 === 0 ? 32 : 1400)), 1, () => 0);
    expect(a.stats().gsoSends).toBe(0);
    expect(a.stats().messagesSent).toBe(300);
    expect(b.stats().groReceives).toBe(0);
    expect(b.features().gro).toBe(false);
    expect(b.features().bufferCount).toBe(1024);
  });

  run("GRO buffers are 64 KiB plus headers and their memory is reported", () => {
    const d = uring();
    const f = d.features();
    expect(f.gro).toBe(true);
    expect(f.bufferCount).toBe(256);
    expect(f.bufferBytes).toBeGreaterThanOrEqual(65536);
    expect(f.bufferMemoryBytes).toBeGreaterThanOrEqual(f.bufferCount * f.bufferBytes);
    // The single-shot fallback has no room for coalesced receives: no GRO there.
    const single = uring({ forceSingleShotRecv: true });
    expect(single.features().gro).toBe(false);
  });
});

describe("io_uring and sockets drivers interoperate with GSO/GRO on both", () => {
  const lengths = repeat(2000, (n) => [32, 1400, 1408, 56][Math.floor(n / 50) % 4]!);
  run("sockets driver (sendmmsg + GSO) -> io_uring driver (multishot recvmsg + GRO)", async () => {
    const a = sockets();
    const b = uring();
    await exchange(a, b, lengths, 2, (n) => Math.floor(n / 100) % 2);
    expect(b.stats().groReceives).toBeGreaterThan(0);
  });

  run("io_uring driver (SENDMSG + GSO) -> sockets driver (recvmmsg + GRO)", async () => {
    const a = uring();
    const b = sockets();
    await exchange(a, b, lengths, 2, (n) => Math.floor(n / 100) % 2);
    expect((a.stats() as { gsoSends?: number }).gsoSends).toBeGreaterThan(0);
  });
});
