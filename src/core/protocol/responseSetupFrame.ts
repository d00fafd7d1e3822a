// RSP_SETUP, response setup (PROTOCOL.md section 3); 20 bytes: sessionId, streamId and the
// session id of the response stream.
import { FrameFlyweight, writeFrameHeader } from "./frameFlyweight.js";
import { HDR_TYPE_RSP_SETUP } from "./frameHeader.js";

export const RSP_SETUP_SESSION_ID_OFFSET = 8;
export const RSP_SETUP_STREAM_ID_OFFSET = 12;
export const RSP_SETUP_RESPONSE_SESSION_ID_OFFSET = 16;
/** Length of an RSP_SETUP frame. */
export const RSP_SETUP_LENGTH = 20;

export function rspSetupSessionId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + RSP_SETUP_SESSION_ID_OFFSET, true);
}
export function rspSetupStreamId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + RSP_SETUP_STREAM_ID_OFFSET, true);
}
export function rspSetupResponseSessionId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + RSP_SETUP_RESPONSE_SESSION_ID_OFFSET, true);
}

/** Writes a complete RSP_SETUP (20 bytes), every field. */
export function writeResponseSetup(
  view: DataView,
  frameOffset: number,
  flags: number,
  sessionId: number,
  streamId: number,
  responseSessionId: number,
): void {
  writeFrameHeader(view, frameOffset, RSP_SETUP_LENGTH, flags, HDR_TYPE_RSP_SETUP);
  view.setInt32(frameOffset + RSP_SETUP_SESSION_ID_OFFSET, sessionId, true);
  view.setInt32(frameOffset + RSP_SETUP_STREAM_ID_OFFSET, streamId, true);
  view.setInt32(frameOffset + RSP_SETUP_RESPONSE_SESSION_ID_OFFSET, responseSessionId, true);
}

export class ResponseSetupFlyweight extends FrameFlyweight {
  sessionId(): number {
    return this.viewValue.getInt32(this.offsetValue + RSP_SETUP_SESSION_ID_OFFSET, true);
  }
  setSessionId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + RSP_SETUP_SESSION_ID_OFFSET, value, true);
    return this;
  }
  streamId(): number {
    return this.viewValue.getInt32(this.offsetValue + RSP_SETUP_STREAM_ID_OFFSET, true);
  }
  setStreamId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + RSP_SETUP_STREAM_ID_OFFSET, value, true);
    return this;
  }
  responseSessionId(): number {
    return this.viewValue.getInt32(this.offsetValue + RSP_SETUP_RESPONSE_SESSION_ID_OFFSET, true);
  }
  setResponseSessionId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + RSP_SETUP_RESPONSE_SESSION_ID_OFFSET, value, true);
    return this;
  }
}
