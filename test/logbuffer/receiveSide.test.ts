// Goal: each receive-side piece does exactly its one job on hand-built terms. The reader honours
// the fragment limit, skips padding, stops at an uncommitted frame and at the term end. The
// rebuilder is idempotent (a filled slot is never overwritten) and stores the length last. The
// scanner never splits a frame, respects the MTU and sends a PAD frame's header alone at the end.
// The gap scanner reports exactly the first gap and no other. The assembler rebuilds fragmented
// messages in a buffer that grows only when needed and passes whole messages through uncopied.
import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { frameLength, HDR_TYPE_PAD } from "../../src/core/protocol/frameHeader.js";
import { BEGIN_FLAG, END_FLAG, UNFRAGMENTED } from "../../src/core/protocol/dataHeader.js";
import { LogBuffers, TermBuffer, frameLengthVolatile } from "../../src/core/logbuffer/logBuffers.js";
import { LogBufferConfigError } from "../../src/core/logbuffer/logBufferDescriptor.js";
import { DataHeaderTemplate, TermAppender, TRIPPED } from "../../src/core/logbuffer/termAppender.js";
import { fragmentsRead, readOffset, TermReader, type FragmentHandler } from "../../src/core/logbuffer/termReader.js";
import { TermRebuilder } from "../../src/core/logbuffer/termRebuilder.js";
import { scanAvailable, scanForAvailability, scanPadding } from "../../src/core/logbuffer/termScanner.js";
import { scanCommitted, scanForGap, type GapHandler } from "../../src/core/logbuffer/termGapScanner.js";
import { FragmentAssembler } from "../../src/core/logbuffer/fragmentAssembler.js";
import type { FragmentHeader } from "../../src/core/logbuffer/fragmentHeader.js";
import { messageBytes, Recorder } from "./support.js";

const TERM = 64 * 1024;

/** A term with `count` unfragmented messages of `length` bytes from offset 0; returns the tail. */
function fill(term: TermBuffer, count: number, length: number, mtu = 1408): number {
  const appender = new TermAppender(new DataHeaderTemplate(5, 6, 7), mtu);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const result = appender.appendUnfragmented(term, offset, messageBytes(1, i, length), 0, length);
    expect(result).not.toBe(TRIPPED);
    offset = result;
  }
  return offset;
}

class Gaps implements GapHandler {
  readonly gaps: Array<[number, number, number]> = [];
  onGap(termId: number, termOffset: number, length: number): void {
    this.gaps.push([termId, termOffset, length]);
  }
}

describe("LogBuffers", () => {
  it("lays three terms over a caller's SharedArrayBuffer at an offset", () => {
    const memory = new SharedArrayBuffer(64 + 3 * TERM);
    const log = new LogBuffers(memory, TERM, 64);
    expect(log.terms.map((t) => t.bytes.byteOffset)).toEqual([64, 64 + TERM, 64 + 2 * TERM]);
    expect(log.term(2).words.length).toBe(TERM / 4);
    expect(() => log.term(3)).toThrow(RangeError);
    expect(() => new LogBuffers(memory, TERM, 96)).toThrow(LogBufferConfigError);
    expect(() => new LogBuffers(memory, TERM, 4)).toThrow(/byteOffset = 4/);
    expect(() => new LogBuffers(new ArrayBuffer(10), 1000)).toThrow(LogBufferConfigError);
    expect(LogBuffers.allocate(TERM, true).memory).toBeInstanceOf(SharedArrayBuffer);
  });
});

