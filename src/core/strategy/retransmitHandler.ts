// The sender's retransmit handler (PROTOCOL.md section 6): turns NAKs into resends of a term range,
// with a delay before the resend and a linger after it during which repeat NAKs for the same range
// are ignored. Many receivers NAKing one loss (multicast) thus cost one retransmission.
//
// Aeron's limits on what one NAK can cost (issue #11, attack 4), as in its RetransmitHandler and
// FlowControl.calculateRetransmissionLength (Java and C drivers alike):
//  - the resend length is capped at min(termLength - termOffset, maxRetransmitLength), where the
//    owner computes maxRetransmitLength as min(initial receiver window, termLength / 2) times a
//    multiple of the flow control (16 for unicast, min and tagged; 4 for max);
//  - without group semantics (unicast) there is ONE action: a NAK overlapping it (delayed or
//    lingering) is coalesced, any other NAK reuses it at once (Aeron: "this is unicast, and the NAK
//    does NOT overlap the previous one, so just reuse it"); multicast and MDC keep max-resend
//    actions and count overflow;
//  - only what lies in the resend window behind the sender is resent: from senderPosition -
//    termLength / 2 - maxMessageLength(termLength) up to the sender position (NetworkPublication.
//    resend in Aeron). That check is the owner's (NetworkPublication: on the NAK, and again when a
//    delayed resend fires), with bottomResendWindow below.
//
// Actions live in a preallocated table of parallel typed arrays (at most 16 by default): a NAK
// allocates nothing, not even a closure; the resend goes through a RetransmitSender object handed
// in once. Time is an argument: the owner calls processTimeouts(nowNs) when nextDeadlineNs() is
// reached (a spurious call is a harmless no-op).
import { assert, assertTimeNs } from "./assert.js";
import {
  type FeedbackDelayGenerator,
  RETRANSMIT_LINGER_DEFAULT_NS,
  RETRANSMIT_UNICAST_DELAY_DEFAULT_NS,
  StaticDelayGenerator,
} from "./feedbackDelay.js";
import { NO_DEADLINE_NS } from "./timers.js";

/** Resends a range of the publication's log (as data frames identical to the originals, up to MTU each). */
export interface RetransmitSender {
  resend(termId: number, termOffset: number, length: number): void;
}

/** Max retransmit actions in flight (PROTOCOL.md section 5). */
export const MAX_RETRANSMIT_ACTIONS_DEFAULT = 16;
/** Upper bound on the table: the per-NAK scan is linear. */
export const MAX_RETRANSMIT_ACTIONS_LIMIT = 1024;
/** A NAK must leave room for at least a data header before the end of the term. */
const DATA_HEADER_LENGTH = 32;

/** What onNak did with a NAK; a plain number so that nothing is allocated. */
export const NakOutcome = {
  /** Resent at once (delay 0); the action now lingers. */
  Resent: 0,
  /** An action was started and will resend when its delay expires. */
  Delayed: 1,
  /** An action already DELAYED or LINGERING covers this offset; ignored. */
  Coalesced: 2,
  /** All actions are busy; ignored and counted as retransmit overflow. */
  Overflow: 3,
  /** The range starts at or beyond what has been sent (or before the stream began); ignored and counted. */
  NotSent: 4,
  /** Offset or length impossible for the term; ignored and counted. */
  Invalid: 5,
} as const;
export type NakOutcome = (typeof NakOutcome)[keyof typeof NakOutcome];

const STATE_INACTIVE = 0;
const STATE_DELAYED = 1;
const STATE_LINGERING = 2;

export interface RetransmitHandlerOptions {
  /** The publication's initial term id: turns (termId, termOffset) into a stream position. */
  readonly initialTermId: number;
  /** Delay before a resend; default static 0 (unicast: resend at once). */
  readonly delayGenerator?: FeedbackDelayGenerator;
  /** Linger after a resend; default static 10 ms. */
  readonly lingerGenerator?: FeedbackDelayGenerator;
  /** At most this many actions at once with group semantics; default 16. Unicast has one. */
  readonly maxActions?: number;
  /**
   * Multicast or multi-destination-cast (Aeron's hasGroupSemantics): maxActions actions. Without
   * (unicast) one action that a non-overlapping NAK reuses. Default true (the table as given).
   */
  readonly groupSemantics?: boolean;
  /** Cap on one resend's length (Aeron's receiver window multiple); default no cap beyond the term. */
  readonly maxRetransmitLength?: number;
}

/** Aeron's FrameDescriptor.computeMaxMessageLength: min(termLength / 8, 16 MiB). */
export function maxMessageLengthOf(termLength: number): number {
  const eighth = termLength / 8;
  return eighth < 16 * 1024 * 1024 ? eighth : 16 * 1024 * 1024;
}

