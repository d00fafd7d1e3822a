// Measured experiments for multicast flow control, NAK-implosion control and congestion control
// (issue 5), run through real engines in the simulator. Each experiment is a function of a seed
// and a few options that builds a Simulation, runs it, checks every message (in order, exactly
// once) and returns the figures; the tests under test/sim assert on them and `petrel sim <name>`
// prints them (experimentScenarios.ts).
//
// Topologies (the simulator has one directed link per host pair, each with its own queue):
//  - bottleneck: one sender host "pub" and one receiver host "sub"; the pub -> sub link is the
//    bottleneck (bandwidth, bounded FIFO queue, tail drop). Two flows share it by being two
//    publications on pub and two subscriptions (two ports) on sub: their datagrams go through the
//    same link, hence the same queue. The sub -> pub path (SMs, NAKs, RTTM) is uncongested.
//  - multicast group: one sender, n receivers; every receiver has its own pub -> receiver link
//    (the simulator copies a multicast datagram per member, then each copy takes its member's
//    link), so a "slow path" is one receiver's link with a low bandwidth.
//
// Queueing delay is measured per datagram at the bottleneck: the link's admit() is wrapped to
// record, for every datagram it queues, how long it waits behind the datagrams already there
// (departure − now − its own serialization time). Wrapping a method of one Link object changes no
// decision of the link, so the run is the same as without it (the trace hash shows it).
import { ADMIN_ACTION, Counter } from "../core/engine/index.js";
import type { Publication } from "../core/engine/publication.js";
import type { Subscription } from "../core/engine/subscription.js";
import { attachEngine, type EngineHost } from "../sim/engineHost.js";
import type { Link } from "../sim/link.js";
import { Simulation } from "../sim/simulator.js";

const MS = 1_000_000;
const US = 1_000;
/** Jitter on the uncongested reverse path of the bottleneck experiment. */
const REVERSE_JITTER_NS = 20 * US;

/** Bytes per message in the bulk experiments: one full frame per datagram at the default MTU 1408. */
export const BULK_MESSAGE_BYTES = 1376;

function writeIndex(bytes: Uint8Array, index: number): void {
  bytes[0] = index & 0xff;
  bytes[1] = (index >>> 8) & 0xff;
  bytes[2] = (index >>> 16) & 0xff;
  bytes[3] = (index >>> 24) & 0xff;
}

function readIndex(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) | ((bytes[offset + 1] as number) << 8) | ((bytes[offset + 2] as number) << 16) |
    ((bytes[offset + 3] as number) << 24)) >>> 0;
}

/** Counts messages of one stream, checking each carries the next index (in order, exactly once). */
export class OrderedCounter {
  received = 0;
  bytes = 0;
  violations = 0;
  firstViolation = "";

  onMessage(buffer: Uint8Array, offset: number, length: number): void {
    const index = readIndex(buffer, offset);
    if (index !== this.received && this.violations++ === 0) this.firstViolation = `expected message ${this.received}, got ${index}`;
    this.received++;
    this.bytes += length;
  }
}

/** Offers messages flat out (until back pressure), each carrying its index; `limit` caps the total. */
export function bulkOffer(publication: Publication, message: Uint8Array, state: { sent: number }, limit: number): void {
  // Bounded: stops at back pressure or the limit.
  while (state.sent < limit) {
    writeIndex(message, state.sent);
    const result = publication.offer(message);
    if (result === ADMIN_ACTION) continue;
    if (result < 0) return;
    state.sent++;
  }
}

/** Per-datagram waiting time in a link's queue, recorded by wrapping the link's admit(). */
export class QueueDelayProbe {
  readonly samplesNs: number[] = [];
  recording = false;

  constructor(link: Link) {
    const admit = link.admit.bind(link);
    link.admit = (nowNs, fromIp, fromPort, toIp, toPort, bytes, offset, length) => {
      const copies = admit(nowNs, fromIp, fromPort, toIp, toPort, bytes, offset, length);
      if (copies > 0 && this.recording) {
        // Jitter 0 and no extra delay on the bottleneck: arrival = departure + latency.
        const departNs = (link.arrivalNs[0] as number) - link.model.latencyNs;
        const waitNs = departNs - nowNs - link.serializationNs(length + (link.model.headerBytes ?? 28));
        this.samplesNs.push(waitNs);
      }
      return copies;
    };
  }

