// The datagram walker: checks every frame of a received UDP payload, then hands each frame to a
// visitor. Malformed input is rejected and counted, never thrown.
//
// Layout rule (PROTOCOL.md section 1, checked against the reference captures in test/fixtures): frames start at 32-byte
// aligned offsets from the start of the datagram; a frame occupies align32(frameLength) bytes,
// except that a heartbeat (DATA with frameLength 0) occupies 32 and the last frame may stop short
// of its padding (Aeron pads every data frame in practice: all data datagrams in the captures
// are multiples of 32 bytes, while a lone 36-byte SM is not).
//
// PAD frames: Aeron's sender scans its term and, on meeting a PAD frame, sends only its 32-byte
// header, whose frameLength still says how much of the term it fills (up to the term's end), and
// then stops the batch (the C driver's term scanner breaks after padding). So a PAD frame's
// frameLength may run past the datagram; the walker accepts that, takes the PAD as ending the
// datagram, and requires only its 32-byte header to be present. A PAD whose whole aligned body is
// present occupies that body, like any other frame. The captures hold no PAD frame (no publication
// in them reached a term end), so this rule comes from Aeron's term scanner, not from traffic.
//
// Whole-datagram policy: a datagram is accepted whole or rejected whole. walk() validates every
// frame first and only then visits, so a bad frame late in a batch never leaves state
// half-updated by the good frames before it. A rejection increments exactly one reason counter.
//
// Allocation: none per datagram. The walker keeps one DataView and rebuilds it only when handed a
// different Uint8Array than last time; the visitor is an object, not a closure.
import { DATA_HEADER_LENGTH, DATA_SESSION_ID_OFFSET, DATA_STREAM_ID_OFFSET, DATA_TERM_ID_OFFSET, DATA_TERM_OFFSET_OFFSET } from "./dataHeader.js";
import { ERR_ERROR_LENGTH_OFFSET, ERR_HEADER_LENGTH, ERR_MAX_TEXT_LENGTH } from "./errorFrame.js";
import { viewOf } from "./frameFlyweight.js";
import {
  FRAME_ALIGNMENT,
  FRAME_LENGTH_OFFSET,
  HDR_TYPE_ATS_DATA,
  HDR_TYPE_ATS_SETUP,
  HDR_TYPE_ATS_SM,
  HDR_TYPE_DATA,
  HDR_TYPE_ERR,
  HDR_TYPE_EXT,
  HDR_TYPE_NAK,
  HDR_TYPE_PAD,
  HDR_TYPE_RES,
  HDR_TYPE_RSP_SETUP,
  HDR_TYPE_RTTM,
  HDR_TYPE_SETUP,
  HDR_TYPE_SM,
  HEADER_LENGTH,
  MAX_UDP_PAYLOAD_LENGTH,
  TYPE_OFFSET,
  VERSION_OFFSET,
  CURRENT_VERSION,
  align,
} from "./frameHeader.js";
import { NAK_FRAME_LENGTH } from "./nakFrame.js";
import { resCountEntries } from "./resolutionFrame.js";
import { RSP_SETUP_LENGTH } from "./responseSetupFrame.js";
import { RTTM_LENGTH } from "./rttmFrame.js";
import { SETUP_LENGTH } from "./setupFrame.js";
import { SM_LENGTH } from "./statusMessageFrame.js";

