// Replays a journal: a fresh Engine, built with the recorded options, is given every recorded call
// in order, with the recorded random draws, and every output is checked against the recording:
// each pollTransmit's datagrams (count, length, destination, endpoint and hash), each poll's
// fragments and a digest of the log it consumed (the delivered messages' frames), each offer's
// result, each endpoint and image event, each command's session id or error. The first difference
// stops the replay and is reported with its record index, its time, what was expected and what came.
import { Engine, type EngineOptions } from "../core/engine/engine.js";
import type { EngineConfig } from "../core/config/engineConfig.js";
import type { Publication } from "../core/engine/publication.js";
import type { Image, MessageHandler, Subscription } from "../core/engine/subscription.js";
import type { RandomSource } from "../core/random.js";
import { TransmitBatch } from "../core/transmitBatch.js";
import { formatIpv4 } from "../core/address.js";
import { NetworkPublication } from "../core/engine/networkPublication.js";
import { isInertOfferResult, JournalFormatError, RecordType, recordTypeName } from "./format.js";
import { countLogFrames, Digest, digestLogRange, hashBytes, WordView } from "./hash.js";
import { hex, JournalReader } from "./reader.js";
import { describeError } from "./recorder.js";
import { FrameFault, type FaultEnd, type FaultSpec } from "./frameFilter.js";
import { faultWithTo, journalRole } from "./faultEnds.js";
import { Prng } from "../sim/prng.js";

export interface ReplayProgress {
  readonly records: number;
  readonly bytesRead: number;
  readonly totalBytes: number;
  /** Recorded time covered so far, seconds from the first timed record. */
  readonly recordedSeconds: number;
  readonly wallSeconds: number;
}

export interface ReplayOptions {
  /** Engine configuration overrides (a changed engine: the replay shows where it departs). */
  readonly config?: Partial<EngineConfig>;
  /** Called about every `progressIntervalMs` (default 1000) during a long replay. */
  readonly onProgress?: (progress: ReplayProgress) => void;
  readonly progressIntervalMs?: number;
  /**
   * Faults added to the recorded run (`petrel replay --drop/--delay`). Up to the first datagram a
   * fault changes, the replay is checked bit-exact as without faults; from there on the engine runs
   * live: the rest of the recorded inputs (the peer's datagrams at their recorded times, a script
   * that no longer reacts; timers; the application's offers and polls) are fed to it, its own timers
   * run at their deadlines, and nothing is compared with the recording any more. The stream is
   * checked instead (`ReplayResult.faulted`). Only received datagrams (dir=rx) can be changed.
   */
  readonly faults?: ReadonlyArray<FaultSpec>;
  /** Simulated time the engine runs on after the journal ends, for a faulted run to catch up (default 2 s). */
  readonly drainNs?: number;
  /**
   * Called after each applied record once the engine exists and time has started, with the
   * engine's time of the latest timed record, the first timed record's time, the messages
   * (fragments) delivered to the application so far, and whether this record carried a time (a
   * received datagram, a timer call, a pollTransmit: an application's offer or poll does not, and
   * happened some time after the latest timed record). An observer (petrel report) samples the
   * engine here. It must only read the engine: a call that changes it makes the replay diverge.
   */
  readonly onRecord?: (engine: Engine, nowNs: number, firstNowNs: number, messages: number, timed: boolean) => void;
  /** Called with each received datagram (a DATAGRAM record) as it is handed to the engine: bytes[offset, offset + length) at `nowNs`. */
  readonly onDatagram?: (nowNs: number, firstNowNs: number, bytes: Uint8Array, offset: number, length: number) => void;
}

/** What a faulted replay found (ReplayResult.faulted). */
export interface FaultedOutcome {
  /** Whether any fault changed an input (if not, the replay was bit-exact throughout). */
  readonly changed: boolean;
  /** Record index and recorded time (ns from the first timed record) of the first changed input. */
  readonly firstChangeRecord: number;
  readonly firstChangeNs: number;
  readonly dropped: number;
  readonly delayed: number;
  /** Messages (fragments) the recording delivered, and the faulted run delivered. */
  readonly recordedFragments: number;
  readonly deliveredFragments: number;
  /** The invariant violations found: exactly-once and in order (safety), delivery of everything the recording delivered (liveness). */
  readonly violations: ReadonlyArray<{ readonly kind: "safety" | "liveness"; readonly message: string }>;
}

export interface Divergence {
  /** Index of the record where the replay departed from the recording (0 = the journal's first record). */
  readonly recordIndex: number;
  readonly recordType: string;
  /** The engine time of the latest timed record at that point, ns. */
  readonly nowNs: number;
  readonly what: string;
  readonly expected: string;
  readonly got: string;
  /** The records before it, one line each (oldest first). */
  readonly context: readonly string[];
}

export interface ReplayCounts {
  datagramsIn: number;
  timeouts: number;
  transmitPolls: number;
  datagramsOut: number;
  commands: number;
  offers: number;
  polls: number;
  messages: number;
  randomDraws: number;
  /** Worker mode: APPEND records applied (log bytes written, producer position moved). */
  appends: number;
  /** Worker mode: SUBSCRIBER_POSITION records applied (an image read by the application). */
  subscriberMoves: number;
}

export interface ReplayResult {
  readonly file: string;
  /** True when every output matched (up to where the journal ends). */
  readonly ok: boolean;
  readonly divergence?: Divergence;
  readonly records: number;
  /** How the journal ended: "closed" (recorder closed), "limit" (size limit reached), "unclean" (no END record). */
  readonly end: "closed" | "limit" | "unclean";
  /** The last block was incomplete (the process died writing it); replayed up to it. */
  readonly truncatedTail: boolean;
  /** Offers were recorded as length + hash: datagrams and deliveries are checked by length only. */
  readonly payloadHash: boolean;
  readonly seed: number | null;
  readonly recordedSeconds: number;
  readonly wallSeconds: number;
  readonly bytes: number;
  readonly counts: ReplayCounts;
  /** Datagrams the replay's engine sent, by their first frame's type (DATA, NAK, SM, ...). */
  readonly framesOut: Readonly<Record<string, number>>;
  /** Present when faults were given. */
  readonly faulted?: FaultedOutcome;
}

