// The CLI's named simulation scenarios: two hosts, "pub" (10.0.0.1) publishing one unicast stream
// to "sub" (10.0.0.2), over a path whose faults the scenario names. Each scenario builds a
// Simulation with a publisher and a subscriber application, schedules its faults, and says how to
// judge the run (invariants). A fault schedule from a JSON file can be added to any scenario.
//
// Messages carry their sequence number (u32 little-endian at 0) and bytes derived from it, so the
// subscriber checks order, exactly-once delivery and integrity of every message it reads.
import { ADMIN_ACTION, Counter, Engine, type Publication, type Subscription } from "../core/engine/index.js";
import type { LinkModel } from "../sim/link.js";
import { ratio } from "../sim/prng.js";
import { NO_DEADLINE } from "../sim/simNode.js";
import { Simulation, type FaultAction, type HostContext } from "../sim/simulator.js";
import { EngineNode, engineOptionsFor, type EngineApp } from "./engineNode.js";

export const PUB_HOST = "pub";
export const SUB_HOST = "sub";
export const PUB_IP = "10.0.0.1";
export const SUB_IP = "10.0.0.2";
export const STREAM_PORT = 20121;
export const STREAM_ID = 1001;
export const CHANNEL = `aeron:udp?endpoint=${SUB_IP}:${STREAM_PORT}|term-length=1m`;

export interface ScenarioSpec {
  readonly name: string;
  readonly description: string;
  /** The pub -> sub path and back. */
  readonly model: LinkModel;
  /** Bytes per message. */
  readonly messageBytes: number;
  /** Messages offered per burst, and the time between bursts (0: offer flat out, until back-pressured). */
  readonly burstMessages: number;
  readonly burstIntervalNs: number;
  /** Faults as fractions of the run's duration (so a scenario scales with --duration). */
  readonly faults: ReadonlyArray<{ readonly atFraction: number; readonly action: FaultAction }>;
}

const MS = 1_000_000;
const US = 1_000;

const DEMO_MODEL: LinkModel = { latencyNs: 100 * US, bandwidthBitsPerSecond: 100_000_000, loss: ratio(5, 100) };

export const SCENARIOS: ReadonlyArray<ScenarioSpec> = [
  {
    name: "demo",
    description: "two hosts, one unicast stream, 5% loss on a 100 Mbit/s 100 us path",
    model: DEMO_MODEL,
    messageBytes: 64,
    burstMessages: 8,
    burstIntervalNs: 200 * US,
    faults: [],
  },
  {
    name: "lossy",
    description: "30% loss, 5% reordered by up to 2 ms, 5% duplicated, 0-50 us jitter",
    model: {
      latencyNs: 100 * US,
      jitterNs: 50 * US,
      bandwidthBitsPerSecond: 100_000_000,
      loss: ratio(30, 100),
      reorder: { probability: ratio(5, 100), delayNs: 2 * MS },
      duplicate: { probability: ratio(5, 100), delayNs: 10 * US },
    },
    messageBytes: 64,
    burstMessages: 8,
    burstIntervalNs: 200 * US,
    faults: [],
  },
  {
    name: "partition",
    description: "1% loss; the hosts are partitioned from 30% to 50% of the run, then healed",
    model: { latencyNs: 100 * US, bandwidthBitsPerSecond: 100_000_000, loss: ratio(1, 100) },
    messageBytes: 64,
    burstMessages: 8,
    burstIntervalNs: 200 * US,
    faults: [
      { atFraction: 0.3, action: { kind: "partition", a: PUB_HOST, b: SUB_HOST } },
      { atFraction: 0.5, action: { kind: "heal", a: PUB_HOST, b: SUB_HOST } },
    ],
  },
  {
    name: "crash",
    description: "1% loss; the subscriber's host crashes at 30% of the run and restarts at 50%",
    model: { latencyNs: 100 * US, bandwidthBitsPerSecond: 100_000_000, loss: ratio(1, 100) },
    messageBytes: 64,
    burstMessages: 8,
    burstIntervalNs: 200 * US,
    faults: [
      { atFraction: 0.3, action: { kind: "crash", host: SUB_HOST } },
      { atFraction: 0.5, action: { kind: "restart", host: SUB_HOST } },
    ],
  },
];

export function findScenario(name: string): ScenarioSpec | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** Writes message `seq` (sequence number, then bytes derived from it) into `out`. */
export function fillMessage(out: Uint8Array, length: number, seq: number): void {
  out[0] = seq & 0xff;
  out[1] = (seq >>> 8) & 0xff;
  out[2] = (seq >>> 16) & 0xff;
  out[3] = (seq >>> 24) & 0xff;
  for (let i = 4; i < length; i++) out[i] = (seq * 31 + i) & 0xff;
}

