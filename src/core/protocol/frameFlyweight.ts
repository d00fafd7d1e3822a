// The base of every frame flyweight: a window (bytes, offset, length) over a frame, read and
// written in place through one DataView. `wrap` rebuilds the DataView only when it is handed a
// different Uint8Array than last time, so a flyweight that walks a reused receive buffer allocates
// nothing per frame.
import {
  CURRENT_VERSION,
  FLAGS_OFFSET,
  FRAME_LENGTH_OFFSET,
  TYPE_OFFSET,
  VERSION_OFFSET,
} from "./frameHeader.js";

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY_BYTES.buffer);

/** A DataView over exactly the bytes of `bytes` (its byteOffset and byteLength). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class FrameFlyweight {
  protected bytesValue: Uint8Array = EMPTY_BYTES;
  protected viewValue: DataView = EMPTY_VIEW;
  protected offsetValue = 0;
  protected lengthValue = 0;

  /**
   * Points this flyweight at `length` bytes of `bytes` starting at `offset`. The window must lie
   * inside the array (asserted: a bad window is a caller's bug, never a property of the input,
   * since the datagram walker validates lengths before anyone wraps).
   */
  wrap(bytes: Uint8Array, offset: number, length: number): this {
    if (!(offset >= 0 && length >= 0 && offset + length <= bytes.length)) {
      throw new RangeError(`wrap(${offset}, ${length}) is outside an array of ${bytes.length} bytes`);
    }
    if (bytes !== this.bytesValue) {
      this.bytesValue = bytes;
      this.viewValue = viewOf(bytes);
    }
    this.offsetValue = offset;
    this.lengthValue = length;
    return this;
  }

  /** The wrapped array. */
  bytes(): Uint8Array {
    return this.bytesValue;
  }

  /** The DataView over the whole wrapped array (not only the frame). */
  view(): DataView {
    return this.viewValue;
  }

  /** Offset of the frame in the wrapped array. */
  offset(): number {
    return this.offsetValue;
  }

  /** Length of the wrapped window (the bytes available, which may exceed frameLength). */
  capacity(): number {
    return this.lengthValue;
  }

  frameLength(): number {
    return this.viewValue.getInt32(this.offsetValue + FRAME_LENGTH_OFFSET, true);
  }

  setFrameLength(value: number): this {
    this.viewValue.setInt32(this.offsetValue + FRAME_LENGTH_OFFSET, value, true);
    return this;
  }

  version(): number {
    return this.viewValue.getInt8(this.offsetValue + VERSION_OFFSET);
  }

  setVersion(value: number): this {
    this.viewValue.setInt8(this.offsetValue + VERSION_OFFSET, value);
    return this;
  }

  flags(): number {
    return this.viewValue.getUint8(this.offsetValue + FLAGS_OFFSET);
  }

  setFlags(value: number): this {
    this.viewValue.setUint8(this.offsetValue + FLAGS_OFFSET, value);
    return this;
  }

  /** Frame type, read as u16 (EXT is 0xffff). */
  type(): number {
    return this.viewValue.getUint16(this.offsetValue + TYPE_OFFSET, true);
  }

  setType(value: number): this {
    this.viewValue.setUint16(this.offsetValue + TYPE_OFFSET, value, true);
    return this;
  }
}

/** Writes the common 8-byte header: frameLength, version 0, flags, type (little-endian). */
export function writeFrameHeader(
  view: DataView,
  frameOffset: number,
  frameLength: number,
  flags: number,
  type: number,
): void {
  view.setInt32(frameOffset + FRAME_LENGTH_OFFSET, frameLength, true);
  view.setInt8(frameOffset + VERSION_OFFSET, CURRENT_VERSION);
  view.setUint8(frameOffset + FLAGS_OFFSET, flags);
  view.setUint16(frameOffset + TYPE_OFFSET, type, true);
}