/**
 * What a replay of both ends' journals (pairReplay.ts) hooks into one journal's replay: the
 * datagrams its engine sends go onto a virtual link to the other engine, the datagrams the
 * recording received pass by the pair's faults, and from the first change on the link feeds it.
 */
export interface ReplayHooks {
  /** After each pollTransmit (bit-exact or live): the datagrams the engine sent. */
  transmitted(replayer: Replayer, nowNs: number, batch: TransmitBatch, count: number): void;
  /** A recorded DATAGRAM (bit-exact or live): true when the hook took it (dropped, delayed, or live: the link replaces the recording). */
  received(replayer: Replayer, nowNs: number, ip: number, port: number, endpoint: number, bytes: Uint8Array, offset: number, length: number): boolean;
}

/** Thrown inside the replay (through engine callbacks too) when an output differs. */
export class DivergenceSignal extends Error {
  constructor(readonly what: string, readonly expected: string, readonly got: string) {
    super(what);
  }
}

interface SideRecord {
  readonly type: number;
  readonly value: number;
  readonly json: Record<string, unknown> | undefined;
  readonly index: number;
}

const CONTEXT_RECORDS = 8;
/** An offer inside an OFFERS record: any position will do (the record's last result pins the final one). */
const POSITIVE = Number.POSITIVE_INFINITY;

export function replayJournal(path: string, options: ReplayOptions = {}): ReplayResult {
  return new Replayer(path, options).run();
}

/** One journal's replay; `run()` replays it whole, a pair replay steps two of them (advance, applyCurrent). */
export class Replayer {
  private readonly reader: JournalReader;
  private readonly options: ReplayOptions;
  private engine: Engine | undefined;
  private readonly side: SideRecord[] = [];
  private readonly publications: Array<Publication | undefined> = [];
  private readonly subscriptions: Array<Subscription | undefined> = [];
  private batch: TransmitBatch | undefined;
  private scratch = new Uint8Array(4096);
  private nowNs = 0;
  private firstNowNs = -1;
  private seed: number | null = null;
  private readonly contextIndex = new Float64Array(CONTEXT_RECORDS);
  private readonly contextType = new Uint8Array(CONTEXT_RECORDS);
  private readonly contextNow = new Float64Array(CONTEXT_RECORDS);
  private readonly counts: ReplayCounts = { datagramsIn: 0, timeouts: 0, transmitPolls: 0, datagramsOut: 0, commands: 0, offers: 0, polls: 0, messages: 0, randomDraws: 0, appends: 0, subscriberMoves: 0 };
  private readonly digest = new Digest();
  private delivered = 0;
  private before = new Float64Array(4);
  private readonly transmitWords = new WordView();
  private readonly frameCounts = new Uint32Array(2);
  private readonly countingHandler: MessageHandler = (_buffer, _offset, _length, header) => {
    this.delivered++;
    // An assembled message's header is its first fragment's (term id, term offset), its position after the last.
    if (this.live) this.checkFragment(header.sessionId, header.termOffset, (header.termId - header.initialTermId | 0) * 2 ** header.positionBitsToShift + header.termOffset, header.position);
  };
  private readonly faults: FrameFault[];
  /** True once a fault changed an input: from then on the engine runs live and is not compared with the recording. */
  private live = false;
  private firstChangeRecord = -1;
  private firstChangeNs = 0;
  private dropped = 0;
  private delayedCount = 0;
  private recordedFragments = 0;
  private readonly pending: Array<{ dueNs: number; bytes: Uint8Array; ip: number; port: number; endpoint: number }> = [];
  private fallbackRandom: Prng | undefined;
  private readonly lastPosition = new Map<number, number>();
  private readonly violations: Array<{ kind: "safety" | "liveness"; message: string }> = [];
  private readonly framesOut: Record<string, number> = {};
  /** Live with hooks: each publication's messages the recording appended and the live run has not yet (the application retries in order). */
  private readonly offerQueues: Array<Uint8Array[] | undefined> = [];
  private started = 0;
  private end: ReplayResult["end"] = "unclean";

  /** The journal's role, when a fault has to= (a received datagram goes to this end). */
  private readonly role: FaultEnd | undefined;

  constructor(private readonly path: string, options: ReplayOptions, private readonly hooks?: ReplayHooks) {
    const withTo = faultWithTo(options.faults ?? []);
    this.role = withTo === undefined ? undefined : journalRole(path, withTo);
    this.reader = new JournalReader(path);
    this.options = options;
    this.faults = (options.faults ?? []).map((spec) => new FrameFault(spec));
  }

  /** The engine's time: of the latest timed record or live event, ns. */
  get timeNs(): number {
    return this.nowNs;
  }

  /** Moves to the next record (not applied yet); false at the journal's end. */
  advance(): boolean {
    const reader = this.reader;
    if (this.started === 0) this.started = performance.now();
    if (!reader.next()) return false;
    if (reader.index === 0 && reader.type !== RecordType.ENGINE) {
      throw new JournalFormatError(this.path, "malformed", `the first record is ${recordTypeName(reader.type)}, not ENGINE`);
    }
    if (reader.type === RecordType.END) {
      this.end = (JSON.parse(reader.text()) as { reason: "closed" | "limit" }).reason;
      return false;
    }
    return true;
  }

  /** The current record's time when it is a timed one (DATAGRAM, TIMEOUT, TRANSMIT), else undefined. */
  recordTimeNs(): number | undefined {
    const type = this.reader.type;
    return type === RecordType.DATAGRAM || type === RecordType.TIMEOUT || type === RecordType.TRANSMIT ? this.reader.view.getFloat64(this.reader.bodyOffset, true) : undefined;
  }