  meanNs(): number {
    if (this.samplesNs.length === 0) return 0;
    let sum = 0;
    for (const s of this.samplesNs) sum += s;
    return sum / this.samplesNs.length;
  }

  percentileNs(p: number): number {
    if (this.samplesNs.length === 0) return 0;
    const sorted = Float64Array.from(this.samplesNs).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  }
}

/** Jain's fairness index of rates: (Σx)² / (n·Σx²), 1 when all equal, 1/n when one takes all. */
export function jainIndex(rates: ReadonlyArray<number>): number {
  let sum = 0;
  let squares = 0;
  for (const r of rates) {
    sum += r;
    squares += r * r;
  }
  return squares === 0 ? 0 : (sum * sum) / (rates.length * squares);
}

// ------------------------------------------------------------------------------------------------
// Bottleneck: congestion control on one shared link.

export interface BottleneckOptions {
  /** `cc=` on the subscription channels: static, cubic or bbr. */
  readonly cc: "static" | "cubic" | "bbr";
  /** Flows sharing the bottleneck (1 or 2). */
  readonly flows: number;
  readonly bandwidthBitsPerSecond?: number;
  readonly queuePackets?: number;
  /** One-way propagation delay (both directions). */
  readonly latencyNs?: number;
  /** Simulated run length and the start of the measured window. */
  readonly durationNs?: number;
  readonly warmupNs?: number;
  /** Start of the second flow (the first starts at 0). */
  readonly secondFlowStartNs?: number;
  /** Receiver window bound (`rcv-wnd`). */
  readonly receiverWindow?: string;
  /** Interval at which each image's receiver window is sampled. */
  readonly windowSampleIntervalNs?: number;
  /** CUBIC's TCP-friendly mode on the receiving engine (EngineConfig.cubicTcpMode; default off, as Aeron). */
  readonly cubicTcpMode?: boolean;
}

export interface BottleneckResult {
  readonly seed: number;
  readonly cc: string;
  readonly flows: number;
  readonly capacityBitsPerSecond: number;
  /** Delivered payload bits / (capacity × measured window), all flows together. */
  readonly utilisation: number;
  /** Per flow, payload bits per second over the measured window. */
  readonly flowRatesBitsPerSecond: ReadonlyArray<number>;
  readonly jain: number;
  readonly queueDelayMeanNs: number;
  readonly queueDelayP99Ns: number;
  readonly queueDrops: number;
  /** Per flow: [timeNs, windowBytes] samples of the receiver window the image reports in SMs. */
  readonly windowSamples: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
  readonly naksSent: number;
  readonly violations: number;
  readonly firstViolation: string;
  readonly traceHash: string;
  readonly sim: Simulation;
}

