// SM, the status message (PROTOCOL.md section 3): receiver -> sender; 36 bytes, or 44 with the
// optional group tag. Aeron's C driver drops an SM shorter than 36 bytes as invalid (its sender
// checks `length >= sizeof(aeron_status_message_header_t)`, which includes receiverId), and every
// SM in the reference captures is 36 bytes; so Petrel does not accept a 28-byte "legacy" SM
// either. The group tag is present exactly when frameLength >= 44.
//
// receiverId and groupTag are arbitrary 64-bit identities: they are read and written as i32 halves
// (see int64.ts), never as a lossy number.
import { FrameFlyweight, writeFrameHeader } from "./frameFlyweight.js";
import { FRAME_LENGTH_OFFSET, HDR_TYPE_SM } from "./frameHeader.js";
import { i64EqualsHalves, readI64Hi, readI64Lo, writeI64Halves } from "./int64.js";

export const SM_SESSION_ID_OFFSET = 8;
export const SM_STREAM_ID_OFFSET = 12;
export const SM_CONSUMPTION_TERM_ID_OFFSET = 16;
export const SM_CONSUMPTION_TERM_OFFSET_OFFSET = 20;
export const SM_RECEIVER_WINDOW_OFFSET = 24;
export const SM_RECEIVER_ID_OFFSET = 28;
export const SM_GROUP_TAG_OFFSET = 36;
/** Length of an SM without group tag (the minimum Aeron accepts). */
export const SM_LENGTH = 36;
/** Length of an SM that carries a group tag. */
export const SM_WITH_GROUP_TAG_LENGTH = 44;

/** Flag: the receiver asks the sender for a SETUP. */
export const SM_SEND_SETUP_FLAG = 0x80;
/** Flag: the receiver saw end of stream. */
export const SM_EOS_FLAG = 0x40;

export function smSessionId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SM_SESSION_ID_OFFSET, true);
}
export function smStreamId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SM_STREAM_ID_OFFSET, true);
}
export function smConsumptionTermId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SM_CONSUMPTION_TERM_ID_OFFSET, true);
}
export function smConsumptionTermOffset(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SM_CONSUMPTION_TERM_OFFSET_OFFSET, true);
}
export function smReceiverWindow(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SM_RECEIVER_WINDOW_OFFSET, true);
}
export function smReceiverIdLo(view: DataView, frameOffset: number): number {
  return readI64Lo(view, frameOffset + SM_RECEIVER_ID_OFFSET);
}
export function smReceiverIdHi(view: DataView, frameOffset: number): number {
  return readI64Hi(view, frameOffset + SM_RECEIVER_ID_OFFSET);
}
/** True when the SM's frameLength says it carries a group tag. */
export function smHasGroupTag(view: DataView, frameOffset: number): boolean {
  return view.getInt32(frameOffset + FRAME_LENGTH_OFFSET, true) >= SM_WITH_GROUP_TAG_LENGTH;
}
/** Lower half of the group tag; only meaningful when smHasGroupTag. */
export function smGroupTagLo(view: DataView, frameOffset: number): number {
  return readI64Lo(view, frameOffset + SM_GROUP_TAG_OFFSET);
}
/** Upper half of the group tag; only meaningful when smHasGroupTag. */
export function smGroupTagHi(view: DataView, frameOffset: number): number {
  return readI64Hi(view, frameOffset + SM_GROUP_TAG_OFFSET);
}
/** True when the SM's receiverId is the pair (lo, hi). */
export function smReceiverIdEquals(view: DataView, frameOffset: number, lo: number, hi: number): boolean {
  return i64EqualsHalves(view, frameOffset + SM_RECEIVER_ID_OFFSET, lo, hi);
}

/** Writes a complete 36-byte SM (no group tag), every field. */
export function writeStatusMessage(
  view: DataView,
  frameOffset: number,
  flags: number,
  sessionId: number,
  streamId: number,
  consumptionTermId: number,
  consumptionTermOffset: number,
  receiverWindow: number,
  receiverIdLo: number,
  receiverIdHi: number,
): void {
  writeFrameHeader(view, frameOffset, SM_LENGTH, flags, HDR_TYPE_SM);
  view.setInt32(frameOffset + SM_SESSION_ID_OFFSET, sessionId, true);
  view.setInt32(frameOffset + SM_STREAM_ID_OFFSET, streamId, true);
  view.setInt32(frameOffset + SM_CONSUMPTION_TERM_ID_OFFSET, consumptionTermId, true);
  view.setInt32(frameOffset + SM_CONSUMPTION_TERM_OFFSET_OFFSET, consumptionTermOffset, true);
  view.setInt32(frameOffset + SM_RECEIVER_WINDOW_OFFSET, receiverWindow, true);
  writeI64Halves(view, frameOffset + SM_RECEIVER_ID_OFFSET, receiverIdLo, receiverIdHi);
}

