// Geometry of a log buffer (PROTOCOL.md section 4): three terms ("partitions") of a power-of-two
// length used in rotation, and the arithmetic that maps (termId, termOffset) to a stream position
// and back. Term ids are i32 and wrap: every difference of two term ids is taken with 32-bit
// wraparound (`(a - b) | 0`), so a stream whose initialTermId is 0x7fffffff keeps counting through
// -0x80000000. Positions are plain JS numbers, exact below 2^53; BigInt never appears here.
import { FRAME_ALIGNMENT, MAX_UDP_PAYLOAD_LENGTH } from "../protocol/frameHeader.js";
import { DATA_HEADER_LENGTH } from "../protocol/dataHeader.js";

/** A log has three terms: one being written, one clean for the next rotation, one for readers behind. */
export const PARTITION_COUNT = 3;
/** Smallest term length (64 KiB). */
export const TERM_MIN_LENGTH = 64 * 1024;
/** Largest term length (1 GiB). */
export const TERM_MAX_LENGTH = 1024 * 1024 * 1024;
/** Upper bound of maxMessageLength whatever the term length (16 MiB). */
export const MAX_MESSAGE_LENGTH_LIMIT = 16 * 1024 * 1024;
/** Largest position this module promises to represent exactly (positions are JS numbers). */
export const MAX_SAFE_POSITION = 2 ** 53;

/**
 * A log buffer parameter supplied by the application (term length, MTU, buffer size, message
 * length) is out of range. The message names the parameter, the value and the rule it broke.
 */
export class LogBufferConfigError extends RangeError {
  override readonly name = "LogBufferConfigError";
  readonly parameter: string;
  readonly value: number;

  constructor(parameter: string, value: number, rule: string) {
    super(`${parameter} = ${value} is invalid: ${rule}`);
    this.parameter = parameter;
    this.value = value;
  }
}

function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && value <= 2 ** 30 && (value & (value - 1)) === 0;
}

/** Checks a term length: a power of two from 64 KiB to 1 GiB. Throws LogBufferConfigError. */
export function checkTermLength(termLength: number): void {
  if (!Number.isInteger(termLength) || termLength < TERM_MIN_LENGTH || termLength > TERM_MAX_LENGTH) {
    throw new LogBufferConfigError("termLength", termLength, `must be between ${TERM_MIN_LENGTH} (64 KiB) and ${TERM_MAX_LENGTH} (1 GiB)`);
  }
  if (!isPowerOfTwo(termLength)) {
    throw new LogBufferConfigError("termLength", termLength, "must be a power of two");
  }
}

/**
 * Checks an MTU: larger than the 32-byte data header, a multiple of the 32-byte frame alignment,
 * and at most the largest UDP payload (65504). Throws LogBufferConfigError.
 */
export function checkMtuLength(mtuLength: number): void {
  if (!Number.isInteger(mtuLength) || mtuLength <= DATA_HEADER_LENGTH) {
    throw new LogBufferConfigError("mtu", mtuLength, `must be an integer greater than the ${DATA_HEADER_LENGTH}-byte data header`);
  }
  if (mtuLength % FRAME_ALIGNMENT !== 0) {
    throw new LogBufferConfigError("mtu", mtuLength, `must be a multiple of the frame alignment ${FRAME_ALIGNMENT}`);
  }
  if (mtuLength > MAX_UDP_PAYLOAD_LENGTH) {
    throw new LogBufferConfigError("mtu", mtuLength, `must be at most the largest UDP payload ${MAX_UDP_PAYLOAD_LENGTH}`);
  }
}

/** log2(termLength): the shift that turns a term count into a position. */
export function positionBitsToShift(termLength: number): number {
  checkTermLength(termLength);
  return 31 - Math.clz32(termLength);
}

/** Largest message a publication on this term length accepts: min(termLength / 8, 16 MiB). */
export function maxMessageLength(termLength: number): number {
  return Math.min(termLength / 8, MAX_MESSAGE_LENGTH_LIMIT);
}

/** Largest payload of one frame: mtu − 32 (the data header). */
export function maxPayloadLength(mtuLength: number): number {
  return mtuLength - DATA_HEADER_LENGTH;
}

/** Number of terms from initialTermId to activeTermId, with i32 wraparound. */
export function termCount(activeTermId: number, initialTermId: number): number {
  return (activeTermId - initialTermId) | 0;
}

/**
 * Stream position of `termOffset` in term `activeTermId`:
 * `((activeTermId − initialTermId) | 0) · 2^positionBitsToShift + termOffset`.
 * Multiplication rather than `<<` because the result is wider than 32 bits; the term length itself
 * is `1 << positionBitsToShift` (at most 2^30, so the shift is exact), which V8 computes far more
 * cheaply than `2 ** positionBitsToShift`.
 */
export function computePosition(activeTermId: number, termOffset: number, positionBitsToShift: number, initialTermId: number): number {
  return ((activeTermId - initialTermId) | 0) * (1 << positionBitsToShift) + termOffset;
}

/** Position at which term `activeTermId` begins. */
export function computeTermBeginPosition(activeTermId: number, positionBitsToShift: number, initialTermId: number): number {
  return ((activeTermId - initialTermId) | 0) * (1 << positionBitsToShift);
}

/** Term id holding `position`; wraps like an i32 (Aeron: `(int)(position >>> bits) + initialTermId`). */
export function computeTermIdFromPosition(position: number, positionBitsToShift: number, initialTermId: number): number {
  return (Math.floor(position / (1 << positionBitsToShift)) + initialTermId) | 0;
}

/**
 * Offset of `position` within its term. `&` works on any safe integer here because ToInt32 keeps
 * the low 32 bits exactly and the mask is below 2^31.
 */
export function computeTermOffsetFromPosition(position: number, positionBitsToShift: number): number {
  return position & ((1 << positionBitsToShift) - 1);
}

/** Partition of term `activeTermId`: (activeTermId − initialTermId) mod 3, never negative. */
export function indexByTerm(initialTermId: number, activeTermId: number): number {
  const index = ((activeTermId - initialTermId) | 0) % PARTITION_COUNT;
  return index < 0 ? index + PARTITION_COUNT : index;
}

/** Partition holding `position`. */
export function indexByPosition(position: number, positionBitsToShift: number): number {
  const terms = Math.floor(position / (1 << positionBitsToShift));
  // An int32 remainder is a machine instruction; a double one is a call to fmod.
  return terms <= 0x7fffffff ? (terms | 0) % PARTITION_COUNT : terms % PARTITION_COUNT;
}

/** Partition after `index` in rotation. */
export function nextPartitionIndex(index: number): number {
  return index === PARTITION_COUNT - 1 ? 0 : index + 1;
}

/**
 * The position a publication may not reach: 2^31 terms as in Aeron, but never beyond 2^53 so that
 * every position stays exact (for terms above 4 MiB this is the tighter bound).
 */
export function maxPossiblePosition(termLength: number): number {
  return Math.min(termLength * 2 ** 31, MAX_SAFE_POSITION);
}