export function runBottleneck(seed: number, options: BottleneckOptions): BottleneckResult {
  const bandwidth = options.bandwidthBitsPerSecond ?? 100_000_000;
  const queuePackets = options.queuePackets ?? 64;
  const latencyNs = options.latencyNs ?? 1 * MS;
  const durationNs = options.durationNs ?? 6_000 * MS;
  const warmupNs = options.warmupNs ?? 2_000 * MS;
  const secondStartNs = options.secondFlowStartNs ?? 0;
  const window = options.receiverWindow ?? "512k";
  const sampleNs = options.windowSampleIntervalNs ?? 10 * MS;
  const flows = options.flows;

  // The reverse path (SMs, NAKs, RTTM) has a little jitter, so that seeds differ; the bottleneck
  // has none (QueueDelayProbe relies on arrival = departure + latency).
  const sim = new Simulation({ seed, defaultLink: { latencyNs, jitterNs: REVERSE_JITTER_NS } });
  const counters: OrderedCounter[] = [];
  let subNode: EngineHost | undefined;
  let pubNode: EngineHost | undefined;
  const publications: Publication[] = [];
  const states: Array<{ sent: number }> = [];
  for (let f = 0; f < flows; f++) {
    counters.push(new OrderedCounter());
    states.push({ sent: 0 });
  }
  const channel = (f: number, receiver: boolean) =>
    `aeron:udp?endpoint=10.0.0.2:${40100 + f}|term-length=1m${receiver ? `|cc=${options.cc}|rcv-wnd=${window}|so-rcvbuf=${window}` : ""}`;
  sim.host("pub", (host) => {
    const node = attachEngine(host);
    pubNode = node;
    const message = new Uint8Array(BULK_MESSAGE_BYTES);
    node.onTick((nowNs) => {
      for (let f = 0; f < flows; f++) {
        if (publications[f] === undefined && (f === 0 || sim.nowNs >= secondStartNs)) {
          publications[f] = node.engine.addPublication(channel(f, false), 10 + f);
        }
        const p = publications[f];
        if (p !== undefined) bulkOffer(p, message, states[f]!, Number.MAX_SAFE_INTEGER);
      }
      node.wakeAt(nowNs + 100 * US);
    });
  }, { ip: "10.0.0.1" });
  sim.host("sub", (host) => {
    const node = attachEngine(host, options.cubicTcpMode === undefined ? {} : { config: { cubicTcpMode: options.cubicTcpMode } });
    subNode = node;
    const subscriptions: Subscription[] = [];
    for (let f = 0; f < flows; f++) subscriptions.push(node.engine.addSubscription(channel(f, true), 10 + f));
    node.onTick(() => {
      for (let f = 0; f < flows; f++) {
        const c = counters[f]!;
        subscriptions[f]!.poll((buffer, offset, length) => c.onMessage(buffer, offset, length), 1024);
      }
    });
  }, { ip: "10.0.0.2" });
  const bottleneck = sim.link("pub", "sub", { latencyNs, bandwidthBitsPerSecond: bandwidth, queuePacketsMax: queuePackets }, { oneWay: true });
  const probe = new QueueDelayProbe(bottleneck);

  const windowSamples: Array<Array<readonly [number, number]>> = [];
  for (let f = 0; f < flows; f++) windowSamples.push([]);
  for (let t = sampleNs; t < durationNs; t += sampleNs) {
    sim.at(t, () => {
      const engine = subNode!.engine;
      for (const image of engine.images) {
        const f = image.streamId - 10;
        if (f >= 0 && f < flows) windowSamples[f]!.push([t, image.currentWindowLength()]);
      }
    });
  }
  sim.runFor(warmupNs);
  const bytesAtWarmup = counters.map((c) => c.bytes);
  probe.recording = true;
  sim.runFor(durationNs - warmupNs);
  probe.recording = false;
  const seconds = (durationNs - warmupNs) / 1e9;
  const rates = counters.map((c, f) => ((c.bytes - bytesAtWarmup[f]!) * 8) / seconds);
  const total = rates.reduce((a, b) => a + b, 0);
  void pubNode;
  return {
    seed,
    cc: options.cc,
    flows,
    capacityBitsPerSecond: bandwidth,
    utilisation: total / bandwidth,
    flowRatesBitsPerSecond: rates,
    jain: jainIndex(rates),
    queueDelayMeanNs: probe.meanNs(),
    queueDelayP99Ns: probe.percentileNs(0.99),
    queueDrops: bottleneck.counters.droppedPackets,
    windowSamples,
    naksSent: subNode!.engine.counters.get(Counter.NAKS_SENT),
    violations: counters.reduce((a, c) => a + c.violations, 0),
    firstViolation: counters.map((c) => c.firstViolation).join(" "),
    traceHash: sim.traceHash(),
    sim,
  };
}

export function formatBottleneck(r: BottleneckResult): string {
  const rates = r.flowRatesBitsPerSecond.map((x) => (x / 1e6).toFixed(1)).join("/");
  return `cc=${r.cc} flows=${r.flows} seed=${r.seed}: utilisation ${(r.utilisation * 100).toFixed(1)}% ` +
    `(flows ${rates} Mbit/s, Jain ${r.jain.toFixed(3)}), queueing delay mean ${(r.queueDelayMeanNs / 1e6).toFixed(3)} ms ` +
    `p99 ${(r.queueDelayP99Ns / 1e6).toFixed(3)} ms, queue drops ${r.queueDrops}, NAKs ${r.naksSent}`;
}

// ------------------------------------------------------------------------------------------------
// Multicast group: one publication, n receivers, per-receiver paths.

export const GROUP_ENDPOINT = "224.0.1.1:40456";
const GROUP_STREAM = 77;

