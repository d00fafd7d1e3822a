// A test harness in the style of quinn-proto's: two real Engines joined by an in-memory link that
// can drop, duplicate, delay and reorder datagrams (decided by a seeded PRNG), stepped by jumping
// time straight to the next deadline or delivery. No wall clock anywhere: the same seed gives the
// same run, and `outboundHash` fingerprints every byte each engine sent.
import { Engine, NO_DEADLINE_NS, type EngineOptions } from "../../src/core/engine/index.js";
import type { EngineConfig } from "../../src/core/config/engineConfig.js";
import { TransmitBatch } from "../../src/core/transmitBatch.js";
import { ipv4 } from "../../src/core/address.js";
import { Prng } from "../../src/sim/prng.js";
import { HDR_TYPE_DATA } from "../../src/core/protocol/frameHeader.js";

export interface LinkModel {
  readonly latencyNs: number;
  /** Probabilities are integer parts per million, decided by the harness PRNG. */
  readonly lossPpm?: number;
  readonly duplicatePpm?: number;
  readonly reorderPpm?: number;
  /** Extra delay, drawn uniformly up to this, for a reordered datagram. */
  readonly reorderMaxExtraNs?: number;
}

interface InFlight {
  at: number;
  seq: number;
  to: 0 | 1;
  fromIp: number;
  fromPort: number;
  toPort: number;
  bytes: Uint8Array;
}

/** A binary min-heap of datagrams in flight, ordered by (arrival time, sequence). */
class FlightQueue {
  private readonly heap: InFlight[] = [];
  get size(): number {
    return this.heap.length;
  }
  peek(): InFlight | undefined {
    return this.heap[0];
  }
  push(item: InFlight): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }
  pop(): InFlight | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: InFlight, b: InFlight): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export const IP_A = ipv4(127, 0, 0, 1);
export const IP_B = ipv4(127, 0, 0, 2);

export class TwoEngineHarness {
  readonly engines: [Engine, Engine];
  readonly ips: [number, number] = [IP_A, IP_B];
  readonly prng: Prng;
  readonly model: LinkModel;
  nowNs = 0;
  /** Data-carrying datagrams the link dropped, and their bytes. */
  droppedDataDatagrams = 0;
  droppedDataBytes = 0;
  droppedDatagrams = 0;
  deliveredDatagrams = 0;
  /** FNV-1a over everything each engine sent, in order (determinism fingerprint). */
  readonly outboundHash: [number, number] = [0x811c9dc5, 0x811c9dc5];
  /** Set to false to drop every datagram (a partition) until set back. */
  linkUp = true;

