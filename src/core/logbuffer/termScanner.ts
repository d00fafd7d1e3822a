// Scans a publication's term for what the sender may send next (Aeron's TermScanner): committed
// frames from `termOffset`, whole frames only, at most `maxLength` bytes (the MTU, or less when
// the sender limit is closer). A PAD frame ends the scan: only its 32-byte header is sent (the
// receiver learns the rest of the term is padding from its length word) and the bytes it covers
// are reported as padding, which the sender skips without sending. Like Aeron, the PAD header may
// ride at the end of a datagram after data frames.
//
// The result packs (padding, available) into one number; read it with `scanAvailable(result)`
// and `scanPadding(result)`. The sender sends `available` bytes from termOffset and advances its
// position by available + padding.
import { DATA_HEADER_LENGTH } from "../protocol/dataHeader.js";
import { FRAME_ALIGNMENT, HDR_TYPE_PAD, TYPE_OFFSET, align } from "../protocol/frameHeader.js";
import { frameLengthVolatile, type TermBuffer } from "./logBuffers.js";
import { packAligned, unpackAligned, unpackHigh } from "./packing.js";

/** Bytes to send, from a packed scan result (a multiple of 32). */
export function scanAvailable(result: number): number {
  return unpackAligned(result);
}

/** Bytes of padding to skip after the sent bytes, from a packed scan result (a multiple of 32). */
export function scanPadding(result: number): number {
  return unpackHigh(result) * FRAME_ALIGNMENT;
}

/** Scans `term` from `termOffset` for up to `maxLength` bytes of whole committed frames. */
export function scanForAvailability(term: TermBuffer, termOffset: number, maxLength: number): number {
  const view = term.view;
  const limit = Math.min(maxLength, term.length - termOffset);
  let available = 0;
  let padding = 0;
  // Bounded: each pass adds at least 32 bytes to `available`, which stops at `limit`.
  while (padding === 0 && available < limit) {
    const frameOffset = termOffset + available;
    const frameLength = frameLengthVolatile(term, frameOffset);
    if (frameLength <= 0) break;
    let alignedLength = align(frameLength, FRAME_ALIGNMENT);
    if (view.getUint16(frameOffset + TYPE_OFFSET, true) === HDR_TYPE_PAD) {
      padding = alignedLength - DATA_HEADER_LENGTH;
      alignedLength = DATA_HEADER_LENGTH;
    }
    available += alignedLength;
    if (available > limit) {
      available -= alignedLength;
      padding = 0;
      break;
    }
  }
  return packAligned(padding / FRAME_ALIGNMENT, available);
}
