// The receiver side of one stream from one sender (Aeron's PublicationImage): a log rebuilt from
// data frames that arrive out of order, duplicated or late; loss detection that chases one gap at a
// time with NAKs; status messages that report the consumption position and the receiver window;
// RTT measurement for congestion control; liveness and end of stream. Subscribers read it through
// Image handles (subscription.ts), each with its own position.
import type { EngineConfig } from "../config/engineConfig.js";
import {
  TermRebuilder,
  computePosition,
  indexByTerm,
  scanForGap,
  type GapHandler,
  type TermBuffer,
} from "../logbuffer/index.js";
import type { ImageLog } from "../logbuffer/imageLog.js";
import { DATA_HEADER_LENGTH, DATA_TERM_ID_OFFSET, DATA_TERM_OFFSET_OFFSET, EOS_FLAG } from "../protocol/dataHeader.js";
import { FLAGS_OFFSET, FRAME_LENGTH_OFFSET, HDR_TYPE_PAD, align, FRAME_ALIGNMENT } from "../protocol/frameHeader.js";
import { NAK_FRAME_LENGTH, writeNak } from "../protocol/nakFrame.js";
import { RTTM_LENGTH, RTTM_REPLY_FLAG, writeRttmHalves } from "../protocol/rttmFrame.js";
import { i64HalvesToSafeNumber, i64HiOf, i64LoOf } from "../protocol/int64.js";
import { SM_EOS_FLAG, SM_LENGTH, SM_WITH_GROUP_TAG_LENGTH, writeStatusMessage, writeStatusMessageWithGroupTag } from "../protocol/statusMessageFrame.js";
import type { CongestionControl } from "../strategy/congestionControl.js";
import { congestionOutcomeForceSm, congestionOutcomeWindowBytes } from "../strategy/congestionOutcome.js";
import type { FeedbackDelayGenerator } from "../strategy/feedbackDelay.js";
import { NakTimer, type NakSink } from "../strategy/nakTimer.js";
import { NO_DEADLINE_NS } from "../strategy/timers.js";
import type { TransmitBatch } from "../transmitBatch.js";
import { Counter, type Counters } from "./counters.js";
import type { Image, ImageSource } from "./subscription.js";

/** Status message intervals an image drains for after its last subscriber left (Aeron's SM_EOS_MULTIPLE). */
export const DRAINING_SM_EOS_MULTIPLE = 5;

export const ImageState = {
  /** Receiving and readable. */
  ACTIVE: 0,
  /**
   * End of stream reached by every subscriber; sends EOS SMs (every SM interval) for 5 SM intervals
   * (Aeron's DRAINING after checkEosForDrainTransition), then goes.
   */
  END_OF_STREAM: 1,
  /** Removed: liveness timeout, or drained. */
  CLOSED: 2,
  /**
   * Its last subscriber left (Aeron's DRAINING): no longer in the dispatcher, it sends status
   * messages with the EOS flag, the first at once, then every status message interval, for
   * 5 × that interval (Aeron's SM_EOS_MULTIPLE), and is then removed.
   */
  DRAINING: 3,
} as const;
export type ImageState = (typeof ImageState)[keyof typeof ImageState];

export interface PublicationImageOptions {
  readonly sessionId: number;
  readonly streamId: number;
  readonly endpointId: number;
  /** Where SMs, NAKs and RTTM requests go: the sender's address (the SETUP's source). */
  readonly controlIp: number;
  readonly controlPort: number;
  /** Where the SETUP that created the image came from (the sender's data source). */
  readonly sourceIp?: number;
  readonly sourcePort?: number;
  /** Source pinning (Petrel's `source-pin`): take DATA/PAD/heartbeats/EOS only from (sourceIp, sourcePort). */
  readonly sourcePinned?: boolean;
  readonly initialTermId: number;
  readonly activeTermId: number;
  readonly termOffset: number;
  readonly termLength: number;
  readonly mtu: number;
  readonly receiverIdLo: number;
  readonly receiverIdHi: number;
  readonly hasGroupTag: boolean;
  readonly groupTagLo: number;
  readonly groupTagHi: number;
  readonly reliable: boolean;
  readonly congestionControl: CongestionControl;
  readonly nakDelay: FeedbackDelayGenerator;
  readonly config: EngineConfig;
  readonly counters: Counters;
  readonly nowNs: number;
  /**
   * The image's log (ImageLog.create: lazy, or up front on a SharedArrayBuffer in worker mode).
   * The engine makes it, so that a failed allocation refuses the SETUP instead of throwing here.
   */
  readonly log: ImageLog;
}

