// Goal: NetstackDriver, on a pure in-memory wire between two instances, is a correct UDP endpoint:
// any datagram (any ports, length up to the MTU, UDP checksum on or off) arrives byte-identical
// with its source address and port, on the endpoint owning the destination port, once ARP has
// resolved (the first one is dropped and counted, never queued); every corrupted frame is dropped
// and counted by its reason (property: any bit flip past the Ethernet header is caught when UDP
// checksums are on); frames for other hosts, other ports, other protocols, fragments and
// truncated frames are each counted under their own name; multicast goes to the group's MAC and
// reaches only members; datagrams to our own address loop back; a port is bound once (EADDRINUSE)
// and ephemeral ports come in order; datagrams larger than the MTU are refused (EMSGSIZE).
import { test } from "@fast-check/vitest";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EndpointInfo } from "../../src/core/engine/engine.js";
import { FrameBatch, type FramePort, type FramePortStats } from "../../src/drivers/netstack/framePort.js";
import { NetstackDriver, type NetstackOptions } from "../../src/drivers/netstack/netstackDriver.js";
import { DriverError } from "../../src/drivers/driverError.js";

const A_IP = 0x0a000001;
const B_IP = 0x0a000002;

/** One end of an in-memory Ethernet wire; `peer.inbox` receives what this end sends. */
class WirePort implements FramePort {
  readonly mtu = 1500;
  readonly inbox = new FrameBatch(512, 2048);
  peer!: WirePort;
  sent = 0;
  /** Applied to every frame as it leaves (tests corrupt or drop with it); return false to drop. */
  mangle: ((bytes: Uint8Array, offset: number, length: number) => boolean) | undefined;
  constructor(readonly mac: Uint8Array) {}
  sendFrames(batch: FrameBatch, start: number): number {
    for (let i = start; i < batch.count; i++) {
      const inbox = this.peer.inbox;
      const at = inbox.slotOffset(inbox.count);
      inbox.bytes.set(batch.bytes.subarray(batch.slotOffset(i), batch.slotOffset(i) + batch.lengths[i]!), at);
      inbox.lengths[inbox.count] = batch.lengths[i]!;
      if (this.mangle !== undefined && !this.mangle(inbox.bytes, at, batch.lengths[i]!)) continue;
      inbox.count++;
      this.sent++;
    }
    return batch.count - start;
  }
  receiveFrames(batch: FrameBatch): number {
    const n = Math.min(this.inbox.count, batch.capacity);
    for (let i = 0; i < n; i++) {
      batch.bytes.set(this.inbox.bytes.subarray(this.inbox.slotOffset(i), this.inbox.slotOffset(i) + this.inbox.lengths[i]!), batch.slotOffset(i));
      batch.lengths[i] = this.inbox.lengths[i]!;
      batch.flags[i] = 0;
    }
    this.inbox.shift(n);
    batch.count = n;
    return n;
  }
  stats(): FramePortStats {
    return { framesSent: this.sent, framesReceived: 0, sendCalls: 0, receiveCalls: 0, wouldBlock: 0, dropped: 0, errors: 0 };
  }
  lastError(): undefined {
    return undefined;
  }
  dispose(): void {}
}

function endpoint(id: number, bindPort: number, group = 0): EndpointInfo {
  return { id, role: bindPort === 0 ? "send" : "receive", channel: "test", bindIp: 0, bindPort, socketRcvbufBytes: 0, socketSndbufBytes: 0,
    ttl: 0, multicastGroupIp: group, interfaceIp: 0 };
}

function pair(options: Partial<NetstackOptions> = {}) {
  let now = 0;
  const portA = new WirePort(new Uint8Array([2, 0, 0, 0, 0, 0xa]));
  const portB = new WirePort(new Uint8Array([2, 0, 0, 0, 0, 0xb]));
  portA.peer = portB;
  portB.peer = portA;
  const a = new NetstackDriver(portA, { ip: A_IP, clockNs: () => now, ...options });
  const b = new NetstackDriver(portB, { ip: B_IP, clockNs: () => now, ...options });
  return { a, b, portA, portB, advance: (ns: number) => (now += ns) };
}

