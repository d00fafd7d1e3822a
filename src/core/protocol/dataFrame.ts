// DATA, heartbeat and PAD frames (PROTOCOL.md section 3): the 32-byte data header, then payload.
// A heartbeat is a DATA header with frameLength 0 (it still occupies 32 bytes in a datagram); a
// PAD frame has the same layout with type 0 and a frameLength covering the rest of the term. The
// field offsets and flags live in dataHeader.ts; this file adds the accessors and the encoder.
import {
  DATA_HEADER_LENGTH,
  DATA_RESERVED_VALUE_OFFSET,
  DATA_SESSION_ID_OFFSET,
  DATA_STREAM_ID_OFFSET,
  DATA_TERM_ID_OFFSET,
  DATA_TERM_OFFSET_OFFSET,
  EOS_FLAG,
} from "./dataHeader.js";
import { FrameFlyweight, writeFrameHeader } from "./frameFlyweight.js";
import { FRAME_LENGTH_OFFSET, HDR_TYPE_DATA, HDR_TYPE_PAD, TYPE_OFFSET } from "./frameHeader.js";
import { readI64, readI64Hi, readI64Lo, writeI64, writeI64Halves } from "./int64.js";

// Free accessors over (view, frameOffset): they wrap nothing.

export function dataTermOffset(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + DATA_TERM_OFFSET_OFFSET, true);
}

export function dataSessionId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + DATA_SESSION_ID_OFFSET, true);
}

export function dataStreamId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + DATA_STREAM_ID_OFFSET, true);
}

export function dataTermId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + DATA_TERM_ID_OFFSET, true);
}

export function dataReservedValueLo(view: DataView, frameOffset: number): number {
  return readI64Lo(view, frameOffset + DATA_RESERVED_VALUE_OFFSET);
}

export function dataReservedValueHi(view: DataView, frameOffset: number): number {
  return readI64Hi(view, frameOffset + DATA_RESERVED_VALUE_OFFSET);
}

/** reservedValue as a number (exact for safe integers; see int64.ts). */
export function dataReservedValue(view: DataView, frameOffset: number): number {
  return readI64(view, frameOffset + DATA_RESERVED_VALUE_OFFSET);
}

/** True for a heartbeat: a DATA frame whose frameLength is 0. */
export function isHeartbeat(view: DataView, frameOffset: number): boolean {
  return (
    view.getInt32(frameOffset + FRAME_LENGTH_OFFSET, true) === 0 &&
    view.getUint16(frameOffset + TYPE_OFFSET, true) === HDR_TYPE_DATA
  );
}

/** True for a PAD frame. */
export function isPad(view: DataView, frameOffset: number): boolean {
  return view.getUint16(frameOffset + TYPE_OFFSET, true) === HDR_TYPE_PAD;
}

/**
 * Writes a complete data header (DATA, heartbeat or PAD, chosen by `type`), every field:
 * frameLength, version 0, flags, type, termOffset, sessionId, streamId, termId and reservedValue
 * as two i32 halves. The payload, if any, is the caller's to place after the header.
 */
export function writeDataHeader(
  view: DataView,
  frameOffset: number,
  frameLength: number,
  flags: number,
  type: number,
  termOffset: number,
  sessionId: number,
  streamId: number,
  termId: number,
  reservedValueLo: number,
  reservedValueHi: number,
): void {
  writeFrameHeader(view, frameOffset, frameLength, flags, type);
  view.setInt32(frameOffset + DATA_TERM_OFFSET_OFFSET, termOffset, true);
  view.setInt32(frameOffset + DATA_SESSION_ID_OFFSET, sessionId, true);
  view.setInt32(frameOffset + DATA_STREAM_ID_OFFSET, streamId, true);
  view.setInt32(frameOffset + DATA_TERM_ID_OFFSET, termId, true);
  writeI64Halves(view, frameOffset + DATA_RESERVED_VALUE_OFFSET, reservedValueLo, reservedValueHi);
}

/** Writes a heartbeat (frameLength 0, B|E, or B|E|EOS when `endOfStream`) with reservedValue 0. */
export function writeHeartbeat(
  view: DataView,
  frameOffset: number,
  termOffset: number,
  sessionId: number,
  streamId: number,
  termId: number,
  endOfStream: boolean,
): void {
  const flags = endOfStream ? 0xc0 | EOS_FLAG : 0xc0;
  writeDataHeader(view, frameOffset, 0, flags, HDR_TYPE_DATA, termOffset, sessionId, streamId, termId, 0, 0);
}

export class DataFrameFlyweight extends FrameFlyweight {
  termOffset(): number {
    return this.viewValue.getInt32(this.offsetValue + DATA_TERM_OFFSET_OFFSET, true);
  }

  setTermOffset(value: number): this {
    this.viewValue.setInt32(this.offsetValue + DATA_TERM_OFFSET_OFFSET, value, true);
    return this;
  }

  sessionId(): number {
    return this.viewValue.getInt32(this.offsetValue + DATA_SESSION_ID_OFFSET, true);
  }

  setSessionId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + DATA_SESSION_ID_OFFSET, value, true);
    return this;
  }

  streamId(): number {
    return this.viewValue.getInt32(this.offsetValue + DATA_STREAM_ID_OFFSET, true);
  }

  setStreamId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + DATA_STREAM_ID_OFFSET, value, true);
    return this;
  }

  termId(): number {
    return this.viewValue.getInt32(this.offsetValue + DATA_TERM_ID_OFFSET, true);
  }

  setTermId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + DATA_TERM_ID_OFFSET, value, true);
    return this;
  }

  reservedValueLo(): number {
    return readI64Lo(this.viewValue, this.offsetValue + DATA_RESERVED_VALUE_OFFSET);
  }

  reservedValueHi(): number {
    return readI64Hi(this.viewValue, this.offsetValue + DATA_RESERVED_VALUE_OFFSET);
  }

  /** reservedValue as a number (exact for safe integers). */
  reservedValue(): number {
    return readI64(this.viewValue, this.offsetValue + DATA_RESERVED_VALUE_OFFSET);
  }

  /** Sets reservedValue from a safe integer. */
  setReservedValue(value: number): this {
    writeI64(this.viewValue, this.offsetValue + DATA_RESERVED_VALUE_OFFSET, value);
    return this;
  }

  /** Sets reservedValue from its 64 bits as two i32 halves. */
  setReservedValueHalves(lo: number, hi: number): this {
    writeI64Halves(this.viewValue, this.offsetValue + DATA_RESERVED_VALUE_OFFSET, lo, hi);
    return this;
  }

  isHeartbeat(): boolean {
    return isHeartbeat(this.viewValue, this.offsetValue);
  }

  /** Offset of the payload in the wrapped array. */
  payloadOffset(): number {
    return this.offsetValue + DATA_HEADER_LENGTH;
  }

  /** Payload bytes: frameLength minus the header, 0 for a heartbeat (meaningless for PAD). */
  payloadLength(): number {
    const frameLength = this.frameLength();
    return frameLength > DATA_HEADER_LENGTH ? frameLength - DATA_HEADER_LENGTH : 0;
  }
}
