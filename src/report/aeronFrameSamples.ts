// Turns Aeron frames seen on the wire (a capture, or a tap on the simulated network) into report
// samples, per stream (session id, stream id):
//   - DATA: the sender's position (the furthest frame end seen), data frames, messages (frames with
//     the BEGIN flag, counted once: not a frame that starts below the furthest position already
//     seen), retransmits (datagrams with a frame that starts below it: a resend, or a datagram
//     reordered on the way), heartbeats (frameLength 0);
//   - SM: the receiver's consumption position, its window, and the flow-control limit they give the
//     sender (position + window, as unicast flow control; with several receivers the latest SM's);
//   - NAK: counted; SETUP: counted, and its initial term id and term length turn term ids and
//     offsets into positions;
//   - RTTM: a reply is matched to its request by the echo timestamp; the RTT is the time from the
//     request to the reply at the capture point, less the reply's reception delta.
// A stream whose SETUP is not in the input (a capture that starts mid-stream) takes its first term
// id as the initial one and Aeron's default term length of 16 MiB; its positions are then only as
// good as that guess (noted in the report).
import {
  BEGIN_FLAG,
  dataSessionId,
  dataStreamId,
  dataTermId,
  dataTermOffset,
  DatagramWalker,
  FLAGS_OFFSET,
  FRAME_ALIGNMENT,
  FRAME_LENGTH_OFFSET,
  IgnoringFrameVisitor,
  nakSessionId,
  nakStreamId,
  rttmAsksForReply,
  rttmEchoTimestampNs,
  rttmReceptionDeltaNs,
  rttmSessionId,
  rttmStreamId,
  setupInitialTermId,
  setupSessionId,
  setupStreamId,
  setupTermLength,
  smConsumptionTermId,
  smConsumptionTermOffset,
  smReceiverWindow,
  smSessionId,
  smStreamId,
  align,
} from "../core/protocol/index.js";
import type { ReportSeriesBuilder, StreamSeriesBuilder } from "./reportSeries.js";

const DEFAULT_TERM_LENGTH = 16 * 1024 * 1024;
/** Requests awaiting a reply, per stream; the oldest are forgotten past this. */
const MAX_PENDING_RTTM = 1024;

export interface DatagramAddress {
  readonly sourceAddress: number;
  readonly sourcePort: number;
  readonly destinationAddress: number;
  readonly destinationPort: number;
}

class StreamState {
  initialTermId: number | null = null;
  termLength = DEFAULT_TERM_LENGTH;
  setupSeen = false;
  maxDataEnd = -1;
  lastRetransmitDatagram = -1;
  readonly pendingRttm = new Map<number, number>();

  constructor(readonly series: StreamSeriesBuilder) {}

  position(termId: number, termOffset: number): number {
    if (this.initialTermId === null) this.initialTermId = termId;
    return ((termId - this.initialTermId) | 0) * this.termLength + termOffset;
  }
}

export interface FrameSampleOptions {
  /** Take RTTs from RTTM frames only (the simulator samples everything else from the engines). */
  readonly rttOnly?: boolean;
  /** RTT from the echo timestamp, for a tap whose clock is the receivers' (the simulator's). */
  readonly rttFromEcho?: boolean;
  /**
   * With rttFromEcho: the echo timestamps' clock less the sample times (a journal's samples are
   * times from its first timed record, its engine's clock is not; default 0).
   */
  readonly echoClockOffsetNs?: number;
}

export class AeronFrameSamples extends IgnoringFrameVisitor {
  readonly walker = new DatagramWalker();
  /** UDP datagrams that were not Aeron (rejected by the walker). */
  notAeron = 0;
  datagrams = 0;
  private readonly streams = new Map<string, StreamState>();
  private timeNs = 0;
  private address: DatagramAddress = { sourceAddress: 0, sourcePort: 0, destinationAddress: 0, destinationPort: 0 };

  constructor(
    private readonly builder: ReportSeriesBuilder,
    private readonly options: FrameSampleOptions = {},
  ) {
    super();
  }

  /** Streams whose SETUP never appeared (their positions rest on a guessed term length). */
  streamsWithoutSetup(): string[] {
    return [...this.streams.entries()].filter(([, s]) => !s.setupSeen && !this.options.rttOnly).map(([key]) => key);
  }

  /** One UDP payload seen at `timeNs`. */
  onDatagram(timeNs: number, address: DatagramAddress, bytes: Uint8Array, offset: number, length: number): void {
    this.timeNs = timeNs;
    this.address = address;
    this.datagrams++;
    if (!this.walker.walk(bytes, offset, length, this)) this.notAeron++;
  }

