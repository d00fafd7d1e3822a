// Measured experiments for multicast flow control, NAK-implosion control and congestion control
// (issue 5), run through real engines in the simulator. Each experiment is a function of a seed
// and a few options that builds a Simulation, runs it and returns the figures and its checks
// (Check[]); the tests under test/sim assert on them and `petrel sim <name>` prints them
// (experimentScenarios.ts). Messages are the simulator's fixed-length StreamContent and every
// receiver checks each one with the simulator's StreamChecker (exactly once, in order from
// message 0, byte-identical): CheckedReceiver.
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
import { formatViolation, StreamChecker, ViolationLog } from "../sim/invariants.js";
import { Simulation } from "../sim/simulator.js";
import { StreamContent } from "../sim/workloadStream.js";

const MS = 1_000_000;
const US = 1_000;
/** Jitter on the uncongested reverse path of the bottleneck experiment. */
const REVERSE_JITTER_NS = 20 * US;

/** Bytes per message in the bulk experiments: one full frame per datagram at the default MTU 1408. */
export const BULK_MESSAGE_BYTES = 1376;

/**
 * One stream's receiving side: counts messages and bytes and checks every message with the
 * simulator's StreamChecker (exactly once, in order from message 0, byte-identical to the
 * StreamContent the publisher sent). Fail-fast: the first violation is kept.
 */
export class CheckedReceiver {
  received = 0;
  bytes = 0;
  private readonly log = new ViolationLog();
  private readonly checker: StreamChecker;

  constructor(content: StreamContent, clock: () => number, stream = 0) {
    this.checker = new StreamChecker(stream, content, true, 0, this.log, clock);
  }

  /** 0, or 1 once a message failed its check. */
  get violations(): number {
    return this.log.failed ? 1 : 0;
  }

  get firstViolation(): string {
    return this.log.first === null ? "" : formatViolation(this.log.first);
  }

  onMessage(buffer: Uint8Array, offset: number, length: number): void {
    this.received++;
    this.bytes += length;
    if (!this.log.failed) this.checker.onMessage(buffer, offset, length);
  }
}

/** Fixed-length content for stream `stream` of a run: BULK_MESSAGE_BYTES-byte messages, as many as a run can send. */
export function bulkContent(seed: number, stream: number, messageBytes = BULK_MESSAGE_BYTES): StreamContent {
  return new StreamContent({ seed, stream, count: 0xffffffff, messageBytes });
}