/**
 * Lowest stream position a resend may start at (Aeron's bottomResendWindow): half a term and a
 * maximum message length behind the sender.
 */
export function bottomResendWindow(senderPosition: number, termLength: number): number {
  return senderPosition - termLength / 2 - maxMessageLengthOf(termLength);
}

export class RetransmitHandler {
  private readonly sender: RetransmitSender;
  private readonly initialTermId: number;
  private readonly delayGenerator: FeedbackDelayGenerator;
  private readonly lingerGenerator: FeedbackDelayGenerator;

  private readonly states: Uint8Array;
  private readonly termIds: Int32Array;
  private readonly termOffsets: Int32Array;
  private readonly lengths: Int32Array;
  private readonly deadlinesNs: Float64Array;
  private activeCount = 0;
  private readonly groupSemantics: boolean;
  private readonly maxRetransmitLength: number;
  /** Set by scanForFreeAction: the slot it returned is an active unicast action being reused. */
  private reusingActive = false;

  /** Resends performed (immediate and after a delay). */
  retransmitsCount = 0;
  /** Bytes of log covered by those resends. */
  retransmittedBytes = 0;
  /** NAKs dropped because every action was busy. */
  retransmitOverflowCount = 0;
  /** NAKs ignored: beyond what was sent, before the stream start, or invalid. */
  ignoredNakCount = 0;

  /** NAKs absorbed by an action already delayed or lingering for that range. */
  coalescedNakCount = 0;

  constructor(sender: RetransmitSender, options: RetransmitHandlerOptions) {
    this.groupSemantics = options.groupSemantics ?? true;
    const maxActions = this.groupSemantics ? (options.maxActions ?? MAX_RETRANSMIT_ACTIONS_DEFAULT) : 1;
    this.maxRetransmitLength = options.maxRetransmitLength ?? 0x7fffffff;
    assert(Number.isInteger(this.maxRetransmitLength) && this.maxRetransmitLength > 0, "max retransmit length must be a positive integer");
    assert(Number.isInteger(options.initialTermId), "initial term id must be an integer");
    assert(Number.isInteger(maxActions), "max retransmit actions must be an integer");
    assert(maxActions >= 1, "max retransmit actions must be at least 1");
    assert(maxActions <= MAX_RETRANSMIT_ACTIONS_LIMIT, "max retransmit actions above the table limit");
    this.sender = sender;
    this.initialTermId = options.initialTermId | 0;
    this.delayGenerator = options.delayGenerator ?? new StaticDelayGenerator(RETRANSMIT_UNICAST_DELAY_DEFAULT_NS, 0);
    this.lingerGenerator = options.lingerGenerator ?? new StaticDelayGenerator(RETRANSMIT_LINGER_DEFAULT_NS, 0);
    this.states = new Uint8Array(maxActions);
    this.termIds = new Int32Array(maxActions);
    this.termOffsets = new Int32Array(maxActions);
    this.lengths = new Int32Array(maxActions);
    this.deadlinesNs = new Float64Array(maxActions).fill(NO_DEADLINE_NS);
  }

  get maxActions(): number {
    return this.states.length;
  }

  /** Actions currently DELAYED or LINGERING. */
  activeActionCount(): number {
    return this.activeCount;
  }

