// Goal: the term appender writes Aeron's exact bytes (checked against the DATA test vector of
// PROTOCOL.md section 12), fragments long messages with BEGIN/END, pads the term end with one PAD
// frame and reports TRIPPED, and tryClaim/commit/abort follow the length-last rule (abort turns the
// claim into padding that readers skip).
import { describe, expect, it } from "vitest";
import { HDR_TYPE_DATA, HDR_TYPE_PAD, frameFlags, frameLength, frameType } from "../../src/core/protocol/frameHeader.js";
import { BEGIN_FLAG, DATA_TERM_OFFSET_OFFSET, END_FLAG, UNFRAGMENTED } from "../../src/core/protocol/dataHeader.js";
import { LogBuffers } from "../../src/core/logbuffer/logBuffers.js";
import { BufferClaim, DataHeaderTemplate, TermAppender, TRIPPED } from "../../src/core/logbuffer/termAppender.js";
import { TermReader, fragmentsRead, readOffset } from "../../src/core/logbuffer/termReader.js";
import { hex, messageBytes, Recorder } from "./support.js";

const TERM = 64 * 1024;

function setup(mtu = 1408) {
  const log = LogBuffers.allocate(TERM);
  const term = log.term(0);
  const header = new DataHeaderTemplate(0xaa6b137c, 1001, 0xbe3796ff);
  return { log, term, header, appender: new TermAppender(header, mtu) };
}

