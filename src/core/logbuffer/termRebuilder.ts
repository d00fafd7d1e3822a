// Rebuilds a receiver's term from data frames that arrive out of order, duplicated or late
// (Aeron's TermRebuilder). A frame is copied to its term offset with the length-last rule: the
// header words after the length and the payload first, then the length word (frameLengthOrdered).
// A slot whose length word is already set is left alone, so inserting the same frame twice (a
// duplicate datagram, a retransmission) is harmless.
//
// Validating a datagram (type, lengths within the datagram, session, term id, window) is the
// caller's job; the rebuilder asserts only what would corrupt the term.
import { DATA_HEADER_LENGTH } from "../protocol/dataHeader.js";
import { FRAME_ALIGNMENT } from "../protocol/frameHeader.js";
import { ByteCopier } from "./byteCopy.js";
import { frameLengthOrdered, frameLengthVolatile, type TermBuffer } from "./logBuffers.js";

export class TermRebuilder {
  private readonly copier = new ByteCopier();

  /**
   * Inserts the frame found at `packet[packetOffset..]` into `term` at `termOffset`. `length` is how
   * many bytes of the frame the packet carries: the frame length for a data frame, 32 (the header
   * alone) for a PAD frame, whose length word covers the rest of the term. Returns true when the
   * frame was inserted, false when its slot was already filled.
   */
  insert(term: TermBuffer, termOffset: number, packet: Uint8Array, packetOffset: number, length: number): boolean {
    if ((termOffset & (FRAME_ALIGNMENT - 1)) !== 0 || termOffset < 0) {
      throw new RangeError(`term offset ${termOffset} is not frame-aligned`);
    }
    if (length < DATA_HEADER_LENGTH || termOffset + length > term.length || packetOffset + length > packet.length) {
      throw new RangeError(`frame of ${length} bytes at term offset ${termOffset} does not fit the term or the packet`);
    }
    if (frameLengthVolatile(term, termOffset) !== 0) return false;
    const frameLength =
      (packet[packetOffset] as number) |
      ((packet[packetOffset + 1] as number) << 8) |
      ((packet[packetOffset + 2] as number) << 16) |
      ((packet[packetOffset + 3] as number) << 24);
    if (frameLength < DATA_HEADER_LENGTH || termOffset + frameLength > term.length) {
      throw new RangeError(`frame length ${frameLength} at term offset ${termOffset} does not fit the term`);
    }
    // Everything after the length word: the rest of the header and the payload.
    this.copier.copy(term.bytes, term.view, termOffset + 4, packet, packetOffset + 4, length - 4);
    frameLengthOrdered(term, termOffset, frameLength);
    return true;
  }

  /**
   * Inserts back-to-back frames, `runLength` bytes from `packet[packetOffset..]`, at `termOffset`,
   * whose slots the caller found empty (Aeron's TermRebuilder.insert takes a whole packet so): all
   * but the first frame's length word in one copy, then that word, so a reader that sees the first
   * frame sees the rest.
   */
  insertRun(term: TermBuffer, termOffset: number, packet: Uint8Array, packetOffset: number, runLength: number): void {
    if ((termOffset & (FRAME_ALIGNMENT - 1)) !== 0 || termOffset < 0) {
      throw new RangeError(`term offset ${termOffset} is not frame-aligned`);
    }
    if (runLength < DATA_HEADER_LENGTH || termOffset + runLength > term.length || packetOffset + runLength > packet.length) {
      throw new RangeError(`run of ${runLength} bytes at term offset ${termOffset} does not fit the term or the packet`);
    }
    const frameLength =
      (packet[packetOffset] as number) |
      ((packet[packetOffset + 1] as number) << 8) |
      ((packet[packetOffset + 2] as number) << 16) |
      ((packet[packetOffset + 3] as number) << 24);
    if (frameLength < DATA_HEADER_LENGTH || frameLength > runLength) {
      throw new RangeError(`frame length ${frameLength} at term offset ${termOffset} does not fit the run`);
    }
    this.copier.copy(term.bytes, term.view, termOffset + 4, packet, packetOffset + 4, runLength - 4);
    frameLengthOrdered(term, termOffset, frameLength);
  }
}
