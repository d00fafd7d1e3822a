// The publication-level appender (Aeron's ExclusivePublication, minus flow control): it owns the
// active term id and term offset (the tail), appends through a TermAppender, rotates through the
// three partitions when a term fills, and returns the stream position after each append.
//
// Return values: a non-negative number is the new position (the position just after the message,
// frame-aligned). A negative number is a code; this module produces ADMIN_ACTION (the term filled
// and the log rotated: retry at once) and MAX_POSITION_EXCEEDED. The engine adds its own codes on
// top with Aeron's values: NOT_CONNECTED = -1, BACK_PRESSURED = -2, CLOSED = -4.
import { DATA_HEADER_LENGTH } from "../protocol/dataHeader.js";
import { FRAME_ALIGNMENT } from "../protocol/frameHeader.js";
import {
  checkMtuLength,
  computeTermBeginPosition,
  indexByTerm,
  LogBufferConfigError,
  maxMessageLength,
  maxPossiblePosition,
  nextPartitionIndex,
  positionBitsToShift,
  termCount,
} from "./logBufferDescriptor.js";
import type { LogBuffers, TermBuffer } from "./logBuffers.js";
import { BufferClaim, DataHeaderTemplate, TermAppender, TRIPPED, type BufferVector, type ReservedValueSupplier } from "./termAppender.js";

/** The term filled and the log rotated to the next term; offer again. (Aeron's value.) */
export const ADMIN_ACTION = -3;
/** The stream reached the largest position it may have. (Aeron's value.) */
export const MAX_POSITION_EXCEEDED = -5;

export interface ExclusiveLogAppenderOptions {
  readonly initialTermId: number;
  /** Term to start in; initialTermId when absent. */
  readonly activeTermId?: number;
  /** Offset to start at in the active term (32-aligned); 0 when absent. */
  readonly termOffset?: number;
  readonly sessionId: number;
  readonly streamId: number;
  readonly mtuLength: number;
  /** reservedValue written into every frame header; 0 when absent. */
  readonly reservedValue?: number;
  /**
   * Clean the partition after the new active term on every rotation (default true). A network
   * publication passes false and cleans behind its sender position instead, because a receiver up
   * to a window behind the sender may still NAK data in that partition (Aeron cleans a term behind
   * the sender, not on rotation).
   */
  readonly cleanOnRotation?: boolean;
}

export class ExclusiveLogAppender {
  readonly logBuffers: LogBuffers;
  readonly termLength: number;
  readonly positionBitsToShift: number;
  readonly initialTermId: number;
  readonly mtuLength: number;
  readonly maxPayloadLength: number;
  readonly maxMessageLength: number;
  readonly maxPossiblePosition: number;
  readonly header: DataHeaderTemplate;
  private readonly appender: TermAppender;
  private activeTermIdValue: number;
  private termOffsetValue: number;
  private termBeginPositionValue: number;
  private activeTerm: TermBuffer;
  private readonly cleanOnRotation: boolean;

  /**
   * Starts a publication log at (activeTermId, termOffset). The active term is cleaned from
   * termOffset on and the next partition entirely, so that a reused buffer shows no old frame.
   */
  constructor(logBuffers: LogBuffers, options: ExclusiveLogAppenderOptions) {
    checkMtuLength(options.mtuLength);
    this.logBuffers = logBuffers;
    this.termLength = logBuffers.termLength;
    this.positionBitsToShift = positionBitsToShift(this.termLength);
    this.initialTermId = options.initialTermId | 0;
    this.mtuLength = options.mtuLength;
    this.maxPayloadLength = options.mtuLength - DATA_HEADER_LENGTH;
    this.maxMessageLength = maxMessageLength(this.termLength);
    this.maxPossiblePosition = maxPossiblePosition(this.termLength);
    const activeTermId = (options.activeTermId ?? this.initialTermId) | 0;
    const termOffset = options.termOffset ?? 0;
    if (!Number.isInteger(termOffset) || termOffset < 0 || termOffset > this.termLength || termOffset % FRAME_ALIGNMENT !== 0) {
      throw new LogBufferConfigError("termOffset", termOffset, `must be a multiple of ${FRAME_ALIGNMENT} from 0 to the term length ${this.termLength}`);
    }
    if (termCount(activeTermId, this.initialTermId) < 0) {
      throw new LogBufferConfigError("activeTermId", activeTermId, `must be at most 2^31 - 1 terms after initialTermId ${this.initialTermId}`);
    }
    this.header = new DataHeaderTemplate(options.sessionId, options.streamId, activeTermId, options.reservedValue ?? 0);
    this.appender = new TermAppender(this.header, options.mtuLength);
    this.cleanOnRotation = options.cleanOnRotation ?? true;
    this.activeTermIdValue = activeTermId;
    this.termOffsetValue = termOffset;
    this.termBeginPositionValue = computeTermBeginPosition(activeTermId, this.positionBitsToShift, this.initialTermId);
    const index = indexByTerm(this.initialTermId, activeTermId);
    this.activeTerm = logBuffers.term(index);
    this.activeTerm.cleanFrom(termOffset);
    logBuffers.term(nextPartitionIndex(index)).clean();
  }

