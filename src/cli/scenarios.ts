// The CLI's named simulation scenarios: two hosts, "pub" (10.0.0.1) publishing one unicast stream
// to "sub" (10.0.0.2), over a path whose faults the scenario names. Each scenario builds a
// Simulation whose hosts run Petrel engines (attachEngine), schedules its faults, and says how to
// judge the run (invariants). A fault schedule from a JSON file can be added to any scenario.
//
// Messages are the simulator's StreamContent (fixed length, index in the first four bytes) and the
// subscriber checks them with its StreamChecker (exactly once, in order, byte-identical, contiguous).
// To add a scenario, add a ScenarioSpec to SCENARIOS: `petrel sim --list`, the usage text and the
// CLI tests pick it up from there.
import { ADMIN_ACTION, Counter, type Engine, type Publication } from "../core/engine/index.js";
import type { EngineConfig } from "../core/config/engineConfig.js";
import { attachEngine, type EngineHost } from "../sim/engineHost.js";
import { formatViolation, StreamChecker, ViolationLog } from "../sim/invariants.js";
import type { LinkModel } from "../sim/link.js";
import { ratio } from "../sim/prng.js";
import { SCENARIO_PATH_FAULTS, type ScenarioAction, type Schedule } from "../sim/scenario.js";
import { Simulation, type FaultAction } from "../sim/simulator.js";
import { StreamContent } from "../sim/workloadStream.js";

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
  /** Engine configuration for both hosts (flow control, congestion control, windows...). */
  readonly config?: Partial<EngineConfig>;
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

/** Message indexes are u32: no run offers more. */
const MAX_MESSAGES = 0xffffffff;

/** The publisher's progress over all incarnations of its host: a restarted publisher goes on from the next message. */
export interface PublisherProgress {
  offered: number;
  backPressured: number;
}

/** Offers messages on `publication`: a burst every interval, or flat out (interval 0) until back-pressured. */
function publish(node: EngineHost, publication: Publication, spec: ScenarioSpec, content: StreamContent, progress: PublisherProgress): void {
  const buffer = new Uint8Array(content.maxLength);
  const limit = content.count;
  let nextBurstNs = 0;
  const offerOne = (): boolean => {
    const length = content.fill(buffer, 0, progress.offered);
    let result = publication.offer(buffer, 0, length);
    if (result === ADMIN_ACTION) result = publication.offer(buffer, 0, length);
    if (result > 0) {
      progress.offered++;
      return true;
    }
    progress.backPressured++;
    return false;
  };
  node.onTick((nowNs) => {
    if (spec.burstIntervalNs === 0) {
      // Flat out: bounded by the publication's window (offer stops at BACK_PRESSURED).
      for (let i = 0; i < 1_000_000 && progress.offered < limit; i++) if (!offerOne()) break;
      return;
    }
    if (nowNs >= nextBurstNs) {
      for (let i = 0; i < spec.burstMessages && progress.offered < limit; i++) if (!offerOne()) break;
      nextBurstNs = nowNs + spec.burstIntervalNs;
    }
    if (progress.offered < limit) node.wakeAt(nextBurstNs);
  });
}

/**
 * What the subscribers read, over all incarnations of both hosts, checked by the simulator's
 * StreamChecker: one checker per image (a restarted subscriber, a restarted publisher's new
 * session, an image that timed out and came back: each is a new join). The run's first image must
 * start at message 0, every image must be contiguous from its first message, and no image may
 * start at a message already read. The first violation is kept (ViolationLog).
 */
export class DeliveryLog {
  readonly violations = new ViolationLog();
  delivered = 0;
  /** The highest message index read, -1 before the first. */
  lastIndex = -1;
  /** Images joined. */
  joins = 0;
  private incarnation = 0;
  private readonly checkers = new Map<number, StreamChecker>();

  constructor(
    readonly content: StreamContent,
    private readonly clock: () => number,
  ) {}

  /** The subscriber's host (re)started: its images are gone. */
  onStart(incarnation: number): void {
    this.incarnation = incarnation;
    this.checkers.clear();
  }

  /** An image of session `sessionId` became available: its messages get a checker of their own. */
  onImage(sessionId: number): void {
    this.checkers.set(sessionId, new StreamChecker(0, this.content, this.joins === 0, this.incarnation, this.violations, this.clock));
    this.joins++;
  }

