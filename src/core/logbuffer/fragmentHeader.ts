// A flyweight over the data header of the fragment being delivered to a handler (Aeron's Header).
// The reader repositions one instance per fragment; a handler must not keep it after it returns.
import { FLAGS_OFFSET, FRAME_ALIGNMENT, TYPE_OFFSET, align } from "../protocol/frameHeader.js";
import {
  DATA_RESERVED_VALUE_OFFSET,
  DATA_SESSION_ID_OFFSET,
  DATA_STREAM_ID_OFFSET,
  DATA_TERM_ID_OFFSET,
  DATA_TERM_OFFSET_OFFSET,
} from "../protocol/dataHeader.js";
import { computePosition } from "./logBufferDescriptor.js";
import type { TermBuffer } from "./logBuffers.js";
import { i64HalvesToSafeNumber } from "../protocol/int64.js";

export class FragmentHeader {
  readonly initialTermId: number;
  readonly positionBitsToShift: number;
  /** The term holding the fragment (set by the reader). */
  term: TermBuffer;
  /** Offset of the fragment's frame in the term (set by the reader). */
  frameOffset = 0;
  /**
   * For a reassembled message's header (FragmentAssembler): the bytes its fragments occupy in the
   * term, so that `position` is after the last fragment, as Aeron's Header.fragmentedFrameLength.
   * -1 for a fragment's own header.
   */
  fragmentedFrameLength = -1;

  constructor(initialTermId: number, positionBitsToShift: number, term: TermBuffer) {
    this.initialTermId = initialTermId | 0;
    this.positionBitsToShift = positionBitsToShift;
    this.term = term;
  }

  get frameLength(): number {
    return this.term.view.getInt32(this.frameOffset, true);
  }

  get flags(): number {
    return this.term.view.getUint8(this.frameOffset + FLAGS_OFFSET);
  }

  get type(): number {
    return this.term.view.getUint16(this.frameOffset + TYPE_OFFSET, true);
  }

  get termOffset(): number {
    return this.term.view.getInt32(this.frameOffset + DATA_TERM_OFFSET_OFFSET, true);
  }

  get sessionId(): number {
    return this.term.view.getInt32(this.frameOffset + DATA_SESSION_ID_OFFSET, true);
  }

  get streamId(): number {
    return this.term.view.getInt32(this.frameOffset + DATA_STREAM_ID_OFFSET, true);
  }

  get termId(): number {
    return this.term.view.getInt32(this.frameOffset + DATA_TERM_ID_OFFSET, true);
  }

  /**
   * The i64 reservedValue as a number: exact when it is a safe integer, NaN otherwise (a peer may
   * put any 64 bits there; never silently rounded). reservedValueLo/Hi give its bits.
   */
  get reservedValue(): number {
    return i64HalvesToSafeNumber(this.reservedValueLo, this.reservedValueHi);
  }

  /** Lower 32 bits of the reservedValue (i32). */
  get reservedValueLo(): number {
    return this.term.view.getInt32(this.frameOffset + DATA_RESERVED_VALUE_OFFSET, true);
  }

  /** Upper 32 bits of the reservedValue (i32). */
  get reservedValueHi(): number {
    return this.term.view.getInt32(this.frameOffset + DATA_RESERVED_VALUE_OFFSET + 4, true);
  }

  /** Stream position just after this fragment (frame-aligned), as in Aeron's Header.position(). */
  get position(): number {
    // A reassembled message's header is a copy of its first fragment's: its frame lies elsewhere, so
    // the position counts from the term offset field, over every fragment.
    const end = this.fragmentedFrameLength >= 0 ? this.termOffset + this.fragmentedFrameLength
      : this.frameOffset + align(this.frameLength, FRAME_ALIGNMENT);
    return computePosition(this.termId, end, this.positionBitsToShift, this.initialTermId);
  }
}