export class PublicationImage implements GapHandler, NakSink, ImageSource {
  readonly sessionId: number;
  readonly streamId: number;
  readonly endpointId: number;
  readonly controlIp: number;
  readonly controlPort: number;
  /** Where the SETUP that created the image came from. */
  readonly sourceIp: number;
  readonly sourcePort: number;
  /** Source pinning: the engine drops (and counts) data frames for this image from any other address. */
  readonly sourcePinned: boolean;
  readonly initialTermId: number;
  readonly termLength: number;
  readonly positionBitsToShift: number;
  readonly mtu: number;
  readonly joinPosition: number;
  /** Partitions are allocated on first write; cleaning zeroes only what was written (issue #11). */
  readonly log: ImageLog;
  /** Subscriber handles reading this image (one per subscription that matched it). */
  readonly subscribers: Image[] = [];

  state: ImageState = ImageState.ACTIVE;
  /** Everything below it has been received. */
  rebuildPosition: number;
  /** The highest position seen in a frame. */
  hwmPosition: number;
  /** Where an EOS heartbeat said the stream ends, or -1. */
  endOfStreamPosition = -1;
  /** True once a DATA or PAD frame was stored: an image without one is "unjoined" (evictable under pressure). */
  receivedData = false;

  private readonly rebuilder = new TermRebuilder();
  private readonly nakTimer: NakTimer;
  /** The receiver's congestion control (static window or CUBIC): read-only outside, for tests and reports. */
  readonly congestionControl: CongestionControl;
  private readonly config: EngineConfig;
  private readonly counters: Counters;
  private readonly receiverIdLo: number;
  private readonly receiverIdHi: number;
  private readonly hasGroupTag: boolean;
  private readonly groupTagLo: number;
  private readonly groupTagHi: number;
  private readonly reliable: boolean;

  private windowLength: number;
  /** The window the latest status message carried: a change forces the next one (Aeron's trackRebuild). */
  private lastSmWindowLength: number;
  private lastSmPosition: number;
  /** Data ending beyond it is dropped: last SM position + termLength / 2 (Aeron's lastOverrunThreshold). */
  private lastOverrunThreshold: number;
  /** When DRAINING began (the last subscriber left). */
  private drainingSinceNs = 0;
  private smDeadlineNs: number;
  private forceSm = true;
  private lastPacketNs: number;
  private cleanPosition: number;
  private scanNowNs = 0;
  private batch: TransmitBatch | undefined;
  private lossFound = false;
  /** Frames arrived since the last rebuild scan. */
  private dirty = false;

  constructor(o: PublicationImageOptions) {
    this.sessionId = o.sessionId;
    this.streamId = o.streamId;
    this.endpointId = o.endpointId;
    this.controlIp = o.controlIp;
    this.controlPort = o.controlPort;
    this.sourceIp = o.sourceIp ?? o.controlIp;
    this.sourcePort = o.sourcePort ?? o.controlPort;
    this.sourcePinned = o.sourcePinned === true;
    this.initialTermId = o.initialTermId | 0;
    this.termLength = o.termLength;
    this.positionBitsToShift = Math.log2(o.termLength);
    this.mtu = o.mtu;
    this.config = o.config;
    this.counters = o.counters;
    this.receiverIdLo = o.receiverIdLo;
    this.receiverIdHi = o.receiverIdHi;
    this.hasGroupTag = o.hasGroupTag;
    this.groupTagLo = o.groupTagLo;
    this.groupTagHi = o.groupTagHi;
    this.reliable = o.reliable;
    this.congestionControl = o.congestionControl;
    this.nakTimer = new NakTimer(o.nakDelay);
    this.log = o.log;
    this.joinPosition = computePosition(o.activeTermId, o.termOffset, this.positionBitsToShift, this.initialTermId);
    this.rebuildPosition = this.joinPosition;
    this.hwmPosition = this.joinPosition;
    this.cleanPosition = this.joinPosition - (this.joinPosition & (this.termLength - 1));
    this.windowLength = o.congestionControl.initialWindowLength();
    this.lastSmWindowLength = this.windowLength;
    this.lastSmPosition = this.joinPosition;
    this.lastOverrunThreshold = this.joinPosition + (this.termLength >> 1);
    this.smDeadlineNs = o.nowNs;
    this.lastPacketNs = o.nowNs;
  }