  /**
   * Handles a NAK for [termOffset, termOffset + length) of term termId.
   *
   * senderPosition is the stream position up to which data has been sent; a NAK starting at or
   * beyond it asks for data never sent and is ignored, and a NAK reaching past it is clamped to it.
   * The length is also clamped to the end of the term. Whether the range is still held in the log
   * (not yet overwritten) is the publication's check when it resends.
   *
   * Returns a NakOutcome.
   */
  onNak(
    nowNs: number,
    termId: number,
    termOffset: number,
    length: number,
    termLength: number,
    senderPosition: number,
  ): NakOutcome {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    assert(termLength > 0 && (termLength & (termLength - 1)) === 0, "term length must be a power of two");
    if (termOffset < 0 || termOffset > termLength - DATA_HEADER_LENGTH || length <= 0) {
      this.ignoredNakCount++;
      return NakOutcome.Invalid;
    }

    // Term ids are i32 and wrap: the term count is the 32-bit difference.
    const termCount = (termId - this.initialTermId) | 0;
    const nakPosition = termCount * termLength + termOffset;
    if (termCount < 0 || nakPosition >= senderPosition) {
      this.ignoredNakCount++;
      return NakOutcome.NotSent;
    }

    const free = this.scanForFreeAction(termId | 0, termOffset);
    if (free === -2) {
      this.coalescedNakCount++;
      return NakOutcome.Coalesced;
    }
    if (free === -1) {
      this.retransmitOverflowCount++;
      return NakOutcome.Overflow;
    }

    let resendLength = length;
    if (resendLength > termLength - termOffset) resendLength = termLength - termOffset;
    if (resendLength > this.maxRetransmitLength) resendLength = this.maxRetransmitLength;
    if (resendLength > senderPosition - nakPosition) resendLength = senderPosition - nakPosition;
    assert(resendLength > 0, "clamped resend length must be positive");

    this.termIds[free] = termId;
    this.termOffsets[free] = termOffset;
    this.lengths[free] = resendLength;
    if (!this.reusingActive) this.activeCount++;
    assert(this.activeCount <= this.states.length, "more active retransmit actions than slots");

    const delayNs = this.delayGenerator.generateDelayNs();
    assert(delayNs >= 0, "retransmit delay must not be negative");
    if (delayNs === 0) {
      this.resendAndLinger(free, nowNs);
      return NakOutcome.Resent;
    }
    this.states[free] = STATE_DELAYED;
    this.deadlinesNs[free] = nowNs + delayNs;
    return NakOutcome.Delayed;
  }

  /**
   * Resends every DELAYED action whose deadline has been reached (`deadline - nowNs <= 0`) and
   * retires every LINGERING action whose linger has run out. Returns the number of resends.
   * An action that starts lingering in this call is not retired in the same call.
   */
  processTimeouts(nowNs: number): number {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    if (this.activeCount === 0) return 0;
    let resends = 0;
    const states = this.states;
    for (let i = 0; i < states.length; i++) {
      const state = states[i];
      if (state === STATE_INACTIVE) continue;
      const deadlineNs = this.deadlinesNs[i] ?? NO_DEADLINE_NS;
      if (deadlineNs - nowNs > 0) continue;
      if (state === STATE_DELAYED) {
        this.resendAndLinger(i, nowNs);
        resends++;
      } else {
        states[i] = STATE_INACTIVE;
        this.deadlinesNs[i] = NO_DEADLINE_NS;
        this.activeCount--;
        assert(this.activeCount >= 0, "active retransmit count went negative");
      }
    }
    return resends;
  }

  /** The earliest delay or linger deadline, or NO_DEADLINE_NS when no action is active. */
  nextDeadlineNs(): number {
    if (this.activeCount === 0) return NO_DEADLINE_NS;
    let earliestNs = NO_DEADLINE_NS;
    const deadlines = this.deadlinesNs;
    for (let i = 0; i < deadlines.length; i++) {
      const deadlineNs = deadlines[i] ?? NO_DEADLINE_NS;
      if (deadlineNs - earliestNs < 0) earliestNs = deadlineNs;
    }
    return earliestNs;
  }

  /** Drops every action (publication closed or restarted). */
  reset(): void {
    this.states.fill(STATE_INACTIVE);
    this.deadlinesNs.fill(NO_DEADLINE_NS);
    this.activeCount = 0;
  }

  /**
   * Returns the first free slot, -2 when an active action of that term already covers termOffset
   * (Aeron's coalescing: the key (termId, termOffset) or any offset inside the action's range),
   * or -1 when no slot is free.
   */
  private scanForFreeAction(termId: number, termOffset: number): number {
    let free = -1;
    this.reusingActive = false;
    const states = this.states;
    for (let i = 0; i < states.length; i++) {
      if (states[i] === STATE_INACTIVE) {
        if (free === -1) free = i;
        continue;
      }
      const actionOffset = this.termOffsets[i] ?? 0;
      if (
        this.termIds[i] === termId &&
        actionOffset <= termOffset &&
        termOffset < actionOffset + (this.lengths[i] ?? 0)
      ) {
        return -2;
      }
      if (!this.groupSemantics) {
        // Unicast (one action): a NAK that does not overlap the action reuses it, as in Aeron.
        free = i;
        this.reusingActive = true;
      }
    }
    return free;
  }

  private resendAndLinger(slot: number, nowNs: number): void {
    const length = this.lengths[slot] ?? 0;
    this.sender.resend(this.termIds[slot] ?? 0, this.termOffsets[slot] ?? 0, length);
    this.retransmitsCount++;
    this.retransmittedBytes += length;
    const lingerNs = this.lingerGenerator.generateDelayNs();
    assert(lingerNs >= 0, "retransmit linger must not be negative");
    this.states[slot] = STATE_LINGERING;
    this.deadlinesNs[slot] = nowNs + lingerNs;
  }
}