  private stream(sessionId: number, streamId: number): StreamState {
    const key = `${sessionId}:${streamId}`;
    let state = this.streams.get(key);
    if (state === undefined) {
      state = new StreamState(this.builder.stream(sessionId, streamId));
      this.streams.set(key, state);
    }
    return state;
  }

  override onSetup(view: DataView, _bytes: Uint8Array, frameOffset: number): void {
    if (this.options.rttOnly === true) return;
    const state = this.stream(setupSessionId(view, frameOffset), setupStreamId(view, frameOffset));
    if (!state.setupSeen) {
      state.setupSeen = true;
      state.initialTermId = setupInitialTermId(view, frameOffset);
      state.termLength = setupTermLength(view, frameOffset);
      const a = this.address;
      const label = `stream ${setupStreamId(view, frameOffset)}, session ${setupSessionId(view, frameOffset)} (${ip(a.sourceAddress)}:${a.sourcePort} → ${ip(a.destinationAddress)}:${a.destinationPort})`;
      state.series.label = label;
    }
    state.series.count("setups", this.timeNs);
  }

  override onData(view: DataView, _bytes: Uint8Array, frameOffset: number): void {
    if (this.options.rttOnly === true) return;
    const state = this.stream(dataSessionId(view, frameOffset), dataStreamId(view, frameOffset));
    const frameLength = view.getInt32(frameOffset + FRAME_LENGTH_OFFSET, true);
    const start = state.position(dataTermId(view, frameOffset), dataTermOffset(view, frameOffset));
    const t = this.timeNs;
    if (frameLength === 0) {
      state.series.count("heartbeats", t);
      if (start > state.maxDataEnd) state.maxDataEnd = start;
    } else {
      const end = start + align(frameLength, FRAME_ALIGNMENT);
      state.series.count("dataFrames", t);
      if (start < state.maxDataEnd) {
        // One retransmit per datagram (a resend of a NAKed range fills a datagram with frames).
        if (state.lastRetransmitDatagram !== this.datagrams) state.series.count("retransmits", t);
        state.lastRetransmitDatagram = this.datagrams;
      } else if ((view.getUint8(frameOffset + FLAGS_OFFSET) & BEGIN_FLAG) !== 0) {
        state.series.count("messages", t);
      }
      if (end > state.maxDataEnd) state.maxDataEnd = end;
    }
    state.series.gauge("senderPosition", t, state.maxDataEnd);
  }

  override onStatus(view: DataView, _bytes: Uint8Array, frameOffset: number): void {
    if (this.options.rttOnly === true) return;
    const state = this.stream(smSessionId(view, frameOffset), smStreamId(view, frameOffset));
    const t = this.timeNs;
    const position = state.position(smConsumptionTermId(view, frameOffset), smConsumptionTermOffset(view, frameOffset));
    const window = smReceiverWindow(view, frameOffset);
    state.series.count("statusMessages", t);
    state.series.gauge("receiverPosition", t, position);
    state.series.gauge("receiverWindowBytes", t, window);
    state.series.gauge("senderLimit", t, position + window);
  }

  override onNak(view: DataView, _bytes: Uint8Array, frameOffset: number): void {
    if (this.options.rttOnly === true) return;
    this.stream(nakSessionId(view, frameOffset), nakStreamId(view, frameOffset)).series.count("naks", this.timeNs);
  }

  override onRttm(view: DataView, _bytes: Uint8Array, frameOffset: number): void {
    const state = this.stream(rttmSessionId(view, frameOffset), rttmStreamId(view, frameOffset));
    const echoNs = rttmEchoTimestampNs(view, frameOffset);
    const t = this.timeNs;
    if (this.options.rttOnly !== true) state.series.count("rttMeasurements", t);
    if (rttmAsksForReply(view, frameOffset)) {
      if (state.pendingRttm.size >= MAX_PENDING_RTTM) {
        const oldest = state.pendingRttm.keys().next();
        if (oldest.done !== true) state.pendingRttm.delete(oldest.value);
      }
      state.pendingRttm.set(echoNs, t);
      return;
    }
    const deltaNs = rttmReceptionDeltaNs(view, frameOffset);
    let rttNs: number;
    if (this.options.rttFromEcho === true) {
      rttNs = t + (this.options.echoClockOffsetNs ?? 0) - echoNs - deltaNs;
    } else {
      const requestNs = state.pendingRttm.get(echoNs);
      if (requestNs === undefined) return;
      state.pendingRttm.delete(echoNs);
      rttNs = t - requestNs - deltaNs;
    }
    if (rttNs >= 0) state.series.gauge("rttUs", t, rttNs / 1000);
  }
}

function ip(address: number): string {
  return `${(address >>> 24) & 0xff}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}
