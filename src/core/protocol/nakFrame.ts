// NAK (PROTOCOL.md section 3): receiver -> sender, "resend this range"; 28 bytes.
import { FrameFlyweight, writeFrameHeader } from "./frameFlyweight.js";
import { HDR_TYPE_NAK } from "./frameHeader.js";

export const NAK_SESSION_ID_OFFSET = 8;
export const NAK_STREAM_ID_OFFSET = 12;
export const NAK_TERM_ID_OFFSET = 16;
export const NAK_TERM_OFFSET_OFFSET = 20;
export const NAK_LENGTH_OFFSET = 24;
/** Length of a NAK frame. */
export const NAK_FRAME_LENGTH = 28;

export function nakSessionId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + NAK_SESSION_ID_OFFSET, true);
}
export function nakStreamId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + NAK_STREAM_ID_OFFSET, true);
}
export function nakTermId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + NAK_TERM_ID_OFFSET, true);
}
export function nakTermOffset(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + NAK_TERM_OFFSET_OFFSET, true);
}
/** The number of bytes asked for (the NAK's `length` field). */
export function nakLength(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + NAK_LENGTH_OFFSET, true);
}

/** Writes a complete NAK (28 bytes), every field. Aeron sends NAKs with flags 0. */
export function writeNak(
  view: DataView,
  frameOffset: number,
  flags: number,
  sessionId: number,
  streamId: number,
  termId: number,
  termOffset: number,
  length: number,
): void {
  writeFrameHeader(view, frameOffset, NAK_FRAME_LENGTH, flags, HDR_TYPE_NAK);
  view.setInt32(frameOffset + NAK_SESSION_ID_OFFSET, sessionId, true);
  view.setInt32(frameOffset + NAK_STREAM_ID_OFFSET, streamId, true);
  view.setInt32(frameOffset + NAK_TERM_ID_OFFSET, termId, true);
  view.setInt32(frameOffset + NAK_TERM_OFFSET_OFFSET, termOffset, true);
  view.setInt32(frameOffset + NAK_LENGTH_OFFSET, length, true);
}

export class NakFlyweight extends FrameFlyweight {
  sessionId(): number {
    return this.viewValue.getInt32(this.offsetValue + NAK_SESSION_ID_OFFSET, true);
  }
  setSessionId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + NAK_SESSION_ID_OFFSET, value, true);
    return this;
  }
  streamId(): number {
    return this.viewValue.getInt32(this.offsetValue + NAK_STREAM_ID_OFFSET, true);
  }
  setStreamId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + NAK_STREAM_ID_OFFSET, value, true);
    return this;
  }
  termId(): number {
    return this.viewValue.getInt32(this.offsetValue + NAK_TERM_ID_OFFSET, true);
  }
  setTermId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + NAK_TERM_ID_OFFSET, value, true);
    return this;
  }
  termOffset(): number {
    return this.viewValue.getInt32(this.offsetValue + NAK_TERM_OFFSET_OFFSET, true);
  }
  setTermOffset(value: number): this {
    this.viewValue.setInt32(this.offsetValue + NAK_TERM_OFFSET_OFFSET, value, true);
    return this;
  }
  /** The number of bytes asked for. */
  length(): number {
    return this.viewValue.getInt32(this.offsetValue + NAK_LENGTH_OFFSET, true);
  }
  setLength(value: number): this {
    this.viewValue.setInt32(this.offsetValue + NAK_LENGTH_OFFSET, value, true);
    return this;
  }
}