/** Why a datagram was rejected. One counter per reason. */
export const RejectReason = {
  /** Fewer than 8 bytes where a frame header must start (includes an empty datagram). */
  HEADER_TRUNCATED: 0,
  /** The datagram is longer than the largest UDP payload (65504). */
  DATAGRAM_TOO_LONG: 1,
  /** version is not 0. */
  BAD_VERSION: 2,
  /** A frame type Aeron does not define. */
  UNKNOWN_TYPE: 3,
  /** ATS (0x08-0x0A) or EXT (0xFFFF): defined by Aeron, not spoken by Petrel. */
  UNSUPPORTED_TYPE: 4,
  /** frameLength is negative. */
  NEGATIVE_FRAME_LENGTH: 5,
  /** frameLength is larger than any frame of its type can be. */
  FRAME_LENGTH_TOO_LARGE: 6,
  /** frameLength is below the type's fixed length (e.g. a 20-byte SM, a 16-byte DATA). */
  FRAME_SHORTER_THAN_TYPE: 7,
  /** The frame, or its type's fixed part, runs past the end of the datagram. */
  FRAME_PAST_DATAGRAM_END: 8,
  /** A DATA or PAD frame's termOffset is negative or not a multiple of 32. */
  MISALIGNED: 9,
  /** An inner length is inconsistent: ERR text length, RES entries. */
  BAD_INNER_LENGTH: 10,
  /** walk() was given an (offset, length) outside the array: a caller's bug, counted anyway. */
  BAD_ARGUMENTS: 11,
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** Number of reasons; the length of the counter array. */
export const REJECT_REASON_COUNT = 12;

/** Counter names, indexed by reason, for reports and metrics. */
export const REJECT_REASON_NAMES: readonly string[] = [
  "header truncated",
  "datagram too long",
  "bad version",
  "unknown type",
  "unsupported type",
  "negative frame length",
  "frame length too large",
  "frame shorter than type",
  "frame past datagram end",
  "misaligned",
  "bad inner length",
  "bad arguments",
];

/**
 * The largest frameLength a PAD frame may carry: it covers at most the rest of a term, and the
 * largest term is 1 GiB.
 */
export const MAX_PAD_FRAME_LENGTH = 1 << 30;

/** A datagram holds at most this many frames (each takes at least 32 bytes but the last). */
export const MAX_FRAMES_PER_DATAGRAM = MAX_UDP_PAYLOAD_LENGTH / FRAME_ALIGNMENT + 1;

/**
 * Receives the frames of an accepted datagram, in order. `frameLength` is the header's value:
 * 0 for a heartbeat; for a PAD, the length of term it fills, which may exceed the bytes present
 * (only its 32-byte header is guaranteed to be in the datagram).
 */
export interface FrameVisitor {
  onData(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void;
  onPad(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void;
  onSetup(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void;
  onStatus(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void;
  onNak(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void;
  onRttm(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void;
  onError(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void;
  onResolution(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void;
  onResponseSetup(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void;
  /**
   * Optional: `frames` (>= 2) DATA frames in a row that lie back to back both in the datagram and
   * in one term of one session and stream: each has a payload (no heartbeat), every one but the
   * last has a frame length that is a multiple of the frame alignment, and each next frame's term
   * offset is the previous one's plus its length. `runLength` is the bytes from the first frame's
   * start to the last frame's end (its frame length, not aligned). A visitor without it gets
   * onData per frame; one with it must behave exactly as onData called on each frame in turn.
   */
  onDataRun?(view: DataView, bytes: Uint8Array, frameOffset: number, frames: number, runLength: number): void;
}

/** A visitor that ignores every frame; extend it and override what you need. */
export class IgnoringFrameVisitor implements FrameVisitor {
  onData(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {}
  onPad(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {}
  onSetup(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {}
  onStatus(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {}
  onNak(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {}
  onRttm(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {}
  onError(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {}
  onResolution(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {}
  onResponseSetup(_view: DataView, _bytes: Uint8Array, _frameOffset: number, _frameLength: number): void {}
}

/**
 * Minimum frameLength of a type (its fixed part), or -1 for a type Petrel does not accept
 * (-2 for a type Aeron defines but Petrel does not speak). DATA's minimum is its header; the
 * heartbeat's frameLength 0 is handled apart.
 */
export function minimumFrameLength(type: number): number {
  switch (type) {
    case HDR_TYPE_PAD:
    case HDR_TYPE_DATA:
      return DATA_HEADER_LENGTH;
    case HDR_TYPE_NAK:
      return NAK_FRAME_LENGTH;
    case HDR_TYPE_SM:
      return SM_LENGTH;
    case HDR_TYPE_ERR:
      return ERR_HEADER_LENGTH;
    case HDR_TYPE_SETUP:
      return SETUP_LENGTH;
    case HDR_TYPE_RTTM:
      return RTTM_LENGTH;
    case HDR_TYPE_RES:
      return HEADER_LENGTH;
    case HDR_TYPE_RSP_SETUP:
      return RSP_SETUP_LENGTH;
    case HDR_TYPE_ATS_DATA:
    case HDR_TYPE_ATS_SETUP:
    case HDR_TYPE_ATS_SM:
    case HDR_TYPE_EXT:
      return -2;
    default:
      return -1;
  }
}

/**
 * Bytes the frame at `frameOffset` occupies in the datagram, given `remaining` bytes from it to
 * the datagram's end. Only meaningful for a frame that checkFrame accepted.
 */
export function frameExtent(frameLength: number, remaining: number): number {
  const aligned = frameLength === 0 ? DATA_HEADER_LENGTH : align(frameLength, FRAME_ALIGNMENT);
  return aligned < remaining ? aligned : remaining;
}

/**
 * Checks one frame at `frameOffset` with `remaining` bytes to the datagram's end. Returns -1 when
 * the frame is acceptable, else the RejectReason. Reads only inside [frameOffset, +remaining).
 */
export function checkFrame(view: DataView, frameOffset: number, remaining: number): number {
  if (remaining < HEADER_LENGTH) return RejectReason.HEADER_TRUNCATED;
  if (view.getInt8(frameOffset + VERSION_OFFSET) !== CURRENT_VERSION) return RejectReason.BAD_VERSION;
  const type = view.getUint16(frameOffset + TYPE_OFFSET, true);
  const minimum = minimumFrameLength(type);
  if (minimum === -2) return RejectReason.UNSUPPORTED_TYPE;
  if (minimum === -1) return RejectReason.UNKNOWN_TYPE;
  const frameLength = view.getInt32(frameOffset + FRAME_LENGTH_OFFSET, true);
  if (frameLength < 0) return RejectReason.NEGATIVE_FRAME_LENGTH;
  if (type === HDR_TYPE_PAD) {
    if (frameLength > MAX_PAD_FRAME_LENGTH) return RejectReason.FRAME_LENGTH_TOO_LARGE;
    if (frameLength < DATA_HEADER_LENGTH) return RejectReason.FRAME_SHORTER_THAN_TYPE;
    // Only the header needs to be present (see the PAD note at the top of this file).
    if (remaining < DATA_HEADER_LENGTH) return RejectReason.FRAME_PAST_DATAGRAM_END;
    return checkTermOffset(view, frameOffset);
  }
  if (frameLength > MAX_UDP_PAYLOAD_LENGTH) return RejectReason.FRAME_LENGTH_TOO_LARGE;
  if (type === HDR_TYPE_DATA && frameLength === 0) {
    // A heartbeat: a full data header with frameLength 0.
    if (remaining < DATA_HEADER_LENGTH) return RejectReason.FRAME_PAST_DATAGRAM_END;
    return checkTermOffset(view, frameOffset);
  }
  if (frameLength < minimum) return RejectReason.FRAME_SHORTER_THAN_TYPE;
  if (frameLength > remaining) return RejectReason.FRAME_PAST_DATAGRAM_END;
  switch (type) {
    case HDR_TYPE_DATA:
      return checkTermOffset(view, frameOffset);
    case HDR_TYPE_ERR: {
      const errorLength = view.getInt32(frameOffset + ERR_ERROR_LENGTH_OFFSET, true);
      if (errorLength < 0 || errorLength > ERR_MAX_TEXT_LENGTH) return RejectReason.BAD_INNER_LENGTH;
      if (ERR_HEADER_LENGTH + errorLength > frameLength) return RejectReason.BAD_INNER_LENGTH;
      return -1;
    }
    case HDR_TYPE_RES:
      return resCountEntries(view, frameOffset, frameLength) < 0 ? RejectReason.BAD_INNER_LENGTH : -1;
    default:
      return -1;
  }
}

function checkTermOffset(view: DataView, frameOffset: number): number {
  const termOffset = view.getInt32(frameOffset + DATA_TERM_OFFSET_OFFSET, true);
  return termOffset < 0 || (termOffset & (FRAME_ALIGNMENT - 1)) !== 0 ? RejectReason.MISALIGNED : -1;
}

/**
 * Checks a whole datagram of `length` bytes at `start` in `view`. Returns the number of frames
 * (>= 1) when every frame is acceptable, else `-(reason + 1)`: two results in one number, so the
 * check allocates nothing. Never throws for any byte content.
 */
export function checkDatagram(view: DataView, start: number, length: number): number {
  if (length > MAX_UDP_PAYLOAD_LENGTH) return -(RejectReason.DATAGRAM_TOO_LONG + 1);
  if (length < HEADER_LENGTH) return -(RejectReason.HEADER_TRUNCATED + 1);
  const end = start + length;
  let frameOffset = start;
  let frames = 0;
  while (frameOffset < end) {
    if (frames >= MAX_FRAMES_PER_DATAGRAM) throw new Error("datagram walker exceeded its frame bound");
    const remaining = end - frameOffset;
    const reason = checkFrame(view, frameOffset, remaining);
    if (reason >= 0) return -(reason + 1);
    frameOffset += frameExtent(view.getInt32(frameOffset + FRAME_LENGTH_OFFSET, true), remaining);
    frames++;
  }
  return frames;
}

/**
 * How many DATA frames from the one at `frameOffset` (of `frameLength`, `left` frames to the
 * datagram's end, all already checked) form a run for FrameVisitor.onDataRun: 1 when none.
 */
function dataRunFrames(view: DataView, frameOffset: number, frameLength: number, left: number): number {
  if (frameLength === 0 || (frameLength & (FRAME_ALIGNMENT - 1)) !== 0) return 1;
  const sessionId = view.getInt32(frameOffset + DATA_SESSION_ID_OFFSET, true);
  const streamId = view.getInt32(frameOffset + DATA_STREAM_ID_OFFSET, true);
  const termId = view.getInt32(frameOffset + DATA_TERM_ID_OFFSET, true);
  let termOffset = view.getInt32(frameOffset + DATA_TERM_OFFSET_OFFSET, true);
  let length = frameLength;
  let offset = frameOffset;
  let frames = 1;
  while (frames < left) {
    // Frames before the last are aligned, so the next frame starts right after this one's bytes.
    const next = offset + length;
    const nextLength = view.getInt32(next + FRAME_LENGTH_OFFSET, true);
    if (view.getUint16(next + TYPE_OFFSET, true) !== HDR_TYPE_DATA || nextLength === 0 ||
        view.getInt32(next + DATA_TERM_OFFSET_OFFSET, true) !== termOffset + length ||
        view.getInt32(next + DATA_TERM_ID_OFFSET, true) !== termId ||
        view.getInt32(next + DATA_SESSION_ID_OFFSET, true) !== sessionId ||
        view.getInt32(next + DATA_STREAM_ID_OFFSET, true) !== streamId) break;
    frames++;
    termOffset += length;
    offset = next;
    length = nextLength;
    // An unaligned frame can only end a run.
    if ((length & (FRAME_ALIGNMENT - 1)) !== 0) break;
  }
  return frames;
}

/** Walks datagrams into a visitor; owns the rejection counters. */
export class DatagramWalker {
  /** Rejections by reason (index = RejectReason). Float64 so counts stay exact past 2^32. */
  readonly rejections: Float64Array = new Float64Array(REJECT_REASON_COUNT);
  /** Datagrams accepted and visited. */
  datagramsAccepted = 0;
  /** Frames handed to visitors. */
  framesVisited = 0;
  /** The reason of the latest rejection, or -1 when the latest datagram was accepted. */
  lastRejectReason = -1;

  private lastBytes: Uint8Array | null = null;
  private view: DataView = new DataView(new ArrayBuffer(0));

  /** Total datagrams rejected. */
  rejectedTotal(): number {
    let total = 0;
    for (let i = 0; i < REJECT_REASON_COUNT; i++) total += this.rejections[i] ?? 0;
    return total;
  }

  /** Clears the counters. */
  resetCounters(): void {
    this.rejections.fill(0);
    this.datagramsAccepted = 0;
    this.framesVisited = 0;
    this.lastRejectReason = -1;
  }

  /**
   * Validates the datagram `bytes[offset .. offset + length)` and, if every frame is acceptable,
   * visits each frame in order; returns true when accepted. A rejected datagram is counted under
   * one reason and nothing is visited.
   */
  walk(bytes: Uint8Array, offset: number, length: number, visitor: FrameVisitor): boolean {
    if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= bytes.length)) {
      return this.reject(RejectReason.BAD_ARGUMENTS);
    }
    if (bytes !== this.lastBytes) {
      this.lastBytes = bytes;
      this.view = viewOf(bytes);
    }
    const view = this.view;
    const checked = checkDatagram(view, offset, length);
    if (checked < 0) return this.reject(-checked - 1);

    const end = offset + length;
    let frameOffset = offset;
    const runs = checked > 1 && visitor.onDataRun !== undefined;
    for (let i = 0; i < checked; i++) {
      const frameLength = view.getInt32(frameOffset + FRAME_LENGTH_OFFSET, true);
      switch (view.getUint16(frameOffset + TYPE_OFFSET, true)) {
        case HDR_TYPE_DATA: {
          const frames = runs && i + 1 < checked ? dataRunFrames(view, frameOffset, frameLength, checked - i) : 1;
          if (frames > 1) {
            // The run ends at its last frame's end; the loop moves past that frame as usual.
            let last = frameOffset;
            for (let k = 1; k < frames; k++) last += view.getInt32(last + FRAME_LENGTH_OFFSET, true);
            const lastLength = view.getInt32(last + FRAME_LENGTH_OFFSET, true);
            visitor.onDataRun!(view, bytes, frameOffset, frames, last - frameOffset + lastLength);
            i += frames - 1;
            frameOffset = last;
            frameOffset += frameExtent(lastLength, end - frameOffset);
            continue;
          }
          visitor.onData(view, bytes, frameOffset, frameLength);
          break;
        }
        case HDR_TYPE_PAD:
          visitor.onPad(view, bytes, frameOffset, frameLength);
          break;
        case HDR_TYPE_SM:
          visitor.onStatus(view, bytes, frameOffset, frameLength);
          break;
        case HDR_TYPE_NAK:
          visitor.onNak(view, bytes, frameOffset, frameLength);
          break;
        case HDR_TYPE_SETUP:
          visitor.onSetup(view, bytes, frameOffset, frameLength);
          break;
        case HDR_TYPE_RTTM:
          visitor.onRttm(view, bytes, frameOffset, frameLength);
          break;
        case HDR_TYPE_ERR:
          visitor.onError(view, bytes, frameOffset, frameLength);
          break;
        case HDR_TYPE_RES:
          visitor.onResolution(view, bytes, frameOffset, frameLength);
          break;
        case HDR_TYPE_RSP_SETUP:
          visitor.onResponseSetup(view, bytes, frameOffset, frameLength);
          break;
        default:
          // checkDatagram accepted only the types above; reaching here means a visitor wrote into
          // the datagram while it was being walked.
          throw new Error(`frame type changed during the walk at offset ${frameOffset}`);
      }
      frameOffset += frameExtent(frameLength, end - frameOffset);
    }
    this.framesVisited += checked;
    this.datagramsAccepted++;
    this.lastRejectReason = -1;
    return true;
  }

  private reject(reason: number): false {
    this.rejections[reason] = (this.rejections[reason] ?? 0) + 1;
    this.lastRejectReason = reason;
    return false;
  }
}
