// One directed path between two hosts and what it does to each datagram: partition check, MTU,
// a bandwidth bottleneck with a bounded FIFO queue (serialization time per byte, tail drop), the
// fault rule chain (loss, burst loss, corruption, duplication, reordering, user rules), then
// propagation latency plus jitter. admit() decides everything about a datagram at the moment it is
// sent and reports when each copy arrives; the simulator turns that into events. The link draws
// from its own forked Prng, so its decisions do not move when another link draws more.
//
// Order matters and is fixed: partition, MTU, queue, rule chain, latency + jitter. A datagram the
// rules drop still used the bottleneck (it was lost downstream of it); one that is tail-dropped
// never reaches the rules.
//
// Jitter is drawn independently per copy, uniform in [0, jitterNs]; two datagrams sent close
// together may therefore arrive out of order, as on a real multi-path network. Use jitterNs = 0
// and the reorder option for reordering under control.
import { assert, assertIntegerInRange } from "./assert.js";
import type { SimAddress } from "./address.js";
import {
  BernoulliLoss,
  Corruption,
  Duplication,
  FaultChain,
  FaultDecision,
  FaultPacket,
  GilbertElliottLoss,
  MAX_COPIES,
  Reordering,
  VERDICT_COUNT,
  Verdict,
  verdictName,
  type DuplicationOptions,
  type FaultRule,
  type GilbertElliottOptions,
  type ReorderOptions,
} from "./faults.js";
import type { Prng, Ratio } from "./prng.js";

/** IPv4 (20) + UDP (8) header bytes: what a datagram adds on the wire beyond its payload. */
export const IPV4_UDP_HEADER_BYTES = 28;

export interface LinkModel {
  /** One-way propagation delay. */
  readonly latencyNs: number;
  /** Extra delay, uniform in [0, jitterNs], drawn per datagram copy. Default 0. */
  readonly jitterNs?: number;
  /** Bottleneck rate; absent or 0 means infinitely fast (no queue). */
  readonly bandwidthBitsPerSecond?: number;
  /** Queue limit in wire bytes (waiting + being serialized); beyond it, tail drop. Default 1 MiB. */
  readonly queueBytesMax?: number;
  /** Queue limit in datagrams; beyond it, tail drop. Default 4096. */
  readonly queuePacketsMax?: number;
  /** IP MTU: payload + headerBytes above it is dropped (DROP_MTU). Default 65535. */
  readonly mtuBytes?: number;
  /** Per-datagram header bytes counted against MTU and bandwidth. Default 28 (IPv4 + UDP). */
  readonly headerBytes?: number;
  /** Bernoulli loss. */
  readonly loss?: Ratio;
  /** Gilbert-Elliott burst loss. */
  readonly burstLoss?: GilbertElliottOptions;
  readonly duplicate?: DuplicationOptions;
  readonly reorder?: ReorderOptions;
  /** Fraction of datagrams with one byte flipped. */
  readonly corrupt?: Ratio;
  /** Deliver corrupted datagrams instead of dropping them as failing the UDP checksum. Default false. */
  readonly deliverCorrupted?: boolean;
  /** User rules, run after the built-in ones above (in the order: loss, burstLoss, corrupt, duplicate, reorder). */
  readonly rules?: ReadonlyArray<FaultRule>;
}

/**
 * Sees every datagram the link decides, at the time of the decision: drops at send time (partition,
 * MTU, queue, rules), deliveries and arrival-time drops (checksum, host down, no listener) at
 * arrival. The hook for a pcap writer. `bytes` is valid only during the call.
 */
export type LinkTap = (
  timeNs: number,
  from: SimAddress,
  to: SimAddress,
  bytes: Uint8Array,
  offset: number,
  length: number,
  verdict: number,
) => void;

export class LinkCounters {
  /** Datagrams offered to the link (each counted once, whatever became of it). */
  sentPackets = 0;
  sentBytes = 0;
  /** Copies handed to a node (duplicates count; DELIVERED_CORRUPT counts here too). */
  deliveredPackets = 0;
  deliveredBytes = 0;
  /** Extra copies made by duplication. */
  duplicatedPackets = 0;
  /** Datagrams with a flipped byte (delivered or not). */
  corruptedPackets = 0;
  droppedPackets = 0;
  droppedBytes = 0;
  /** Drops by verdict (index with Verdict.DROP_*). */
  readonly droppedByVerdict = new Float64Array(VERDICT_COUNT);

  dropped(verdict: number): number {
    return this.droppedByVerdict[verdict] ?? 0;
  }

  /** A plain object for printing and for comparing in tests. */
  snapshot(): Record<string, number> {
    const result: Record<string, number> = {
      sentPackets: this.sentPackets,
      sentBytes: this.sentBytes,
      deliveredPackets: this.deliveredPackets,
      deliveredBytes: this.deliveredBytes,
      duplicatedPackets: this.duplicatedPackets,
      corruptedPackets: this.corruptedPackets,
      droppedPackets: this.droppedPackets,
      droppedBytes: this.droppedBytes,
    };
    for (let verdict = Verdict.DROP_PARTITION; verdict < VERDICT_COUNT; verdict++) {
      const count = this.droppedByVerdict[verdict] ?? 0;
      if (count !== 0) result[`dropped.${verdictName(verdict)}`] = count;
    }
    return result;
  }
}

