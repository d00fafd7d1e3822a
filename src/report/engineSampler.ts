// Samples engines for a report, whoever runs them: simInput.ts (a scenario's engines, after each
// step of simulated time) and journalInput.ts (the engine a journal's replay drives, as the
// recorded time passes). Per stream:
//   a publication: the publisher's position (what was offered), sender position, sender limit;
//   an image:      the receiver's rebuild position (rcv-pos), high-water mark (rcv-hwm), the
//                  application's read position (the lowest of its subscribers') and the receiver
//                  window (the congestion window under cc=cubic or bbr);
// and the engines' counters (NAKs, retransmits, frames by kind) as deltas since the last sample.
// Only getters are read: sampling changes nothing in an engine (a replay would diverge if it did).
import { Counter, type Engine } from "../core/engine/index.js";
import type { CountName, ReportSeriesBuilder, StreamSeriesBuilder } from "./reportSeries.js";

/** What the report calls a stream. */
export type StreamLabel = (sessionId: number, streamId: number) => string;

/** The gauges of `engine`'s publications at `nowNs`; returns the last one's stream (the one being sent), or null. */
export function samplePublications(builder: ReportSeriesBuilder, engine: Engine | undefined, nowNs: number, label: StreamLabel): StreamSeriesBuilder | null {
  let last: StreamSeriesBuilder | null = null;
  for (const p of engine?.publications ?? []) {
    const s = builder.stream(p.sessionId, p.streamId, label(p.sessionId, p.streamId));
    s.gauge("publisherPosition", nowNs, p.position);
    s.gauge("senderPosition", nowNs, p.senderPosition);
    s.gauge("senderLimit", nowNs, p.senderLimit);
    last = s;
  }
  return last;
}

/** The gauges of `engine`'s images at `nowNs`; returns the last one's stream, or null. */
export function sampleImages(builder: ReportSeriesBuilder, engine: Engine | undefined, nowNs: number, label: StreamLabel): StreamSeriesBuilder | null {
  let last: StreamSeriesBuilder | null = null;
  for (const image of engine?.images ?? []) {
    const s = builder.stream(image.sessionId, image.streamId, label(image.sessionId, image.streamId));
    s.gauge("receiverPosition", nowNs, image.rebuildPosition);
    s.gauge("receiverHwm", nowNs, image.hwmPosition);
    if (image.subscribers.length > 0) {
      let read = Number.POSITIVE_INFINITY;
      for (const subscriber of image.subscribers) read = Math.min(read, subscriber.position);
      s.gauge("subscriberPosition", nowNs, read);
    }
    s.gauge("receiverWindowBytes", nowNs, image.congestionControl.receiverWindowLength());
    last = s;
  }
  return last;
}

/** Counts the engines keep, as totals so far. */
export type EngineCountName = "naks" | "retransmits" | "dataFrames" | "statusMessages" | "heartbeats" | "setups" | "rttMeasurements";

/**
 * The counters of the sending engines (retransmits, data frames, heartbeats, setups) and the
 * receiving ones (NAKs and status messages sent); RTT measurements sent by either (an engine in
 * both lists counts once).
 */
export function engineCountTotals(senders: ReadonlyArray<Engine>, receivers: ReadonlyArray<Engine>): Record<EngineCountName, number> {
  let rttMeasurements = 0;
  for (const engine of new Set([...senders, ...receivers])) rttMeasurements += counter(engine, Counter.RTTM_SENT);
  return {
    naks: sum(receivers, Counter.NAKS_SENT),
    retransmits: sum(senders, Counter.RETRANSMITS_SENT),
    dataFrames: sum(senders, Counter.DATA_FRAMES_SENT),
    statusMessages: sum(receivers, Counter.STATUS_MESSAGES_SENT),
    heartbeats: sum(senders, Counter.HEARTBEATS_SENT),
    setups: sum(senders, Counter.SETUPS_SENT),
    rttMeasurements,
  };
}

export function counter(engine: Engine, id: number): number {
  return engine.counters.values[id] ?? 0;
}

function sum(engines: ReadonlyArray<Engine>, id: number): number {
  let total = 0;
  for (const engine of engines) total += counter(engine, id);
  return total;
}

/** Turns running totals into counts per sample: each sample counts what the totals grew by since the last. */
export class CountDeltas {
  private readonly last = new Map<CountName, number>();

  /** Counts on `stream` at `nowNs` what each of `totals` grew by (a total that fell, an engine replaced, counts nothing). */
  emit(stream: StreamSeriesBuilder, nowNs: number, totals: Partial<Record<CountName, number>>): void {
    for (const [name, total] of Object.entries(totals) as Array<[CountName, number]>) {
      stream.count(name, nowNs, Math.max(0, total - (this.last.get(name) ?? 0)));
      this.last.set(name, total);
    }
  }
}
