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
import { HDR_TYPE_DATA, HDR_TYPE_PAD, CURRENT_VERSION, FLAGS_OFFSET, FRAME_ALIGNMENT, TYPE_OFFSET, align } from "../protocol/frameHeader.js";
import { BEGIN_FLAG, DATA_HEADER_LENGTH, DATA_RESERVED_VALUE_OFFSET, END_FLAG, UNFRAGMENTED } from "../protocol/dataHeader.js";
import { checkMtuLength, LogBufferConfigError } from "./logBufferDescriptor.js";
import { ByteCopier } from "./byteCopy.js";
import { frameLengthOrdered, type TermBuffer } from "./logBuffers.js";

/** Returned by a TermAppender method when the message did not fit: the term is now full. */
export const TRIPPED = -1;

/**
 * Aeron's ReservedValueSupplier: called for each frame of an offer after its payload is written
 * and before it is committed, with the term's bytes, the frame's offset and its length; the 64-bit
 * value it returns goes into the frame's reservedValue field (bytes 24..31, little-endian), all 64
 * bits of it (a bigint is taken modulo 2^64, as BigInt.asIntN(64, value)). It must not throw: a
 * fragmented message's earlier fragments are already committed when a later one is written.
 */
export type ReservedValueSupplier = (termBuffer: Uint8Array, termOffset: number, frameLength: number) => bigint;

/**
 * One slice of a vectored offer (Aeron's DirectBufferVector): `buffer[offset, offset + length)`.
 * Reuse vectors (and the array holding them) across offers: offerv allocates nothing.
 */
export interface BufferVector {
  readonly buffer: Uint8Array;
  readonly offset: number;
  readonly length: number;
}

/** A reusable BufferVector (Aeron's DirectBufferVector): reset() points it at another slice. */
export class DirectBufferVector implements BufferVector {
  buffer: Uint8Array;
  offset: number;
  length: number;

  constructor(buffer: Uint8Array = new Uint8Array(0), offset = 0, length = buffer.length - offset) {
    this.buffer = buffer;
    this.offset = offset;
    this.length = length;
  }

  reset(buffer: Uint8Array, offset = 0, length = buffer.length - offset): this {
    this.buffer = buffer;
    this.offset = offset;
    this.length = length;
    return this;
  }
}

