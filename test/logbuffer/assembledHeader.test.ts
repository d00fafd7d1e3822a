// Goal: a reassembled message's header is built as Aeron's BufferBuilder.completeHeader builds it
// (issue #12, item 10): from the FIRST fragment (its term offset, term id, session, stream), with
// the frame length of header + whole message, BEGIN|END flags, and a position after the last
// fragment, for any message length and mtu. Before, the delegate got the last fragment's header.
import { expect } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { BEGIN_FLAG, END_FLAG } from "../../src/core/protocol/dataHeader.js";
import { LogBuffers } from "../../src/core/logbuffer/logBuffers.js";
import { DataHeaderTemplate, TermAppender } from "../../src/core/logbuffer/termAppender.js";
import { TermReader } from "../../src/core/logbuffer/termReader.js";
import { FragmentAssembler } from "../../src/core/logbuffer/fragmentAssembler.js";
import type { FragmentHeader } from "../../src/core/logbuffer/fragmentHeader.js";
import { messageBytes } from "./support.js";

const TERM = 64 * 1024;
const INITIAL_TERM_ID = 7;

interface Seen {
  length: number;
  frameLength: number;
  flags: number;
  termOffset: number;
  termId: number;
  sessionId: number;
  streamId: number;
  position: number;
}

test.prop([fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 })])(
  "the complete header is the first fragment's, with the whole length, B|E flags and the position after the last fragment",
  (mtuUnits, lengths) => {
    const mtu = 64 + 64 * mtuUnits;
    const term = LogBuffers.allocate(TERM).term(0);
    const appender = new TermAppender(new DataHeaderTemplate(5, 6, INITIAL_TERM_ID), mtu);
    const starts: number[] = [];
    let offset = 0;
    for (let i = 0; i < lengths.length; i++) {
      starts.push(offset);
      const message = messageBytes(9, i, lengths[i]!);
      offset = appender.appendFragmented(term, offset, message, 0, message.length);
    }
    starts.push(offset);
    const seen: Seen[] = [];
    const assembler = new FragmentAssembler({
      onFragment(_buffer: Uint8Array, _offset: number, length: number, header: FragmentHeader): void {
        seen.push({ length, frameLength: header.frameLength, flags: header.flags, termOffset: header.termOffset, termId: header.termId,
          sessionId: header.sessionId, streamId: header.streamId, position: header.position });
      },
    }, 64);
    new TermReader(INITIAL_TERM_ID, 16, term).read(term, 0, 100_000, assembler);
    expect(seen.length).toBe(lengths.length);
    for (let i = 0; i < lengths.length; i++) {
      const s = seen[i]!;
      expect(s.length).toBe(lengths[i]);
      expect(s.termOffset).toBe(starts[i]);
      expect(s.termId).toBe(INITIAL_TERM_ID);
      expect(s.sessionId).toBe(5);
      expect(s.streamId).toBe(6);
      expect(s.frameLength).toBe(32 + lengths[i]!);
      expect(s.flags & (BEGIN_FLAG | END_FLAG)).toBe(BEGIN_FLAG | END_FLAG);
      expect(s.position).toBe(starts[i + 1]);
    }
  },
);
