// Goal: multicast and multi-destination-cast streams work end to end between real engines in the
// simulator: one publication reaches every receiver in order and exactly once over lossy paths
// (multicast: data to the group, SMs and NAKs to the control group; MDC manual: destinations the
// application adds; MDC dynamic: receivers that register through the control address), and
// removing a manual destination stops its traffic.
import { describe, expect, it } from "vitest";
import { Simulation } from "../../src/sim/simulator.js";
import { attachEngine, type EngineHost } from "../../src/sim/engineHost.js";
import { ratio } from "../../src/sim/prng.js";
import type { Publication } from "../../src/core/engine/publication.js";
import { ADMIN_ACTION } from "../../src/core/engine/networkPublication.js";
import { Counter } from "../../src/core/engine/counters.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 424242);
const STREAM = 77;

interface Receiver {
  readonly name: string;
  readonly ip: string;
  received: number;
  outOfOrder: number;
  node?: EngineHost;
}

function payload(index: number): Uint8Array {
  const bytes = new Uint8Array(24 + (index % 200));
  new DataView(bytes.buffer).setUint32(0, index, true);
  return bytes;
}

/** Builds a publisher host and receiver hosts; `publisherChannel`, per-receiver subscription channels. */
function build(seed: number, publisherChannel: string, receiverChannel: (r: Receiver) => string, receiverCount: number,
  lossPerThousand: number, total: number, onPublication?: (p: Publication) => void) {
  const sim = new Simulation({ seed, defaultLink: { latencyNs: 200_000, ...(lossPerThousand > 0 ? { loss: ratio(lossPerThousand, 1000) } : {}) } });
  const receivers: Receiver[] = [];
  for (let i = 0; i < receiverCount; i++) receivers.push({ name: `sub${i}`, ip: `10.0.1.${i + 2}`, received: 0, outOfOrder: 0 });
  let sent = 0;
  let publisher: EngineHost | undefined;
  sim.host("pub", (host) => {
    const node = attachEngine(host);
    publisher = node;
    const publication = node.engine.addPublication(publisherChannel, STREAM);
    onPublication?.(publication);
    node.onTick((nowNs) => {
      // Bounded: stops at back pressure.
      while (sent < total) {
        const result = publication.offer(payload(sent));
        if (result === ADMIN_ACTION) continue;
        if (result < 0) break;
        sent++;
      }
      if (sent < total) node.wakeAt(nowNs + 1_000_000);
    });
  }, { ip: "10.0.1.1" });
  for (const receiver of receivers) {
    sim.host(receiver.name, (host) => {
      const node = attachEngine(host);
      receiver.node = node;
      const subscription = node.engine.addSubscription(receiverChannel(receiver), STREAM);
      node.onTick(() => {
        subscription.poll((buffer, offset) => {
          const index = new DataView(buffer.buffer, buffer.byteOffset + offset).getUint32(0, true);
          if (index !== receiver.received) receiver.outOfOrder++;
          receiver.received++;
        }, 256);
      });
    }, { ip: receiver.ip });
  }
  return { sim, receivers, publisher: () => publisher!, sent: () => sent };
}

describe("multicast", () => {
  it("one publication reaches 5 receivers through the group, with NAK recovery over 5% loss", () => {
    const channel = "aeron:udp?endpoint=224.0.1.1:40456|term-length=64k|fc=min";
    const total = 3000;
    const { sim, receivers, publisher } = build(SEED, channel, () => channel, 5, 50, total);
    const done = sim.runUntil(() => receivers.every((r) => r.received >= total), 120e9);
    expect(done, `seed ${SEED}: ${receivers.map((r) => `${r.name}=${r.received}`).join(" ")}`).toBe(true);
    for (const r of receivers) {
      expect(r.received).toBe(total);
      expect(r.outOfOrder).toBe(0);
      expect(r.node!.engine.counters.get(Counter.NAKS_SENT)).toBeGreaterThan(0);
    }
    const sender = publisher().engine.counters;
    expect(sender.get(Counter.RETRANSMITS_SENT)).toBeGreaterThan(0);
    // One copy per datagram to the group, not one per receiver: data sent once, received five times.
    const receivedData = receivers.reduce((sum, r) => sum + r.node!.engine.counters.get(Counter.DATA_FRAMES_RECEIVED), 0);
    expect(receivedData).toBeGreaterThan(4 * sender.get(Counter.DATA_FRAMES_SENT) * 0.9);
  });
});