/** Offers numbered messages: a burst every interval, or flat out (interval 0) until back-pressured. */
export class PublisherApp implements EngineApp {
  offered = 0;
  backPressured = 0;
  private nextBurstNs = 0;
  private readonly buffer: Uint8Array;
  private publication: Publication | null = null;
  constructor(
    readonly messageBytes: number,
    readonly burstMessages: number,
    readonly burstIntervalNs: number,
    /** Stop after this many messages (flat-out runs may want a bound). */
    readonly maxMessages = Number.MAX_SAFE_INTEGER,
  ) {
    this.buffer = new Uint8Array(Math.max(4, messageBytes));
  }

  attach(publication: Publication): void {
    this.publication = publication;
  }

  step(nowNs: number, _engine: Engine): void {
    const publication = this.publication;
    if (publication === null) return;
    if (this.burstIntervalNs === 0) {
      // Flat out: bounded by the publication's window (offer stops at BACK_PRESSURED).
      for (let i = 0; i < 1_000_000 && this.offered < this.maxMessages; i++) {
        if (!this.offerOne(publication)) break;
      }
      return;
    }
    if (nowNs < this.nextBurstNs) return;
    for (let i = 0; i < this.burstMessages && this.offered < this.maxMessages; i++) {
      if (!this.offerOne(publication)) break;
    }
    this.nextBurstNs = nowNs + this.burstIntervalNs;
  }

  private offerOne(publication: Publication): boolean {
    fillMessage(this.buffer, this.messageBytes, this.offered);
    let result = publication.offer(this.buffer, 0, this.messageBytes);
    if (result === ADMIN_ACTION) result = publication.offer(this.buffer, 0, this.messageBytes);
    if (result > 0) {
      this.offered++;
      return true;
    }
    this.backPressured++;
    return false;
  }

  nextWakeNs(): number {
    if (this.burstIntervalNs === 0 || this.offered >= this.maxMessages) return NO_DEADLINE;
    return this.nextBurstNs;
  }
}

/** What the subscribers saw, over all incarnations of the subscriber host. */
export class DeliveryLog {
  delivered = 0;
  /** Sequence number of the last message read (-1 before the first). */
  lastSeq = -1;
  /** Messages read twice or out of order, gaps inside one image, and corrupted payloads. */
  outOfOrder = 0;
  duplicates = 0;
  gaps = 0;
  corrupted = 0;
  /** Images (joins) seen: a restarted subscriber joins at the stream's current position. */
  joins = 0;
  readonly firstProblems: string[] = [];

  problem(text: string): void {
    if (this.firstProblems.length < 5) this.firstProblems.push(text);
  }
}

export class SubscriberApp implements EngineApp {
  private subscription: Subscription | null = null;
  private imageSeq = -1;
  private readonly handler: (buffer: Uint8Array, offset: number, length: number) => void;
  constructor(readonly log: DeliveryLog, readonly messageBytes: number) {
    this.handler = (buffer, offset, length) => this.onMessage(buffer, offset, length);
  }

  attach(subscription: Subscription): void {
    this.subscription = subscription;
  }

  step(_nowNs: number, _engine: Engine): void {
    const subscription = this.subscription;
    if (subscription === null) return;
    // Bounded: each poll reads at most 256 fragments, and the log holds finitely many.
    for (let i = 0; i < 100_000; i++) if (subscription.poll(this.handler, 256) === 0) break;
  }

  private onMessage(buffer: Uint8Array, offset: number, length: number): void {
    const log = this.log;
    const seq = ((buffer[offset] as number) | ((buffer[offset + 1] as number) << 8) | ((buffer[offset + 2] as number) << 16) |
      ((buffer[offset + 3] as number) << 24)) >>> 0;
    log.delivered++;
    if (length !== this.messageBytes) {
      log.corrupted++;
      log.problem(`message ${seq} has ${length} bytes, expected ${this.messageBytes}`);
    } else {
      for (let i = 4; i < length; i++) {
        if (buffer[offset + i] !== ((seq * 31 + i) & 0xff)) {
          log.corrupted++;
          log.problem(`message ${seq} differs at byte ${i}`);
          break;
        }
      }
    }
    if (this.imageSeq < 0) log.joins++;
    if (seq <= log.lastSeq) {
      if (seq === log.lastSeq) log.duplicates++;
      else log.outOfOrder++;
      log.problem(`message ${seq} after ${log.lastSeq}`);
    } else if (this.imageSeq >= 0 && seq !== this.imageSeq + 1) {
      log.gaps++;
      log.problem(`gap: message ${seq} after ${this.imageSeq} in one image`);
    }
    this.imageSeq = seq;
    if (seq > log.lastSeq) log.lastSeq = seq;
  }

  nextWakeNs(): number {
    return NO_DEADLINE;
  }
}