/** Builds the rule chain a model describes: built-ins first, in a fixed order, then user rules. */
export function chainForModel(model: LinkModel): FaultChain {
  const rules: FaultRule[] = [];
  if (model.loss !== undefined) rules.push(new BernoulliLoss(model.loss));
  if (model.burstLoss !== undefined) rules.push(new GilbertElliottLoss(model.burstLoss));
  if (model.corrupt !== undefined) rules.push(new Corruption(model.corrupt));
  if (model.duplicate !== undefined) rules.push(new Duplication(model.duplicate));
  if (model.reorder !== undefined) rules.push(new Reordering(model.reorder));
  if (model.rules !== undefined) rules.push(...model.rules);
  return new FaultChain(rules);
}

const TWO_POW_53 = 9007199254740992;

export class Link {
  readonly counters = new LinkCounters();
  /** False while partitioned: everything offered is dropped (DROP_PARTITION). */
  up = true;
  tap: LinkTap | null = null;

  private modelValue!: LinkModel;
  private chain!: FaultChain;
  private latencyNs = 0;
  private jitterNs = 0;
  private bitsPerSecond = 0;
  private queueBytesMax = 0;
  private queuePacketsMax = 0;
  private mtuBytes = 0;
  private headerBytes = 0;
  deliverCorrupted = false;

  // The bottleneck queue: finish times and wire sizes of datagrams not yet fully serialized, as a
  // ring of queuePacketsMax entries. Entries leave lazily when a later admit() finds them done.
  private queueFinishNs = new Float64Array(1);
  private queueWireBytes = new Float64Array(1);
  private queueHead = 0;
  private queueLength = 0;
  private queuedBytes = 0;
  private busyUntilNs = 0;

  private readonly packet = new FaultPacket();
  private readonly decision = new FaultDecision();

  // Results of the latest admit().
  /** Arrival time of each copy (first `copies` entries). */
  readonly arrivalNs = new Float64Array(MAX_COPIES);
  /** The drop verdict when admit() returned 0. */
  dropVerdict = 0;
  corruptIndex = -1;
  corruptXor = 0;

  constructor(
    readonly id: number,
    /** Sending and receiving host names, for messages and labels. */
    readonly fromName: string,
    readonly toName: string,
    readonly random: Prng,
    model: LinkModel,
  ) {
    this.setModel(model);
  }

  get model(): LinkModel {
    return this.modelValue;
  }

  get name(): string {
    return `${this.fromName}->${this.toName}`;
  }

  /** Datagrams in the bottleneck queue as of the latest admit(). */
  get queuedPackets(): number {
    return this.queueLength;
  }

  /**
   * Replaces the model. Rule state (a burst-loss channel's state) starts over; datagrams already in
   * flight keep the times they were given; the queue keeps its contents when the new model also
   * has a bandwidth limit and a queue at least as long, and is emptied otherwise.
   */
  setModel(model: LinkModel): void {
    assertIntegerInRange(model.latencyNs, 0, TWO_POW_53 / 4, "latencyNs");
    const jitterNs = model.jitterNs ?? 0;
    assertIntegerInRange(jitterNs, 0, TWO_POW_53 / 4, "jitterNs");
    const bitsPerSecond = model.bandwidthBitsPerSecond ?? 0;
    assertIntegerInRange(bitsPerSecond, 0, TWO_POW_53 / 4, "bandwidthBitsPerSecond");
    const queueBytesMax = model.queueBytesMax ?? 1 << 20;
    assertIntegerInRange(queueBytesMax, 0, 1 << 30, "queueBytesMax");
    const queuePacketsMax = model.queuePacketsMax ?? 4096;
    assertIntegerInRange(queuePacketsMax, 1, 1 << 20, "queuePacketsMax");
    const mtuBytes = model.mtuBytes ?? 65535;
    assertIntegerInRange(mtuBytes, 1, 1 << 20, "mtuBytes");
    const headerBytes = model.headerBytes ?? IPV4_UDP_HEADER_BYTES;
    assertIntegerInRange(headerBytes, 0, 1024, "headerBytes");
    const chain = chainForModel(model);

    this.modelValue = model;
    this.chain = chain;
    this.latencyNs = model.latencyNs;
    this.jitterNs = jitterNs;
    this.mtuBytes = mtuBytes;
    this.headerBytes = headerBytes;
    this.deliverCorrupted = model.deliverCorrupted ?? false;
    const keepQueue = bitsPerSecond > 0 && this.bitsPerSecond > 0 && queuePacketsMax >= this.queuePacketsMax;
    // Without a bandwidth limit nothing ever queues; a one-entry ring saves the memory.
    const ringSize = bitsPerSecond > 0 ? queuePacketsMax : 1;
    if (!keepQueue || this.queueFinishNs.length !== ringSize) {
      const finish = new Float64Array(ringSize);
      const wire = new Float64Array(ringSize);
      if (keepQueue) {
        for (let i = 0; i < this.queueLength; i++) {
          const from = (this.queueHead + i) % this.queueFinishNs.length;
          finish[i] = this.queueFinishNs[from] ?? 0;
          wire[i] = this.queueWireBytes[from] ?? 0;
        }
      } else {
        this.queueLength = 0;
        this.queuedBytes = 0;
        this.busyUntilNs = 0;
      }
      this.queueFinishNs = finish;
      this.queueWireBytes = wire;
      this.queueHead = 0;
    }
    this.bitsPerSecond = bitsPerSecond;
    this.queueBytesMax = queueBytesMax;
    this.queuePacketsMax = queuePacketsMax;
  }