  get isClosed(): boolean {
    return this.state === ImageState.CLOSED;
  }

  /**
   * The last subscriber left (Aeron's PublicationImage.deactivate): the image stops taking frames
   * and sends status messages with the EOS flag, the first at once, so that the sender drops this
   * receiver at once (it ends a unicast linger early, min flow control stops waiting for it).
   */
  startDraining(nowNs: number): void {
    if (this.state !== ImageState.ACTIVE && this.state !== ImageState.END_OF_STREAM) return;
    this.state = ImageState.DRAINING;
    this.drainingSinceNs = nowNs;
    this.forceSm = true;
  }

  get isDraining(): boolean {
    return this.state === ImageState.DRAINING;
  }

  /** When the latest DATA, PAD or heartbeat frame was accepted (or the image was created). */
  get lastFrameNs(): number {
    return this.lastPacketNs;
  }

  /** The receiver window the next status message carries (congestion control's latest decision). */
  currentWindowLength(): number {
    return this.windowLength;
  }

  /** The slowest subscriber's position: what the image reports as consumed. */
  consumptionPosition(): number {
    const subscribers = this.subscribers;
    if (subscribers.length === 0) return this.rebuildPosition;
    let min = subscribers[0]!.position;
    for (let i = 1; i < subscribers.length; i++) {
      const p = subscribers[i]!.position;
      if (p < min) min = p;
    }
    return min;
  }

  // ---------------------------------------------------------------- network input