function writeSuppliedReservedValue(term: TermBuffer, frameOffset: number, frameLength: number, supplier: ReservedValueSupplier): void {
  term.view.setBigInt64(frameOffset + DATA_RESERVED_VALUE_OFFSET, supplier(term.bytes, frameOffset, frameLength), true);
}

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

  /**
   * Overrides the reservedValue of the claimed frame: a safe integer, or a bigint for all 64 bits
   * (taken modulo 2^64). Aeron's BufferClaim.reservedValue(long).
   */
  putReservedValue(value: number | bigint): this {
    const term = this.openTerm();
    if (typeof value === "bigint") {
      term.view.setBigInt64(this.frameOffsetValue + DATA_RESERVED_VALUE_OFFSET, value, true);
      return this;
    }
    if (!Number.isSafeInteger(value)) throw new LogBufferConfigError("reservedValue", value, "must be a safe integer");
    const w = this.frameOffsetValue >> 2;
    term.words[w + 6] = value | 0;
    term.words[w + 7] = Math.floor(value / 2 ** 32) | 0;
    return this;
  }

  /** The claimed frame's reservedValue, all 64 bits (Aeron's BufferClaim.reservedValue()). Allocates a bigint. */
  get reservedValue(): bigint {
    return this.openTerm().view.getBigInt64(this.frameOffsetValue + DATA_RESERVED_VALUE_OFFSET, true);
  }

  /** The claimed frame's flags byte (BEGIN 0x80 | END 0x40 when claimed; Aeron's BufferClaim.flags()). */
  get flags(): number {
    return this.openTerm().view.getUint8(this.frameOffsetValue + FLAGS_OFFSET);
  }

  /**
   * Sets the claimed frame's flags byte (Aeron's BufferClaim.flags(byte)), e.g. to add an
   * application flag to BEGIN|END. The sender sends it as written; a reader assembles by BEGIN and END.
   */
  putFlags(flags: number): this {
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) throw new LogBufferConfigError("flags", flags, "must be a byte (0..255)");
    this.openTerm().view.setUint8(this.frameOffsetValue + FLAGS_OFFSET, flags);
    return this;
  }

  /** The claimed frame's header type (HDR_TYPE_DATA, 1, when claimed; Aeron's BufferClaim.headerType()). */
  get headerType(): number {
    return this.openTerm().view.getUint16(this.frameOffsetValue + TYPE_OFFSET, true);
  }

  /** Sets the claimed frame's header type (Aeron's BufferClaim.headerType(int)); a u16. */
  putHeaderType(type: number): this {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new LogBufferConfigError("headerType", type, "must be a u16 (0..65535)");
    this.openTerm().view.setUint16(this.frameOffsetValue + TYPE_OFFSET, type, true);
    return this;
  }

  /** Copies `src[srcOffset, srcOffset + length)` into the claimed payload at `payloadOffset + offset` (Aeron's putBytes). */
  putBytes(src: Uint8Array, srcOffset = 0, length = src.length - srcOffset, offset = 0): this {
    const term = this.openTerm();
    if (offset < 0 || length < 0 || offset + length > this.payloadLength) {
      throw new LogBufferConfigError("length", length, `offset + length must be within the claimed ${this.payloadLength} bytes`);
    }
    term.bytes.set(src.subarray(srcOffset, srcOffset + length), this.payloadOffset + offset);
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
  appendUnfragmented(term: TermBuffer, termOffset: number, src: Uint8Array, srcOffset: number, length: number,
    reservedValueSupplier?: ReservedValueSupplier): number {
    const frameLength = length + DATA_HEADER_LENGTH;
    const resultingOffset = termOffset + align(frameLength, FRAME_ALIGNMENT);
    if (resultingOffset > term.length) return this.handleEndOfTerm(term, termOffset);
    this.header.write(term, termOffset, UNFRAGMENTED, HDR_TYPE_DATA);
    this.copier.copy(term.bytes, term.view, termOffset + DATA_HEADER_LENGTH, src, srcOffset, length);
    if (reservedValueSupplier !== undefined) writeSuppliedReservedValue(term, termOffset, frameLength, reservedValueSupplier);
    frameLengthOrdered(term, termOffset, frameLength);
    return resultingOffset;
  }

  /**
   * appendUnfragmented for a message made of several slices (`length` is their total, at most
   * maxPayloadLength), copied one after the other into one frame.
   */
  appendUnfragmentedV(term: TermBuffer, termOffset: number, vectors: readonly BufferVector[], length: number,
    reservedValueSupplier?: ReservedValueSupplier): number {
    const frameLength = length + DATA_HEADER_LENGTH;
    const resultingOffset = termOffset + align(frameLength, FRAME_ALIGNMENT);
    if (resultingOffset > term.length) return this.handleEndOfTerm(term, termOffset);
    this.header.write(term, termOffset, UNFRAGMENTED, HDR_TYPE_DATA);
    let writeOffset = termOffset + DATA_HEADER_LENGTH;
    for (let i = 0; i < vectors.length; i++) {
      const vector = vectors[i]!;
      this.copier.copy(term.bytes, term.view, writeOffset, vector.buffer, vector.offset, vector.length);
      writeOffset += vector.length;
    }
    if (reservedValueSupplier !== undefined) writeSuppliedReservedValue(term, termOffset, frameLength, reservedValueSupplier);
    frameLengthOrdered(term, termOffset, frameLength);
    return resultingOffset;
  }

  /**
   * Appends a message longer than maxPayloadLength as fragments of maxPayloadLength bytes (the
   * last one shorter): BEGIN on the first, END on the last, all in this term. Returns the offset
   * after the last aligned fragment, or TRIPPED.
   */
  appendFragmented(term: TermBuffer, termOffset: number, src: Uint8Array, srcOffset: number, length: number,
    reservedValueSupplier?: ReservedValueSupplier): number {
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
      if (reservedValueSupplier !== undefined) writeSuppliedReservedValue(term, frameOffset, frameLength, reservedValueSupplier);
      frameLengthOrdered(term, frameOffset, frameLength);
      flags = 0;
      frameOffset += align(frameLength, FRAME_ALIGNMENT);
      readOffset += bytesToWrite;
      remaining -= bytesToWrite;
    } while (remaining > 0);
    return resultingOffset;
  }

  /**
   * appendFragmented for a message made of several slices (`length` is their total): fragments
   * of maxPayloadLength bytes are filled across slice boundaries.
   */
  appendFragmentedV(term: TermBuffer, termOffset: number, vectors: readonly BufferVector[], length: number,
    reservedValueSupplier?: ReservedValueSupplier): number {
    const maxPayload = this.maxPayloadLength;
    const fullFrames = Math.floor(length / maxPayload);
    const remainder = length - fullFrames * maxPayload;
    const lastFrameLength = remainder > 0 ? align(remainder + DATA_HEADER_LENGTH, FRAME_ALIGNMENT) : 0;
    const requiredLength = fullFrames * (maxPayload + DATA_HEADER_LENGTH) + lastFrameLength;
    const resultingOffset = termOffset + requiredLength;
    if (resultingOffset > term.length) return this.handleEndOfTerm(term, termOffset);

    let flags = BEGIN_FLAG;
    let remaining = length;
    let frameOffset = termOffset;
    let vectorIndex = 0;
    let vectorOffset = 0;
    // Bounded: one pass per fragment, and remaining shrinks by maxPayload (> 0) each pass.
    do {
      const bytesToWrite = remaining < maxPayload ? remaining : maxPayload;
      const frameLength = bytesToWrite + DATA_HEADER_LENGTH;
      if (remaining <= maxPayload) flags |= END_FLAG;
      this.header.write(term, frameOffset, flags, HDR_TYPE_DATA);
      let written = 0;
      // Bounded: each pass copies from one slice and moves to the next when it is used up.
      while (written < bytesToWrite) {
        const vector = vectors[vectorIndex]!;
        const available = vector.length - vectorOffset;
        if (available === 0) {
          vectorIndex++;
          vectorOffset = 0;
          continue;
        }
        const chunk = available < bytesToWrite - written ? available : bytesToWrite - written;
        this.copier.copy(term.bytes, term.view, frameOffset + DATA_HEADER_LENGTH + written, vector.buffer, vector.offset + vectorOffset, chunk);
        written += chunk;
        vectorOffset += chunk;
      }
      if (reservedValueSupplier !== undefined) writeSuppliedReservedValue(term, frameOffset, frameLength, reservedValueSupplier);
      frameLengthOrdered(term, frameOffset, frameLength);
      flags = 0;
      frameOffset += align(frameLength, FRAME_ALIGNMENT);
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