describe("TermReader", () => {
  it("delivers at most fragmentLimit fragments and resumes where it stopped", () => {
    const log = LogBuffers.allocate(TERM);
    const term = log.term(0);
    const tail = fill(term, 10, 20);
    const reader = new TermReader(7, 16, term);
    const recorder = new Recorder();
    let result = reader.read(term, 0, 3, recorder);
    expect(fragmentsRead(result)).toBe(3);
    expect(readOffset(result)).toBe(3 * 64);
    result = reader.read(term, readOffset(result), 100, recorder);
    expect(fragmentsRead(result)).toBe(7);
    expect(readOffset(result)).toBe(tail);
    expect(recorder.received.map((r) => r.bytes)).toEqual(Array.from({ length: 10 }, (_, i) => messageBytes(1, i, 20)));
    expect(recorder.received[9]!.position).toBe(tail);
    // Nothing more is committed: no progress, no delivery.
    expect(reader.read(term, tail, 100, recorder)).toBe(0 * 2 ** 26 + tail / 32);
    expect(() => reader.read(term, 33, 1, recorder)).toThrow(RangeError);
  });

  it("skips padding without counting it and stops at the term end", () => {
    const log = LogBuffers.allocate(TERM);
    const term = log.term(0);
    const appender = new TermAppender(new DataHeaderTemplate(5, 6, 7), 1408);
    appender.appendUnfragmented(term, TERM - 128, new Uint8Array(1), 0, 1);
    expect(appender.appendUnfragmented(term, TERM - 64, new Uint8Array(100), 0, 100)).toBe(TRIPPED);
    const recorder = new Recorder();
    const result = new TermReader(7, 16, term).read(term, TERM - 128, 10, recorder);
    expect(fragmentsRead(result)).toBe(1);
    expect(readOffset(result)).toBe(TERM);
  });

  it("treats a frame whose length is not yet stored as the end", () => {
    const log = LogBuffers.allocate(TERM);
    const term = log.term(0);
    fill(term, 3, 10);
    Atomics.store(term.words, 64 >> 2, 0);
    const result = new TermReader(7, 16, term).read(term, 0, 10, new Recorder());
    expect(fragmentsRead(result)).toBe(1);
    expect(readOffset(result)).toBe(64);
  });
});

describe("TermRebuilder", () => {
  it("inserts out of order, stores the length last and ignores a filled slot", () => {
    const source = LogBuffers.allocate(TERM).term(0);
    fill(source, 4, 40);
    const target = LogBuffers.allocate(TERM).term(0);
    const rebuilder = new TermRebuilder();
    expect(rebuilder.insert(target, 192, source.bytes, 192, 72)).toBe(true);
    expect(frameLengthVolatile(target, 192)).toBe(72);
    expect(frameLengthVolatile(target, 0)).toBe(0);
    expect(rebuilder.insert(target, 0, source.bytes, 0, 72)).toBe(true);
    expect(target.bytes.subarray(0, 96)).toEqual(source.bytes.subarray(0, 96));
    // A duplicate, even one carrying different bytes, leaves the slot as it was.
    const forged = source.bytes.slice(0, 72);
    forged[40] = 0xff;
    expect(rebuilder.insert(target, 0, forged, 0, 72)).toBe(false);
    expect(target.bytes[40]).toBe(source.bytes[40]);
    expect(() => rebuilder.insert(target, 16, source.bytes, 0, 72)).toThrow(RangeError);
    expect(() => rebuilder.insert(target, TERM - 32, source.bytes, 0, 72)).toThrow(RangeError);
  });

  it("inserts a PAD frame from its header alone", () => {
    const source = LogBuffers.allocate(TERM).term(0);
    const appender = new TermAppender(new DataHeaderTemplate(5, 6, 7), 1408);
    appender.appendUnfragmented(source, TERM - 96, new Uint8Array(100), 0, 100);
    const target = LogBuffers.allocate(TERM).term(0);
    expect(new TermRebuilder().insert(target, TERM - 96, source.bytes, TERM - 96, 32)).toBe(true);
    expect(frameLength(target.view, TERM - 96)).toBe(96);
    expect(scanCommitted(target, TERM - 96, TERM)).toBe(TERM);
  });
});