  /** Applies the current record (a DivergenceSignal when an output differs). */
  applyCurrent(): void {
    this.apply();
  }

  /** The divergence a DivergenceSignal thrown by applyCurrent describes. */
  divergenceOf(error: DivergenceSignal): Divergence {
    return {
      recordIndex: this.reader.index,
      recordType: recordTypeName(this.reader.type),
      nowNs: this.nowNs,
      what: error.what,
      expected: error.expected,
      got: error.got,
      context: this.context(),
    };
  }

  /** From here on the engine runs live (a pair replay: a fault changed a datagram of either journal). */
  goLive(relNs: number): void {
    if (this.live) return;
    this.live = true;
    this.firstChangeRecord = this.reader.index;
    this.firstChangeNs = relNs;
    this.side.length = 0;
  }

  /** A datagram for the live engine at `dueNs` (its own clock). */
  deliver(dueNs: number, bytes: Uint8Array, ip: number, port: number, endpoint: number): void {
    let at = this.pending.length;
    while (at > 0 && this.pending[at - 1]!.dueNs > dueNs) at--;
    this.pending.splice(at, 0, { dueNs, bytes, ip, port, endpoint });
  }

  /** Live: runs the engine's timers and due datagrams up to `nowNs`, retries queued offers, and (`poll`) polls its subscriptions. */
  runUntil(nowNs: number, poll: boolean): void {
    this.catchUp(nowNs);
    if (nowNs > this.nowNs) this.nowNs = nowNs;
    this.flushOffers();
    if (!poll) return;
    for (const subscription of this.subscriptions) {
      if (subscription !== undefined && !subscription.isClosed) subscription.poll(this.countingHandler, 256);
    }
  }

  /** Messages the live application still has to offer (appended in the recording, not yet here). */
  get queuedOffers(): number {
    let n = 0;
    for (const queue of this.offerQueues) n += queue?.length ?? 0;
    return n;
  }

  /** The result so far (after the last record, or a divergence). */
  finish(divergence?: Divergence): ReplayResult {
    this.reader.close();
    return this.result(divergence, this.end, performance.now() - (this.started || performance.now()), true);
  }

  run(): ReplayResult {
    const reader = this.reader;
    const started = performance.now();
    const interval = this.options.progressIntervalMs ?? 1000;
    let lastProgress = started;
    let end: ReplayResult["end"] = "unclean";
    let divergence: Divergence | undefined;
    try {
      while (reader.next()) {
        if (reader.index === 0 && reader.type !== RecordType.ENGINE) {
          throw new JournalFormatError(this.path, "malformed", `the first record is ${recordTypeName(reader.type)}, not ENGINE`);
        }
        if (reader.type === RecordType.END) {
          end = (JSON.parse(reader.text()) as { reason: "closed" | "limit" }).reason;
          break;
        }
        this.apply();
        if (this.options.onRecord !== undefined && this.engine !== undefined && this.firstNowNs >= 0) {
          const type = reader.type;
          this.options.onRecord(this.engine, this.nowNs, this.firstNowNs, this.delivered,
            type === RecordType.DATAGRAM || type === RecordType.TIMEOUT || type === RecordType.TRANSMIT);
        }
        const slot = reader.index % CONTEXT_RECORDS;
        this.contextIndex[slot] = reader.index;
        this.contextType[slot] = reader.type;
        this.contextNow[slot] = this.nowNs;
        if ((reader.index & 1023) === 0 && this.options.onProgress !== undefined) {
          const now = performance.now();
          if (now - lastProgress >= interval) {
            lastProgress = now;
            this.options.onProgress(this.progress(started));
          }
        }
      }
      if (divergence === undefined && this.side.length > 0 && !this.live) this.unconsumedSide();
      if (this.live) this.drain();
    } catch (error) {
      if (!(error instanceof DivergenceSignal)) throw error;
      divergence = {
        recordIndex: reader.index,
        recordType: recordTypeName(reader.type),
        nowNs: this.nowNs,
        what: error.what,
        expected: error.expected,
        got: error.got,
        context: this.context(),
      };
    } finally {
      reader.close();
    }
    return this.result(divergence, end, performance.now() - started, this.options.faults !== undefined);
  }

  private result(divergence: Divergence | undefined, end: ReplayResult["end"], wallMs: number, faulted: boolean): ReplayResult {
    const reader = this.reader;
    // A live run also delivers outside the recorded polls (its drain).
    this.counts.messages = this.delivered;
    return {
      file: this.path,
      ok: divergence === undefined,
      ...(divergence === undefined ? {} : { divergence }),
      records: divergence === undefined ? reader.index + 1 : reader.index,
      end,
      truncatedTail: reader.truncatedTail,
      payloadHash: reader.header.payloadHash,
      seed: this.seed,
      recordedSeconds: this.firstNowNs < 0 ? 0 : (this.nowNs - this.firstNowNs) / 1e9,
      wallSeconds: wallMs / 1000,
      bytes: reader.totalBytes,
      counts: this.counts,
      framesOut: this.framesOut,
      ...(faulted ? { faulted: this.outcome() } : {}),
    };
  }

  private outcome(): FaultedOutcome {
    const violations = [...this.violations];
    if (this.live && this.delivered < this.recordedFragments) {
      violations.push({ kind: "liveness", message: `delivered ${this.delivered} of the ${this.recordedFragments} messages the recording delivered` +
        ` (by the journal's end and ${formatSeconds(this.options.drainNs ?? 2e9)} more)` });
    }
    return {
      changed: this.live,
      firstChangeRecord: this.firstChangeRecord,
      firstChangeNs: this.firstChangeNs,
      dropped: this.dropped,
      delayed: this.delayedCount,
      recordedFragments: this.recordedFragments,
      deliveredFragments: this.delivered,
      violations,
    };
  }

