// ERR (PROTOCOL.md section 3): receiver -> sender to reject a publication; 40 bytes, then up to
// 1023 bytes of UTF-8 text. frameLength = 40 + errorLength. receiverId and groupTag are 64-bit
// identities kept as i32 halves; groupTag is meaningful only with the HAS_GROUP_TAG flag.
import { FrameFlyweight, writeFrameHeader } from "./frameFlyweight.js";
import { HDR_TYPE_ERR } from "./frameHeader.js";
import { i64EqualsHalves, readI64Hi, readI64Lo, writeI64Halves } from "./int64.js";

export const ERR_SESSION_ID_OFFSET = 8;
export const ERR_STREAM_ID_OFFSET = 12;
export const ERR_RECEIVER_ID_OFFSET = 16;
export const ERR_GROUP_TAG_OFFSET = 24;
export const ERR_ERROR_CODE_OFFSET = 32;
export const ERR_ERROR_LENGTH_OFFSET = 36;
export const ERR_TEXT_OFFSET = 40;
/** Length of the fixed part of an ERR frame (the text follows). */
export const ERR_HEADER_LENGTH = 40;
/** The longest error text, in bytes. */
export const ERR_MAX_TEXT_LENGTH = 1023;

/** Flag: the groupTag field is valid. */
export const ERR_HAS_GROUP_TAG_FLAG = 0x08;

export function errSessionId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + ERR_SESSION_ID_OFFSET, true);
}
export function errStreamId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + ERR_STREAM_ID_OFFSET, true);
}
export function errReceiverIdLo(view: DataView, frameOffset: number): number {
  return readI64Lo(view, frameOffset + ERR_RECEIVER_ID_OFFSET);
}
export function errReceiverIdHi(view: DataView, frameOffset: number): number {
  return readI64Hi(view, frameOffset + ERR_RECEIVER_ID_OFFSET);
}
export function errGroupTagLo(view: DataView, frameOffset: number): number {
  return readI64Lo(view, frameOffset + ERR_GROUP_TAG_OFFSET);
}
export function errGroupTagHi(view: DataView, frameOffset: number): number {
  return readI64Hi(view, frameOffset + ERR_GROUP_TAG_OFFSET);
}
export function errErrorCode(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + ERR_ERROR_CODE_OFFSET, true);
}
export function errErrorLength(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + ERR_ERROR_LENGTH_OFFSET, true);
}

/**
 * Writes a complete ERR frame, every field, with the text copied from
 * `text[textOffset .. textOffset + textLength)`; frameLength becomes 40 + textLength.
 * Returns the frame length. A text over 1023 bytes is a programming error (asserted).
 * ERR frames are rare (a receiver rejecting a publication), so this encoder may allocate a
 * subarray view for the copy; the hot-path encoders (data, SM, NAK, RTTM) never do.
 */
export function writeError(
  view: DataView,
  frameOffset: number,
  flags: number,
  sessionId: number,
  streamId: number,
  receiverIdLo: number,
  receiverIdHi: number,
  groupTagLo: number,
  groupTagHi: number,
  errorCode: number,
  text: Uint8Array,
  textOffset: number,
  textLength: number,
): number {
  if (!(textLength >= 0 && textLength <= ERR_MAX_TEXT_LENGTH)) {
    throw new RangeError(`error text of ${textLength} bytes is outside 0..${ERR_MAX_TEXT_LENGTH}`);
  }
  const frameLength = ERR_HEADER_LENGTH + textLength;
  writeFrameHeader(view, frameOffset, frameLength, flags, HDR_TYPE_ERR);
  view.setInt32(frameOffset + ERR_SESSION_ID_OFFSET, sessionId, true);
  view.setInt32(frameOffset + ERR_STREAM_ID_OFFSET, streamId, true);
  writeI64Halves(view, frameOffset + ERR_RECEIVER_ID_OFFSET, receiverIdLo, receiverIdHi);
  writeI64Halves(view, frameOffset + ERR_GROUP_TAG_OFFSET, groupTagLo, groupTagHi);
  view.setInt32(frameOffset + ERR_ERROR_CODE_OFFSET, errorCode, true);
  view.setInt32(frameOffset + ERR_ERROR_LENGTH_OFFSET, textLength, true);
  const target = new Uint8Array(view.buffer, view.byteOffset + frameOffset + ERR_TEXT_OFFSET, textLength);
  target.set(text.subarray(textOffset, textOffset + textLength));
  return frameLength;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: false });