describe("scanForAvailability", () => {
  it("never splits a frame and respects the MTU", () => {
    const term = LogBuffers.allocate(TERM).term(0);
    fill(term, 10, 100); // 160 bytes per frame
    expect(scanAvailable(scanForAvailability(term, 0, 1408))).toBe(8 * 160);
    expect(scanAvailable(scanForAvailability(term, 0, 159))).toBe(0);
    expect(scanAvailable(scanForAvailability(term, 160, 10_000))).toBe(9 * 160);
    expect(scanPadding(scanForAvailability(term, 0, 10_000))).toBe(0);
    expect(scanForAvailability(term, 1600, 1408)).toBe(0);
  });

  it("sends a PAD frame's header at the end of the batch and reports the rest as padding", () => {
    const term = LogBuffers.allocate(TERM).term(0);
    const appender = new TermAppender(new DataHeaderTemplate(5, 6, 7), 1408);
    appender.appendUnfragmented(term, TERM - 1024, new Uint8Array(100), 0, 100);
    appender.appendUnfragmented(term, TERM - 864, new Uint8Array(1000), 0, 1000);
    let result = scanForAvailability(term, TERM - 1024, 1408);
    expect(scanAvailable(result)).toBe(160 + 32);
    expect(scanPadding(result)).toBe(864 - 32);
    // When the PAD header itself does not fit, neither it nor its padding is taken.
    result = scanForAvailability(term, TERM - 1024, 170);
    expect(scanAvailable(result)).toBe(160);
    expect(scanPadding(result)).toBe(0);
    result = scanForAvailability(term, TERM - 864, 1408);
    expect(scanAvailable(result)).toBe(32);
    expect(scanPadding(result)).toBe(832);
    expect(term.view.getUint16(TERM - 864 + 6, true)).toBe(HDR_TYPE_PAD);
  });
});

describe("scanForGap", () => {
  it("reports exactly the first gap below the limit", () => {
    const source = LogBuffers.allocate(TERM).term(0);
    fill(source, 8, 30); // 64 bytes per frame
    const target = LogBuffers.allocate(TERM).term(0);
    const rebuilder = new TermRebuilder();
    for (const index of [0, 1, 4, 6]) rebuilder.insert(target, index * 64, source.bytes, index * 64, 62);
    const gaps = new Gaps();
    expect(scanForGap(target, 9, 0, 8 * 64, gaps)).toBe(128);
    expect(gaps.gaps).toEqual([[9, 128, 128]]);
    // From inside the filled run after the first gap, the next gap is found.
    expect(scanForGap(target, 9, 256, 8 * 64, gaps)).toBe(320);
    expect(gaps.gaps[1]).toEqual([9, 320, 64]);
    // A gap running to the limit ends at the limit.
    expect(scanForGap(target, 9, 448, 8 * 64, gaps)).toBe(448);
    expect(gaps.gaps[2]).toEqual([9, 448, 64]);
    // No gap below the limit: no report, the offset reached is returned.
    expect(scanForGap(target, 9, 0, 128, gaps)).toBe(128);
    expect(gaps.gaps.length).toBe(3);
  });

  test.prop([fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { maxLength: 64 }), fc.integer({ min: 1, max: 64 })])(
    "matches a model: the first missing frame below the limit starts the gap, the next present one ends it",
    (present, limitFrames) => {
      const source = LogBuffers.allocate(TERM).term(0);
      fill(source, 64, 30);
      const target = LogBuffers.allocate(TERM).term(0);
      const rebuilder = new TermRebuilder();
      for (const index of present) rebuilder.insert(target, index * 64, source.bytes, index * 64, 62);
      const gaps = new Gaps();
      const reached = scanForGap(target, 1, 0, limitFrames * 64, gaps);
      const filled = new Set(present);
      let first = 0;
      while (first < limitFrames && filled.has(first)) first++;
      expect(reached).toBe(first * 64);
      if (first >= limitFrames) {
        expect(gaps.gaps).toEqual([]);
      } else {
        let end = first;
        while (end < limitFrames && !filled.has(end)) end++;
        expect(gaps.gaps).toEqual([[1, first * 64, (end - first) * 64]]);
      }
    },
  );
});