export interface GroupReceiverSpec {
  /** gtag=<tag> on this receiver's subscription. */
  readonly groupTag?: number;
  /** The pub -> receiver path (default: 100 Mbit/s, 200 µs). */
  readonly bandwidthBitsPerSecond?: number;
  /** Add the subscription at this time instead of at boot. */
  readonly subscribeAtNs?: number;
}

export interface GroupOptions {
  /** `fc=` value for the publication ("" for the default, max). */
  readonly fc: string;
  readonly receivers: ReadonlyArray<GroupReceiverSpec>;
  readonly termLength?: string;
  readonly messageBytes?: number;
  /** Messages the publisher offers in all (flat out, until back pressure). */
  readonly total?: number;
  /** Test-only filter on the publisher's outgoing datagrams (before the multicast fan-out). */
  readonly outboundFilter?: (bytes: Uint8Array, offset: number, length: number) => boolean;
  readonly latencyNs?: number;
}

export interface GroupRun {
  readonly sim: Simulation;
  readonly counters: ReadonlyArray<OrderedCounter>;
  readonly receiverNodes: ReadonlyArray<EngineHost | undefined>;
  publisherNode(): EngineHost;
  publication(): Publication;
  /** The sender's position and limit (the network publication's). */
  senderPosition(): number;
  senderLimit(): number;
  /** Receiver i's subscriber position, or -1 before it has an image. */
  receiverPosition(i: number): number;
  sent(): number;
}

export function buildGroup(seed: number, options: GroupOptions): GroupRun {
  const latencyNs = options.latencyNs ?? 200 * US;
  const termLength = options.termLength ?? "64k";
  const total = options.total ?? Number.MAX_SAFE_INTEGER;
  const fc = options.fc === "" ? "" : `|fc=${options.fc}`;
  const pubChannel = `aeron:udp?endpoint=${GROUP_ENDPOINT}|term-length=${termLength}${fc}`;
  // Receivers' paths back to the sender (SMs, NAKs) get a little jitter, so that seeds differ.
  const sim = new Simulation({ seed, defaultLink: { latencyNs, jitterNs: REVERSE_JITTER_NS } });
  const counters = options.receivers.map(() => new OrderedCounter());
  const receiverNodes: Array<EngineHost | undefined> = options.receivers.map(() => undefined);
  const subscriptions: Array<Subscription | undefined> = options.receivers.map(() => undefined);
  let pubNode: EngineHost | undefined;
  let publication: Publication | undefined;
  const state = { sent: 0 };
  const messageBytes = options.messageBytes ?? BULK_MESSAGE_BYTES;
  sim.host("pub", (host) => {
    const node = attachEngine(host, options.outboundFilter === undefined ? {} : { outboundFilter: options.outboundFilter });
    pubNode = node;
    const p = node.engine.addPublication(pubChannel, GROUP_STREAM);
    publication = p;
    const message = new Uint8Array(messageBytes);
    node.onTick((nowNs) => {
      bulkOffer(p, message, state, total);
      if (state.sent < total) node.wakeAt(nowNs + 200 * US);
    });
  }, { ip: "10.0.1.1" });
  options.receivers.forEach((spec, i) => {
    const name = `sub${i}`;
    const channel = `aeron:udp?endpoint=${GROUP_ENDPOINT}|term-length=${termLength}${spec.groupTag === undefined ? "" : `|gtag=${spec.groupTag}`}`;
    sim.host(name, (host) => {
      const node = attachEngine(host);
      receiverNodes[i] = node;
      if (spec.subscribeAtNs === undefined) subscriptions[i] = node.engine.addSubscription(channel, GROUP_STREAM);
      const c = counters[i]!;
      node.onTick(() => void subscriptions[i]?.poll((buffer, offset, length) => c.onMessage(buffer, offset, length), 1024));
    }, { ip: `10.0.1.${i + 2}` });
    sim.link("pub", name, { latencyNs, bandwidthBitsPerSecond: spec.bandwidthBitsPerSecond ?? 100_000_000 }, { oneWay: true });
    if (spec.subscribeAtNs !== undefined) {
      sim.at(spec.subscribeAtNs, () => {
        const node = receiverNodes[i]!;
        subscriptions[i] = node.engine.addSubscription(channel, GROUP_STREAM);
        node.wake();
      });
    }
  });
  const network = () => pubNode!.engine.publications[0]!;
  return {
    sim,
    counters,
    receiverNodes,
    publisherNode: () => pubNode!,
    publication: () => publication!,
    senderPosition: () => network().senderPosition,
    senderLimit: () => network().senderLimit,
    receiverPosition: (i) => {
      const image = subscriptions[i]?.images[0];
      return image === undefined ? -1 : image.position;
    },
    sent: () => state.sent,
  };
}

