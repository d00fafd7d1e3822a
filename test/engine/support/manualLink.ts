// Test support for timer tests: two Engines whose datagrams the test moves by hand. Nothing runs on
// its own: `transmit(i, now)` drains engine i's pollTransmit into a list the test holds, and
// `deliver(now, datagrams)` hands them to the other engine. A test can therefore look at every
// frame, drop any of them, and call handleTimeout at exactly the instant it wants (deadline - 1 ns,
// deadline). Endpoints are bound from the engines' endpoint events, as a runtime would.
import { Engine, type EngineOptions } from "../../../src/core/engine/index.js";
import type { EngineConfig } from "../../../src/core/config/engineConfig.js";
import { TransmitBatch } from "../../../src/core/transmitBatch.js";
import { ipv4 } from "../../../src/core/address.js";
import { Prng } from "../../../src/sim/prng.js";

export const IP_A = ipv4(127, 0, 0, 1);
export const IP_B = ipv4(127, 0, 0, 2);

export interface Datagram {
  readonly from: 0 | 1;
  readonly fromIp: number;
  readonly fromPort: number;
  readonly toIp: number;
  readonly toPort: number;
  readonly sentAtNs: number;
  readonly bytes: Uint8Array;
}

/** Frame type of a datagram's first frame (little-endian i16 at offset 6, as u16). */
export function frameType(d: Datagram): number {
  return d.bytes[6]! | (d.bytes[7]! << 8);
}

export function frameFlags(d: Datagram): number {
  return d.bytes[5]!;
}

export function frameLength(d: Datagram): number {
  return new DataView(d.bytes.buffer, d.bytes.byteOffset, d.bytes.byteLength).getInt32(0, true);
}

export function viewOf(d: Datagram): DataView {
  return new DataView(d.bytes.buffer, d.bytes.byteOffset, d.bytes.byteLength);
}

