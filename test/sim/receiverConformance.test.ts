// Goal: two receiver-side rules of Aeron's (issue #12) hold end to end between real engines in the
// simulator, over many seeds (PETREL_SEED replays one; a failing seed is printed):
//  - item 7: `reliable=false` with reordering delivers the reordered messages: a gap is filled
//    only when the NAK delay expires (Aeron's LossDetector + processPendingLoss), not on the
//    first scan, which turned every reordering into a lost message;
//  - item 6: on multicast, where Aeron's sender echoes RTTM replies to the data group (every
//    receiver hears every other's), a cc=cubic receiver takes only replies carrying its own
//    receiver id, so its RTT is its own path's.
import { describe, expect, it } from "vitest";
import { Simulation, type HostContext } from "../../src/sim/simulator.js";
import { attachEngine, type EngineHost } from "../../src/sim/engineHost.js";
import type { FaultDecision, FaultPacket, FaultRule } from "../../src/sim/faults.js";
import type { Prng } from "../../src/sim/prng.js";
import type { SimAddress } from "../../src/sim/address.js";
import { NO_DEADLINE, type SimNode, type TransmitSink } from "../../src/sim/simNode.js";
import { ADMIN_ACTION } from "../../src/core/engine/networkPublication.js";
import { Counter } from "../../src/core/engine/counters.js";
import { CubicCongestionControl } from "../../src/core/strategy/cubicCongestionControl.js";
import { HDR_TYPE_DATA, HDR_TYPE_RTTM } from "../../src/core/protocol/frameHeader.js";
import { RTTM_REPLY_FLAG } from "../../src/core/protocol/rttmFrame.js";
import { parseIpv4 } from "../../src/core/address.js";

const BASE_SEED = Number(process.env["PETREL_SEED"] ?? 9100);
const SEEDS = process.env["PETREL_SEED"] !== undefined ? 1 : 8;
const STREAM = 31;

/** Delays a share of DATA datagrams by a fixed time so that later ones overtake them; counts them. */
class CountingReorder implements FaultRule {
  readonly name = "countingReorder";
  reordered = 0;
  constructor(private readonly perThousand: number, private readonly delayNs: number) {}
  apply(_nowNs: number, packet: FaultPacket, random: Prng, decision: FaultDecision): void {
    const type = packet.bytes[packet.offset + 6]! | (packet.bytes[packet.offset + 7]! << 8);
    if (type !== HDR_TYPE_DATA || packet.length <= 32) return;
    if (random.chance(this.perThousand, 1000)) {
      this.reordered++;
      decision.delay(this.delayNs);
    }
  }
}

function payload(index: number): Uint8Array {
  const bytes = new Uint8Array(40 + (index % 300));
  new DataView(bytes.buffer).setUint32(0, index, true);
  return bytes;
}

describe("item 7: reliable=false with reordering", () => {
  it("delivers reordered messages (no gap fill) when they arrive within the NAK delay", () => {
    for (let s = 0; s < SEEDS; s++) {
      const seed = BASE_SEED + s;
      const reorder = new CountingReorder(50, 40_000); // 5% of data datagrams 40 µs late; NAK delay is 100 µs
      const sim = new Simulation({ seed, defaultLink: { latencyNs: 100_000, rules: [reorder] } });
      const total = 2000;
      let sent = 0;
      let received = 0;
      let outOfOrder = 0;
      let subscriber: EngineHost | undefined;
      sim.host("pub", (host) => {
        const node = attachEngine(host);
        const publication = node.engine.addPublication("aeron:udp?endpoint=10.0.2.2:40600|term-length=64k", STREAM);
        node.onTick((nowNs) => {
          // Bounded: stops at back pressure; a burst of 20 per tick keeps datagrams close together.
          for (let i = 0; i < 20 && sent < total; i++) {
            const result = publication.offer(payload(sent));
            if (result === ADMIN_ACTION) continue;
            if (result < 0) break;
            sent++;
          }
          if (sent < total) node.wakeAt(nowNs + 200_000);
        });
      }, { ip: "10.0.2.1" });
      sim.host("sub", (host) => {
        const node = attachEngine(host);
        subscriber = node;
        const subscription = node.engine.addSubscription("aeron:udp?endpoint=10.0.2.2:40600|reliable=false", STREAM);
        node.onTick(() => {
          subscription.poll((buffer, offset) => {
            const index = new DataView(buffer.buffer, buffer.byteOffset + offset).getUint32(0, true);
            if (index !== received) outOfOrder++;
            received = index + 1;
          }, 256);
        });
      }, { ip: "10.0.2.2" });
      sim.runUntil(() => received >= total, 20e9);
      const fills = subscriber!.engine.counters.get(Counter.LOSS_GAP_FILLS);
      const context = `seed ${seed} (PETREL_SEED=${seed} replays it): reordered ${reorder.reordered}, received ${received}, fills ${fills}`;
      expect(reorder.reordered, context).toBeGreaterThan(0);
      expect(received, context).toBe(total);
      expect(outOfOrder, context).toBe(0);
      expect(fills, context).toBe(0);
    }
  });
});

/**
 * Aeron's multicast sender, as far as RTT goes: it reads RTTM requests on the control group and
 * answers each to the DATA group (NetworkPublication.onRttMeasurement sends with doSend), receiver
 * id and echo timestamp kept, reception delta 0. Every receiver hears every reply.
 */