  onMessage(buffer: Uint8Array, offset: number, length: number, sessionId: number): void {
    this.delivered++;
    if (this.violations.failed) return;
    const index = StreamContent.indexOf(buffer, offset, length);
    const checker = this.checkers.get(sessionId);
    if (checker === undefined) return this.fail(index, `a message from session ${sessionId}, which has no image`);
    if (checker.firstIndex < 0 && !checker.fromStart && index >= 0 && index <= this.lastIndex) {
      return this.fail(index, `an image (session ${sessionId}) that starts at message ${index}, but message ${this.lastIndex} was read before`);
    }
    if (checker.onMessage(buffer, offset, length) && index > this.lastIndex) this.lastIndex = index;
  }

  private fail(index: number, message: string): void {
    this.violations.report({ kind: "safety", timeNs: this.clock(), stream: 0, messageIndex: index, message: `subscriber incarnation ${this.incarnation}: ${message}` });
  }
}

export interface ScenarioRun {
  readonly spec: ScenarioSpec;
  readonly sim: Simulation;
  readonly durationNs: number;
  readonly log: DeliveryLog;
  readonly publisher: Readonly<PublisherProgress>;
  /** Every engine ever created, per host (restarts add one), for counter totals. */
  readonly engines: { readonly pub: Engine[]; readonly sub: Engine[] };
  /** Publisher's offered count at (end - settle): the liveness check's target. */
  livenessTarget: number;
  readonly settleNs: number;
}

export interface BuildOptions {
  readonly seed: number;
  readonly durationNs: number;
  /** Simulator fault actions on the hosts "pub" and "sub" (the CLI's short schedule form). */
  readonly extraFaults?: ReadonlyArray<{ readonly atNs: number; readonly action: FaultAction }>;
  /** Faults in runScenario's format ({ atNs, action }, subscriber 0 is "sub"), applied as runScenario does. */
  readonly schedule?: Schedule;
  /** Stop offering after this many messages. */
  readonly maxMessages?: number;
  readonly traceBytes?: boolean;
}

/** Builds the scenario's simulation; the caller runs it for durationNs. */
export function buildScenario(spec: ScenarioSpec, options: BuildOptions): ScenarioRun {
  const sim = new Simulation({ seed: options.seed, traceBytes: options.traceBytes ?? true });
  const content = new StreamContent({ seed: options.seed, stream: 0, count: Math.min(options.maxMessages ?? MAX_MESSAGES, MAX_MESSAGES), messageBytes: spec.messageBytes });
  const log = new DeliveryLog(content, () => sim.nowNs);
  const engines = { pub: [] as Engine[], sub: [] as Engine[] };
  const progress: PublisherProgress = { offered: 0, backPressured: 0 };
  const engineOptions = spec.config === undefined ? {} : { config: spec.config };

  sim.host(PUB_HOST, (host) => {
    const node = attachEngine(host, engineOptions);
    engines.pub.push(node.engine);
    publish(node, node.engine.addPublication(CHANNEL, STREAM_ID), spec, content, progress);
  }, { ip: PUB_IP });
  sim.host(SUB_HOST, (host) => {
    const node = attachEngine(host, engineOptions);
    engines.sub.push(node.engine);
    log.onStart(host.incarnation);
    const subscription = node.engine.addSubscription(CHANNEL, STREAM_ID, { onAvailableImage: (image) => log.onImage(image.sessionId) });
    const handler = (buffer: Uint8Array, offset: number, length: number, header: { readonly sessionId: number }): void =>
      log.onMessage(buffer, offset, length, header.sessionId);
    node.onTick(() => {
      // Bounded: each poll reads at most 256 fragments, and the log holds finitely many.
      for (let i = 0; i < 100_000; i++) if (subscription.poll(handler, 256) === 0) break;
    });
  }, { ip: SUB_IP });
  sim.link(PUB_HOST, SUB_HOST, spec.model);

  const durationNs = options.durationNs;
  for (const fault of spec.faults) sim.at(Math.floor(durationNs * fault.atFraction), fault.action);
  for (const fault of options.extraFaults ?? []) sim.at(fault.atNs, fault.action);
  const path = new PathFaults(spec.model);
  for (const fault of options.schedule ?? []) sim.at(fault.atNs, () => path.apply(sim, fault.action));

  // Liveness: what was offered `settle` before the end must have been read by the end (after a
  // crash, from the restarted subscriber's join on). Faults that last to the end of the run void it.
  const settleNs = Math.min(2_000 * MS, Math.floor(durationNs / 2));
  const run: ScenarioRun = { spec, sim, durationNs, log, engines, publisher: progress, livenessTarget: -1, settleNs };
  sim.at(durationNs - settleNs, () => {
    run.livenessTarget = progress.offered;
  });
  return run;
}

