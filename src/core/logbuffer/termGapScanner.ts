// Finds loss in a receiver's term (Aeron's TermGapScanner). From the rebuild offset (everything
// below it is filled) it walks committed frames; the first frame not yet filled below the limit
// (the high-water mark, or the term end when the HWM is in a later term) starts a gap, which ends
// where the next filled frame begins (or at the limit). Only the first gap is reported: a receiver
// chases one gap at a time (PROTOCOL.md section 6).
import { FRAME_ALIGNMENT, align } from "../protocol/frameHeader.js";
import { frameLengthVolatile, type TermBuffer } from "./logBuffers.js";

/** Told about the first gap found. */
export interface GapHandler {
  onGap(termId: number, termOffset: number, length: number): void;
}

/**
 * Walks committed frames from `termOffset` while below `limitOffset`; returns the offset reached:
 * the new rebuild offset (the start of the first gap, or >= limitOffset when there is none).
 */
export function scanCommitted(term: TermBuffer, termOffset: number, limitOffset: number): number {
  const end = Math.min(limitOffset, term.length);
  let offset = termOffset;
  // Bounded: each pass advances at least 32 bytes towards `end`.
  while (offset < end) {
    const frameLength = frameLengthVolatile(term, offset);
    if (frameLength <= 0) break;
    offset += align(frameLength, FRAME_ALIGNMENT);
  }
  return offset;
}

/**
 * Scans `term` (holding term `termId`) from the rebuild offset `termOffset` up to `limitOffset`.
 * When a gap lies below the limit, calls `handler.onGap(termId, gapOffset, gapLength)` once.
 * Returns the offset of the gap's start, or the offset reached when there is no gap.
 */
export function scanForGap(term: TermBuffer, termId: number, termOffset: number, limitOffset: number, handler: GapHandler): number {
  const limit = Math.min(limitOffset, term.length);
  const gapBegin = scanCommitted(term, termOffset, limit);
  if (gapBegin < limit) {
    // Frame offsets are 32-aligned and the gap is clean (zero), so the next filled frame is the
    // first aligned slot with a non-zero length word.
    let gapEnd = gapBegin + FRAME_ALIGNMENT;
    while (gapEnd < limit && frameLengthVolatile(term, gapEnd) === 0) gapEnd += FRAME_ALIGNMENT;
    handler.onGap(termId, gapBegin, Math.min(gapEnd, limit) - gapBegin);
  }
  return gapBegin;
}