  /**
   * Inserts a DATA or PAD frame (or notes a heartbeat). The frame was validated by the walker and
   * matched to this image by session and stream; here it is checked against the term geometry and
   * the window. Returns nothing: drops are counted.
   */
  onDataFrame(nowNs: number, view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number, type: number): void {
    if (this.state === ImageState.CLOSED || this.state === ImageState.DRAINING) return;
    const values = this.counters.values;
    const termId = view.getInt32(frameOffset + DATA_TERM_ID_OFFSET, true);
    const termOffset = view.getInt32(frameOffset + DATA_TERM_OFFSET_OFFSET, true);
    const isPad = type === HDR_TYPE_PAD;
    const isHeartbeat = !isPad && frameLength === 0;
    if (termOffset + frameLength > this.termLength || (termId - this.initialTermId | 0) < 0) {
      values[Counter.INVALID_PACKETS]! += 1;
      return;
    }
    // computePosition's `2 ** shift` costs a Math.pow per frame on this hot path; termLength is that power.
    const packetPosition = ((termId - this.initialTermId) | 0) * this.termLength + termOffset;
    // A PAD frame arrives as its 32-byte header while its length covers the rest of the term: the
    // window is checked against the bytes that arrived (as Aeron does), the HWM moves to the term end.
    const proposedPosition = packetPosition + (isHeartbeat ? 0 : isPad ? frameLength : align(frameLength, FRAME_ALIGNMENT));
    const receivedEnd = isPad ? packetPosition + DATA_HEADER_LENGTH : proposedPosition;
    // Aeron's PublicationImage drops data only beyond the last SM position + termLength / 2, not
    // beyond the window it advertised: under max flow control or MDC a faster receiver lets the
    // sender run ahead of this one's window, and dropping that in-window data only to NAK it back
    // costs a retransmission per frame (issue #12, item 3).
    // A heartbeat may sit past that by up to one padding frame: the sender's position jumps over
    // the padding at a term's end (up to a whole maximum-length message, a term / 8), and that jump
    // can end beyond the limit the sender was given. Rejecting such a heartbeat hides the sender's
    // position, and so any tail loss before it, until the image times out (found by
    // test/sim/fuzz.test.ts: a partition healed while the sender sat just past a term's end left
    // the image deaf to every heartbeat). A heartbeat carries no data, so the slack (a quarter
    // term) costs no buffer; it keeps the HWM within a term of the rebuild position.
    const overrunLimit = isHeartbeat ? this.lastOverrunThreshold + (this.termLength >> 2) : this.lastOverrunThreshold;
    if (receivedEnd > overrunLimit) {
      values[Counter.FLOW_CONTROL_OVER_RUNS]! += 1;
      return;
    }
    this.lastPacketNs = nowNs;
    if (isHeartbeat) {
      values[Counter.HEARTBEATS_RECEIVED]! += 1;
      if ((bytes[frameOffset + FLAGS_OFFSET]! & EOS_FLAG) !== 0 && packetPosition >= this.rebuildPosition) {
        this.endOfStreamPosition = packetPosition;
      }
      if (packetPosition > this.hwmPosition) {
        // A heartbeat past the HWM reveals a tail loss: scan for it now (as Aeron's receiver, which
        // runs its loss detector every duty cycle), not at the next SM deadline. Without this, the
        // instant the NAK went out depended on when handleTimeout happened to be called.
        this.hwmPosition = packetPosition;
        this.dirty = true;
      }
      return;
    }
    if (packetPosition < this.rebuildPosition) {
      // Already rebuilt (a duplicate or a late retransmission): the slot may even be cleaned by now.
      values[Counter.FLOW_CONTROL_UNDER_RUNS]! += 1;
      return;
    }
    const index = indexByTerm(this.initialTermId, termId);
    const term = this.log.readableTerm(index) ?? this.allocateTerm(index);
    if (term === null) return;
    const length = isPad ? DATA_HEADER_LENGTH : frameLength;
    if (this.rebuilder.insert(term, termOffset, bytes, frameOffset, length)) {
      this.log.markWritten(index, termOffset, termOffset + length);
      this.receivedData = true;
      values[Counter.DATA_FRAMES_RECEIVED]! += 1;
    } else {
      values[Counter.DUPLICATE_DATA_FRAMES]! += 1;
    }
    if (proposedPosition > this.hwmPosition) this.hwmPosition = proposedPosition;
    this.dirty = true;
  }

  /**
   * A run of `frames` back-to-back DATA frames of this image from one datagram (see
   * FrameVisitor.onDataRun): when every frame would be inserted by onDataFrame (the run lies in one
   * term, inside the window, at or past the rebuild position, every slot empty), it is copied in one
   * go and the first frame's length is stored last, with the bookkeeping done once. Returns false,
   * having changed nothing, when any frame needs onDataFrame's own handling.
   */
  onDataRun(nowNs: number, view: DataView, bytes: Uint8Array, frameOffset: number, frames: number, runLength: number): boolean {
    if (this.state === ImageState.CLOSED || this.state === ImageState.DRAINING) return false;
    const termId = view.getInt32(frameOffset + DATA_TERM_ID_OFFSET, true);
    const termOffset = view.getInt32(frameOffset + DATA_TERM_OFFSET_OFFSET, true);
    if (termOffset + runLength > this.termLength || (termId - this.initialTermId | 0) < 0) return false;
    const packetPosition = ((termId - this.initialTermId) | 0) * this.termLength + termOffset;
    const proposedPosition = packetPosition + align(runLength, FRAME_ALIGNMENT);
    if (proposedPosition > this.lastOverrunThreshold || packetPosition < this.rebuildPosition) return false;
    const index = indexByTerm(this.initialTermId, termId);
    const term = this.log.readableTerm(index);
    if (term === null || term === undefined) return false;
    // Every slot empty: no frame of the run is a duplicate.
    const words = term.words;
    for (let offset = termOffset, at = frameOffset, i = 0; i < frames; i++) {
      if ((term.shared ? Atomics.load(words, offset >> 2) : words[offset >> 2]) !== 0) return false;
      const frameLength = view.getInt32(at + FRAME_LENGTH_OFFSET, true);
      offset += frameLength;
      at += frameLength;
    }
    this.rebuilder.insertRun(term, termOffset, bytes, frameOffset, runLength);
    this.log.markWritten(index, termOffset, termOffset + runLength);
    this.receivedData = true;
    this.counters.values[Counter.DATA_FRAMES_RECEIVED]! += frames;
    this.lastPacketNs = nowNs;
    if (proposedPosition > this.hwmPosition) this.hwmPosition = proposedPosition;
    this.dirty = true;
    return true;
  }