  /**
   * Exactly once and in order: each image's messages follow one another (a term's padding aside).
   * `start` is where the message's first fragment begins, `position` where its last one ends.
   */
  private checkFragment(sessionId: number, termOffset: number, start: number, position: number): void {
    const last = this.lastPosition.get(sessionId);
    if (last !== undefined && start !== last && !(termOffset === 0 && start > last) && this.violations.length < 16) {
      this.violations.push({ kind: "safety", message: start < last
        ? `session ${sessionId}: a duplicate or out-of-order message at position ${start} (delivered up to ${last}), t=${formatSeconds(this.nowNs)}`
        : `session ${sessionId}: a gap from position ${last} to ${start}, t=${formatSeconds(this.nowNs)}` });
    }
    this.lastPosition.set(sessionId, position);
  }

  /** Called before a timed record at `nowNs` in a faulted run: delayed datagrams that are due, and the live engine's own timers. */
  private catchUp(nowNs: number): void {
    const engine = this.engine;
    if (engine === undefined) return;
    // Bounded: each step handles one due datagram or one timer deadline; a deadline that does not move
    // is run once at a time (again only once time has moved on).
    let lastTimerNs = Number.NEGATIVE_INFINITY;
    for (let step = 0; step < 100_000; step++) {
      const head = this.pending[0];
      const deadline = engine.pollTimeout();
      let timerNs = deadline <= nowNs ? Math.max(deadline, this.nowNs) : Number.POSITIVE_INFINITY;
      if (timerNs <= lastTimerNs) timerNs = Number.POSITIVE_INFINITY;
      const datagramNs = head !== undefined && head.dueNs <= nowNs ? Math.max(head.dueNs, this.nowNs) : Number.POSITIVE_INFINITY;
      if (timerNs === Number.POSITIVE_INFINITY && datagramNs === Number.POSITIVE_INFINITY) return;
      if (datagramNs <= timerNs) {
        this.pending.shift();
        this.nowNs = datagramNs;
        engine.handleDatagram(datagramNs, head!.ip, head!.port, head!.endpoint, head!.bytes, 0, head!.bytes.length);
        this.counts.datagramsIn++;
      } else {
        this.nowNs = timerNs;
        lastTimerNs = timerNs;
        engine.handleTimeout(timerNs);
      }
      this.liveTransmit(engine, this.nowNs);
    }
  }

  private liveTransmit(engine: Engine, nowNs: number): void {
    let batch = this.batch;
    if (batch === undefined) batch = this.batch = new TransmitBatch(64, 65536);
    batch.clear();
    const count = engine.pollTransmit(nowNs, batch);
    this.counts.transmitPolls++;
    this.countFrames(batch, count);
    this.counts.datagramsOut += count;
    this.hooks?.transmitted(this, nowNs, batch, count);
  }

  private countFrames(batch: TransmitBatch, count: number): void {
    for (let i = 0; i < count; i++) {
      const at = i * batch.slotLength;
      const type = batch.lengths[i]! >= 8 ? batch.bytes[at + 6]! | (batch.bytes[at + 7]! << 8) : -1;
      const name = FRAME_TYPES[type] ?? `type ${type}`;
      this.framesOut[name] = (this.framesOut[name] ?? 0) + 1;
    }
  }

  /** After the journal's end: the live engine runs on its own timers (and polls its subscriptions) so that a repair in progress can finish. */
  private drain(): void {
    const engine = this.engine;
    if (engine === undefined) return;
    const endNs = this.nowNs + (this.options.drainNs ?? 2e9);
    // Bounded by simulated time: each step moves at least 1 ms.
    while (this.nowNs < endNs) {
      const next = Math.min(endNs, Math.max(this.nowNs + 1e6, Math.min(engine.pollTimeout(), this.pending[0]?.dueNs ?? Number.POSITIVE_INFINITY)));
      this.catchUp(next);
      this.nowNs = next;
      for (const subscription of this.subscriptions) {
        if (subscription !== undefined && !subscription.isClosed) subscription.poll(this.countingHandler, 256);
      }
    }
  }

  /** Whether a fault drops or delays this received datagram (the current DATAGRAM record); queues a delayed one. */
  private faultReceived(nowNs: number, ip: number, port: number, endpoint: number, offset: number, length: number): boolean {
    const relNs = this.firstNowNs < 0 ? 0 : nowNs - this.firstNowNs;
    for (const fault of this.faults) {
      if (!fault.test("rx", relNs, this.reader.bytes, offset, length, this.role)) continue;
      if (!this.live) {
        this.live = true;
        this.firstChangeRecord = this.reader.index;
        this.firstChangeNs = relNs;
        this.side.length = 0;
      }
      if (fault.spec.kind === "drop") {
        this.dropped++;
        return true;
      }
      this.delayedCount++;
      this.deliver(nowNs + (fault.spec.delayNs ?? 0), this.reader.bytes.slice(offset, offset + length), ip, port, endpoint);
      return true;
    }
    return false;
  }

  /** A random draw: the recorded one, or (once the run is live) one from a generator seeded by the journal's seed. */
  draw(type: number, what: string): number {
    if (!this.live) return this.takeSide(type, what).value;
    this.fallbackRandom ??= new Prng(this.seed ?? 1);
    return type === RecordType.RANDOM_U32 ? this.fallbackRandom.nextUint32() : this.fallbackRandom.nextDouble();
  }

  private progress(started: number): ReplayProgress {
    return {
      records: this.reader.index + 1,
      bytesRead: this.reader.bytesRead,
      totalBytes: this.reader.totalBytes,
      recordedSeconds: this.firstNowNs < 0 ? 0 : (this.nowNs - this.firstNowNs) / 1e9,
      wallSeconds: (performance.now() - started) / 1000,
    };
  }

  private context(): string[] {
    const lines: string[] = [];
    const current = this.reader.index;
    for (let k = CONTEXT_RECORDS; k >= 1; k--) {
      const index = current - k;
      if (index < 0) continue;
      const slot = index % CONTEXT_RECORDS;
      if (this.contextIndex[slot] !== index) continue;
      lines.push(`#${index} ${recordTypeName(this.contextType[slot]!)} t=${formatSeconds(this.contextNow[slot]!)}`);
    }
    return lines;
  }

