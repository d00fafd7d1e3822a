// The report's data model: time series per stream, built from samples whatever their source. An
// input (a simulated scenario, a pcap, later a journal) feeds a ReportSeriesBuilder with gauge
// samples (a position, a window, an RTT at a time), counted events (a NAK, a retransmit, a drop at
// a time) and faults (a partition at a time); the builder buckets them on one time grid shared by
// every stream, detects stalls as the samples arrive (stallDetector.ts), and finish() returns a
// ReportSeries: plain data, JSON-ready, that reportHtml.ts draws. Nothing here knows where the
// samples came from. A quantity the input cannot know (a journal has one end: no drops on the
// network, no series of the other end) is declared absent(): its series are empty and its totals
// null, and the page says why, rather than showing zeros.
//
// Bounded: the grid has at most maxPoints buckets. When a sample falls past the last one, the bucket
// width doubles and neighbouring buckets merge (a gauge keeps the later value, a count the sum), so
// a run of any length ends with between maxPoints / 2 and maxPoints points per series. Totals and
// stall context are counted at full resolution, apart from the grid.
import { StallDetector, type Stall } from "./stallDetector.js";

/** Quantities sampled as values at a time: the later sample in a bucket wins. */
export const GAUGES = [
  "publisherPosition",
  "senderPosition",
  "senderLimit",
  "receiverPosition",
  "subscriberPosition",
  "receiverHwm",
  "receiverWindowBytes",
  "rttUs",
] as const;
export type GaugeName = (typeof GAUGES)[number];

/** Quantities counted as events: a bucket holds how many happened in it. */
export const COUNTS = ["dataFrames", "messages", "naks", "retransmits", "drops", "statusMessages", "heartbeats", "setups", "rttMeasurements"] as const;
export type CountName = (typeof COUNTS)[number];

export type InputKind = "sim" | "pcap" | "journal";

export interface ReportSource {
  readonly kind: InputKind;
  /** The scenario's name or the file's. */
  readonly name: string;
  /** Lines that describe the input (seed, duration, link model, capture span). */
  readonly details: ReadonlyArray<string>;
  /** What some quantities mean for this input (e.g. where drops come from). */
  readonly notes: ReadonlyArray<string>;
}

export interface ReportFault {
  readonly timeNs: number;
  readonly label: string;
}

/** A quantity the input cannot know, and why. */
export interface AbsentQuantity {
  readonly name: GaugeName | CountName;
  readonly reason: string;
}

export interface StreamSeries {
  readonly key: string;
  readonly sessionId: number;
  readonly streamId: number;
  readonly label: string;
  /** One entry per grid bucket; null where nothing was sampled; empty for an absent quantity. */
  readonly gauges: Readonly<Record<GaugeName, ReadonlyArray<number | null>>>;
  /** One entry per grid bucket; empty for an absent quantity. */
  readonly counts: Readonly<Record<CountName, ReadonlyArray<number>>>;
  /** Exact totals over the whole input; null for an absent quantity. */
  readonly totals: Readonly<Record<CountName, number | null>>;
}

export interface ReportSeries {
  readonly source: ReportSource;
  readonly bucketNs: number;
  /** Start time of each bucket, ns from the input's start. */
  readonly timesNs: ReadonlyArray<number>;
  readonly endNs: number;
  readonly stallThresholdNs: number;
  /** The position the stall detector watched as the receiver's. */
  readonly stallReceiver: ReportSeriesOptions["stallReceiver"];
  readonly streams: ReadonlyArray<StreamSeries>;
  readonly faults: ReadonlyArray<ReportFault>;
  readonly stalls: ReadonlyArray<Stall>;
  /** Quantities the input cannot know: no series, no totals, a note on the page. */
  readonly absent: ReadonlyArray<AbsentQuantity>;
}

export interface ReportSeriesOptions {
  /** Width of a bucket before any downsampling; a sampled input's sampling interval. */
  readonly bucketNs: number;
  /** At most this many buckets (at least 16). */
  readonly maxPoints: number;
  /** A receiver flat for longer than this while the sender has data is a stall. */
  readonly stallThresholdNs: number;
  /**
   * The position the stall detector watches as the receiver's: the receiver's rebuild position
   * (default), or the application's read position (an input with no sender side, where the
   * receiver's high-water mark is what the sender is known to have sent).
   */
  readonly stallReceiver: "receiverPosition" | "subscriberPosition";
}

