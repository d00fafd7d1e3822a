// SETUP (PROTOCOL.md section 3): sent by a publication to start a connection; 40 bytes.
import { FrameFlyweight, writeFrameHeader } from "./frameFlyweight.js";
import { HDR_TYPE_SETUP } from "./frameHeader.js";

export const SETUP_TERM_OFFSET_OFFSET = 8;
export const SETUP_SESSION_ID_OFFSET = 12;
export const SETUP_STREAM_ID_OFFSET = 16;
export const SETUP_INITIAL_TERM_ID_OFFSET = 20;
export const SETUP_ACTIVE_TERM_ID_OFFSET = 24;
export const SETUP_TERM_LENGTH_OFFSET = 28;
export const SETUP_MTU_OFFSET = 32;
export const SETUP_TTL_OFFSET = 36;
/** Length of a SETUP frame. */
export const SETUP_LENGTH = 40;

/** Flag: the publication asks for a response channel. */
export const SETUP_SEND_RESPONSE_FLAG = 0x80;
/** Flag: group (multicast) semantics; seen on multicast SETUPs in the captures. */
export const SETUP_GROUP_FLAG = 0x40;

export function setupTermOffset(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SETUP_TERM_OFFSET_OFFSET, true);
}
export function setupSessionId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SETUP_SESSION_ID_OFFSET, true);
}
export function setupStreamId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SETUP_STREAM_ID_OFFSET, true);
}
export function setupInitialTermId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SETUP_INITIAL_TERM_ID_OFFSET, true);
}
export function setupActiveTermId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SETUP_ACTIVE_TERM_ID_OFFSET, true);
}
export function setupTermLength(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SETUP_TERM_LENGTH_OFFSET, true);
}
export function setupMtu(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SETUP_MTU_OFFSET, true);
}
export function setupTtl(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + SETUP_TTL_OFFSET, true);
}

/** Writes a complete SETUP frame (40 bytes), every field. */
export function writeSetup(
  view: DataView,
  frameOffset: number,
  flags: number,
  termOffset: number,
  sessionId: number,
  streamId: number,
  initialTermId: number,
  activeTermId: number,
  termLength: number,
  mtu: number,
  ttl: number,
): void {
  writeFrameHeader(view, frameOffset, SETUP_LENGTH, flags, HDR_TYPE_SETUP);
  view.setInt32(frameOffset + SETUP_TERM_OFFSET_OFFSET, termOffset, true);
  view.setInt32(frameOffset + SETUP_SESSION_ID_OFFSET, sessionId, true);
  view.setInt32(frameOffset + SETUP_STREAM_ID_OFFSET, streamId, true);
  view.setInt32(frameOffset + SETUP_INITIAL_TERM_ID_OFFSET, initialTermId, true);
  view.setInt32(frameOffset + SETUP_ACTIVE_TERM_ID_OFFSET, activeTermId, true);
  view.setInt32(frameOffset + SETUP_TERM_LENGTH_OFFSET, termLength, true);
  view.setInt32(frameOffset + SETUP_MTU_OFFSET, mtu, true);
  view.setInt32(frameOffset + SETUP_TTL_OFFSET, ttl, true);
}

export class SetupFrameFlyweight extends FrameFlyweight {
  termOffset(): number {
    return this.viewValue.getInt32(this.offsetValue + SETUP_TERM_OFFSET_OFFSET, true);
  }
  setTermOffset(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SETUP_TERM_OFFSET_OFFSET, value, true);
    return this;
  }
  sessionId(): number {
    return this.viewValue.getInt32(this.offsetValue + SETUP_SESSION_ID_OFFSET, true);
  }
  setSessionId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SETUP_SESSION_ID_OFFSET, value, true);
    return this;
  }
  streamId(): number {
    return this.viewValue.getInt32(this.offsetValue + SETUP_STREAM_ID_OFFSET, true);
  }
  setStreamId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SETUP_STREAM_ID_OFFSET, value, true);
    return this;
  }
  initialTermId(): number {
    return this.viewValue.getInt32(this.offsetValue + SETUP_INITIAL_TERM_ID_OFFSET, true);
  }
  setInitialTermId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SETUP_INITIAL_TERM_ID_OFFSET, value, true);
    return this;
  }
  activeTermId(): number {
    return this.viewValue.getInt32(this.offsetValue + SETUP_ACTIVE_TERM_ID_OFFSET, true);
  }
  setActiveTermId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SETUP_ACTIVE_TERM_ID_OFFSET, value, true);
    return this;
  }
  termLength(): number {
    return this.viewValue.getInt32(this.offsetValue + SETUP_TERM_LENGTH_OFFSET, true);
  }
  setTermLength(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SETUP_TERM_LENGTH_OFFSET, value, true);
    return this;
  }
  mtu(): number {
    return this.viewValue.getInt32(this.offsetValue + SETUP_MTU_OFFSET, true);
  }
  setMtu(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SETUP_MTU_OFFSET, value, true);
    return this;
  }
  ttl(): number {
    return this.viewValue.getInt32(this.offsetValue + SETUP_TTL_OFFSET, true);
  }
  setTtl(value: number): this {
    this.viewValue.setInt32(this.offsetValue + SETUP_TTL_OFFSET, value, true);
    return this;
  }
}