  private time(nowNs: number): void {
    this.nowNs = nowNs;
    if (this.firstNowNs < 0) this.firstNowNs = nowNs;
  }

  private requireEngine(): Engine {
    if (this.engine === undefined) throw new JournalFormatError(this.path, "malformed", "a call record before the ENGINE record");
    return this.engine;
  }

  /** Applies the current record. */
  private apply(): void {
    const r = this.reader;
    const v = r.view;
    const at = r.bodyOffset;
    switch (r.type) {
      case RecordType.ENGINE:
        this.createEngine(JSON.parse(r.text()) as EngineRecord);
        return;
      case RecordType.RANDOM_U32:
        this.side.push({ type: r.type, value: v.getUint32(at, true), json: undefined, index: r.index });
        return;
      case RecordType.RANDOM_F64:
        this.side.push({ type: r.type, value: v.getFloat64(at, true), json: undefined, index: r.index });
        return;
      case RecordType.IMAGE_AVAILABLE:
      case RecordType.IMAGE_UNAVAILABLE:
      case RecordType.TRANSPORT_CHECK_FAILED:
      case RecordType.RESOLVE:
        this.side.push({ type: r.type, value: 0, json: JSON.parse(r.text()) as Record<string, unknown>, index: r.index });
        return;
      default:
        break;
    }
    const engine = this.requireEngine();
    switch (r.type) {
      case RecordType.DATAGRAM: {
        const nowNs = v.getFloat64(at, true);
        if (this.live) this.catchUp(nowNs);
        this.time(nowNs);
        if (this.hooks !== undefined &&
            this.hooks.received(this, nowNs, v.getUint32(at + 8, true), v.getUint16(at + 12, true), v.getInt32(at + 16, true), r.bytes, at + 20, r.bodyLength - 20)) break;
        if (this.faults.length > 0 &&
            this.faultReceived(nowNs, v.getUint32(at + 8, true), v.getUint16(at + 12, true), v.getInt32(at + 16, true), at + 20, r.bodyLength - 20)) break;
        engine.handleDatagram(nowNs, v.getUint32(at + 8, true), v.getUint16(at + 12, true), v.getInt32(at + 16, true), r.bytes, at + 20, r.bodyLength - 20);
        this.options.onDatagram?.(nowNs, this.firstNowNs, r.bytes, at + 20, r.bodyLength - 20);
        this.counts.datagramsIn++;
        break;
      }
      case RecordType.TIMEOUT: {
        const nowNs = v.getFloat64(at, true);
        if (this.live) this.catchUp(nowNs);
        this.time(nowNs);
        engine.handleTimeout(nowNs);
        this.counts.timeouts++;
        break;
      }
      case RecordType.TRANSMIT:
        this.transmit(engine);
        break;
      case RecordType.ENDPOINT_EVENT: {
        const expected = r.text();
        const event = engine.pollEndpointEvent();
        const got = event === undefined ? "none" : JSON.stringify(event);
        if (got !== expected && !this.live) throw new DivergenceSignal("endpoint event", expected, got);
        break;
      }
      case RecordType.OFFERS:
        this.offers();
        break;
      case RecordType.OFFER_REPEAT:
        this.offer(v.getUint16(at, true), v.getFloat64(at + 4, true), v.getUint32(at + 12, true), -1, v.getUint32(at + 16, true));
        break;
      case RecordType.POLL:
        this.poll(v.getUint16(at, true), v.getUint32(at + 4, true), 1, v.getUint32(at + 8, true), v.getUint32(at + 12, true));
        break;
      case RecordType.POLL_EMPTY:
        this.poll(v.getUint16(at, true), v.getUint32(at + 4, true), v.getUint32(at + 8, true), 0, 0);
        break;
      case RecordType.APPEND:
        this.append(v.getUint16(at, true), v.getFloat64(at + 4, true), v.getFloat64(at + 12, true), at + 20, r.bodyLength - 20);
        break;
      case RecordType.SUBSCRIBER_POSITION:
        this.subscriberPosition(v.getUint16(at, true), v.getUint16(at + 2, true), v.getInt32(at + 4, true), v.getFloat64(at + 8, true),
          v.getFloat64(at + 16, true), v.getUint32(at + 24, true), v.getUint32(at + 28, true), v.getUint32(at + 32, true));
        break;
      default:
        this.command(engine, r.type, JSON.parse(r.text()) as CommandRecord);
        break;
    }
    if (this.side.length > 0) {
      if (this.live) this.side.length = 0;
      else this.unconsumedSide();
    }
  }

  private createEngine(record: EngineRecord): void {
    if (this.engine !== undefined) throw new JournalFormatError(this.path, "malformed", `a second ENGINE record at ${this.reader.index}`);
    this.seed = record.seed;
    const options: EngineOptions = {
      ...record.options,
      config: { ...record.options.config, ...(this.options.config ?? {}) },
      random: new ReplayRandom(this),
      ...(record.resolveHost === true ? {
        resolveHost: (name: string) => this.live ? this.liveResolve(name) : this.takeSide(RecordType.RESOLVE, `resolveHost(${JSON.stringify(name)})`).json!["ip"] as number,
      } : {}),
      ...(record.resolveInterface === true ? {
        resolveInterface: (subnet: number, prefixLength: number) => this.resolvedInterface(subnet, prefixLength),
      } : {}),
    };
    const engine = new Engine(options);
    engine.setTransportCheck((channel, mtuBytes, role) => {
      const head = this.side[0];
      if (head === undefined || head.type !== RecordType.TRANSPORT_CHECK_FAILED) return;
      this.side.shift();
      const error = new Error(String(head.json!["message"]));
      error.name = String(head.json!["name"]);
      if (head.json!["channel"] !== channel || head.json!["mtuBytes"] !== mtuBytes || head.json!["role"] !== role) {
        throw new DivergenceSignal("transport check", JSON.stringify(head.json), JSON.stringify({ channel, mtuBytes, role }));
      }
      throw error;
    });
    this.engine = engine;
  }