describe("TermAppender", () => {
  it("writes the DATA test vector byte for byte", () => {
    const { term, appender } = setup();
    const payload = new TextEncoder().encode("Hello World! 1");
    expect(appender.appendUnfragmented(term, 0, payload, 0, payload.length)).toBe(64);
    expect(hex(term.bytes.subarray(0, 46))).toBe(
      "2e 00 00 00 00 c0 01 00 00 00 00 00 7c 13 6b aa e9 03 00 00 ff 96 37 be 00 00 00 00 " +
        "00 00 00 00 48 65 6c 6c 6f 20 57 6f 72 6c 64 21 20 31",
    );
    // The alignment tail stays zero and nothing is written past it.
    expect(term.bytes.subarray(46, 128).every((b) => b === 0)).toBe(true);
  });

  it("writes the reservedValue as a little-endian i64", () => {
    const { term, header, appender } = setup();
    header.setReservedValue(-2);
    appender.appendUnfragmented(term, 0, new Uint8Array(1), 0, 1);
    expect(hex(term.bytes.subarray(24, 32))).toBe("fe ff ff ff ff ff ff ff");
    header.setReservedValue(2 ** 40 + 5);
    expect(header.reservedValue).toBe(2 ** 40 + 5);
    appender.appendUnfragmented(term, 64, new Uint8Array(1), 0, 1);
    expect(hex(term.bytes.subarray(64 + 24, 64 + 32))).toBe("05 00 00 00 00 01 00 00");
  });

  it("copies from an offset inside a larger source, short and long", () => {
    const { term, appender } = setup(8192);
    const src = messageBytes(7, 0, 5000);
    let offset = 0;
    for (const [from, length] of [[3, 17], [1, 1000], [0, 5000], [4, 64], [5, 65]] as const) {
      const next = appender.appendUnfragmented(term, offset, src, from, length);
      expect(term.bytes.subarray(offset + 32, offset + 32 + length)).toEqual(src.subarray(from, from + length));
      offset = next;
    }
  });

  it("splits a long message into MTU-sized fragments, BEGIN first and END last", () => {
    const mtu = 128;
    const { term, appender } = setup(mtu);
    const message = messageBytes(1, 0, 250); // 96 + 96 + 58
    const end = appender.appendFragmented(term, 32 * 10, message, 0, message.length);
    expect(end).toBe(320 + 128 + 128 + 96);
    const offsets = [320, 448, 576];
    expect(offsets.map((o) => frameLength(term.view, o))).toEqual([128, 128, 90]);
    expect(offsets.map((o) => frameFlags(term.view, o))).toEqual([BEGIN_FLAG, 0, END_FLAG]);
    expect(offsets.map((o) => term.view.getInt32(o + DATA_TERM_OFFSET_OFFSET, true))).toEqual(offsets);
    const joined = new Uint8Array([...term.bytes.subarray(352, 448), ...term.bytes.subarray(480, 576), ...term.bytes.subarray(608, 666)]);
    expect(joined).toEqual(message);
  });

  it("fragments an exact multiple of the payload without an empty last fragment", () => {
    const { term, appender } = setup(128);
    const end = appender.appendFragmented(term, 0, messageBytes(2, 0, 192), 0, 192);
    expect(end).toBe(256);
    expect(frameFlags(term.view, 128)).toBe(END_FLAG);
    expect(frameLength(term.view, 256)).toBe(0);
  });

  it("pads the rest of the term and reports TRIPPED when a message does not fit", () => {
    const { term, appender } = setup();
    const tail = TERM - 96;
    expect(appender.appendUnfragmented(term, tail, new Uint8Array(100), 0, 100)).toBe(TRIPPED);
    expect(frameLength(term.view, tail)).toBe(96);
    expect(frameType(term.view, tail)).toBe(HDR_TYPE_PAD);
    expect(frameFlags(term.view, tail)).toBe(UNFRAGMENTED);
    // A message that fits exactly is appended; after it, nothing fits and nothing is padded.
    expect(appender.appendUnfragmented(term, tail + 0, new Uint8Array(10), 0, 10)).toBe(tail + 64);
    expect(appender.appendUnfragmented(term, TERM - 32, new Uint8Array(0), 0, 0)).toBe(TERM);
    expect(appender.appendUnfragmented(term, TERM, new Uint8Array(0), 0, 0)).toBe(TRIPPED);
  });

  it("pads instead of splitting a fragmented message across terms", () => {
    const { term, appender } = setup(128);
    const tail = TERM - 256;
    expect(appender.appendFragmented(term, tail, new Uint8Array(300), 0, 300)).toBe(TRIPPED);
    expect(frameType(term.view, tail)).toBe(HDR_TYPE_PAD);
    expect(frameLength(term.view, tail)).toBe(256);
  });

  it("claims a frame whose length is stored only on commit", () => {
    const { term, appender } = setup();
    const claim = new BufferClaim();
    const reader = new TermReader(0, 16, term);
    const recorder = new Recorder();
    expect(appender.claim(term, 0, 5, claim)).toBe(64);
    expect(claim.isOpen).toBe(true);
    expect(claim.payloadOffset).toBe(32);
    expect(claim.payloadLength).toBe(5);
    claim.bytes.set([1, 2, 3, 4, 5], claim.payloadOffset);
    expect(frameLength(term.view, 0)).toBe(0);
    expect(fragmentsRead(reader.read(term, 0, 10, recorder))).toBe(0);
    claim.putReservedValue(77).commit();
    expect(claim.isOpen).toBe(false);
    expect(frameLength(term.view, 0)).toBe(37);
    expect(frameType(term.view, 0)).toBe(HDR_TYPE_DATA);
    const result = reader.read(term, 0, 10, recorder);
    expect(fragmentsRead(result)).toBe(1);
    expect(readOffset(result)).toBe(64);
    expect(Array.from(recorder.received[0]!.bytes)).toEqual([1, 2, 3, 4, 5]);
    expect(() => claim.commit()).toThrow(/not open/);
  });

  it("turns an aborted claim into padding that readers skip", () => {
    const { term, appender } = setup();
    const claim = new BufferClaim();
    expect(appender.claim(term, 0, 100, claim)).toBe(160);
    expect(() => appender.claim(term, 160, 1, claim)).toThrow(/still open/);
    claim.abort();
    expect(frameType(term.view, 0)).toBe(HDR_TYPE_PAD);
    expect(frameLength(term.view, 0)).toBe(132);
    appender.appendUnfragmented(term, 160, new Uint8Array([9]), 0, 1);
    const recorder = new Recorder();
    const result = new TermReader(0, 16, term).read(term, 0, 10, recorder);
    expect(fragmentsRead(result)).toBe(1);
    expect(readOffset(result)).toBe(224);
    expect(Array.from(recorder.received[0]!.bytes)).toEqual([9]);
  });

  it("pads the term end when a claim does not fit and leaves the claim closed", () => {
    const { term, appender } = setup();
    const claim = new BufferClaim();
    expect(appender.claim(term, TERM - 64, 64, claim)).toBe(TRIPPED);
    expect(claim.isOpen).toBe(false);
    expect(frameType(term.view, TERM - 64)).toBe(HDR_TYPE_PAD);
    expect(frameLength(term.view, TERM - 64)).toBe(64);
  });
});