export const REPORT_DEFAULTS: ReportSeriesOptions = { bucketNs: 1_000_000, maxPoints: 4000, stallThresholdNs: 50_000_000, stallReceiver: "receiverPosition" };

/** One stream's samples; get it from ReportSeriesBuilder.stream(). */
export class StreamSeriesBuilder {
  readonly gauges = new Map<GaugeName, Array<number | null>>();
  readonly counts = new Map<CountName, number[]>();
  readonly totals = new Map<CountName, number>();
  readonly stalls: StallDetector;

  constructor(
    private readonly owner: ReportSeriesBuilder,
    readonly key: string,
    readonly sessionId: number,
    readonly streamId: number,
    /** What the report calls the stream; an input may name it better once it knows more. */
    public label: string,
    stallThresholdNs: number,
  ) {
    for (const name of GAUGES) this.gauges.set(name, []);
    for (const name of COUNTS) {
      this.counts.set(name, []);
      this.totals.set(name, 0);
    }
    this.stalls = new StallDetector(key, stallThresholdNs);
  }

  /** A value of `name` at `timeNs`. */
  gauge(name: GaugeName, timeNs: number, value: number): void {
    const bucket = this.owner.bucketOf(timeNs);
    const values = this.gauges.get(name)!;
    while (values.length <= bucket) values.push(null);
    values[bucket] = value;
    // The receiver's high-water mark is data the sender had sent: never above the sender's position.
    if (name === this.owner.options.stallReceiver) this.stalls.onReceiverPosition(timeNs, value);
    else if (name === "publisherPosition" || name === "senderPosition" || name === "receiverHwm") this.stalls.onSenderPosition(timeNs, value);
  }

  /** `n` events of `name` at `timeNs`. */
  count(name: CountName, timeNs: number, n = 1): void {
    if (n === 0) return;
    const bucket = this.owner.bucketOf(timeNs);
    const values = this.counts.get(name)!;
    while (values.length <= bucket) values.push(0);
    values[bucket] = (values[bucket] ?? 0) + n;
    this.totals.set(name, (this.totals.get(name) ?? 0) + n);
    this.stalls.onCount(name, n);
  }

  /** Halves the grid: bucket i takes old buckets 2i and 2i + 1. */
  mergePairs(): void {
    for (const [name, values] of this.gauges) {
      const merged: Array<number | null> = [];
      for (let i = 0; i < values.length; i += 2) merged.push(values[i + 1] ?? values[i] ?? null);
      this.gauges.set(name, merged);
    }
    for (const [name, values] of this.counts) {
      const merged: number[] = [];
      for (let i = 0; i < values.length; i += 2) merged.push((values[i] ?? 0) + (values[i + 1] ?? 0));
      this.counts.set(name, merged);
    }
  }
}

export class ReportSeriesBuilder {
  private bucketNsValue: number;
  private lastTimeNs = 0;
  private readonly streamsByKey = new Map<string, StreamSeriesBuilder>();
  private readonly faultList: ReportFault[] = [];
  private readonly absentList: AbsentQuantity[] = [];
  readonly options: ReportSeriesOptions;

  constructor(
    readonly source: ReportSource,
    options: Partial<ReportSeriesOptions> = {},
  ) {
    this.options = { ...REPORT_DEFAULTS, ...options };
    if (!(Number.isSafeInteger(this.options.bucketNs) && this.options.bucketNs > 0)) throw new RangeError(`bucketNs ${this.options.bucketNs} must be a positive integer`);
    if (!(Number.isSafeInteger(this.options.maxPoints) && this.options.maxPoints >= 16)) throw new RangeError(`maxPoints ${this.options.maxPoints} must be an integer of at least 16`);
    if (!(this.options.stallThresholdNs > 0)) throw new RangeError(`stallThresholdNs ${this.options.stallThresholdNs} must be more than 0`);
    this.bucketNsValue = this.options.bucketNs;
  }

  get bucketNs(): number {
    return this.bucketNsValue;
  }

  /** The stream with this session and stream id, made on first use. */
  stream(sessionId: number, streamId: number, label?: string): StreamSeriesBuilder {
    const key = `${sessionId}:${streamId}`;
    let stream = this.streamsByKey.get(key);
    if (stream === undefined) {
      stream = new StreamSeriesBuilder(this, key, sessionId, streamId, label ?? `stream ${streamId}, session ${sessionId}`, this.options.stallThresholdNs);
      this.streamsByKey.set(key, stream);
    }
    return stream;
  }