  private liveResolve(name: string): number {
    const head = this.side.find((entry) => entry.type === RecordType.RESOLVE && entry.json!["name"] === name);
    if (head === undefined) throw new Error(`resolveHost(${JSON.stringify(name)}): not in the recording, and the faulted run asked for it`);
    return head.json!["ip"] as number;
  }

  /** The local address the recorded engine's interface search found (a channel's interface=subnet/prefix). */
  private resolvedInterface(subnet: number, prefixLength: number): number {
    const what = `resolveInterface(${formatIpv4(subnet)}/${prefixLength})`;
    const matches = (entry: SideRecord): boolean => entry.json!["subnet"] === subnet && entry.json!["prefixLength"] === prefixLength;
    if (this.live) {
      const found = this.side.find((entry) => entry.type === RecordType.RESOLVE && matches(entry));
      if (found === undefined) throw new Error(`${what}: not in the recording, and the faulted run asked for it`);
      return found.json!["ip"] as number;
    }
    const entry = this.takeSide(RecordType.RESOLVE, what);
    if (!matches(entry)) throw new DivergenceSignal(`the engine called ${what}`, JSON.stringify(entry.json), what);
    return entry.json!["ip"] as number;
  }

  /** The next side record, which must be of `type` (the engine did `what` during the current call). */
  takeSide(type: number, what: string): SideRecord {
    const head = this.side.shift();
    if (head === undefined) {
      throw new DivergenceSignal(`the engine called ${what}`, "no such call at this point of the recording", what);
    }
    if (head.type !== type) {
      throw new DivergenceSignal(`the engine called ${what}`, `${recordTypeName(head.type)} (record #${head.index})`, what);
    }
    this.counts.randomDraws += type === RecordType.RANDOM_U32 || type === RecordType.RANDOM_F64 ? 1 : 0;
    return head;
  }

  private unconsumedSide(): void {
    const head = this.side[0]!;
    throw new DivergenceSignal("the recorded engine did more during this call",
      `${recordTypeName(head.type)} (record #${head.index})${head.json === undefined ? "" : ` ${JSON.stringify(head.json)}`}`, "nothing");
  }

  private transmit(engine: Engine): void {
    const r = this.reader;
    const v = r.view;
    const at = r.bodyOffset;
    const nowNs = v.getFloat64(at, true);
    if (this.live) this.catchUp(nowNs);
    this.time(nowNs);
    const capacity = v.getUint16(at + 8, true);
    const expectedCount = v.getUint16(at + 10, true);
    const slotLength = v.getUint32(at + 12, true);
    let batch = this.batch;
    if (batch === undefined || batch.capacity !== capacity || batch.slotLength !== slotLength) batch = this.batch = new TransmitBatch(capacity, slotLength);
    batch.clear();
    const count = engine.pollTransmit(nowNs, batch);
    this.counts.transmitPolls++;
    if (this.live) {
      this.countFrames(batch, count);
      this.counts.datagramsOut += count;
      this.hooks?.transmitted(this, nowNs, batch, count);
      return;
    }
    this.countFrames(batch, count);
    const checkHash = !r.header.payloadHash;
    for (let i = 0, p = at + 16; i < Math.max(count, expectedCount); i++, p += 16) {
      const expected = i < expectedCount
        ? { length: v.getUint16(p, true), port: v.getUint16(p + 2, true), ip: v.getUint32(p + 4, true), endpoint: v.getInt32(p + 8, true), hash: v.getUint32(p + 12, true) }
        : undefined;
      const got = i < count
        ? { length: batch.lengths[i]!, port: batch.destinationPorts[i]!, ip: batch.destinationIps[i]!, endpoint: batch.endpointIds[i]!,
          hash: hashBytes(this.transmitWords, batch.bytes, i * slotLength, batch.lengths[i]!) }
        : undefined;
      if (expected === undefined || got === undefined || expected.length !== got.length || expected.port !== got.port ||
          expected.ip !== got.ip || expected.endpoint !== got.endpoint || (checkHash && expected.hash !== got.hash)) {
        const describe = (d: typeof expected): string => d === undefined ? "no datagram"
          : `${d.length} B to ${formatIpv4(d.ip)}:${d.port} from endpoint ${d.endpoint}, hash ${hex(d.hash)}`;
        const frame = got === undefined ? "" : ` (${describeFrame(batch.bytes, i * slotLength, got.length)})`;
        throw new DivergenceSignal(`pollTransmit datagram ${i} (recorded ${expectedCount} datagrams, replay ${count})`,
          describe(expected), `${describe(got)}${frame}`);
      }
    }
    this.counts.datagramsOut += count;
    this.hooks?.transmitted(this, nowNs, batch, count);
  }

  /** An OFFERS record: each offer again, every result but the last a position, the last as recorded. */
  private offers(): void {
    const r = this.reader;
    const v = r.view;
    const at = r.bodyOffset;
    const h = v.getUint16(at, true);
    const hashed = v.getUint8(at + 2) === 1;
    const count = v.getUint32(at + 4, true);
    const last = v.getFloat64(at + 8, true);
    const end = at + r.bodyLength;
    let p = at + 16;
    for (let k = 0; k < count; k++) {
      if (p + 4 > end) throw new JournalFormatError(this.path, "malformed", `OFFERS record ${r.index} is shorter than its ${count} offers`);
      const length = v.getUint32(p, true);
      const expected = k === count - 1 ? last : POSITIVE;
      this.offer(h, expected, length, hashed ? -1 : p + 4, 1);
      p += 4 + (hashed ? 4 : (length + 3) & ~3);
    }
  }

