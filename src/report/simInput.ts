// A simulated scenario as the report's input: the CLI's named scenario (src/cli/scenarios.ts) runs in
// steps of `bucketNs` of simulated time, and after each step the engines are sampled per stream
// (engineSampler.ts, shared with the journal input):
//   publisher:  the publication's position (what was offered), sender position, sender limit;
//   subscriber: each image's receiver position (rcv-pos), high-water mark (rcv-hwm), the
//               application's read position and receiver window (the congestion window under
//               cc=cubic or bbr);
// and, as counter deltas since the last sample, NAKs sent (the subscriber's engines), retransmits
// sent (the publisher's), datagrams the simulated links dropped, frames sent by kind and messages
// the subscriber read. Those counters are engine- and
// link-wide: they go to the stream the publisher is sending (the CLI's scenarios have one stream
// per engine; after a publisher restart, its new session). RTTs come from the RTTM frames on the
// simulated network (a tap), computed from the echo timestamp: the simulated hosts' clocks are the
// simulator's. The scenario's faults, the extra ones and a runScenario-format schedule are the
// report's fault marks.
import type { Engine } from "../core/engine/index.js";
import type { CongestionControlName } from "../core/channel/channelUri.js";
import { isDrop } from "../sim/faults.js";
import type { LinkModel } from "../sim/link.js";
import type { ScenarioAction, Schedule } from "../sim/scenario.js";
import type { FaultAction } from "../sim/simulator.js";
import { buildScenario, checkInvariants, CHANNEL, PUB_HOST, SUB_HOST, type ScenarioSpec } from "../cli/scenarios.js";
import { AeronFrameSamples } from "./aeronFrameSamples.js";
import { CountDeltas, engineCountTotals, sampleImages, samplePublications } from "./engineSampler.js";
import { ReportSeriesBuilder, type ReportSeries, type ReportSeriesOptions, type StreamSeriesBuilder } from "./reportSeries.js";
import { ProgressMeter, type ReportProgress } from "./progress.js";

export interface SimReportOptions extends Partial<ReportSeriesOptions> {
  readonly seed: number;
  readonly durationNs: number;
  /** Simulator fault actions on the hosts pub and sub (the CLI's short schedule form). */
  readonly extraFaults?: ReadonlyArray<{ readonly atNs: number; readonly action: FaultAction }>;
  /** Faults in runScenario's format. */
  readonly schedule?: Schedule;
  /** Congestion control for both engines (default: the scenario's, static). */
  readonly congestionControl?: CongestionControlName;
  readonly progress?: ReportProgress | null;
}

const ZERO_ADDRESS = { sourceAddress: 0, sourcePort: 0, destinationAddress: 0, destinationPort: 0 };

/** Runs `spec` and returns its report series. */
export function simReportSeries(scenario: ScenarioSpec, options: SimReportOptions): ReportSeries {
  const spec: ScenarioSpec =
    options.congestionControl === undefined ? scenario : { ...scenario, config: { ...scenario.config, congestionControl: options.congestionControl } };
  const cc = spec.config?.congestionControl ?? "static";
  const builder = new ReportSeriesBuilder(
    {
      kind: "sim",
      name: spec.name,
      details: [],
      notes: [
        "Positions and windows are sampled from the engines after each step of simulated time.",
        "NAKs (sent by the subscriber), retransmits (sent by the publisher), drops (by the simulated links, both directions) and frames are engine- and link-wide counters, shown on the stream being sent; messages are those the subscriber read.",
        cc === "static" ? "RTT and the congestion window need congestion control: run with --cc cubic or --cc bbr (static windows measure no RTT)." : `RTTs from the RTTM frames of ${cc} congestion control; the receiver window is its congestion window.`,
      ],
    },
    options,
  );
  const durationNs = options.durationNs;
  const stepNs = builder.options.bucketNs;
  const run = buildScenario(spec, { seed: options.seed, durationNs, extraFaults: options.extraFaults ?? [], schedule: options.schedule ?? [] });
  const sim = run.sim;

  for (const fault of spec.faults) builder.fault(Math.floor(durationNs * fault.atFraction), faultActionLabel(fault.action));
  for (const fault of options.extraFaults ?? []) builder.fault(fault.atNs, faultActionLabel(fault.action));
  for (const fault of options.schedule ?? []) builder.fault(fault.atNs, scenarioActionLabel(fault.action));

  const rtt = new AeronFrameSamples(builder, { rttOnly: true, rttFromEcho: true });
  sim.setTap((timeNs, _from, _to, bytes, offset, length, verdict) => {
    if (!isDrop(verdict)) rtt.onDatagram(timeNs, ZERO_ADDRESS, bytes, offset, length);
  });

  const deltas = new CountDeltas();
  let sending: StreamSeriesBuilder | null = null;
  const sample = (nowNs: number): void => {
    sending = samplePublications(builder, sim.hostInfo(PUB_HOST).up ? lastOf(run.engines.pub) : undefined, nowNs, label) ?? sending;
    sampleImages(builder, sim.hostInfo(SUB_HOST).up ? lastOf(run.engines.sub) : undefined, nowNs, label);
    if (sending === null) return; // counts wait (their totals are not taken) until a stream exists
    let drops = 0;
    for (const link of sim.links) drops += link.counters.droppedPackets;
    deltas.emit(sending, nowNs, { ...engineCountTotals(run.engines.pub, run.engines.sub), drops, messages: run.log.delivered });
  };

  const meter = new ProgressMeter(options.progress ?? null, "simulated time");
  try {
    // Bounded: each step advances simulated time by stepNs (or to the end).
    for (let doneNs = 0; doneNs < durationNs; ) {
      const slice = Math.min(stepNs, durationNs - doneNs);
      sim.runFor(slice);
      doneNs += slice;
      sample(doneNs);
      builder.advance(doneNs);
      meter.update(doneNs / durationNs, `${(doneNs / 1e9).toFixed(3)} of ${(durationNs / 1e9).toFixed(3)} s simulated`);
    }
  } finally {
    meter.done();
    sim.setTap(null);
  }

  const invariants = checkInvariants(run);
  const details = [
    `seed ${options.seed}, ${(durationNs / 1e9).toFixed(3)} s simulated, sampled every ${(stepNs / 1e6).toFixed(3)} ms; ${spec.description}`,
    `link: ${linkModelLabel(spec.model)}; congestion control: ${cc}; channel ${CHANNEL}`,
    `messages: ${run.log.delivered} delivered of ${run.publisher.offered} offered; trace hash ${sim.traceHash()}`,
    ...invariants.map((i) => `invariant ${i.ok ? "ok" : "FAILED"}: ${i.name}: ${i.detail}`),
  ];
  const series = builder.finish(durationNs);
  return { ...series, source: { ...series.source, details } };
}

