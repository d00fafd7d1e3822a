// Reads committed fragments from a term in order (Aeron's TermReader). From a frame-aligned term
// offset it loads each frame's length word (frameLengthVolatile; <= 0 means not yet written, so reading
// stops there), skips PAD frames without counting them, and hands each data fragment to a handler
// object, at most `fragmentLimit` of them per call. It never crosses the term's end.
//
// The result packs (fragmentsRead, newTermOffset) into one number (see packing.ts); read it with
// `fragmentsRead(result)` and `readOffset(result)`.
import { DATA_HEADER_LENGTH } from "../protocol/dataHeader.js";
import { FRAME_ALIGNMENT, HDR_TYPE_PAD, TYPE_OFFSET, align } from "../protocol/frameHeader.js";
import { FragmentHeader } from "./fragmentHeader.js";
import { frameLengthVolatile, type TermBuffer } from "./logBuffers.js";
import { PACK_HIGH_MAX, packAligned, unpackAligned, unpackHigh } from "./packing.js";

/** Receives fragments. Implement it on a long-lived object; the reader calls it monomorphically. */
export interface FragmentHandler {
  /**
   * One fragment: its payload is `buffer[offset, offset + length)`; `header` describes the frame
   * and is only valid during the call.
   */
  onFragment(buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void;
}

/** Largest fragment limit a packed read result can report. */
export const MAX_FRAGMENT_LIMIT = PACK_HIGH_MAX;

/** Fragments delivered, from a packed read result. */
export function fragmentsRead(result: number): number {
  return unpackHigh(result);
}

/** Term offset after the last frame read (or skipped), from a packed read result. */
export function readOffset(result: number): number {
  return unpackAligned(result);
}

export class TermReader {
  /** The header flyweight handed to the handler, repositioned per fragment. */
  readonly header: FragmentHeader;

  constructor(initialTermId: number, positionBitsToShift: number, anyTerm: TermBuffer) {
    this.header = new FragmentHeader(initialTermId, positionBitsToShift, anyTerm);
  }

  /**
   * Reads from `termOffset` (32-aligned) until a frame is not committed, the term ends, or
   * `fragmentLimit` fragments were delivered. Returns packed (fragmentsRead, newTermOffset).
   */
  read(term: TermBuffer, termOffset: number, fragmentLimit: number, handler: FragmentHandler): number {
    if ((termOffset & (FRAME_ALIGNMENT - 1)) !== 0 || termOffset < 0 || termOffset > term.length) {
      throw new RangeError(`term offset ${termOffset} is not a frame-aligned offset within the term`);
    }
    if (fragmentLimit > MAX_FRAGMENT_LIMIT) {
      throw new RangeError(`fragment limit ${fragmentLimit} exceeds ${MAX_FRAGMENT_LIMIT}`);
    }
    const view = term.view;
    const bytes = term.bytes;
    const capacity = term.length;
    const header = this.header;
    header.term = term;
    let offset = termOffset;
    let count = 0;
    // Bounded: each pass advances offset by at least one aligned frame (32 bytes) within the term.
    while (count < fragmentLimit && offset < capacity) {
      const frameLength = frameLengthVolatile(term, offset);
      if (frameLength <= 0) break;
      const frameOffset = offset;
      offset += align(frameLength, FRAME_ALIGNMENT);
      if (view.getUint16(frameOffset + TYPE_OFFSET, true) === HDR_TYPE_PAD) continue;
      count++;
      header.frameOffset = frameOffset;
      handler.onFragment(bytes, frameOffset + DATA_HEADER_LENGTH, frameLength - DATA_HEADER_LENGTH, header);
    }
    return packAligned(count, offset);
  }
}