const utf8Encoder = new TextEncoder();

/** UTF-8 bytes of `text`, for building ERR frames off the hot path (allocates). */
export function encodeErrorText(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

export class ErrorFrameFlyweight extends FrameFlyweight {
  sessionId(): number {
    return this.viewValue.getInt32(this.offsetValue + ERR_SESSION_ID_OFFSET, true);
  }
  setSessionId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + ERR_SESSION_ID_OFFSET, value, true);
    return this;
  }
  streamId(): number {
    return this.viewValue.getInt32(this.offsetValue + ERR_STREAM_ID_OFFSET, true);
  }
  setStreamId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + ERR_STREAM_ID_OFFSET, value, true);
    return this;
  }
  receiverIdLo(): number {
    return readI64Lo(this.viewValue, this.offsetValue + ERR_RECEIVER_ID_OFFSET);
  }
  receiverIdHi(): number {
    return readI64Hi(this.viewValue, this.offsetValue + ERR_RECEIVER_ID_OFFSET);
  }
  setReceiverId(lo: number, hi: number): this {
    writeI64Halves(this.viewValue, this.offsetValue + ERR_RECEIVER_ID_OFFSET, lo, hi);
    return this;
  }
  receiverIdEquals(lo: number, hi: number): boolean {
    return i64EqualsHalves(this.viewValue, this.offsetValue + ERR_RECEIVER_ID_OFFSET, lo, hi);
  }
  hasGroupTag(): boolean {
    return (this.flags() & ERR_HAS_GROUP_TAG_FLAG) !== 0;
  }
  groupTagLo(): number {
    return readI64Lo(this.viewValue, this.offsetValue + ERR_GROUP_TAG_OFFSET);
  }
  groupTagHi(): number {
    return readI64Hi(this.viewValue, this.offsetValue + ERR_GROUP_TAG_OFFSET);
  }
  setGroupTag(lo: number, hi: number): this {
    writeI64Halves(this.viewValue, this.offsetValue + ERR_GROUP_TAG_OFFSET, lo, hi);
    return this;
  }
  errorCode(): number {
    return this.viewValue.getInt32(this.offsetValue + ERR_ERROR_CODE_OFFSET, true);
  }
  setErrorCode(value: number): this {
    this.viewValue.setInt32(this.offsetValue + ERR_ERROR_CODE_OFFSET, value, true);
    return this;
  }
  errorLength(): number {
    return this.viewValue.getInt32(this.offsetValue + ERR_ERROR_LENGTH_OFFSET, true);
  }
  /** Offset of the error text in the wrapped array. */
  textOffset(): number {
    return this.offsetValue + ERR_TEXT_OFFSET;
  }
  /** The error text decoded from UTF-8 (allocates; for logs and errors, off the hot path). */
  errorText(): string {
    const length = Math.min(Math.max(this.errorLength(), 0), ERR_MAX_TEXT_LENGTH, this.lengthValue - ERR_TEXT_OFFSET);
    if (length <= 0) return "";
    const start = this.offsetValue + ERR_TEXT_OFFSET;
    return utf8Decoder.decode(this.bytesValue.subarray(start, start + length));
  }
  /** Copies `text` in after the header and sets errorLength and frameLength to match. */
  setErrorText(text: Uint8Array): this {
    if (text.length > ERR_MAX_TEXT_LENGTH) {
      throw new RangeError(`error text of ${text.length} bytes exceeds ${ERR_MAX_TEXT_LENGTH}`);
    }
    this.bytesValue.set(text, this.offsetValue + ERR_TEXT_OFFSET);
    this.viewValue.setInt32(this.offsetValue + ERR_ERROR_LENGTH_OFFSET, text.length, true);
    this.setFrameLength(ERR_HEADER_LENGTH + text.length);
    return this;
  }
}
