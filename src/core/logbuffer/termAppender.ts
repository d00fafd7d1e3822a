// Appends frames to one term (Aeron's ExclusiveTermAppender, single writer). The caller owns the
// term offset (the tail) and passes it in; each method returns the offset after what it wrote, or
// TRIPPED when the message does not fit in what remains of the term. Tripping pads the rest of
// the term with one PAD frame (type 0, frameLength = remaining bytes), so that readers and the
// sender walk to the term end, and the caller rotates to the next term (PROTOCOL.md section 4).
//
// Write order for every frame: the header words except the length, then the payload, then the
// length with frameLengthOrdered (Atomics.store over shared memory). Header words go through the
// term's Int32Array (LogBuffers asserted a little-endian host, so these stores are the
// little-endian wire layout); the offsets are all 32-aligned.
import { HDR_TYPE_DATA, HDR_TYPE_PAD, CURRENT_VERSION, FRAME_ALIGNMENT, TYPE_OFFSET, align } from "../protocol/frameHeader.js";
import { BEGIN_FLAG, DATA_HEADER_LENGTH, END_FLAG, UNFRAGMENTED } from "../protocol/dataHeader.js";
import { checkMtuLength, LogBufferConfigError } from "./logBufferDescriptor.js";
import { ByteCopier } from "./byteCopy.js";
import { frameLengthOrdered, type TermBuffer } from "./logBuffers.js";

/** Returned by a TermAppender method when the message did not fit: the term is now full. */
export const TRIPPED = -1;

const MAX_SAFE_RESERVED = Number.MAX_SAFE_INTEGER;

/**
 * The fields every data header of one publication shares. `termId` follows the active term (the
 * log appender updates it on rotation). The reservedValue is an i64 on the wire; here it is a
 * safe integer, kept as two i32 words.
 */
export class DataHeaderTemplate {
  sessionId: number;
  streamId: number;
  termId: number;
  /** Low and high 32 bits of the reservedValue, as written to the term. */
  reservedValueLow = 0;
  reservedValueHigh = 0;

  constructor(sessionId: number, streamId: number, termId: number, reservedValue = 0) {
    this.sessionId = sessionId | 0;
    this.streamId = streamId | 0;
    this.termId = termId | 0;
    this.setReservedValue(reservedValue);
  }

  /** Sets the reservedValue of the frames written from now on (a safe integer; 0 by default). */
  setReservedValue(value: number): this {
    if (!Number.isSafeInteger(value) || value < -MAX_SAFE_RESERVED) {
      throw new LogBufferConfigError("reservedValue", value, "must be a safe integer");
    }
    this.reservedValueLow = value | 0;
    this.reservedValueHigh = Math.floor(value / 2 ** 32) | 0;
    return this;
  }

  get reservedValue(): number {
    return this.reservedValueHigh * 2 ** 32 + (this.reservedValueLow >>> 0);
  }

  /** Writes the 32-byte header of a frame at `frameOffset`, all but its length word. */
  write(term: TermBuffer, frameOffset: number, flags: number, type: number): void {
    const words = term.words;
    const w = frameOffset >> 2;
    // version (byte 4), flags (byte 5), type (bytes 6..7) as one little-endian word.
    words[w + 1] = CURRENT_VERSION | (flags << 8) | (type << 16);
    words[w + 2] = frameOffset;
    words[w + 3] = this.sessionId;
    words[w + 4] = this.streamId;
    words[w + 5] = this.termId;
    words[w + 6] = this.reservedValueLow;
    words[w + 7] = this.reservedValueHigh;
  }
}

/**
 * A frame reserved by tryClaim for the application to fill in place. Reuse one claim object; each
 * successful claim must end in exactly one commit or abort.
 */
export class BufferClaim {
  private term: TermBuffer | null = null;
  private frameOffsetValue = -1;
  private frameLengthValue = 0;

  /** Binds the claim to a reserved frame (called by the appender). */
  wrap(term: TermBuffer, frameOffset: number, frameLength: number): void {
    if (this.term !== null) throw new Error("BufferClaim is still open: commit or abort it before claiming again");
    this.term = term;
    this.frameOffsetValue = frameOffset;
    this.frameLengthValue = frameLength;
  }

  /** True between a successful claim and its commit or abort. */
  get isOpen(): boolean {
    return this.term !== null;
  }

  private openTerm(): TermBuffer {
    const term = this.term;
    if (term === null) throw new Error("BufferClaim is not open");
    return term;
  }

  /** The term's bytes; write the payload at [payloadOffset, payloadOffset + payloadLength). */
  get bytes(): Uint8Array {
    return this.openTerm().bytes;
  }

  /** The term's DataView (little-endian access is the caller's to state). */
  get view(): DataView {
    return this.openTerm().view;
  }

  get frameOffset(): number {
    return this.frameOffsetValue;
  }

  get payloadOffset(): number {
    return this.frameOffsetValue + DATA_HEADER_LENGTH;
  }

  get payloadLength(): number {
    return this.frameLengthValue - DATA_HEADER_LENGTH;
  }

  /** Overrides the reservedValue of the claimed frame (a safe integer). */
  putReservedValue(value: number): this {
    const term = this.openTerm();
    if (!Number.isSafeInteger(value)) throw new LogBufferConfigError("reservedValue", value, "must be a safe integer");
    const w = this.frameOffsetValue >> 2;
    term.words[w + 6] = value | 0;
    term.words[w + 7] = Math.floor(value / 2 ** 32) | 0;
    return this;
  }