  /**
   * Cold: a partition's first write allocates it. When that fails the image closes (counted): it
   * cannot hold its stream, and retrying per frame would cost a failed allocation each (V8 collects
   * garbage and retries before it gives up, tens of ms). Its sender may SETUP again later.
   */
  private allocateTerm(index: number): TermBuffer | null {
    const term = this.log.writableTerm(index);
    const values = this.counters.values;
    if (term === null) {
      values[Counter.IMAGE_ALLOCATION_FAILURES]! += 1;
      this.state = ImageState.CLOSED;
      return null;
    }
    values[Counter.IMAGE_LOG_BYTES_ALLOCATED]! += this.termLength;
    return term;
  }

  /**
   * An RTTM reply (flags 0), its 64-bit fields as i32 halves. It must answer one of this image's
   * requests: an echo between the first and the latest timestamp sent, a reception delta that is
   * not negative, and an RTT that is not negative. Anything else (values outside +-2^53 included:
   * they read as NaN and fail every comparison) is dropped and counted (issue #11, attack 1).
   */
  onRttmReply(nowNs: number, echoLo: number, echoHi: number, deltaLo: number, deltaHi: number): void {
    const echoNs = i64HalvesToSafeNumber(echoLo, echoHi);
    const deltaNs = i64HalvesToSafeNumber(deltaLo, deltaHi);
    const rttNs = nowNs - echoNs - deltaNs;
    if (!(echoNs >= this.firstRttmSentNs && echoNs <= this.lastRttmSentNs && deltaNs >= 0 && rttNs >= 0)) {
      this.counters.values[Counter.RTTM_REPLIES_DROPPED]! += 1;
      return;
    }
    this.congestionControl.onRttMeasurement(nowNs, rttNs);
  }

  /** Timestamps of the first and the latest RTTM request sent (what a reply may echo). */
  private firstRttmSentNs = Infinity;
  private lastRttmSentNs = -Infinity;

  // ---------------------------------------------------------------- time

  /**
   * Advances the rebuild position over what arrived, finds the first gap (arming the NAK timer),
   * cleans terms every subscriber has left, and applies end of stream and liveness.
   * Returns true when the image must be removed.
   */
  onTimeout(nowNs: number): boolean {
    if (this.state === ImageState.CLOSED) return true;
    if (this.state === ImageState.DRAINING) {
      // Aeron's DRAINING -> LINGER: drained (no subscriber is left to drain) and 5 status message
      // intervals since it began, by which time 5 or 6 EOS status messages went out.
      if (nowNs - this.drainingSinceNs > DRAINING_SM_EOS_MULTIPLE * this.config.statusMessageIntervalNs) {
        this.state = ImageState.CLOSED;
        return true;
      }
      return false;
    }
    if (this.state === ImageState.END_OF_STREAM && nowNs - this.drainingSinceNs > DRAINING_SM_EOS_MULTIPLE * this.config.statusMessageIntervalNs) {
      // Aeron drains an image that reached end of stream the same way (checkEosForDrainTransition,
      // then DRAINING -> LINGER after 5 SM intervals): its EOS SMs stop and it goes, without a
      // cool-down (the session ended).
      this.state = ImageState.CLOSED;
      return true;
    }
    this.trackRebuild(nowNs);
    this.cleanBehindSubscribers();
    if (nowNs - this.lastPacketNs >= this.config.imageLivenessTimeoutNs) {
      this.counters.values[Counter.IMAGES_TIMED_OUT]! += 1;
      this.state = ImageState.CLOSED;
      return true;
    }
    if (this.state === ImageState.ACTIVE && this.endOfStreamPosition >= 0 && this.consumptionPosition() >= this.endOfStreamPosition &&
        this.rebuildPosition >= this.endOfStreamPosition) {
      this.state = ImageState.END_OF_STREAM;
      this.drainingSinceNs = nowNs;
      this.forceSm = true;
    }
    return false;
  }