  get activeTermId(): number {
    return this.activeTermIdValue;
  }

  /** Offset of the tail in the active term. */
  get termOffset(): number {
    return this.termOffsetValue;
  }

  /** Position at which the active term begins. */
  get termBeginPosition(): number {
    return this.termBeginPositionValue;
  }

  /** Partition of the active term. */
  get activePartitionIndex(): number {
    return this.activeTerm.partitionIndex;
  }

  /** Position of the tail: where the next message will start. */
  get position(): number {
    return this.termBeginPositionValue + this.termOffsetValue;
  }

  /**
   * Appends `length` bytes of `src` from `srcOffset`: one frame when it fits in maxPayloadLength,
   * fragments otherwise. Returns the new position, ADMIN_ACTION or MAX_POSITION_EXCEEDED. Throws
   * LogBufferConfigError when length exceeds maxMessageLength (an application error).
   */
  append(src: Uint8Array, srcOffset: number, length: number, reservedValueSupplier?: ReservedValueSupplier): number {
    if (length > this.maxPayloadLength) {
      if (length > this.maxMessageLength) {
        throw new LogBufferConfigError("message length", length, `must be at most maxMessageLength ${this.maxMessageLength}`);
      }
      return this.settle(this.appender.appendFragmented(this.activeTerm, this.termOffsetValue, src, srcOffset, length, reservedValueSupplier));
    }
    return this.settle(this.appender.appendUnfragmented(this.activeTerm, this.termOffsetValue, src, srcOffset, length, reservedValueSupplier));
  }

  /**
   * Appends one message made of the slices `vectors` (their lengths summing to `length`), as
   * append() does: one frame or fragments. The caller has checked the slices.
   */
  appendv(vectors: readonly BufferVector[], length: number, reservedValueSupplier?: ReservedValueSupplier): number {
    if (length > this.maxPayloadLength) {
      if (length > this.maxMessageLength) {
        throw new LogBufferConfigError("message length", length, `must be at most maxMessageLength ${this.maxMessageLength}`);
      }
      return this.settle(this.appender.appendFragmentedV(this.activeTerm, this.termOffsetValue, vectors, length, reservedValueSupplier));
    }
    return this.settle(this.appender.appendUnfragmentedV(this.activeTerm, this.termOffsetValue, vectors, length, reservedValueSupplier));
  }

  /**
   * Reserves a frame for `length` payload bytes (at most maxPayloadLength) and binds `claim` to it;
   * the caller fills claim.bytes at claim.payloadOffset, then calls claim.commit() or abort().
   * Returns the position after the claimed frame, ADMIN_ACTION or MAX_POSITION_EXCEEDED.
   */
  tryClaim(length: number, claim: BufferClaim): number {
    if (!Number.isInteger(length) || length < 0 || length > this.maxPayloadLength) {
      throw new LogBufferConfigError("claim length", length, `must be from 0 to maxPayloadLength ${this.maxPayloadLength}`);
    }
    return this.settle(this.appender.claim(this.activeTerm, this.termOffsetValue, length, claim));
  }

  /** Turns a TermAppender result into a position or a code, rotating on a trip. */
  private settle(resultingOffset: number): number {
    if (resultingOffset !== TRIPPED) {
      this.termOffsetValue = resultingOffset;
      return this.termBeginPositionValue + resultingOffset;
    }
    if (this.termBeginPositionValue + this.termLength >= this.maxPossiblePosition) {
      // The last term a stream may have is full: stay at its end; every later append fails the same way.
      this.termOffsetValue = this.termLength;
      return MAX_POSITION_EXCEEDED;
    }
    this.rotate();
    return ADMIN_ACTION;
  }

  /**
   * Moves to the next term. The partition after it (the one that held the term before the one just
   * filled) is cleaned now, so that when the log rotates into it no old frame can reappear; the
   * caller's flow control keeps readers within one term behind, so nobody still reads it.
   */
  private rotate(): void {
    const nextIndex = nextPartitionIndex(this.activeTerm.partitionIndex);
    this.activeTermIdValue = (this.activeTermIdValue + 1) | 0;
    this.header.termId = this.activeTermIdValue;
    this.termOffsetValue = 0;
    this.termBeginPositionValue += this.termLength;
    this.activeTerm = this.logBuffers.term(nextIndex);
    if (this.cleanOnRotation) this.logBuffers.term(nextPartitionIndex(nextIndex)).clean();
  }
}