function send(driver: NetstackDriver, endpointId: number, ip: number, port: number, payload: Uint8Array): void {
  const tx = driver.transmit;
  tx.clear();
  const slot = tx.claim(endpointId, ip, port);
  tx.bytes.set(payload, tx.slotOffset(slot));
  tx.commit(slot, payload.length);
  expect(driver.transmitBatch(tx, 0)).toBe(1);
  tx.clear();
}

function poll(driver: NetstackDriver): Array<{ payload: Uint8Array; ip: number; port: number; endpointId: number }> {
  const rx = driver.receive;
  const n = driver.pollBatch(rx);
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({ payload: rx.bytes.slice(rx.slotOffset(i), rx.slotOffset(i) + rx.lengths[i]!), ip: rx.sourceIps[i]!, port: rx.sourcePorts[i]!, endpointId: rx.endpointIds[i]! });
  }
  return out;
}

/** Resolves A -> B: one datagram dropped while ARP runs, the request answered, the reply learned. */
function resolve(a: NetstackDriver, b: NetstackDriver, from: number): void {
  send(a, from, B_IP, 9, new Uint8Array([0]));
  expect(a.netstackCounters().drops["txArpUnresolved"]).toBe(1);
  poll(b);
  poll(a);
}

describe("NetstackDriver on an in-memory wire", () => {
  it("drops the first datagram while ARP resolves, then delivers; ports, addresses and endpoints are right", () => {
    const { a, b } = pair();
    const sender = a.open(endpoint(1, 0));
    expect(sender.localPort).toBe(49152);
    expect(a.open(endpoint(2, 0)).localPort).toBe(49153);
    b.open(endpoint(7, 40123));
    resolve(a, b, 1);
    expect(b.netstackCounters().arpRepliesSent).toBe(1);
    send(a, 1, B_IP, 40123, new Uint8Array([1, 2, 3]));
    expect(poll(b)).toEqual([{ payload: new Uint8Array([1, 2, 3]), ip: A_IP, port: 49152, endpointId: 7 }]);
    // B learned A from A's request: it can answer at once.
    const back = b.open(endpoint(8, 0));
    a.open(endpoint(3, 50000));
    send(b, 8, A_IP, 50000, new Uint8Array([9]));
    expect(poll(a)).toEqual([{ payload: new Uint8Array([9]), ip: B_IP, port: back.localPort, endpointId: 3 }]);
    expect(b.netstackCounters().drops["txArpUnresolved"]).toBe(0);
  });

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 1472 }), fc.integer({ min: 1, max: 65535 }), fc.boolean()])(
    "any datagram arrives byte-identical, with or without UDP checksums",
    (payload, port, checksum) => {
      const { a, b } = pair({ udpChecksum: checksum });
      a.open(endpoint(1, 0));
      b.open(endpoint(2, port));
      resolve(a, b, 1);
      send(a, 1, B_IP, port, payload);
      const got = poll(b);
      expect(got).toHaveLength(1);
      expect(got[0]!.payload).toEqual(payload);
    });

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.nat(), fc.integer({ min: 0, max: 7 })])(
    "a bit flipped anywhere past the Ethernet header is caught and counted (UDP checksums on)",
    (payload, where, bit) => {
      const { a, b, portA } = pair({ acceptAbsentUdpChecksum: false });
      a.open(endpoint(1, 0));
      b.open(endpoint(2, 40000));
      resolve(a, b, 1);
      portA.mangle = (bytes, offset, length) => {
        const at = 14 + (where % (length - 14));
        bytes[offset + at]! ^= 1 << bit;
        return true;
      };
      send(a, 1, B_IP, 40000, payload);
      expect(poll(b)).toEqual([]);
      const drops = b.netstackCounters().drops;
      const total = Object.entries(drops).reduce((sum, [name, value]) => sum + (name === "frameOwn" ? 0 : value), 0);
      expect(total).toBe(1);
    });

  it("counts each kind of bad or foreign frame under its own name", () => {
    const { a, b, portA } = pair();
    a.open(endpoint(1, 0));
    b.open(endpoint(2, 40000));
    resolve(a, b, 1);
    const cases: Array<[string, (bytes: Uint8Array, offset: number, length: number) => boolean, number?]> = [
      ["frameNotForUs", (x, o) => ((x[o] = 0x02), (x[o + 5] = 0x77), true)],
      ["ethertypeUnsupported", (x, o) => ((x[o + 12] = 0x86), (x[o + 13] = 0xdd), true)],
      ["ipBadVersion", (x, o) => ((x[o + 14] = 0x65), true)],
      ["ipBadChecksum", (x, o) => ((x[o + 22] = 1), true)],
      ["ipFragment", (x, o) => ((x[o + 20] = 0x20), true)],
      ["udpBadChecksum", (x, o, l) => ((x[o + l - 1]! ^= 0xff), true)],
      ["frameTruncated", () => true, 10],
    ];
    for (const [name, mangle, cut] of cases) {
      portA.mangle = mangle;
      send(a, 1, B_IP, 40000, new Uint8Array([1, 2, 3, 4]));
      // A truncated frame: cut the last frame on the wire short.
      if (cut !== undefined) portA.peer.inbox.lengths[portA.peer.inbox.count - 1] = cut;
      expect(poll(b), name).toEqual([]);
      expect(b.netstackCounters().drops[name], name).toBe(1);
    }
    portA.mangle = undefined;
    send(a, 1, B_IP, 40001, new Uint8Array([1]));
    expect(poll(b)).toEqual([]);
    expect(b.netstackCounters().drops["udpNoEndpoint"]).toBe(1);
    send(a, 1, 0x0a000009, 40000, new Uint8Array([1]));
    expect(a.netstackCounters().drops["txArpUnresolved"]).toBe(2);
  });

  it("multicast: frames go to the group MAC; only members receive; the sender's own member endpoint gets a loopback copy", () => {
    const group = 0xefd60001; // 239.214.0.1
    const { a, b, portA } = pair();
    a.open(endpoint(1, 0));
    let sawMac = "";
    portA.mangle = (x, o) => ((sawMac = Array.from(x.subarray(o, o + 6)).map((v) => v.toString(16)).join(":")), true);
    send(a, 1, group, 40456, new Uint8Array([5]));
    expect(sawMac).toBe("1:0:5e:56:0:1");
    expect(poll(b)).toEqual([]);
    expect(b.netstackCounters().drops["ipNotForUs"]).toBe(1);
    b.open(endpoint(2, 40456, group));
    a.open(endpoint(3, 40456, group));
    send(a, 1, group, 40456, new Uint8Array([6]));
    expect(poll(b).map((d) => [d.endpointId, d.payload[0]])).toEqual([[2, 6]]);
    expect(poll(a).map((d) => [d.endpointId, d.payload[0]])).toEqual([[3, 6]]);
  });

  it("loops datagrams to our own address back; refuses a bound port (EADDRINUSE) and an oversized datagram (EMSGSIZE)", () => {
    const { a } = pair();
    a.open(endpoint(1, 0));
    a.open(endpoint(2, 40000));
    send(a, 1, A_IP, 40000, new Uint8Array([42]));
    expect(poll(a)).toEqual([{ payload: new Uint8Array([42]), ip: A_IP, port: 49152, endpointId: 2 }]);
    expect(() => a.open(endpoint(3, 40000))).toThrow(DriverError);
    try {
      a.open(endpoint(3, 40000));
    } catch (error) {
      expect((error as DriverError).code).toBe("EADDRINUSE");
    }
    send(a, 1, A_IP, 40000, new Uint8Array(1473));
    expect(a.netstackCounters().drops["txTooBig"]).toBe(1);
    expect(a.lastError()?.code).toBe("EMSGSIZE");
  });
});