  private trackRebuild(nowNs: number): void {
    this.dirty = false;
    const starting = this.rebuildPosition;
    this.lossFound = false;
    this.scanNowNs = nowNs;
    // Bounded: at most two terms are scanned (the window is at most half a term).
    for (let pass = 0; pass < 3 && this.rebuildPosition < this.hwmPosition; pass++) {
      const rebuild = this.rebuildPosition;
      const termOffset = rebuild & (this.termLength - 1);
      const termBegin = rebuild - termOffset;
      const termId = (this.initialTermId + Math.floor(rebuild / this.termLength)) | 0;
      const hwmInTerm = this.hwmPosition - termBegin;
      const limitOffset = hwmInTerm < this.termLength ? hwmInTerm : this.termLength;
      const term = this.log.readableTerm(indexByTerm(this.initialTermId, termId));
      // A partition never written is one gap from the rebuild offset to the limit.
      const reached = term !== null ? scanForGap(term, termId, termOffset, limitOffset, this)
        : limitOffset > termOffset ? (this.onGap(termId, termOffset, limitOffset - termOffset), termOffset) : termOffset;
      this.rebuildPosition = termBegin + reached;
      if (reached < this.termLength) break;
    }
    if (this.rebuildPosition >= this.hwmPosition) this.nakTimer.onGapFilled();
    const outcome = this.congestionControl.onTrackRebuild(nowNs, this.consumptionPosition(), this.lastSmPosition, this.hwmPosition,
      starting, this.rebuildPosition, this.lossFound);
    this.windowLength = congestionOutcomeWindowBytes(outcome);
    // Aeron's trackRebuild schedules a status message when the window changes, not only when the
    // subscriber moved a quarter window or congestion control forces one.
    if (congestionOutcomeForceSm(outcome) || this.windowLength !== this.lastSmWindowLength) this.forceSm = true;
  }

  /**
   * GapHandler: the first gap between the rebuild position and the HWM. Reliable or not, it arms
   * the NAK timer (Aeron's LossDetector); when the timer fires a reliable stream NAKs the gap and
   * an unreliable one fills it with padding (sendNak). Filling at once, on the first scan, turned
   * every reordering into loss (issue #12, item 7).
   */
  onGap(termId: number, termOffset: number, length: number): void {
    // A loss event for congestion control is a new gap, as Aeron's LossDetector reports it: the
    // same gap found again by every scan until its retransmission arrives is not more loss (it
    // cut CUBIC's window by β per scan, down to one MTU, on the first tail drop).
    if (this.nakTimer.onGap(this.scanNowNs, termId, termOffset, length)) this.lossFound = true;
  }