/** Writes a complete 44-byte SM with a group tag, every field. */
export function writeStatusMessageWithGroupTag(
  view: DataView,
  frameOffset: number,
  flags: number,
  sessionId: number,
  streamId: number,
  consumptionTermId: number,
  consumptionTermOffset: number,
  receiverWindow: number,
  receiverIdLo: number,
  receiverIdHi: number,
  groupTagLo: number,
  groupTagHi: number,
): void {
  writeStatusMessage(
    view,
    frameOffset,
    flags,
    sessionId,
    streamId,
    consumptionTermId,
    consumptionTermOffset,
    receiverWindow,
    receiverIdLo,
    receiverIdHi,
  );
  view.setInt32(frameOffset + FRAME_LENGTH_OFFSET, SM_WITH_GROUP_TAG_LENGTH, true);
  writeI64Halves(view, frameOffset + SM_GROUP_TAG_OFFSET, groupTagLo, groupTagHi);
}

export class StatusMessageFlyweight extends FrameFlyweight {
  sessionId(): number {
    return this.viewValue.getInt32(this.offsetValue + SM_SESSION_ID_OFFSET, true);
  }
  setSessionId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SM_SESSION_ID_OFFSET, value, true);
    return this;
  }
  streamId(): number {
    return this.viewValue.getInt32(this.offsetValue + SM_STREAM_ID_OFFSET, true);
  }
  setStreamId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SM_STREAM_ID_OFFSET, value, true);
    return this;
  }
  consumptionTermId(): number {
    return this.viewValue.getInt32(this.offsetValue + SM_CONSUMPTION_TERM_ID_OFFSET, true);
  }
  setConsumptionTermId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SM_CONSUMPTION_TERM_ID_OFFSET, value, true);
    return this;
  }
  consumptionTermOffset(): number {
    return this.viewValue.getInt32(this.offsetValue + SM_CONSUMPTION_TERM_OFFSET_OFFSET, true);
  }
  setConsumptionTermOffset(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SM_CONSUMPTION_TERM_OFFSET_OFFSET, value, true);
    return this;
  }
  receiverWindow(): number {
    return this.viewValue.getInt32(this.offsetValue + SM_RECEIVER_WINDOW_OFFSET, true);
  }
  setReceiverWindow(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SM_RECEIVER_WINDOW_OFFSET, value, true);
    return this;
  }
  receiverIdLo(): number {
    return readI64Lo(this.viewValue, this.offsetValue + SM_RECEIVER_ID_OFFSET);
  }
  receiverIdHi(): number {
    return readI64Hi(this.viewValue, this.offsetValue + SM_RECEIVER_ID_OFFSET);
  }
  setReceiverId(lo: number, hi: number): this {
    writeI64Halves(this.viewValue, this.offsetValue + SM_RECEIVER_ID_OFFSET, lo, hi);
    return this;
  }
  receiverIdEquals(lo: number, hi: number): boolean {
    return i64EqualsHalves(this.viewValue, this.offsetValue + SM_RECEIVER_ID_OFFSET, lo, hi);
  }
  hasGroupTag(): boolean {
    return smHasGroupTag(this.viewValue, this.offsetValue);
  }
  groupTagLo(): number {
    return readI64Lo(this.viewValue, this.offsetValue + SM_GROUP_TAG_OFFSET);
  }
  groupTagHi(): number {
    return readI64Hi(this.viewValue, this.offsetValue + SM_GROUP_TAG_OFFSET);
  }
  /** Writes the group tag and sets frameLength to 44 (the window must hold 44 bytes). */
  setGroupTag(lo: number, hi: number): this {
    writeI64Halves(this.viewValue, this.offsetValue + SM_GROUP_TAG_OFFSET, lo, hi);
    this.viewValue.setInt32(this.offsetValue + FRAME_LENGTH_OFFSET, SM_WITH_GROUP_TAG_LENGTH, true);
    return this;
  }
  groupTagEquals(lo: number, hi: number): boolean {
    return this.hasGroupTag() && i64EqualsHalves(this.viewValue, this.offsetValue + SM_GROUP_TAG_OFFSET, lo, hi);
  }
}