describe("multi-destination-cast", () => {
  it("manual: every destination added receives the stream; a removed one stops receiving", () => {
    // Max flow control (the MDC default): a removed receiver's image keeps sending SMs until its
    // liveness timeout, and min flow control would rightly keep waiting for it.
    const control = "aeron:udp?control=10.0.1.1:40460|control-mode=manual|term-length=64k";
    let publication: Publication | undefined;
    const total = 100_000_000; // effectively endless: the test stops on its own conditions
    const { sim, receivers } = build(SEED + 1, control, (r) => `aeron:udp?endpoint=${r.ip}:40461|term-length=64k`, 3, 0, total,
      (p) => {
        publication = p;
        p.addDestination("aeron:udp?endpoint=10.0.1.2:40461");
        p.addDestination("aeron:udp?endpoint=10.0.1.3:40461");
        p.addDestination("aeron:udp?endpoint=10.0.1.4:40461");
      });
    expect(sim.runUntil(() => receivers.every((r) => r.received >= 2000), 60e9)).toBe(true);
    expect(() => publication!.removeDestination("aeron:udp?endpoint=10.0.1.9:40461")).toThrow(/not a destination/);
    publication!.removeDestination("aeron:udp?endpoint=10.0.1.3:40461");
    sim.runFor(0.3e9);
    const frozen = receivers[1]!.received;
    const dataBefore = receivers[1]!.node!.engine.counters.get(Counter.DATAGRAMS_RECEIVED);
    const others = [receivers[0]!.received, receivers[2]!.received];
    sim.runFor(0.5e9);
    expect(receivers[1]!.received).toBe(frozen);
    expect(receivers[1]!.node!.engine.counters.get(Counter.DATAGRAMS_RECEIVED)).toBe(dataBefore);
    expect(receivers[0]!.received).toBeGreaterThan(others[0]! + 1000);
    expect(receivers[2]!.received).toBeGreaterThan(others[1]! + 1000);
    for (const r of receivers) expect(r.outOfOrder).toBe(0);
  });

  it("dynamic: receivers register through the control address and all receive the stream", () => {
    const control = "10.0.1.1:40470";
    const total = 2000;
    const { sim, receivers, publisher } = build(SEED + 2, `aeron:udp?control=${control}|control-mode=dynamic|term-length=64k|fc=min,g:/3`,
      (r) => `aeron:udp?endpoint=${r.ip}:40471|control=${control}|control-mode=dynamic|term-length=64k`, 3, 20, total);
    const done = sim.runUntil(() => receivers.every((r) => r.received >= total), 60e9);
    expect(done, receivers.map((r) => `${r.name}=${r.received}`).join(" ")).toBe(true);
    for (const r of receivers) {
      expect(r.received).toBe(total);
      expect(r.outOfOrder).toBe(0);
      expect(r.node!.engine.counters.get(Counter.STATUS_MESSAGES_SETUP_REQUESTED)).toBeGreaterThan(0);
    }
    expect(publisher().engine.publications[0]!.destinations.list.length).toBe(3);
  });

  it("dynamic: Aeron's subscription forms register too (control without control-mode, and control with no endpoint on an ephemeral port)", () => {
    const control = "10.0.1.1:40472";
    const total = 2000;
    const forms = [
      (r: Receiver) => `aeron:udp?endpoint=${r.ip}:40473|control=${control}|term-length=64k`,
      () => `aeron:udp?control=${control}|group=false|term-length=64k`,
      (r: Receiver) => `aeron:udp?endpoint=${r.ip}:40473|control=${control}|control-mode=dynamic|term-length=64k`,
    ];
    let next = 0;
    const { sim, receivers, publisher } = build(SEED + 3, `aeron:udp?control=${control}|control-mode=dynamic|term-length=64k|fc=min,g:/3`,
      (r) => forms[next++]!(r), 3, 20, total);
    const done = sim.runUntil(() => receivers.every((r) => r.received >= total), 60e9);
    expect(done, receivers.map((r) => `${r.name}=${r.received}`).join(" ")).toBe(true);
    for (const r of receivers) expect(r.outOfOrder).toBe(0);
    const destinations = publisher().engine.publications[0]!.destinations.list;
    expect(destinations.length).toBe(3);
    // The endpoint-less receiver registered from an ephemeral port.
    expect(destinations.some((d) => d.port !== 40473)).toBe(true);
    // Registration goes on once the image is there, as Aeron's Receiver does: (0, 0) every second.
    const before = receivers.map((r) => r.node!.engine.counters.get(Counter.STATUS_MESSAGES_SETUP_REQUESTED));
    sim.runUntil(() => false, sim.nowNs + 3e9);
    receivers.forEach((r, i) => expect(r.node!.engine.counters.get(Counter.STATUS_MESSAGES_SETUP_REQUESTED)).toBeGreaterThanOrEqual(before[i]! + 2));
  });
});