export class ManualLink {
  readonly engines: [Engine, Engine];
  readonly ips: [number, number] = [IP_A, IP_B];
  /** Every datagram either engine produced, in order (the test decides which are delivered). */
  readonly sent: Datagram[] = [];
  /** FNV-1a over (send time, bytes) of everything each engine sent. */
  readonly outboundHash: [number, number] = [0x811c9dc5, 0x811c9dc5];
  private readonly batch = new TransmitBatch(64, 65536);
  private nextEphemeralPort = 40000;
  private readonly portOf: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];
  private readonly endpointAt: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];
  /** Endpoint close events seen, per engine (endpoint ids). */
  readonly closedEndpoints: [number[], number[]] = [[], []];

  constructor(seed: number, config: Partial<EngineConfig> = {}, options: Partial<EngineOptions> = {}) {
    const prng = new Prng(seed);
    this.engines = [
      new Engine({ config, random: prng.fork("engine-a"), ...options }),
      new Engine({ config, random: prng.fork("engine-b"), ...options }),
    ];
  }

  /** Applies endpoint open/close events (the runtime's job). */
  bind(index: 0 | 1): void {
    const engine = this.engines[index];
    for (let event = engine.pollEndpointEvent(); event !== undefined; event = engine.pollEndpointEvent()) {
      if (event.type === "open") {
        const port = event.endpoint.bindPort !== 0 ? event.endpoint.bindPort : this.nextEphemeralPort++;
        this.portOf[index].set(event.endpoint.id, port);
        this.endpointAt[index].set(port, event.endpoint.id);
      } else {
        this.closedEndpoints[index].push(event.endpointId);
        const port = this.portOf[index].get(event.endpointId);
        this.portOf[index].delete(event.endpointId);
        if (port !== undefined) this.endpointAt[index].delete(port);
      }
    }
  }

  /** Drains engine `index`'s pollTransmit at `nowNs`; returns what it sent (also appended to `sent`). */
  transmit(index: 0 | 1, nowNs: number): Datagram[] {
    const engine = this.engines[index];
    this.bind(index);
    const out: Datagram[] = [];
    const batch = this.batch;
    // Bounded: an engine has finitely much due at one instant.
    for (let pass = 0; pass < 10_000; pass++) {
      batch.clear();
      const n = engine.pollTransmit(nowNs, batch);
      for (let slot = 0; slot < batch.count; slot++) {
        const offset = batch.slotOffset(slot);
        const bytes = batch.bytes.slice(offset, offset + batch.lengths[slot]!);
        let hash = this.outboundHash[index];
        hash = Math.imul(hash ^ (nowNs % 0x7fffffff), 0x01000193) >>> 0;
        for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193) >>> 0;
        this.outboundHash[index] = hash;
        const d: Datagram = {
          from: index,
          fromIp: this.ips[index],
          fromPort: this.portOf[index].get(batch.endpointIds[slot]!) ?? 0,
          toIp: batch.destinationIps[slot]!,
          toPort: batch.destinationPorts[slot]!,
          sentAtNs: nowNs,
          bytes,
        };
        out.push(d);
        this.sent.push(d);
      }
      if (n < batch.capacity) {
        this.bind(index);
        return out;
      }
    }
    throw new Error("pollTransmit never drained");
  }

  /** Hands datagrams to the engine they were addressed to (the other one), at `nowNs`. */
  deliver(nowNs: number, datagrams: readonly Datagram[]): void {
    for (const d of datagrams) {
      const to: 0 | 1 = d.from === 0 ? 1 : 0;
      if (d.toIp !== this.ips[to]) continue;
      this.bind(to);
      const endpointId = this.endpointAt[to].get(d.toPort) ?? -1;
      this.engines[to].handleDatagram(nowNs, d.fromIp, d.fromPort, endpointId, d.bytes, 0, d.bytes.length);
    }
  }

  /** handleTimeout when due, then drain pollTransmit: one engine's turn at `nowNs`. */
  turn(index: 0 | 1, nowNs: number): Datagram[] {
    const engine = this.engines[index];
    if (engine.pollTimeout() - nowNs <= 0) engine.handleTimeout(nowNs);
    return this.transmit(index, nowNs);
  }

  /**
   * Both engines take turns at `nowNs` and everything is delivered at once (zero latency) until
   * neither has anything more to say. Returns all datagrams exchanged.
   */
  exchange(nowNs: number): Datagram[] {
    const all: Datagram[] = [];
    // Bounded: a quiet pair stops within a few rounds; 1000 is far beyond any scenario here.
    for (let round = 0; round < 1000; round++) {
      const fromA = this.turn(0, nowNs);
      this.deliver(nowNs, fromA);
      const fromB = this.turn(1, nowNs);
      this.deliver(nowNs, fromB);
      all.push(...fromA, ...fromB);
      if (fromA.length === 0 && fromB.length === 0) return all;
    }
    throw new Error(`exchange at ${nowNs} ns never went quiet`);
  }

  /**
   * Runs engine `index` alone (its output is collected, not delivered) through every deadline
   * strictly before `untilNs`, then leaves it there. Returns what it sent.
   */
  runAlone(index: 0 | 1, fromNs: number, untilNs: number): Datagram[] {
    const engine = this.engines[index];
    const out: Datagram[] = [];
    let now = fromNs;
    // Bounded: each pass moves time forward or the engine would livelock (caught below).
    for (let pass = 0; pass < 1_000_000; pass++) {
      const deadline = engine.pollTimeout();
      if (deadline >= untilNs) return out;
      const at = deadline > now ? deadline : now;
      engine.handleTimeout(at);
      out.push(...this.transmit(index, at));
      if (engine.pollTimeout() - at <= 0) throw new Error(`engine ${index} still due at ${at} ns after handleTimeout and pollTransmit`);
      now = at;
    }
    throw new Error("runAlone did not reach its end");
  }

  /**
   * Both engines run together over a zero-latency link through every deadline strictly before
   * `untilNs`; `app` runs at each instant before the engines take their turns (offer, poll).
   */
  runTogether(fromNs: number, untilNs: number, app: (nowNs: number) => void = () => {}): void {
    let now = fromNs;
    let stuck = 0;
    // Bounded: each pass moves time forward, or exchange() settles everything due at `now`.
    for (let pass = 0; pass < 1_000_000; pass++) {
      const a = this.engines[0].pollTimeout();
      const b = this.engines[1].pollTimeout();
      const deadline = a < b ? a : b;
      if (deadline >= untilNs) return;
      const at = deadline > now ? deadline : now;
      stuck = at === now && pass > 0 ? stuck + 1 : 0;
      if (stuck > 3) throw new Error(`an engine is still due at ${at} ns after handleTimeout and pollTransmit`);
      app(at);
      this.exchange(at);
      now = at;
    }
    throw new Error("runTogether did not reach its end");
  }
}