  /**
   * An unreliable stream's gap whose NAK delay passed: fill it with padding (Aeron's
   * PublicationImage.processPendingLoss and TermGapFiller.tryFillGap), unless a frame arrived
   * there since (the next scan then finds the gap smaller or gone).
   */
  private fillGap(termId: number, termOffset: number, length: number): void {
    const index = indexByTerm(this.initialTermId, termId);
    const term = this.log.readableTerm(index) ?? this.allocateTerm(index);
    if (term === null) return;
    // Bounded: a gap is within one term. Aeron's tryFillGap checks every aligned slot, from the end.
    const words = term.words;
    for (let offset = termOffset + length - FRAME_ALIGNMENT; offset >= termOffset; offset -= FRAME_ALIGNMENT) {
      if (Atomics.load(words, offset >> 2) !== 0) return;
    }
    const view = term.view;
    view.setInt32(termOffset + DATA_TERM_OFFSET_OFFSET, termOffset, true);
    view.setInt32(termOffset + DATA_TERM_ID_OFFSET, termId, true);
    view.setUint16(termOffset + 6, HDR_TYPE_PAD, true);
    Atomics.store(term.words, termOffset >> 2, length);
    this.log.markWritten(index, termOffset, termOffset + DATA_HEADER_LENGTH);
    this.counters.values[Counter.LOSS_GAP_FILLS]! += 1;
    this.dirty = true;
  }

  private cleanBehindSubscribers(): void {
    const consumption = this.consumptionPosition();
    const consumptionTermBegin = consumption - (consumption & (this.termLength - 1));
    // Bounded: one pass per term the subscribers left, at most two. Each zeroes only what was
    // written there since the join (or the last clean), never the whole term (issue #11, attack 2).
    while (this.cleanPosition < consumptionTermBegin) {
      const cleaned = this.log.clean(indexByTerm(this.initialTermId, (this.initialTermId + Math.floor(this.cleanPosition / this.termLength)) | 0));
      if (cleaned > 0) this.counters.values[Counter.IMAGE_LOG_BYTES_CLEANED]! += cleaned;
      this.cleanPosition += this.termLength;
    }
  }

  /** Earliest instant this image needs to run. */
  deadlineNs(): number {
    if (this.state === ImageState.CLOSED) return this.lastPacketNs; // due: the engine removes it
    let deadline = this.smDeadlineNs;
    if (this.state === ImageState.DRAINING) {
      if (this.forceSm) return this.drainingSinceNs;
      const end = this.drainingSinceNs + DRAINING_SM_EOS_MULTIPLE * this.config.statusMessageIntervalNs + 1;
      return end < deadline ? end : deadline;
    }
    if (this.forceSm || this.dirty || this.smThresholdPassed()) return this.lastPacketNs < deadline ? this.lastPacketNs : deadline;
    const nak = this.nakTimer.deadlineNs();
    if (nak < deadline) deadline = nak;
    const liveness = this.lastPacketNs + this.config.imageLivenessTimeoutNs;
    if (liveness < deadline) deadline = liveness;
    const cc = this.congestionControl.nextDeadlineNs();
    if (cc < deadline) deadline = cc;
    if (this.state === ImageState.END_OF_STREAM) {
      const end = this.drainingSinceNs + DRAINING_SM_EOS_MULTIPLE * this.config.statusMessageIntervalNs + 1;
      if (end < deadline) deadline = end;
    }
    return deadline === NO_DEADLINE_NS ? NO_DEADLINE_NS : deadline;
  }

  /** True when a subscriber has moved far enough that an SM should go out before its timer. */
  smThresholdPassed(): boolean {
    return this.consumptionPosition() - this.lastSmPosition >= this.windowLength >> 2;
  }

  // ---------------------------------------------------------------- output