  /** Time to clock `wireBytes` onto the link: ceil(bits * 1e9 / rate), exact in doubles below 2^52. */
  serializationNs(wireBytes: number): number {
    if (this.bitsPerSecond === 0) return 0;
    return Math.ceil((wireBytes * 8 * 1e9) / this.bitsPerSecond);
  }

  /**
   * Decides the fate of one datagram sent at `nowNs`. Returns the number of copies that will
   * arrive (their times in arrivalNs, the corruption to apply in corruptIndex/corruptXor), or 0
   * when it is dropped (the verdict in dropVerdict). Counts sends and send-time drops.
   */
  admit(
    nowNs: number,
    fromIp: number,
    fromPort: number,
    toIp: number,
    toPort: number,
    bytes: Uint8Array,
    offset: number,
    length: number,
  ): number {
    const counters = this.counters;
    counters.sentPackets++;
    counters.sentBytes += length;
    this.corruptIndex = -1;
    this.corruptXor = 0;
    if (!this.up) return this.dropAtSend(Verdict.DROP_PARTITION, length);
    const wireBytes = length + this.headerBytes;
    if (wireBytes > this.mtuBytes) return this.dropAtSend(Verdict.DROP_MTU, length);

    let departNs = nowNs;
    if (this.bitsPerSecond !== 0) {
      // Let go of every datagram that has finished serializing by now.
      const ring = this.queueFinishNs.length;
      while (this.queueLength > 0 && (this.queueFinishNs[this.queueHead] ?? 0) <= nowNs) {
        this.queuedBytes -= this.queueWireBytes[this.queueHead] ?? 0;
        this.queueHead = this.queueHead + 1 === ring ? 0 : this.queueHead + 1;
        this.queueLength--;
      }
      if (this.queueLength >= this.queuePacketsMax || this.queuedBytes + wireBytes > this.queueBytesMax) {
        return this.dropAtSend(Verdict.DROP_QUEUE_FULL, length);
      }
      const startNs = this.busyUntilNs > nowNs ? this.busyUntilNs : nowNs;
      departNs = startNs + this.serializationNs(wireBytes);
      this.busyUntilNs = departNs;
      let tail = this.queueHead + this.queueLength;
      if (tail >= ring) tail -= ring;
      this.queueFinishNs[tail] = departNs;
      this.queueWireBytes[tail] = wireBytes;
      this.queueLength++;
      this.queuedBytes += wireBytes;
    }

    const decision = this.decision;
    if (this.chain.rules.length !== 0) {
      this.packet.set(fromIp, fromPort, toIp, toPort, bytes, offset, length);
      if (!this.chain.decide(nowNs, this.packet, this.random, decision)) {
        return this.dropAtSend(decision.dropVerdict, length);
      }
      if (decision.corruptIndex >= 0 && decision.corruptIndex < length) {
        this.corruptIndex = decision.corruptIndex;
        this.corruptXor = decision.corruptXor;
        counters.corruptedPackets++;
      }
    } else {
      decision.reset();
    }

    const copies = decision.copies;
    const baseNs = departNs + this.latencyNs + decision.extraDelayNs;
    for (let copy = 0; copy < copies; copy++) {
      let arrivalNs = baseNs + (copy === 0 ? 0 : (decision.copyDelayNs[copy] ?? 0));
      if (this.jitterNs !== 0) arrivalNs += this.random.intBelow(this.jitterNs + 1);
      this.arrivalNs[copy] = arrivalNs;
    }
    counters.duplicatedPackets += copies - 1;
    return copies;
  }

  /** Counts a copy handed to its node. */
  countDelivered(length: number): void {
    this.counters.deliveredPackets++;
    this.counters.deliveredBytes += length;
  }

  /** Counts a drop decided at arrival (checksum, host down, no listener). */
  countDropped(verdict: number, length: number): void {
    assert(verdict >= Verdict.DROP_PARTITION && verdict < VERDICT_COUNT, "countDropped: not a drop verdict");
    const counters = this.counters;
    counters.droppedPackets++;
    counters.droppedBytes += length;
    counters.droppedByVerdict[verdict] = (counters.droppedByVerdict[verdict] ?? 0) + 1;
  }

  private dropAtSend(verdict: number, length: number): number {
    this.dropVerdict = verdict;
    this.countDropped(verdict, length);
    return 0;
  }
}