export interface ScenarioRun {
  readonly spec: ScenarioSpec;
  readonly sim: Simulation;
  readonly durationNs: number;
  readonly log: DeliveryLog;
  /** The current (latest incarnation's) engines and apps. */
  publisher(): { readonly engine: Engine; readonly app: PublisherApp } | null;
  /** Every engine ever created, per host (restarts add one), for counter totals. */
  readonly engines: { readonly pub: Engine[]; readonly sub: Engine[] };
  /** Publisher's offered count at (end - settle): the liveness check's target. */
  livenessTarget: number;
  readonly settleNs: number;
}

export interface BuildOptions {
  readonly seed: number;
  readonly durationNs: number;
  readonly extraFaults?: ReadonlyArray<{ readonly atNs: number; readonly action: FaultAction }>;
  /** Stop offering after this many messages. */
  readonly maxMessages?: number;
  readonly traceBytes?: boolean;
}

/** Builds the scenario's simulation; the caller runs it for durationNs. */
export function buildScenario(spec: ScenarioSpec, options: BuildOptions): ScenarioRun {
  const sim = new Simulation({ seed: options.seed, traceBytes: options.traceBytes ?? true });
  const log = new DeliveryLog();
  const engines = { pub: [] as Engine[], sub: [] as Engine[] };
  let current: { engine: Engine; app: PublisherApp } | null = null;
  const config = {};

  sim.host(
    PUB_HOST,
    (host: HostContext) => {
      const engine = new Engine(engineOptionsFor(host, config));
      const app = new PublisherApp(spec.messageBytes, spec.burstMessages, spec.burstIntervalNs, options.maxMessages);
      app.attach(engine.addPublication(CHANNEL, STREAM_ID));
      engines.pub.push(engine);
      current = { engine, app };
      new EngineNode(engine, app).bind(host);
    },
    { ip: PUB_IP },
  );
  sim.host(
    SUB_HOST,
    (host: HostContext) => {
      const engine = new Engine(engineOptionsFor(host, config));
      const app = new SubscriberApp(log, spec.messageBytes);
      app.attach(engine.addSubscription(CHANNEL, STREAM_ID));
      engines.sub.push(engine);
      new EngineNode(engine, app).bind(host);
    },
    { ip: SUB_IP },
  );
  sim.link(PUB_HOST, SUB_HOST, spec.model);

  const durationNs = options.durationNs;
  for (const fault of spec.faults) sim.at(Math.floor(durationNs * fault.atFraction), fault.action);
  for (const fault of options.extraFaults ?? []) sim.at(fault.atNs, fault.action);

  // Liveness: what was offered `settle` before the end must have been read by the end (after a
  // crash, from the restarted subscriber's join on). Faults that last to the end of the run void it.
  const settleNs = Math.min(2_000 * MS, Math.floor(durationNs / 2));
  const run: ScenarioRun = {
    spec,
    sim,
    durationNs,
    log,
    engines,
    publisher: () => current,
    livenessTarget: -1,
    settleNs,
  };
  sim.at(durationNs - settleNs, () => {
    run.livenessTarget = current === null ? 0 : current.app.offered;
  });
  return run;
}


/** Sums one counter over engines. */
export function sumCounter(engines: ReadonlyArray<Engine>, id: number): number {
  let total = 0;
  for (const engine of engines) total += engine.counters.values[id] ?? 0;
  return total;
}

export interface InvariantResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Judges a finished run. */
export function checkInvariants(run: ScenarioRun, faultsUntilEnd: boolean): InvariantResult[] {
  const log = run.log;
  const results: InvariantResult[] = [];
  results.push({
    name: "in order, exactly once",
    ok: log.duplicates === 0 && log.outOfOrder === 0,
    detail: log.duplicates + log.outOfOrder === 0 ? `${log.delivered} messages` : `${log.duplicates} duplicates, ${log.outOfOrder} out of order: ${log.firstProblems.join("; ")}`,
  });
  results.push({
    name: "no gap within an image",
    ok: log.gaps === 0,
    detail: log.gaps === 0 ? `${log.joins} join(s)` : `${log.gaps} gaps: ${log.firstProblems.join("; ")}`,
  });
  results.push({
    name: "payloads intact",
    ok: log.corrupted === 0,
    detail: log.corrupted === 0 ? "every byte checked" : `${log.corrupted} corrupted: ${log.firstProblems.join("; ")}`,
  });
  const pubEngines = run.engines.pub;
  const dataSent = sumCounter(pubEngines, Counter.DATA_FRAMES_SENT);
  if (faultsUntilEnd) {
    results.push({ name: "liveness", ok: true, detail: "skipped: a fault lasts to the end of the run" });
  } else {
    const target = run.livenessTarget;
    results.push({
      name: "liveness",
      ok: target <= 0 || log.lastSeq + 1 >= target,
      detail: `read up to message ${log.lastSeq}; ${target} offered by ${formatSeconds(run.durationNs - run.settleNs)} s (${dataSent} data frames sent)`,
    });
  }
  return results;
}

export function formatSeconds(ns: number): string {
  return (ns / 1e9).toFixed(3);
}
