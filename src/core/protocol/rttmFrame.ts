// RTTM, RTT measurement (PROTOCOL.md section 3); 40 bytes. The two timestamps are quantities
// (nanoseconds): as numbers they read exactly for safe integers and as NaN otherwise (never
// rounded); the engine carries them as two i32 halves (rttmEchoLo/Hi, rttmDeltaLo/Hi) from the
// request to the reply and writes replies with writeRttmHalves, which never throws: a peer whose
// clock is past 2^53 ns (104 days of CLOCK_MONOTONIC) or an attacker gets its bits back (issue #11,
// attack 1). receiverId is a 64-bit identity kept as i32 halves (see int64.ts for the reasoning).
//
// The 0x80 flag, which Aeron names REPLY, is set by the side that STARTS a measurement: in
// test/fixtures/aeron-unicast-cubic-rttm.pcap the receiver sends an RTTM with 0x80 and its own
// timestamp, and the sender answers with flags 0, the same echo timestamp, reception delta 0 and
// the receiver's id (Aeron's C driver: a publication answers an RTTM only when 0x80 is set, with
// flags 0; the receiver answers one arriving with 0x80 and treats one without it as the answer).
// PROTOCOL.md section 3 describes the opposite; the capture wins (test/protocol/CAPTURE_NOTES.md).
import { FrameFlyweight, writeFrameHeader } from "./frameFlyweight.js";
import { FLAGS_OFFSET, HDR_TYPE_RTTM } from "./frameHeader.js";
import { i64EqualsHalves, readI64, readI64Hi, readI64Lo, writeI64, writeI64Halves } from "./int64.js";

export const RTTM_SESSION_ID_OFFSET = 8;
export const RTTM_STREAM_ID_OFFSET = 12;
export const RTTM_ECHO_TIMESTAMP_OFFSET = 16;
export const RTTM_RECEPTION_DELTA_OFFSET = 24;
export const RTTM_RECEIVER_ID_OFFSET = 32;
/** Length of an RTTM frame. */
export const RTTM_LENGTH = 40;

/** Flag (Aeron's REPLY): set on the measurement that asks to be answered; clear on the answer. */
export const RTTM_REPLY_FLAG = 0x80;

export function rttmSessionId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + RTTM_SESSION_ID_OFFSET, true);
}
export function rttmStreamId(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + RTTM_STREAM_ID_OFFSET, true);
}
export function rttmEchoTimestampNs(view: DataView, frameOffset: number): number {
  return readI64(view, frameOffset + RTTM_ECHO_TIMESTAMP_OFFSET);
}
export function rttmReceptionDeltaNs(view: DataView, frameOffset: number): number {
  return readI64(view, frameOffset + RTTM_RECEPTION_DELTA_OFFSET);
}
/** Lower 32 bits of the echo timestamp (i32). */
export function rttmEchoLo(view: DataView, frameOffset: number): number {
  return readI64Lo(view, frameOffset + RTTM_ECHO_TIMESTAMP_OFFSET);
}
/** Upper 32 bits of the echo timestamp (i32). */
export function rttmEchoHi(view: DataView, frameOffset: number): number {
  return readI64Hi(view, frameOffset + RTTM_ECHO_TIMESTAMP_OFFSET);
}
/** Lower 32 bits of the reception delta (i32). */
export function rttmDeltaLo(view: DataView, frameOffset: number): number {
  return readI64Lo(view, frameOffset + RTTM_RECEPTION_DELTA_OFFSET);
}
/** Upper 32 bits of the reception delta (i32). */
export function rttmDeltaHi(view: DataView, frameOffset: number): number {
  return readI64Hi(view, frameOffset + RTTM_RECEPTION_DELTA_OFFSET);
}
export function rttmReceiverIdLo(view: DataView, frameOffset: number): number {
  return readI64Lo(view, frameOffset + RTTM_RECEIVER_ID_OFFSET);
}
export function rttmReceiverIdHi(view: DataView, frameOffset: number): number {
  return readI64Hi(view, frameOffset + RTTM_RECEIVER_ID_OFFSET);
}
/** True when the RTTM asks its peer to answer (the 0x80 flag; see the note at the top). */
export function rttmAsksForReply(view: DataView, frameOffset: number): boolean {
  return (view.getUint8(frameOffset + FLAGS_OFFSET) & RTTM_REPLY_FLAG) !== 0;
}

/**
 * Writes a complete RTTM (40 bytes), every field. The timestamps must be safe integers (asserted:
 * for tests and application-supplied values only); a frame whose wire timestamps are not, or any
 * frame derived from the network, is written with writeRttmHalves.
 */