/** Payload bytes receiver i got between two instants: runs the simulation to `toNs`. */
export function bytesBetween(run: GroupRun, receiver: number, toNs: number): number {
  const before = run.counters[receiver]!.bytes;
  run.sim.runFor(toNs - run.sim.nowNs);
  return run.counters[receiver]!.bytes - before;
}

// ------------------------------------------------------------------------------------------------
// NAK implosion: a loss common to every receiver, made before the multicast fan-out.

export interface NakImplosionOptions {
  readonly receivers?: number;
  readonly total?: number;
  /** Drop the first transmission of every `everyFrames`-th data frame. */
  readonly everyFrames?: number;
}

export interface NakImplosionResult {
  readonly seed: number;
  readonly receivers: number;
  readonly gaps: number;
  readonly naksSent: number;
  readonly naksPerGap: number;
  /** Receivers that sent at least one NAK for a gap, on average: naksSent / gaps / receivers. */
  readonly nakFractionPerGap: number;
  readonly naksReceivedBySender: number;
  readonly retransmits: number;
  readonly allDelivered: boolean;
  readonly violations: number;
  readonly timeNs: number;
  readonly sim: Simulation;
}

const DATA_TYPE = 0x01;

export function runNakImplosion(seed: number, options: NakImplosionOptions = {}): NakImplosionResult {
  const n = options.receivers ?? 50;
  const total = options.total ?? 2000;
  const every = options.everyFrames ?? 40;
  const dropped = new Set<number>();
  // Runs in the publisher's host, before the datagram reaches the network: every receiver misses
  // the same frame. Only the first transmission is dropped; the retransmission goes through.
  const filter = (bytes: Uint8Array, offset: number, length: number): boolean => {
    if (length < 32 || bytes[offset + 6] !== DATA_TYPE) return true;
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
    const frameLength = view.getInt32(0, true);
    if (frameLength <= 32) return true; // a heartbeat
    const termOffset = view.getInt32(8, true);
    const termId = view.getInt32(20, true);
    const frameIndex = termOffset / 1408;
    const key = termId * 65536 + frameIndex;
    if (frameIndex % every !== every >> 1 || dropped.has(key)) return true;
    dropped.add(key);
    return false;
  };
  const receivers: GroupReceiverSpec[] = Array.from({ length: n }, () => ({}));
  const run = buildGroup(seed, { fc: "", receivers, total, outboundFilter: filter });
  const done = run.sim.runUntil(() => run.counters.every((c) => c.received >= total), 60e9);
  let naks = 0;
  for (const node of run.receiverNodes) naks += node!.engine.counters.get(Counter.NAKS_SENT);
  const sender = run.publisherNode().engine.counters;
  const gaps = dropped.size;
  return {
    seed,
    receivers: n,
    gaps,
    naksSent: naks,
    naksPerGap: gaps === 0 ? 0 : naks / gaps,
    nakFractionPerGap: gaps === 0 ? 0 : naks / gaps / n,
    naksReceivedBySender: sender.get(Counter.NAKS_RECEIVED),
    retransmits: sender.get(Counter.RETRANSMITS_SENT),
    allDelivered: done && run.counters.every((c) => c.received === total),
    violations: run.counters.reduce((a, c) => a + c.violations, 0),
    timeNs: run.sim.nowNs,
    sim: run.sim,
  };
}

export function formatNakImplosion(r: NakImplosionResult): string {
  return `nak-implosion seed=${r.seed}: ${r.receivers} receivers, ${r.gaps} common gaps, ${r.naksSent} NAKs ` +
    `(${r.naksPerGap.toFixed(2)} per gap = ${(r.nakFractionPerGap * 100).toFixed(1)}% of receivers), ` +
    `${r.retransmits} retransmits, all delivered ${r.allDelivered}`;
}