  /** Publishes the frame: stores its length last. */
  commit(): void {
    const term = this.openTerm();
    frameLengthOrdered(term, this.frameOffsetValue, this.frameLengthValue);
    this.term = null;
  }

  /** Gives the frame up: it becomes padding that readers skip, and the stream moves past it. */
  abort(): void {
    const term = this.openTerm();
    term.view.setUint16(this.frameOffsetValue + TYPE_OFFSET, HDR_TYPE_PAD, true);
    frameLengthOrdered(term, this.frameOffsetValue, this.frameLengthValue);
    this.term = null;
  }
}

/** Appends messages to a term on behalf of one publication (single writer). */
export class TermAppender {
  readonly header: DataHeaderTemplate;
  readonly mtuLength: number;
  readonly maxPayloadLength: number;
  private readonly copier = new ByteCopier();

  constructor(header: DataHeaderTemplate, mtuLength: number) {
    checkMtuLength(mtuLength);
    this.header = header;
    this.mtuLength = mtuLength;
    this.maxPayloadLength = mtuLength - DATA_HEADER_LENGTH;
  }

  /**
   * Appends a message of at most maxPayloadLength bytes as one frame (flags BEGIN|END) at
   * `termOffset`. Returns the offset after the aligned frame, or TRIPPED.
   */
  appendUnfragmented(term: TermBuffer, termOffset: number, src: Uint8Array, srcOffset: number, length: number): number {
    const frameLength = length + DATA_HEADER_LENGTH;
    const resultingOffset = termOffset + align(frameLength, FRAME_ALIGNMENT);
    if (resultingOffset > term.length) return this.handleEndOfTerm(term, termOffset);
    this.header.write(term, termOffset, UNFRAGMENTED, HDR_TYPE_DATA);
    this.copier.copy(term.bytes, term.view, termOffset + DATA_HEADER_LENGTH, src, srcOffset, length);
    frameLengthOrdered(term, termOffset, frameLength);
    return resultingOffset;
  }

  /**
   * Appends a message longer than maxPayloadLength as fragments of maxPayloadLength bytes (the
   * last one shorter): BEGIN on the first, END on the last, all in this term. Returns the offset
   * after the last aligned fragment, or TRIPPED.
   */
  appendFragmented(term: TermBuffer, termOffset: number, src: Uint8Array, srcOffset: number, length: number): number {
    const maxPayload = this.maxPayloadLength;
    const fullFrames = Math.floor(length / maxPayload);
    const remainder = length - fullFrames * maxPayload;
    const lastFrameLength = remainder > 0 ? align(remainder + DATA_HEADER_LENGTH, FRAME_ALIGNMENT) : 0;
    // maxPayload + 32 is the MTU, a multiple of 32, so full fragments need no alignment padding.
    const requiredLength = fullFrames * (maxPayload + DATA_HEADER_LENGTH) + lastFrameLength;
    const resultingOffset = termOffset + requiredLength;
    if (resultingOffset > term.length) return this.handleEndOfTerm(term, termOffset);

    let flags = BEGIN_FLAG;
    let remaining = length;
    let frameOffset = termOffset;
    let readOffset = srcOffset;
    // Bounded: one pass per fragment, and remaining shrinks by maxPayload (> 0) each pass.
    do {
      const bytesToWrite = remaining < maxPayload ? remaining : maxPayload;
      const frameLength = bytesToWrite + DATA_HEADER_LENGTH;
      if (remaining <= maxPayload) flags |= END_FLAG;
      this.header.write(term, frameOffset, flags, HDR_TYPE_DATA);
      this.copier.copy(term.bytes, term.view, frameOffset + DATA_HEADER_LENGTH, src, readOffset, bytesToWrite);
      frameLengthOrdered(term, frameOffset, frameLength);
      flags = 0;
      frameOffset += align(frameLength, FRAME_ALIGNMENT);
      readOffset += bytesToWrite;
      remaining -= bytesToWrite;
    } while (remaining > 0);
    return resultingOffset;
  }

  /**
   * Reserves one unfragmented frame for `length` payload bytes (at most maxPayloadLength) and
   * binds `claim` to it. The header is written now; the length is stored by claim.commit().
   * Returns the offset after the aligned frame, or TRIPPED (the claim is left closed).
   */
  claim(term: TermBuffer, termOffset: number, length: number, claim: BufferClaim): number {
    if (claim.isOpen) throw new Error("BufferClaim is still open: commit or abort it before claiming again");
    const frameLength = length + DATA_HEADER_LENGTH;
    const resultingOffset = termOffset + align(frameLength, FRAME_ALIGNMENT);
    if (resultingOffset > term.length) return this.handleEndOfTerm(term, termOffset);
    this.header.write(term, termOffset, UNFRAGMENTED, HDR_TYPE_DATA);
    claim.wrap(term, termOffset, frameLength);
    return resultingOffset;
  }

  /** Pads the rest of the term (if any remains) with one PAD frame and reports TRIPPED. */
  private handleEndOfTerm(term: TermBuffer, termOffset: number): number {
    if (termOffset < term.length) {
      const paddingLength = term.length - termOffset;
      // Aeron writes a PAD frame from the default header (flags BEGIN|END) with the type changed.
      this.header.write(term, termOffset, UNFRAGMENTED, HDR_TYPE_PAD);
      frameLengthOrdered(term, termOffset, paddingLength);
    }
    return TRIPPED;
  }
}