  get streamCount(): number {
    return this.streamsByKey.size;
  }

  /** A fault applied at `timeNs` (from a schedule, or seen in the input). */
  fault(timeNs: number, label: string): void {
    this.faultList.push({ timeNs, label });
  }

  /** Whether any stream has a sample of `name`. */
  hasGauge(name: GaugeName): boolean {
    for (const stream of this.streamsByKey.values()) if (stream.gauges.get(name)!.some((v) => v !== null)) return true;
    return false;
  }

  /** `name` cannot be known from this input (`reason` says why): finish() leaves it out. */
  absent(name: GaugeName | CountName, reason: string): void {
    if (!this.absentList.some((a) => a.name === name)) this.absentList.push({ name, reason });
  }

  /**
   * Time has reached `timeNs` (samples may come later, none earlier than the stall detector has
   * seen): open stalls are judged now. Inputs call it after each sampling round or frame.
   */
  advance(timeNs: number): void {
    if (timeNs > this.lastTimeNs) this.lastTimeNs = timeNs;
    this.bucketOf(timeNs);
    for (const stream of this.streamsByKey.values()) stream.stalls.onTime(timeNs);
  }

  /** The grid bucket of `timeNs`, doubling the bucket width while it falls past the last one. */
  bucketOf(timeNs: number): number {
    if (!(timeNs >= 0)) throw new RangeError(`sample time ${timeNs} ns is before the start of the input`);
    if (timeNs > this.lastTimeNs) this.lastTimeNs = timeNs;
    // Bounded: each doubling halves the bucket count; 60 doublings cover any double.
    for (let i = 0; i < 60 && Math.floor(timeNs / this.bucketNsValue) >= this.options.maxPoints; i++) {
      this.bucketNsValue *= 2;
      for (const stream of this.streamsByKey.values()) stream.mergePairs();
    }
    return Math.floor(timeNs / this.bucketNsValue);
  }

  /** The series, with the stalls still open at `endNs` closed there. */
  finish(endNs: number = this.lastTimeNs): ReportSeries {
    this.advance(endNs);
    const buckets = Math.floor(endNs / this.bucketNsValue) + 1;
    const timesNs: number[] = [];
    for (let i = 0; i < buckets; i++) timesNs.push(i * this.bucketNsValue);
    const faults = [...this.faultList].sort((a, b) => a.timeNs - b.timeNs);
    const stalls: Stall[] = [];
    const streams: StreamSeries[] = [];
    const ordered = [...this.streamsByKey.values()].sort((a, b) => a.streamId - b.streamId || a.sessionId - b.sessionId);
    const absent = new Set<string>(this.absentList.map((a) => a.name));
    for (const s of ordered) {
      const gauges = {} as Record<GaugeName, Array<number | null>>;
      for (const name of GAUGES) gauges[name] = absent.has(name) ? [] : pad(s.gauges.get(name)!, buckets, null);
      const counts = {} as Record<CountName, number[]>;
      const totals = {} as Record<CountName, number | null>;
      for (const name of COUNTS) {
        counts[name] = absent.has(name) ? [] : pad(s.counts.get(name)!, buckets, 0);
        totals[name] = absent.has(name) ? null : s.totals.get(name) ?? 0;
      }
      streams.push({ key: s.key, sessionId: s.sessionId, streamId: s.streamId, label: s.label, gauges, counts, totals });
      for (const stall of s.stalls.finish(endNs, faults)) {
        stalls.push({
          ...stall,
          naks: absent.has("naks") ? null : stall.naks,
          retransmits: absent.has("retransmits") ? null : stall.retransmits,
          drops: absent.has("drops") ? null : stall.drops,
        });
      }
    }
    stalls.sort((a, b) => a.startNs - b.startNs);
    return {
      source: this.source,
      bucketNs: this.bucketNsValue,
      timesNs,
      endNs,
      stallThresholdNs: this.options.stallThresholdNs,
      stallReceiver: this.options.stallReceiver,
      streams,
      faults,
      stalls,
      absent: [...this.absentList],
    };
  }
}

function pad<T>(values: ReadonlyArray<T>, length: number, fill: T): T[] {
  const out = values.slice(0, length);
  while (out.length < length) out.push(fill);
  return out;
}