  private offer(h: number, expected: number, length: number, payloadAt: number, repeat: number): void {
    const publication = this.publications[h];
    if (publication === undefined) throw new JournalFormatError(this.path, "malformed", `an offer on publication ${h}, which was never added`);
    let source = this.reader.bytes;
    let offset = payloadAt;
    if (payloadAt < 0) {
      // Hash mode or a run of failed offers: the bytes do not matter to the engine, their length does.
      if (this.scratch.length < length) this.scratch = new Uint8Array(length);
      source = this.scratch;
      offset = 0;
    }
    if (this.live && this.hooks !== undefined) {
      // The live application offers, in order, the messages the recording appended, retrying one the
      // engine refuses (back pressure) at its next offer or duty cycle: the message sequence stays the recording's.
      const queue = this.offerQueues[h] ??= [];
      if (expected === POSITIVE || expected > 0) queue.push(source.slice(offset, offset + length));
      this.flushOffers();
      return;
    }
    for (let k = 0; k < repeat; k++) {
      const result = publication.offer(source, offset, length);
      this.counts.offers++;
      if (this.live) continue;
      if (expected === POSITIVE ? !(result > 0) : result !== expected) {
        throw new DivergenceSignal(`offer of ${length} B on publication ${h}${repeat > 1 ? ` (${k + 1} of ${repeat} failed offers in a row)` : ""}`,
          expected === POSITIVE ? "a position (appended)" : `result ${expected}`, `result ${result}${isInertOfferResult(result) ? " (not appended)" : ""}`);
      }
    }
  }

  private flushOffers(): void {
    for (let h = 0; h < this.offerQueues.length; h++) {
      const queue = this.offerQueues[h];
      const publication = this.publications[h];
      if (queue === undefined || publication === undefined || publication.isClosed) continue;
      // Bounded: each turn appends a message or stops; an ADMIN_ACTION (the term was padded) is retried at most 4 times in a row.
      let admin = 0;
      while (queue.length > 0) {
        const message = queue[0]!;
        const result = publication.offer(message, 0, message.length);
        this.counts.offers++;
        if (result > 0) {
          queue.shift();
          admin = 0;
        } else if (result === -3 && admin++ < 4) {
          continue;
        } else {
          break;
        }
      }
    }
  }

  private poll(h: number, fragmentLimit: number, repeat: number, fragments: number, digest: number): void {
    const subscription = this.subscriptions[h];
    if (subscription === undefined) throw new JournalFormatError(this.path, "malformed", `a poll on subscription ${h}, which was never added`);
    const checkDigest = !this.reader.header.payloadHash;
    const images = subscription.images;
    this.recordedFragments += fragments;
    for (let k = 0; k < repeat; k++) {
      const count = images.length;
      if (count > this.before.length) this.before = new Float64Array(2 * count);
      for (let i = 0; i < count; i++) this.before[i] = images[i]!.position;
      const delivered = this.delivered;
      const read = subscription.poll(this.countingHandler, fragmentLimit);
      this.counts.polls++;
      if (this.live) continue;
      let value = 0;
      if (read > 0) {
        this.digest.reset();
        for (let i = 0; i < count; i++) {
          const image = images[i]!;
          if (image.position > this.before[i]!) digestLogRange(this.digest, image.source, this.before[i]!, image.position);
        }
        value = this.digest.value();
      }
      if (read !== fragments || (checkDigest && value !== digest)) {
        throw new DivergenceSignal(`poll(limit ${fragmentLimit}) on subscription ${h}${repeat > 1 ? ` (${k + 1} of ${repeat} empty polls in a row)` : ""}`,
          `${fragments} fragments, digest ${hex(digest)}`, `${read} fragments (${this.delivered - delivered} messages), digest ${hex(value)}`);
      }
    }
    this.counts.messages = this.delivered;
  }

  /**
   * An APPEND record (worker mode): the application thread appended to the publication's shared
   * log. As the worker saw it: the bytes are written into the replay's log where the application
   * wrote them, and the producer position moves (the publication takes its position from outside,
   * as the worker's does, from the first append on).
   */
  private append(h: number, from: number, to: number, bytesAt: number, length: number): void {
    const publication = this.publications[h];
    if (publication === undefined) throw new JournalFormatError(this.path, "malformed", `an append on publication ${h}, which was never added`);
    const network = publication.backend;
    if (!(network instanceof NetworkPublication)) throw new JournalFormatError(this.path, "malformed", `an append on publication ${h}, which is not a network publication`);
    const termLength = network.termLength;
    const termCount = Math.floor(from / termLength);
    const offset = from - termCount * termLength;
    if (!(to - from === length && length > 0 && offset + length <= termLength && from % 32 === 0)) {
      throw new JournalFormatError(this.path, "malformed", `APPEND record ${this.reader.index}: ${length} bytes for positions ${from} to ${to} (term length ${termLength})`);
    }
    if (!network.hasExternalProducer) network.useExternalProducer();
    if (network.position !== from && !this.live) {
      throw new DivergenceSignal(`append on publication ${h}`, `the producer position at ${from}`, `the producer position at ${network.position}`);
    }
    network.log.term(termCount % 3).bytes.set(this.reader.bytes.subarray(bytesAt, bytesAt + length), offset);
    network.setProducerPosition(to);
    this.counts.appends++;
  }