class AeronStyleRttmEcho implements SimNode {
  private readonly outbox: Uint8Array[] = [];
  constructor(private readonly dataGroupIp: number, private readonly port: number) {}
  handleDatagram(_nowNs: number, _from: SimAddress, _to: SimAddress, bytes: Uint8Array, offset: number, length: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
    if (length !== 40 || view.getUint16(6, true) !== HDR_TYPE_RTTM || (view.getUint8(5) & RTTM_REPLY_FLAG) === 0) return;
    const reply = bytes.slice(offset, offset + 40);
    const replyView = new DataView(reply.buffer);
    replyView.setUint8(5, 0);
    replyView.setBigInt64(24, 0n, true);
    this.outbox.push(reply);
  }
  handleTimeout(): void {}
  pollTimeout(): number {
    return NO_DEADLINE;
  }
  pollTransmit(_nowNs: number, sink: TransmitSink): number {
    let sent = 0;
    while (this.outbox.length > 0) {
      const slot = sink.claim(0, this.dataGroupIp, this.port);
      if (slot < 0) break;
      const reply = this.outbox.shift()!;
      sink.bytes.set(reply, sink.slotOffset(slot));
      sink.commit(slot, reply.length);
      sent++;
    }
    return sent;
  }
}

/** Every RTT sample each CUBIC instance took (recorded by wrapping its onRttMeasurement for this file). */
const rttSamples = new WeakMap<CubicCongestionControl, number[]>();
const takeSample = CubicCongestionControl.prototype.onRttMeasurement;
CubicCongestionControl.prototype.onRttMeasurement = function (this: CubicCongestionControl, nowNs: number, rttNs: number): void {
  let list = rttSamples.get(this);
  if (list === undefined) {
    list = [];
    rttSamples.set(this, list);
  }
  list.push(rttNs);
  takeSample.call(this, nowNs, rttNs);
};

describe("item 6: RTTM replies on multicast are filtered by receiver id", () => {
  it("each cc=cubic receiver measures its own path's RTT though it hears the others' replies", () => {
    for (let s = 0; s < SEEDS; s++) {
      const seed = BASE_SEED + 100 + s;
      const port = 40610;
      const channel = `aeron:udp?endpoint=224.0.3.1:${port}|term-length=64k`;
      const sim = new Simulation({ seed, defaultLink: { latencyNs: 100_000 } });
      const nearNs = 100_000;
      const farNs = 5_000_000;
      const receivers: Array<{ name: string; ip: string; node?: EngineHost; received: number }> = [
        { name: "near", ip: "10.0.3.2", received: 0 },
        { name: "far", ip: "10.0.3.3", received: 0 },
      ];
      let sent = 0;
      sim.host("pub", (host) => {
        const node = attachEngine(host);
        const publication = node.engine.addPublication(channel, STREAM);
        node.onTick((nowNs) => {
          for (let i = 0; i < 10; i++) {
            const result = publication.offer(payload(sent));
            if (result === ADMIN_ACTION) continue;
            if (result < 0) break;
            sent++;
          }
          node.wakeAt(nowNs + 1_000_000);
        });
      }, { ip: "10.0.3.1" });
      sim.host("echo", (host: HostContext) => {
        const echo = new AeronStyleRttmEcho(parseIpv4("224.0.3.1"), port);
        host.bind(echo, [port]);
        host.joinGroup("224.0.3.2", port);
      }, { ip: "10.0.3.9" });
      for (const receiver of receivers) {
        sim.host(receiver.name, (host) => {
          const node = attachEngine(host);
          receiver.node = node;
          const subscription = node.engine.addSubscription(`${channel}|cc=cubic`, STREAM);
          node.onTick(() => {
            subscription.poll(() => receiver.received++, 256);
          });
        }, { ip: receiver.ip });
      }
      sim.link("pub", "far", { latencyNs: farNs });
      sim.link("echo", "far", { latencyNs: farNs });
      sim.runFor(1e9);
      for (const receiver of receivers) {
        const engine = receiver.node!.engine;
        const image = engine.images[0];
        const context = `seed ${seed} (PETREL_SEED=${seed - 100} replays it), ${receiver.name}`;
        expect(image, context).toBeDefined();
        const cc = image!.congestionControl;
        expect(cc, context).toBeInstanceOf(CubicCongestionControl);
        const samples = rttSamples.get(cc as CubicCongestionControl) ?? [];
        const trueRttNs = 2 * (receiver.name === "near" ? nearNs : farNs);
        expect(receiver.received, context).toBeGreaterThan(100);
        expect(samples.length, context).toBeGreaterThan(5);
        // Every sample is this receiver's own path: none shorter, none much longer.
        const low = Math.min(...samples);
        const high = Math.max(...samples);
        expect(low, `${context}: RTT samples ${low}..${high} ns, path ${trueRttNs} ns`).toBeGreaterThanOrEqual(trueRttNs);
        expect(high, `${context}: RTT samples ${low}..${high} ns, path ${trueRttNs} ns`).toBeLessThan(trueRttNs * 1.5);
      }
      // Each heard the other's replies, and dropped them.
      for (const receiver of receivers) {
        const context = `seed ${seed} (PETREL_SEED=${seed - 100} replays it), ${receiver.name}`;
        expect(receiver.node!.engine.counters.get(Counter.RTTM_REPLIES_OTHER_RECEIVER), context).toBeGreaterThan(0);
      }
    }
  });
});