  private readonly batch = new TransmitBatch(64, 65536);
  private readonly queue = new FlightQueue();
  private seq = 0;
  private nextEphemeralPort = 40000;
  /** Per engine: endpoint id -> local port, and port -> endpoint id. */
  private readonly portOf: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];
  private readonly endpointAt: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];

  constructor(seed: number, model: LinkModel, config: Partial<EngineConfig> = {}, options: Partial<EngineOptions> = {}) {
    this.prng = new Prng(seed);
    this.model = model;
    this.engines = [
      new Engine({ config, random: this.prng.fork("engine-a"), ...options }),
      new Engine({ config, random: this.prng.fork("engine-b"), ...options }),
    ];
  }

  /** Binds endpoints the engines asked for since the last call (the runtime's job). */
  private bindEndpoints(index: 0 | 1): void {
    const engine = this.engines[index];
    for (let event = engine.pollEndpointEvent(); event !== undefined; event = engine.pollEndpointEvent()) {
      if (event.type === "open") {
        const port = event.endpoint.bindPort !== 0 ? event.endpoint.bindPort : this.nextEphemeralPort++;
        this.portOf[index].set(event.endpoint.id, port);
        this.endpointAt[index].set(port, event.endpoint.id);
      } else {
        const port = this.portOf[index].get(event.endpointId);
        this.portOf[index].delete(event.endpointId);
        if (port !== undefined) this.endpointAt[index].delete(port);
      }
    }
  }

  /** Drains pollTransmit of one engine into the link. */
  flush(index: 0 | 1): void {
    const engine = this.engines[index];
    this.bindEndpoints(index);
    const batch = this.batch;
    // Bounded: each pass sends a batch; an engine has finitely much due at one instant.
    for (let pass = 0; pass < 100_000; pass++) {
      batch.clear();
      const n = engine.pollTransmit(this.nowNs, batch);
      for (let i = 0; i < batch.count; i++) this.send(index, batch, i);
      if (n < batch.capacity) return;
    }
    throw new Error("pollTransmit never drained");
  }

  private send(from: 0 | 1, batch: TransmitBatch, slot: number): void {
    const offset = batch.slotOffset(slot);
    const length = batch.lengths[slot]!;
    const bytes = batch.bytes.slice(offset, offset + length);
    let hash = this.outboundHash[from];
    for (let i = 0; i < length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193) >>> 0;
    this.outboundHash[from] = hash;
    const to: 0 | 1 = from === 0 ? 1 : 0;
    const destinationIp = batch.destinationIps[slot]!;
    if (destinationIp !== this.ips[to]) return;
    const fromPort = this.portOf[from].get(batch.endpointIds[slot]!) ?? 0;
    const isData = length > 32 && (bytes[6]! | (bytes[7]! << 8)) === HDR_TYPE_DATA;
    const model = this.model;
    if (!this.linkUp || (model.lossPpm !== undefined && this.prng.chance(model.lossPpm, 1_000_000))) {
      this.droppedDatagrams++;
      if (isData) {
        this.droppedDataDatagrams++;
        this.droppedDataBytes += length;
      }
      return;
    }
    const copies = model.duplicatePpm !== undefined && this.prng.chance(model.duplicatePpm, 1_000_000) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      let at = this.nowNs + model.latencyNs;
      if (model.reorderPpm !== undefined && this.prng.chance(model.reorderPpm, 1_000_000)) {
        at += this.prng.intRange(1, model.reorderMaxExtraNs ?? model.latencyNs * 4);
      }
      this.queue.push({ at, seq: this.seq++, to, fromIp: this.ips[from], fromPort, toPort: batch.destinationPorts[slot]!, bytes });
    }
  }

  /** The next instant anything happens, or NO_DEADLINE_NS. */
  nextEventNs(): number {
    let next = this.queue.peek()?.at ?? NO_DEADLINE_NS;
    for (const engine of this.engines) {
      const d = engine.pollTimeout();
      if (d < next) next = d;
    }
    return next;
  }

  /** Advances to the next event (never backwards), delivers due datagrams and runs due timers. */
  step(maxNowNs: number): boolean {
    const next = this.nextEventNs();
    if (next === NO_DEADLINE_NS || next > maxNowNs) {
      this.nowNs = Math.max(this.nowNs, Math.min(maxNowNs, next));
      return false;
    }
    if (next > this.nowNs) this.nowNs = next;
    this.deliverDue();
    for (const index of [0, 1] as const) {
      const engine = this.engines[index];
      if (engine.pollTimeout() <= this.nowNs) engine.handleTimeout(this.nowNs);
      this.flush(index);
    }
    return true;
  }

  deliverDue(): void {
    // Bounded by the queue's size at entry plus what the engines send in reply (sent later in time).
    for (let item = this.queue.peek(); item !== undefined && item.at <= this.nowNs; item = this.queue.peek()) {
      this.queue.pop();
      const endpointId = this.endpointAt[item.to].get(item.toPort);
      this.deliveredDatagrams++;
      this.engines[item.to].handleDatagram(this.nowNs, item.fromIp, item.fromPort, endpointId ?? -1, item.bytes, 0, item.bytes.length);
    }
  }

  /**
   * Steps until `done()` holds, calling `app()` after every step (the application's own work:
   * offer, poll). Returns false if `maxNowNs` of simulated time passed first.
   */
  runUntil(done: () => boolean, app: () => void, maxNowNs: number): boolean {
    // Bounded by maxNowNs in simulated time and by a step budget against livelock.
    let stuckAt = -1;
    let stuckSteps = 0;
    for (let steps = 0; steps < 50_000_000; steps++) {
      if (this.nowNs === stuckAt) {
        if (++stuckSteps > 100_000) throw new Error(`livelock: 100000 steps without time advancing at ${this.nowNs} ns`);
      } else {
        stuckAt = this.nowNs;
        stuckSteps = 0;
      }
      app();
      this.flush(0);
      this.flush(1);
      if (done()) return true;
      if (!this.step(maxNowNs)) {
        if (this.nowNs >= maxNowNs) return done();
      }
    }
    throw new Error(`no progress after 50M steps at ${this.nowNs} ns`);
  }

  /** Advances time to `nowNs` exactly, processing everything due on the way. */
  advanceTo(nowNs: number): void {
    while (this.step(nowNs)) {
      /* keep stepping */
    }
    this.nowNs = nowNs;
    this.deliverDue();
    for (const index of [0, 1] as const) {
      const engine = this.engines[index];
      engine.handleTimeout(this.nowNs);
      this.flush(index);
    }
  }
}