  /**
   * A SUBSCRIBER_POSITION record (worker mode): the application thread read an image up to `to`.
   * The replay checks that its image has the same frames there (fragments, messages, digest) and
   * moves the image's position as the worker did. In a faulted (live) run the image is read as far
   * as it has data instead (the application reads what has arrived).
   */
  private subscriberPosition(h: number, index: number, sessionId: number, from: number, to: number, fragments: number, messages: number, digest: number): void {
    const subscription = this.subscriptions[h];
    if (subscription === undefined) throw new JournalFormatError(this.path, "malformed", `a read of subscription ${h}, which was never added`);
    this.counts.subscriberMoves++;
    this.recordedFragments += messages;
    if (this.live) {
      for (const image of subscription.images) image.poll(this.countingHandler, 4096);
      this.counts.messages = this.delivered;
      return;
    }
    const image = subscription.images[index];
    const what = `read of image ${index} (session ${sessionId}) on subscription ${h}`;
    if (image === undefined || image.sessionId !== sessionId) {
      throw new DivergenceSignal(what, `image ${index} of session ${sessionId}`, image === undefined ? `${subscription.images.length} images` : `image ${index} of session ${image.sessionId}`);
    }
    if (image.position !== from) throw new DivergenceSignal(what, `the subscriber position at ${from}`, `the subscriber position at ${image.position}`);
    this.digest.reset();
    digestLogRange(this.digest, image.source, from, to);
    const value = this.digest.value();
    const counts = this.frameCounts;
    countLogFrames(image.source, from, to, counts);
    if (counts[0] !== fragments || counts[1] !== messages || (!this.reader.header.payloadHash && value !== digest)) {
      throw new DivergenceSignal(`${what} from ${from} to ${to}`, `${fragments} fragments, ${messages} messages, digest ${hex(digest)}`,
        `${counts[0]} fragments, ${counts[1]} messages, digest ${hex(value)}`);
    }
    image.position = to;
    this.delivered += messages;
    this.counts.messages = this.delivered;
  }

  private command(engine: Engine, type: number, record: CommandRecord): void {
    this.counts.commands++;
    if (this.live && this.hooks !== undefined && (type === RecordType.CLOSE_PUBLICATION || type === RecordType.CLOSE_SUBSCRIPTION || type === RecordType.ENGINE_CLOSE)) {
      // Both ends live: the applications close when their streams are done (after the pair's drain), not at the recorded time.
      return;
    }
    const h = record.h ?? 0;
    const outcome = (action: () => string | undefined): void => {
      let got: string;
      try {
        got = action() ?? "ok";
      } catch (error) {
        if (error instanceof DivergenceSignal) throw error;
        const { name, message } = describeError(error);
        got = `${name}: ${message}`;
      }
      const expected = record.error !== undefined ? `${record.error.name}: ${record.error.message}`
        : record.sessionId !== undefined ? `session ${record.sessionId}` : "ok";
      if (got !== expected && !this.live) throw new DivergenceSignal(recordTypeName(type), expected, got);
    };
    switch (type) {
      case RecordType.ADD_PUBLICATION:
        outcome(() => {
          const publication = record.exclusive === true ? engine.addExclusivePublication(record.channel!, record.streamId!) : engine.addPublication(record.channel!, record.streamId!);
          this.publications[h] = publication;
          return `session ${publication.sessionId}`;
        });
        return;
      case RecordType.ADD_SUBSCRIPTION:
        outcome(() => {
          this.subscriptions[h] = engine.addSubscription(record.channel!, record.streamId!, {
            onAvailableImage: (image) => this.imageEvent(RecordType.IMAGE_AVAILABLE, h, image),
            onUnavailableImage: (image) => this.imageEvent(RecordType.IMAGE_UNAVAILABLE, h, image),
          });
          return undefined;
        });
        return;
      case RecordType.CLOSE_PUBLICATION:
        outcome(() => void this.publications[h]?.close());
        return;
      case RecordType.CLOSE_SUBSCRIPTION:
        outcome(() => void this.subscriptions[h]?.close());
        return;
      case RecordType.ENGINE_CLOSE:
        outcome(() => void engine.close());
        return;
      case RecordType.ADD_DESTINATION:
        outcome(() => void this.publications[h]?.addDestination(record.channel!));
        return;
      case RecordType.REMOVE_DESTINATION:
        outcome(() => void this.publications[h]?.removeDestination(record.channel!));
        return;
      default:
        throw new JournalFormatError(this.path, "malformed", `record ${this.reader.index} has an unknown type ${type}`);
    }
  }

  private imageEvent(type: number, h: number, image: Image): void {
    if (this.live) return;
    const what = `${recordTypeName(type)} (subscription ${h}, session ${image.sessionId})`;
    const entry = this.takeSide(type, what);
    const json = entry.json!;
    const same = json["h"] === h && json["sessionId"] === image.sessionId && json["streamId"] === image.streamId &&
      (type !== RecordType.IMAGE_AVAILABLE || json["joinPosition"] === image.joinPosition);
    if (!same) {
      throw new DivergenceSignal(recordTypeName(type), JSON.stringify(json),
        JSON.stringify({ h, sessionId: image.sessionId, streamId: image.streamId, ...(type === RecordType.IMAGE_AVAILABLE ? { joinPosition: image.joinPosition } : {}) }));
    }
  }
}

interface EngineRecord {
  readonly seed: number | null;
  readonly resolveHost?: boolean;
  readonly resolveInterface?: boolean;
  readonly options: Omit<EngineOptions, "random">;
}

interface CommandRecord {
  readonly h?: number;
  readonly channel?: string;
  readonly streamId?: number;
  readonly exclusive?: boolean;
  readonly sessionId?: number;
  readonly error?: { name: string; message: string };
}

/** Hands the engine the recorded draws, in order; a draw the recording did not make is a divergence. */
class ReplayRandom implements RandomSource {
  constructor(private readonly replayer: Replayer) {}

  nextUint32(): number {
    return this.replayer.draw(RecordType.RANDOM_U32, "random.nextUint32()");
  }

  nextDouble(): number {
    return this.replayer.draw(RecordType.RANDOM_F64, "random.nextDouble()");
  }
}

const FRAME_TYPES: Record<number, string> = { 0: "PAD", 1: "DATA", 2: "NAK", 3: "SM", 4: "ERR", 5: "SETUP", 6: "RTTM", 7: "RES" };

/** The first frame's type and length, for a divergence message. */
function describeFrame(bytes: Uint8Array, offset: number, length: number): string {
  if (length < 8) return "not a frame";
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
  const type = view.getUint16(6, true);
  return `first frame ${FRAME_TYPES[type] ?? `type ${type}`}, frame length ${view.getInt32(0, true)}`;
}

export function formatSeconds(ns: number): string {
  return `${(ns / 1e9).toFixed(9)} s`;
}
