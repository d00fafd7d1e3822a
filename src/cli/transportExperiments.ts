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
    const node = attachEngine(host);
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