/**
 * runScenario's actions on the one pub <-> sub path: loss, reorder and duplicate replace that part
 * of the scenario's link model (loss 0 and "on": false remove it); crashing a host that is down or
 * restarting one that is up does nothing, as in runScenario.
 */
class PathFaults {
  private model: LinkModel;
  constructor(model: LinkModel) {
    this.model = model;
  }

  apply(sim: Simulation, action: ScenarioAction): void {
    const { loss, reorder, duplicate, ...base } = this.model;
    switch (action.kind) {
      case "loss":
      case "reorder":
      case "duplicate": {
        const next = {
          loss: action.kind === "loss" ? (action.loss.numerator > 0 ? action.loss : undefined) : loss,
          reorder: action.kind === "reorder" ? (action.on ? SCENARIO_PATH_FAULTS.reorder : undefined) : reorder,
          duplicate: action.kind === "duplicate" ? (action.on ? SCENARIO_PATH_FAULTS.duplicate : undefined) : duplicate,
        };
        this.model = {
          ...base,
          ...(next.loss === undefined ? {} : { loss: next.loss }),
          ...(next.reorder === undefined ? {} : { reorder: next.reorder }),
          ...(next.duplicate === undefined ? {} : { duplicate: next.duplicate }),
        };
        sim.link(PUB_HOST, SUB_HOST, this.model);
        return;
      }
      case "partition":
        if (action.direction === "fromSubscriber") sim.partition(SUB_HOST, PUB_HOST, { oneWay: true });
        else sim.partition(PUB_HOST, SUB_HOST, { oneWay: action.direction === "toSubscriber" });
        return;
      case "heal":
        sim.heal(PUB_HOST, SUB_HOST);
        return;
      case "crash":
        if (sim.hostInfo(SUB_HOST).up) sim.crash(SUB_HOST);
        return;
      case "restart":
        if (!sim.hostInfo(SUB_HOST).up) sim.restart(SUB_HOST);
        return;
    }
  }
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

/** True when the run ends with the hosts cut off (a partition not healed, a host down). */
function cutOffAtEnd(sim: Simulation): boolean {
  const pub = sim.hostInfo(PUB_HOST);
  const sub = sim.hostInfo(SUB_HOST);
  return !pub.up || !sub.up || sim.network.isPartitioned(pub.index, sub.index) || sim.network.isPartitioned(sub.index, pub.index);
}

/** Judges a finished run. */
export function checkInvariants(run: ScenarioRun): InvariantResult[] {
  const log = run.log;
  const violation = log.violations.first;
  const results: InvariantResult[] = [{
    name: "exactly once, in order, intact",
    ok: violation === null,
    detail: violation === null ? `${log.delivered} messages checked, ${log.joins} join(s)` : formatViolation(violation),
  }];
  if (cutOffAtEnd(run.sim)) {
    results.push({ name: "liveness", ok: true, detail: "skipped: a fault lasts to the end of the run" });
  } else {
    const target = run.livenessTarget;
    const dataSent = sumCounter(run.engines.pub, Counter.DATA_FRAMES_SENT);
    results.push({
      name: "liveness",
      ok: target <= 0 || log.lastIndex + 1 >= target,
      detail: `read up to message ${log.lastIndex}; ${target} offered by ${formatSeconds(run.durationNs - run.settleNs)} s (${dataSent} data frames sent)`,
    });
  }
  return results;
}

export function formatSeconds(ns: number): string {
  return (ns / 1e9).toFixed(3);
}