class Whole implements FragmentHandler {
  readonly messages: Uint8Array[] = [];
  readonly buffers: Uint8Array[] = [];
  onFragment(buffer: Uint8Array, offset: number, length: number, _header: FragmentHeader): void {
    this.messages.push(buffer.slice(offset, offset + length));
    this.buffers.push(buffer);
  }
}

describe("FragmentAssembler", () => {
  it("passes unfragmented messages through from the term and reassembles fragmented ones", () => {
    const term = LogBuffers.allocate(TERM).term(0);
    const appender = new TermAppender(new DataHeaderTemplate(5, 6, 7), 128);
    const small = messageBytes(3, 0, 50);
    const large = messageBytes(3, 1, 1000);
    const larger = messageBytes(3, 2, 8000);
    let offset = appender.appendUnfragmented(term, 0, small, 0, small.length);
    offset = appender.appendFragmented(term, offset, large, 0, large.length);
    offset = appender.appendFragmented(term, offset, larger, 0, larger.length);
    offset = appender.appendUnfragmented(term, offset, small, 0, small.length);
    const whole = new Whole();
    const assembler = new FragmentAssembler(whole, 512);
    const result = new TermReader(7, 16, term).read(term, 0, 1000, assembler);
    expect(readOffset(result)).toBe(offset);
    expect(whole.messages).toEqual([small, large, larger, small]);
    expect(whole.buffers[0]).toBe(term.bytes);
    expect(whole.buffers[3]).toBe(term.bytes);
    expect(whole.buffers[1]).not.toBe(term.bytes);
    expect(assembler.assemblyBuffer(5)!.capacity).toBe(8192);
  });

  it("grows the session buffer only for a larger message", () => {
    const term = LogBuffers.allocate(TERM).term(0);
    const appender = new TermAppender(new DataHeaderTemplate(5, 6, 7), 128);
    let offset = 0;
    for (let i = 0; i < 5; i++) offset = appender.appendFragmented(term, offset, messageBytes(4, i, 300), 0, 300);
    const whole = new Whole();
    const assembler = new FragmentAssembler(whole, 256);
    const reader = new TermReader(7, 16, term);
    reader.read(term, 0, 3, assembler);
    const buffer = assembler.assemblyBuffer(5)!.bytes;
    reader.read(term, 3 * 128, 1000, assembler);
    expect(assembler.assemblyBuffer(5)!.bytes).toBe(buffer);
    expect(buffer.length).toBe(512);
    expect(whole.messages).toEqual(Array.from({ length: 5 }, (_, i) => messageBytes(4, i, 300)));
    expect(assembler.freeSessionBuffer(5)).toBe(true);
  });

  it("drops a message whose middle fragment is missing", () => {
    const term = LogBuffers.allocate(TERM).term(0);
    const appender = new TermAppender(new DataHeaderTemplate(5, 6, 7), 128);
    const end1 = appender.appendFragmented(term, 0, messageBytes(5, 0, 250), 0, 250);
    appender.appendUnfragmented(term, end1, messageBytes(5, 1, 10), 0, 10);
    const whole = new Whole();
    const assembler = new FragmentAssembler(whole);
    const reader = new TermReader(7, 16, term);
    // Deliver BEGIN, skip the middle, deliver END, then the next message.
    reader.read(term, 0, 1, assembler);
    reader.read(term, 256, 2, assembler);
    expect(whole.messages).toEqual([messageBytes(5, 1, 10)]);
    expect(term.view.getUint8(0 + 5)).toBe(BEGIN_FLAG);
    expect(term.view.getUint8(256 + 5)).toBe(END_FLAG);
    expect(term.view.getUint8(end1 + 5)).toBe(UNFRAGMENTED);
  });
});