/** Offers messages of `content` flat out (until back pressure); `limit` caps the total. */
export function bulkOffer(publication: Publication, content: StreamContent, buffer: Uint8Array, state: { sent: number }, limit: number): void {
  const last = Math.min(limit, content.count);
  // Bounded: stops at back pressure or the limit.
  while (state.sent < last) {
    const length = content.fill(buffer, 0, state.sent);
    const result = publication.offer(buffer, 0, length);
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

/** One of an experiment's checks: what the tests assert and `petrel sim <experiment>` reports. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

function check(name: string, ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

function mbps(bitsPerSecond: number, digits = 1): string {
  return `${(bitsPerSecond / 1e6).toFixed(digits)} Mbit/s`;
}

function ms(ns: number, digits = 1): string {
  return `${(ns / MS).toFixed(digits)} ms`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function inOrderCheck(receivers: ReadonlyArray<CheckedReceiver>): Check {
  const bad = receivers.findIndex((c) => c.violations > 0);
  const messages = receivers.reduce((a, c) => a + c.received, 0);
  return check("exactly once, in order, intact", bad < 0,
    bad < 0 ? `${messages} messages checked at ${receivers.length} receiver(s)` : `receiver ${bad}: ${receivers[bad]!.firstViolation}`);
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
  const counters: CheckedReceiver[] = [];
  const contents: StreamContent[] = [];
  let subNode: EngineHost | undefined;
  let pubNode: EngineHost | undefined;
  const publications: Publication[] = [];
  const states: Array<{ sent: number }> = [];
  for (let f = 0; f < flows; f++) {
    contents.push(bulkContent(seed, f));
    counters.push(new CheckedReceiver(contents[f]!, () => sim.nowNs, f));
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
        if (p !== undefined) bulkOffer(p, contents[f]!, message, states[f]!, Number.MAX_SAFE_INTEGER);
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

/** Each flow's distance from the fair share (the mean of the flows' rates), as a fraction. */
export function fairShareDeviations(r: BottleneckResult): number[] {
  const fair = r.flowRatesBitsPerSecond.reduce((a, b) => a + b, 0) / r.flowRatesBitsPerSecond.length;
  return r.flowRatesBitsPerSecond.map((rate) => Math.abs(rate / fair - 1));
}

/** CUBIC or BBR alone on the bottleneck: fills the pipe; CUBIC finds the queue's end by loss. */
export function singleFlowChecks(r: BottleneckResult): Check[] {
  const checks = [check("utilisation ≥ 80% after startup", r.utilisation >= 0.8, percent(r.utilisation))];
  if (r.cc === "cubic") checks.push(check("the window is found by loss (queue drops)", r.queueDrops > 0, `${r.queueDrops} drops`));
  return checks;
}

/**
 * Two flows: in TCP-friendly mode each within ±20% of the fair share and Jain ≥ 0.95; in Aeron's
 * default mode (slower convergence, test/sim/congestionControl.test.ts has the numbers) neither
 * below 15% of capacity and Jain ≥ 0.7.
 */
export function twoFlowChecks(r: BottleneckResult, tcpMode: boolean): Check[] {
  const deviations = fairShareDeviations(r);
  const worst = Math.max(...deviations);
  const rates = r.flowRatesBitsPerSecond.map((x) => mbps(x)).join(", ");
  const checks = tcpMode
    ? [
        check("each flow within ±20% of the fair share", worst <= 0.2, `${rates}: worst ${percent(worst)}`),
        check("Jain's index ≥ 0.95", r.jain >= 0.95, r.jain.toFixed(3)),
      ]
    : [
        check("neither flow below 15% of capacity", r.flowRatesBitsPerSecond.every((x) => x >= 0.15 * r.capacityBitsPerSecond), rates),
        check("Jain's index ≥ 0.7", r.jain >= 0.7, r.jain.toFixed(3)),
      ];
  checks.push(check("utilisation ≥ 80%", r.utilisation >= 0.8, percent(r.utilisation)));
  return checks;
}

/** The delay-based controller against CUBIC on the same seed: similar utilisation, much less queueing. */
export function bbrVersusCubicChecks(bbr: BottleneckResult, cubic: BottleneckResult): Check[] {
  return [
    check("utilisation ≥ 80%", bbr.utilisation >= 0.8, percent(bbr.utilisation)),
    check("utilisation within 10 points of CUBIC's", bbr.utilisation >= cubic.utilisation - 0.1, `${percent(bbr.utilisation)} vs ${percent(cubic.utilisation)}`),
    check("mean queueing delay under half of CUBIC's", bbr.queueDelayMeanNs < cubic.queueDelayMeanNs / 2, `${ms(bbr.queueDelayMeanNs, 3)} vs ${ms(cubic.queueDelayMeanNs, 3)}`),
    check("p99 queueing delay under CUBIC's", bbr.queueDelayP99Ns < cubic.queueDelayP99Ns, `${ms(bbr.queueDelayP99Ns, 3)} vs ${ms(cubic.queueDelayP99Ns, 3)}`),
  ];
}

/** Every message of every flow arrived in order, exactly once, intact. */
export function bottleneckDeliveryCheck(r: BottleneckResult): Check {
  return check("exactly once, in order, intact", r.violations === 0, r.violations === 0 ? "every flow" : r.firstViolation);
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
  readonly counters: ReadonlyArray<CheckedReceiver>;
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
  const messageBytes = options.messageBytes ?? BULK_MESSAGE_BYTES;
  const content = bulkContent(seed, 0, messageBytes);
  const counters = options.receivers.map((_, i) => new CheckedReceiver(content, () => sim.nowNs, i));
  const receiverNodes: Array<EngineHost | undefined> = options.receivers.map(() => undefined);
  const subscriptions: Array<Subscription | undefined> = options.receivers.map(() => undefined);
  let pubNode: EngineHost | undefined;
  let publication: Publication | undefined;
  const state = { sent: 0 };
  sim.host("pub", (host) => {
    const node = attachEngine(host, options.outboundFilter === undefined ? {} : { outboundFilter: options.outboundFilter });
    pubNode = node;
    const p = node.engine.addPublication(pubChannel, GROUP_STREAM);
    publication = p;
    const message = new Uint8Array(messageBytes);
    node.onTick((nowNs) => {
      bulkOffer(p, content, message, state, total);
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

/** Runs the simulation every `stepNs` until `toNs`, calling `sample` after each step. */
export function sampleUntil(run: GroupRun, toNs: number, stepNs: number, sample: () => void): void {
  // Bounded: each step advances simulated time.
  while (run.sim.nowNs < toNs) {
    run.sim.runFor(Math.min(stepNs, toNs - run.sim.nowNs));
    sample();
  }
}

// ------------------------------------------------------------------------------------------------
// Multicast flow control: 1 sender, 10 receivers, one of them behind a 2 Mbit/s path (the others
// 100 Mbit/s). term-length 64k, so the receiver window is 32 KiB.

export const FC_RECEIVERS = 10;
export const FC_WINDOW_BYTES = 32 * 1024;
export const FC_SLOW_BITS_PER_SECOND = 2_000_000;
/** Receiver timeout of the fc=min experiment (`t:500ms`). */
export const FC_MIN_RECEIVER_TIMEOUT_NS = 500 * MS;

/** The 10 receivers, `slow` (or none, -1) behind the slow path; `extra` adds to receiver i's spec. */
export function fcReceivers(slow: number, extra: (i: number) => Partial<GroupReceiverSpec> = () => ({})): GroupReceiverSpec[] {
  return Array.from({ length: FC_RECEIVERS }, (_, i) => ({ ...(i === slow ? { bandwidthBitsPerSecond: FC_SLOW_BITS_PER_SECOND } : {}), ...extra(i) }));
}

export interface FcMinResult {
  readonly seed: number;
  /** Over 0.5-2 s, sampled every 5 ms: the sender's lead over the slow receiver, and the fast receivers'. */
  readonly senderLeadMaxBytes: number;
  readonly fastLeadMaxBytes: number;
  /** A fast receiver's rate over 2-3 s, held to the slow path. */
  readonly heldBitsPerSecond: number;
  /** The slow receiver crashes at crashNs; the sender's limit passes its position (it is dropped) at droppedNs. */
  readonly crashNs: number;
  readonly lastSmNs: number;
  readonly droppedNs: number;
  /** A fast receiver's rate over the second starting 100 ms after the drop. */
  readonly afterBitsPerSecond: number;
  readonly checks: ReadonlyArray<Check>;
  readonly traceHash: string;
  readonly sim: Simulation;
}

/**
 * fc=min,t:500ms: the sender is held to the slow receiver (receiver 9) until it crashes (at about
 * 3.2 s); the sender drops it 500 ms after its last status message and the rest speed up.
 */
export function runFcMin(seed: number): FcMinResult {
  const slow = FC_RECEIVERS - 1;
  const run = buildGroup(seed, { fc: `min,t:${FC_MIN_RECEIVER_TIMEOUT_NS / MS}ms`, receivers: fcReceivers(slow) });
  run.sim.runFor(500 * MS);
  let senderLeadMax = 0;
  let fastLeadMax = 0;
  sampleUntil(run, 2000 * MS, 5 * MS, () => {
    const slowPosition = run.receiverPosition(slow);
    senderLeadMax = Math.max(senderLeadMax, run.senderPosition() - slowPosition);
    for (let i = 0; i < slow; i++) fastLeadMax = Math.max(fastLeadMax, run.receiverPosition(i) - slowPosition);
  });
  const held = bytesBetween(run, 0, 3000 * MS) * 8; // over [2 s, 3 s]

  // Crash the slow receiver; note when it last sent a status message.
  const slowNode = run.receiverNodes[slow]!;
  let lastSmNs = 0;
  let lastSmCount = slowNode.engine.counters.get(Counter.STATUS_MESSAGES_SENT);
  sampleUntil(run, 3200 * MS, 1000, () => {
    const count = slowNode.engine.counters.get(Counter.STATUS_MESSAGES_SENT);
    if (count !== lastSmCount) {
      lastSmCount = count;
      lastSmNs = run.sim.nowNs;
    }
  });
  const crashNs = run.sim.nowNs;
  const deadPosition = run.receiverPosition(slow);
  run.sim.crash(`sub${slow}`);
  let droppedNs = -1;
  sampleUntil(run, crashNs + 1500 * MS, 1000, () => {
    if (droppedNs < 0 && run.senderLimit() > deadPosition + FC_WINDOW_BYTES) droppedNs = run.sim.nowNs;
  });
  run.sim.runFor(100 * MS);
  const after = bytesBetween(run, 0, run.sim.nowNs + 1000 * MS) * 8;
  const afterSmNs = droppedNs - lastSmNs;
  const checks = [
    check("the sender stays within a window of the slow receiver", senderLeadMax <= FC_WINDOW_BYTES, `max lead ${senderLeadMax} B, window ${FC_WINDOW_BYTES} B`),
    check("so do the fast receivers", fastLeadMax <= FC_WINDOW_BYTES, `max lead ${fastLeadMax} B`),
    check("throughput held to the slow path (0.5-1 × its capacity)", held <= FC_SLOW_BITS_PER_SECOND && held > FC_SLOW_BITS_PER_SECOND / 2,
      `${mbps(held, 2)} on a ${mbps(FC_SLOW_BITS_PER_SECOND, 0)} path`),
    // SM send time + 200 µs to the sender + the 500 ms timeout, and 1 ms sampling of the sender here.
    check("the crashed receiver is dropped 500-510 ms after its last SM", droppedNs > 0 && afterSmNs >= FC_MIN_RECEIVER_TIMEOUT_NS &&
      afterSmNs <= FC_MIN_RECEIVER_TIMEOUT_NS + 10 * MS, droppedNs > 0 ? ms(afterSmNs) : "never dropped"),
    check("the rest speed up (> 10×)", after > 10 * held, `${mbps(held, 2)} -> ${mbps(after, 2)}`),
    inOrderCheck(run.counters),
  ];
  return {
    seed, senderLeadMaxBytes: senderLeadMax, fastLeadMaxBytes: fastLeadMax, heldBitsPerSecond: held, crashNs, lastSmNs, droppedNs,
    afterBitsPerSecond: after, checks, traceHash: run.sim.traceHash(), sim: run.sim,
  };
}

export function formatFcMin(r: FcMinResult): string {
  return `fc=min seed=${r.seed}: sender lead over the slow receiver max ${r.senderLeadMaxBytes} B (window ${FC_WINDOW_BYTES}); ` +
    `${mbps(r.heldBitsPerSecond, 2)} with it; dropped ${ms(r.droppedNs - r.lastSmNs)} after its last SM ` +
    `(${ms(r.droppedNs - r.crashNs)} after the crash); then ${mbps(r.afterBitsPerSecond, 2)}`;
}

export interface FcMaxResult {
  readonly seed: number;
  /** A fast receiver's rate over 0.5-1.5 s, with the slow receiver in the group and without it. */
  readonly withSlowBitsPerSecond: number;
  readonly withoutSlowBitsPerSecond: number;
  /** The sender's lead over the slow receiver at 1.5 s (it is left behind). */
  readonly slowGapBytes: number;
  readonly checks: ReadonlyArray<Check>;
  readonly traceHash: string;
  readonly withoutTraceHash: string;
  readonly sim: Simulation;
}

/** fc=max (the multicast default): the slow receiver does not hold the sender back. */
export function runFcMax(seed: number): FcMaxResult {
  const slow = FC_RECEIVERS - 1;
  const withSlow = buildGroup(seed, { fc: "", receivers: fcReceivers(slow) });
  const without = buildGroup(seed, { fc: "", receivers: fcReceivers(-1) });
  withSlow.sim.runFor(500 * MS);
  without.sim.runFor(500 * MS);
  const a = bytesBetween(withSlow, 0, 1500 * MS) * 8;
  const b = bytesBetween(without, 0, 1500 * MS) * 8;
  const gap = withSlow.senderPosition() - withSlow.receiverPosition(slow);
  const checks = [
    check("a fast receiver's throughput with the slow one is 0.9-1.1 × without it", a / b >= 0.9 && a / b <= 1.1, `${mbps(a)} vs ${mbps(b)}`),
    check("fast receivers run > 20 × the slow path", a > 20 * FC_SLOW_BITS_PER_SECOND, mbps(a)),
    inOrderCheck([...withSlow.counters, ...without.counters]),
  ];
  return {
    seed, withSlowBitsPerSecond: a, withoutSlowBitsPerSecond: b, slowGapBytes: gap, checks, traceHash: withSlow.sim.traceHash(),
    withoutTraceHash: without.sim.traceHash(), sim: withSlow.sim,
  };
}

export function formatFcMax(r: FcMaxResult): string {
  return `fc=max seed=${r.seed}: fast receiver ${mbps(r.withSlowBitsPerSecond)} with the slow receiver, ${mbps(r.withoutSlowBitsPerSecond)} without; ` +
    `sender ${r.slowGapBytes} B ahead of the slow receiver at 1.5 s`;
}

export interface FcTaggedResult {
  readonly seed: number;
  /** Run 1 (receivers 0-2 tagged, receiver 2 subscribing at 1 s; untagged receiver 9 slow). */
  readonly connectedNs: number;
  readonly sentBeforeThirdTagged: number;
  readonly connectedBeforeThirdTagged: boolean;
  readonly taggedWithSlowUntaggedBitsPerSecond: number;
  /** Run 2 (tagged receiver 0 slow): the sender's lead over it, and a tagged receiver's rate. */
  readonly slowTaggedLeadMaxBytes: number;
  readonly taggedWithSlowTaggedBitsPerSecond: number;
  readonly checks: ReadonlyArray<Check>;
  readonly traceHash: string;
  readonly slowTaggedTraceHash: string;
  readonly sim: Simulation;
}

/** fc=tagged,g:7/3: connected once 3 tagged receivers report; waits for slow tagged receivers only. */
export function runFcTagged(seed: number): FcTaggedResult {
  // Receivers 0-2 carry gtag=7 (in the first run receiver 2 subscribes only at 1 s); 3-9 are untagged.
  const tagged = (late: boolean) => (i: number): Partial<GroupReceiverSpec> =>
    i < 3 ? { groupTag: 7, ...(late && i === 2 ? { subscribeAtNs: 1000 * MS } : {}) } : {};
  const run = buildGroup(seed, { fc: "tagged,g:7/3", receivers: fcReceivers(FC_RECEIVERS - 1, tagged(true)) });
  run.sim.runFor(950 * MS);
  const connectedEarly = run.publication().isConnected;
  const sentEarly = run.sent();
  let connectedNs = -1;
  sampleUntil(run, 1200 * MS, 1 * MS, () => {
    if (connectedNs < 0 && run.publication().isConnected) connectedNs = run.sim.nowNs;
  });
  run.sim.runFor(300 * MS);
  const fast = bytesBetween(run, 1, run.sim.nowNs + 1000 * MS) * 8;

  const held = buildGroup(seed, { fc: "tagged,g:7/3", receivers: fcReceivers(0, tagged(false)) });
  held.sim.runFor(500 * MS);
  let leadMax = 0;
  sampleUntil(held, 1500 * MS, 5 * MS, () => {
    leadMax = Math.max(leadMax, held.senderPosition() - held.receiverPosition(0));
  });
  const heldRate = bytesBetween(held, 1, 2500 * MS) * 8;
  const checks = [
    check("not connected (nothing sent) before the 3rd tagged receiver", !connectedEarly && sentEarly === 0, `connected ${connectedEarly}, ${sentEarly} sent at 950 ms`),
    check("connected after the 3rd tagged subscription (at 1 s)", connectedNs >= 1000 * MS, connectedNs < 0 ? "never" : `at ${ms(connectedNs)}`),
    check("a slow untagged receiver does not hold it back (> 20 × its path)", fast > 20 * FC_SLOW_BITS_PER_SECOND, mbps(fast)),
    check("held to a slow tagged receiver (within a window of it)", leadMax <= FC_WINDOW_BYTES, `max lead ${leadMax} B, window ${FC_WINDOW_BYTES} B`),
    check("throughput with a slow tagged receiver ≤ its path", heldRate <= FC_SLOW_BITS_PER_SECOND, mbps(heldRate, 2)),
    inOrderCheck([...run.counters, ...held.counters]),
  ];
  return {
    seed, connectedNs, sentBeforeThirdTagged: sentEarly, connectedBeforeThirdTagged: connectedEarly, taggedWithSlowUntaggedBitsPerSecond: fast,
    slowTaggedLeadMaxBytes: leadMax, taggedWithSlowTaggedBitsPerSecond: heldRate, checks, traceHash: run.sim.traceHash(),
    slowTaggedTraceHash: held.sim.traceHash(), sim: run.sim,
  };
}

export function formatFcTagged(r: FcTaggedResult): string {
  return `fc=tagged seed=${r.seed}: connected ${r.connectedNs < 0 ? "never" : `${ms(r.connectedNs - 1000 * MS)} after the 3rd tagged subscription`}; ` +
    `tagged receiver ${mbps(r.taggedWithSlowUntaggedBitsPerSecond)} with a slow untagged one, ` +
    `${mbps(r.taggedWithSlowTaggedBitsPerSecond, 2)} with a slow tagged one (sender lead over it max ${r.slowTaggedLeadMaxBytes} B)`;
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
  readonly checks: ReadonlyArray<Check>;
  readonly traceHash: string;
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
  const allDelivered = done && run.counters.every((c) => c.received === total);
  const retransmits = sender.get(Counter.RETRANSMITS_SENT);
  const fraction = gaps === 0 ? 0 : naks / gaps / n;
  const checks = [
    check("every receiver recovers every message", allDelivered, `${total} messages × ${n} receivers by ${ms(run.sim.nowNs)}`),
    check("the common losses made gaps", gaps > 0, `${gaps} gaps`),
    check("every gap was NAKed and retransmitted", naks >= gaps && retransmits >= gaps, `${naks} NAKs, ${retransmits} retransmits`),
    check("NAKs per gap ≤ 10% of receivers", fraction <= 0.1, percent(fraction)),
    inOrderCheck(run.counters),
  ];
  return {
    seed,
    receivers: n,
    gaps,
    naksSent: naks,
    naksPerGap: gaps === 0 ? 0 : naks / gaps,
    nakFractionPerGap: fraction,
    naksReceivedBySender: sender.get(Counter.NAKS_RECEIVED),
    retransmits,
    allDelivered,
    violations: run.counters.reduce((a, c) => a + c.violations, 0),
    timeNs: run.sim.nowNs,
    checks,
    traceHash: run.sim.traceHash(),
    sim: run.sim,
  };
}

export function formatNakImplosion(r: NakImplosionResult): string {
  return `nak-implosion seed=${r.seed}: ${r.receivers} receivers, ${r.gaps} common gaps, ${r.naksSent} NAKs ` +
    `(${r.naksPerGap.toFixed(2)} per gap = ${(r.nakFractionPerGap * 100).toFixed(1)}% of receivers), ` +
    `${r.retransmits} retransmits, all delivered ${r.allDelivered}`;
}