function lastOf(engines: ReadonlyArray<Engine>): Engine | undefined {
  return engines[engines.length - 1];
}

function label(sessionId: number, streamId: number): string {
  return `stream ${streamId}, session ${sessionId} (${PUB_HOST} → ${SUB_HOST})`;
}

function hosts(ref: unknown): string {
  return Array.isArray(ref) ? ref.map(String).join("+") : String(ref);
}

/** "partition pub ↔ sub", "crash sub": a simulator fault action in a few words. */
export function faultActionLabel(action: FaultAction): string {
  switch (action.kind) {
    case "partition":
    case "heal":
      return `${action.kind} ${hosts(action.a)} ${action.oneWay === true ? "→" : "↔"} ${hosts(action.b)}`;
    case "healAll":
      return "heal all";
    case "crash":
    case "restart":
      return `${action.kind} ${hosts(action.host)}`;
    case "setLink":
      return `link ${hosts(action.from)} ${action.oneWay === true ? "→" : "↔"} ${hosts(action.to)}: ${linkModelLabel(action.model)}`;
  }
}

/** A runScenario schedule action on the pub ↔ sub path, in a few words. */
export function scenarioActionLabel(action: ScenarioAction): string {
  switch (action.kind) {
    case "loss":
      return action.loss.numerator === 0 ? "loss off" : `loss ${action.loss.numerator}/${action.loss.denominator}`;
    case "reorder":
    case "duplicate":
      return `${action.kind} ${action.on ? "on" : "off"}`;
    case "partition":
      return action.direction === "both" ? `partition ${PUB_HOST} ↔ ${SUB_HOST}` : action.direction === "toSubscriber" ? `partition ${PUB_HOST} → ${SUB_HOST}` : `partition ${SUB_HOST} → ${PUB_HOST}`;
    case "heal":
      return `heal ${PUB_HOST} ↔ ${SUB_HOST}`;
    case "crash":
    case "restart":
      return `${action.kind} ${SUB_HOST}`;
  }
}

function linkModelLabel(model: LinkModel): string {
  const parts: string[] = [];
  if (model.latencyNs !== undefined) parts.push(`${model.latencyNs / 1000} us latency`);
  if (model.jitterNs !== undefined && model.jitterNs > 0) parts.push(`${model.jitterNs / 1000} us jitter`);
  if (model.bandwidthBitsPerSecond !== undefined) parts.push(`${model.bandwidthBitsPerSecond / 1e6} Mbit/s`);
  if (model.loss !== undefined) parts.push(`loss ${model.loss.numerator}/${model.loss.denominator}`);
  if (model.reorder !== undefined) parts.push("reordering");
  if (model.duplicate !== undefined) parts.push("duplication");
  return parts.length === 0 ? "ideal" : parts.join(", ");
}