  /** Writes a due NAK, RTTM request and status message into `batch`; false when it filled up. */
  pollTransmit(nowNs: number, batch: TransmitBatch): boolean {
    if (this.state === ImageState.CLOSED) return true;
    if (batch.remaining === 0) return false;
    if (this.state === ImageState.DRAINING) {
      return this.forceSm || this.smDeadlineNs - nowNs <= 0 ? this.sendStatusMessage(nowNs, batch) : true;
    }
    if (this.dirty) this.trackRebuild(nowNs);
    this.batch = batch;
    this.nakTimer.poll(nowNs, this);
    this.batch = undefined;
    if (this.congestionControl.shouldMeasureRtt(nowNs)) {
      const slot = batch.claim(this.endpointId, this.controlIp, this.controlPort);
      if (slot < 0) return false;
      // The receiver asks with 0x80 set and the sender answers with flags 0 (as in the captures;
      // PROTOCOL.md has it the other way round: see test/protocol/CAPTURE_NOTES.md).
      writeRttmHalves(batch.view, batch.slotOffset(slot), RTTM_REPLY_FLAG, this.sessionId, this.streamId, i64LoOf(nowNs), i64HiOf(nowNs), 0, 0,
        this.receiverIdLo, this.receiverIdHi);
      if (this.firstRttmSentNs === Infinity) this.firstRttmSentNs = nowNs;
      this.lastRttmSentNs = nowNs;
      batch.commit(slot, RTTM_LENGTH);
      this.congestionControl.onRttMeasurementSent(nowNs);
      this.countSent(RTTM_LENGTH);
      this.counters.values[Counter.RTTM_SENT]! += 1;
    }
    if (this.forceSm || this.smDeadlineNs - nowNs <= 0 || this.smThresholdPassed()) {
      return this.sendStatusMessage(nowNs, batch);
    }
    return true;
  }

  /** NakSink: the NAK timer fired for the active gap. */
  sendNak(termId: number, termOffset: number, length: number): void {
    if (!this.reliable) {
      this.fillGap(termId, termOffset, length);
      return;
    }
    const batch = this.batch;
    if (batch === undefined) return;
    const slot = batch.claim(this.endpointId, this.controlIp, this.controlPort);
    if (slot < 0) return;
    writeNak(batch.view, batch.slotOffset(slot), 0, this.sessionId, this.streamId, termId, termOffset, length);
    batch.commit(slot, NAK_FRAME_LENGTH);
    this.countSent(NAK_FRAME_LENGTH);
    this.counters.values[Counter.NAKS_SENT]! += 1;
  }

  private sendStatusMessage(nowNs: number, batch: TransmitBatch): boolean {
    const slot = batch.claim(this.endpointId, this.controlIp, this.controlPort);
    if (slot < 0) return false;
    // Clean the terms every subscriber has left before advertising a window that lets the sender
    // reach their partitions again.
    this.cleanBehindSubscribers();
    const position = this.consumptionPosition();
    const termOffset = position & (this.termLength - 1);
    const termId = (this.initialTermId + Math.floor(position / this.termLength)) | 0;
    const flags = this.state === ImageState.END_OF_STREAM || this.state === ImageState.DRAINING ? SM_EOS_FLAG : 0;
    const offset = batch.slotOffset(slot);
    if (this.hasGroupTag) {
      writeStatusMessageWithGroupTag(batch.view, offset, flags, this.sessionId, this.streamId, termId, termOffset, this.windowLength,
        this.receiverIdLo, this.receiverIdHi, this.groupTagLo, this.groupTagHi);
      batch.commit(slot, SM_WITH_GROUP_TAG_LENGTH);
      this.countSent(SM_WITH_GROUP_TAG_LENGTH);
    } else {
      writeStatusMessage(batch.view, offset, flags, this.sessionId, this.streamId, termId, termOffset, this.windowLength,
        this.receiverIdLo, this.receiverIdHi);
      batch.commit(slot, SM_LENGTH);
      this.countSent(SM_LENGTH);
    }
    this.counters.values[Counter.STATUS_MESSAGES_SENT]! += 1;
    this.lastSmPosition = position;
    this.lastSmWindowLength = this.windowLength;
    this.lastOverrunThreshold = position + (this.termLength >> 1);
    this.smDeadlineNs = nowNs + this.config.statusMessageIntervalNs;
    this.forceSm = false;
    return true;
  }

  private countSent(bytes: number): void {
    const values = this.counters.values;
    values[Counter.BYTES_SENT]! += bytes;
    values[Counter.DATAGRAMS_SENT]! += 1;
    values[Counter.FRAMES_SENT]! += 1;
  }

  close(): void {
    this.state = ImageState.CLOSED;
  }
}