export function writeRttm(
  view: DataView,
  frameOffset: number,
  flags: number,
  sessionId: number,
  streamId: number,
  echoTimestampNs: number,
  receptionDeltaNs: number,
  receiverIdLo: number,
  receiverIdHi: number,
): void {
  writeFrameHeader(view, frameOffset, RTTM_LENGTH, flags, HDR_TYPE_RTTM);
  view.setInt32(frameOffset + RTTM_SESSION_ID_OFFSET, sessionId, true);
  view.setInt32(frameOffset + RTTM_STREAM_ID_OFFSET, streamId, true);
  writeI64(view, frameOffset + RTTM_ECHO_TIMESTAMP_OFFSET, echoTimestampNs);
  writeI64(view, frameOffset + RTTM_RECEPTION_DELTA_OFFSET, receptionDeltaNs);
  writeI64Halves(view, frameOffset + RTTM_RECEIVER_ID_OFFSET, receiverIdLo, receiverIdHi);
}

/**
 * Writes a complete RTTM (40 bytes) with both 64-bit fields given as (lo, hi) i32 halves, written
 * bit for bit. Never throws (for an offset with 40 bytes of room): the writer the engine uses for
 * anything derived from the network.
 */
export function writeRttmHalves(
  view: DataView,
  frameOffset: number,
  flags: number,
  sessionId: number,
  streamId: number,
  echoLo: number,
  echoHi: number,
  deltaLo: number,
  deltaHi: number,
  receiverIdLo: number,
  receiverIdHi: number,
): void {
  writeFrameHeader(view, frameOffset, RTTM_LENGTH, flags, HDR_TYPE_RTTM);
  view.setInt32(frameOffset + RTTM_SESSION_ID_OFFSET, sessionId, true);
  view.setInt32(frameOffset + RTTM_STREAM_ID_OFFSET, streamId, true);
  writeI64Halves(view, frameOffset + RTTM_ECHO_TIMESTAMP_OFFSET, echoLo, echoHi);
  writeI64Halves(view, frameOffset + RTTM_RECEPTION_DELTA_OFFSET, deltaLo, deltaHi);
  writeI64Halves(view, frameOffset + RTTM_RECEIVER_ID_OFFSET, receiverIdLo, receiverIdHi);
}

export class RttmFlyweight extends FrameFlyweight {
  sessionId(): number {
    return this.viewValue.getInt32(this.offsetValue + RTTM_SESSION_ID_OFFSET, true);
  }
  setSessionId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + RTTM_SESSION_ID_OFFSET, value, true);
    return this;
  }
  streamId(): number {
    return this.viewValue.getInt32(this.offsetValue + RTTM_STREAM_ID_OFFSET, true);
  }
  setStreamId(value: number): this {
    this.viewValue.setInt32(this.offsetValue + RTTM_STREAM_ID_OFFSET, value, true);
    return this;
  }
  echoTimestampNs(): number {
    return readI64(this.viewValue, this.offsetValue + RTTM_ECHO_TIMESTAMP_OFFSET);
  }
  setEchoTimestampNs(value: number): this {
    writeI64(this.viewValue, this.offsetValue + RTTM_ECHO_TIMESTAMP_OFFSET, value);
    return this;
  }
  receptionDeltaNs(): number {
    return readI64(this.viewValue, this.offsetValue + RTTM_RECEPTION_DELTA_OFFSET);
  }
  setReceptionDeltaNs(value: number): this {
    writeI64(this.viewValue, this.offsetValue + RTTM_RECEPTION_DELTA_OFFSET, value);
    return this;
  }
  receiverIdLo(): number {
    return readI64Lo(this.viewValue, this.offsetValue + RTTM_RECEIVER_ID_OFFSET);
  }
  receiverIdHi(): number {
    return readI64Hi(this.viewValue, this.offsetValue + RTTM_RECEIVER_ID_OFFSET);
  }
  setReceiverId(lo: number, hi: number): this {
    writeI64Halves(this.viewValue, this.offsetValue + RTTM_RECEIVER_ID_OFFSET, lo, hi);
    return this;
  }
  receiverIdEquals(lo: number, hi: number): boolean {
    return i64EqualsHalves(this.viewValue, this.offsetValue + RTTM_RECEIVER_ID_OFFSET, lo, hi);
  }
  /** True when the RTTM asks its peer to answer (the 0x80 flag). */
  asksForReply(): boolean {
    return (this.flags() & RTTM_REPLY_FLAG) !== 0;
  }
}
