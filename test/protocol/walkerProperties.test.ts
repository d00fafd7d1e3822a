// Goal: the datagram walker is safe on hostile input. Random bytes and mutated real datagrams (bit
// flips, truncation, edited length fields, concatenations) never make it throw or read outside
// the datagram; every rejection increments exactly one reason counter; an accepted datagram's
// frames lie inside it, at 32-byte aligned offsets, in order. Each reason is also pinned by a
// hand-made datagram so a counter cannot silently stop counting.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  DatagramWalker,
  type FrameVisitor,
  HDR_TYPE_PAD,
  MAX_UDP_PAYLOAD_LENGTH,
  REJECT_REASON_COUNT,
  REJECT_REASON_NAMES,
  RejectReason,
  viewOf,
  writeDataHeader,
  writeError,
  writeHeartbeat,
  writeNak,
  writeResolutionEntry,
  writeResolutionHeader,
  writeResponseSetup,
  writeStatusMessage,
  HDR_TYPE_DATA,
  RES_TYPE_NAME_TO_IP4,
  resEntryLength,
} from "../../src/core/protocol/index.js";
import { captureFiles, loadCapture } from "./captureSupport.js";

/** Records what the walker visited, as plain data for comparison. */
class RecordingVisitor implements FrameVisitor {
  frames: Array<[string, number, number]> = [];
  private add(kind: string, frameOffset: number, frameLength: number): void {
    this.frames.push([kind, frameOffset, frameLength]);
  }
  onData(_v: DataView, _b: Uint8Array, o: number, l: number): void {
    this.add("data", o, l);
  }
  onPad(_v: DataView, _b: Uint8Array, o: number, l: number): void {
    this.add("pad", o, l);
  }
  onSetup(_v: DataView, _b: Uint8Array, o: number, l: number): void {
    this.add("setup", o, l);
  }
  onStatus(_v: DataView, _b: Uint8Array, o: number, l: number): void {
    this.add("sm", o, l);
  }
  onNak(_v: DataView, _b: Uint8Array, o: number, l: number): void {
    this.add("nak", o, l);
  }
  onRttm(_v: DataView, _b: Uint8Array, o: number, l: number): void {
    this.add("rttm", o, l);
  }
  onError(_v: DataView, _b: Uint8Array, o: number, l: number): void {
    this.add("err", o, l);
  }
  onResolution(_v: DataView, _b: Uint8Array, o: number, l: number): void {
    this.add("res", o, l);
  }
  onResponseSetup(_v: DataView, _b: Uint8Array, o: number, l: number): void {
    this.add("rsp", o, l);
  }
}

interface Outcome {
  accepted: boolean;
  reason: number;
  frames: Array<[string, number, number]>;
}

/**
 * Walks `datagram` twice: alone in an exact-size array (a read past its end would throw a
 * RangeError from the DataView) and at offset 13 inside a larger array with random guard bytes on
 * both sides (a read outside the datagram would change the outcome). Checks the counter rule and
 * the frame bounds; returns the outcome with offsets relative to the datagram.
 */
function walkChecked(datagram: Uint8Array, guard: number): Outcome {
  const exact = datagram.slice();
  const walker = new DatagramWalker();
  const visitor = new RecordingVisitor();
  const accepted = walker.walk(exact, 0, exact.length, visitor);
  const outcome: Outcome = { accepted, reason: walker.lastRejectReason, frames: visitor.frames };

  const rejections = Array.from(walker.rejections);
  if (accepted) {
    expect(rejections.every((n) => n === 0)).toBe(true);
    expect(walker.datagramsAccepted).toBe(1);
    expect(visitor.frames.length).toBeGreaterThan(0);
    let previousEnd = 0;
    for (const [kind, offset, frameLength] of visitor.frames) {
      expect(offset).toBe(previousEnd);
      expect(offset % 32).toBe(0);
      expect(offset + 8).toBeLessThanOrEqual(exact.length);
      if (kind === "pad" || (kind === "data" && frameLength === 0)) {
        expect(offset + 32).toBeLessThanOrEqual(exact.length);
        previousEnd = Math.min(offset + Math.max(32, (frameLength + 31) & ~31), exact.length);
      } else {
        expect(frameLength).toBeGreaterThanOrEqual(8);
        expect(offset + frameLength).toBeLessThanOrEqual(exact.length);
        previousEnd = Math.min(offset + ((frameLength + 31) & ~31), exact.length);
      }
    }
    expect(previousEnd).toBe(exact.length);
  } else {
    expect(visitor.frames).toEqual([]);
    expect(rejections.reduce((a, b) => a + b, 0)).toBe(1);
    expect(rejections[walker.lastRejectReason]).toBe(1);
    expect(walker.datagramsAccepted).toBe(0);
  }

  const big = new Uint8Array(datagram.length + 13 + 40);
  for (let i = 0; i < big.length; i++) big[i] = (guard + i * 151) & 0xff;
  big.set(datagram, 13);
  const walker2 = new DatagramWalker();
  const visitor2 = new RecordingVisitor();
  const accepted2 = walker2.walk(big, 13, datagram.length, visitor2);
  expect(accepted2).toBe(accepted);
  expect(walker2.lastRejectReason).toBe(outcome.reason);
  expect(visitor2.frames.map(([k, o, l]) => [k, o - 13, l])).toEqual(outcome.frames);
  return outcome;
}

const payloads: Uint8Array[] = captureFiles().flatMap((file) => loadCapture(file).map((d) => d.payload.slice()));
const payloadArbitrary = fc.integer({ min: 0, max: payloads.length - 1 }).map((i) => payloads[i] ?? new Uint8Array(0));

const hostileI32 = fc.oneof(
  fc.constantFrom(-1, 0, 1, 7, 8, 19, 20, 27, 28, 31, 32, 33, 35, 36, 39, 40, 43, 44, 63, 64, 1408, 65504, 65505, 65536, 1 << 30, (1 << 30) + 1, 0x7fffffff, -0x80000000),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
);

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; to: number }
  | { kind: "setI32"; at: number; value: number }
  | { kind: "setByte"; at: number; value: number }
  | { kind: "append"; other: Uint8Array; aligned: boolean };

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(70000), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), to: fc.nat(2000) }),
  // Frame-length fields sit at multiples of 32 in batches; aim there often.
  fc.record({ kind: fc.constant("setI32" as const), at: fc.oneof(fc.nat(64).map((n) => n * 32), fc.nat(2000)), value: hostileI32 }),
  fc.record({ kind: fc.constant("setByte" as const), at: fc.oneof(fc.constantFrom(4, 5, 6, 7), fc.nat(2000)), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("append" as const), other: payloadArbitrary, aligned: fc.boolean() }),
);

function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = input.slice();
  for (const m of mutations) {
    switch (m.kind) {
      case "flip":
        if (bytes.length > 0) bytes[m.at % bytes.length]! ^= 1 << m.bit;
        break;
      case "truncate":
        bytes = bytes.slice(0, Math.min(m.to, bytes.length));
        break;
      case "setI32":
        if (bytes.length >= 4) viewOf(bytes).setInt32(m.at % (bytes.length - 3), m.value, true);
        break;
      case "setByte":
        if (bytes.length > 0) bytes[m.at % bytes.length] = m.value;
        break;
      case "append": {
        const start = m.aligned ? (bytes.length + 31) & ~31 : bytes.length;
        const joined = new Uint8Array(start + m.other.length);
        joined.set(bytes, 0);
        joined.set(m.other, start);
        bytes = joined;
        break;
      }
    }
  }
  return bytes;
}

describe("datagram walker on hostile input", () => {
  test.prop([fc.uint8Array({ maxLength: 2048 }), fc.nat(255)], { numRuns: 2000 })(
    "random bytes: never throws, counts one reason or accepts in-bounds frames",
    (bytes, guard) => {
      walkChecked(bytes, guard);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 256 }).map((b) => { const v = viewOf(b); if (b.length >= 8) { v.setInt8(4, 0); v.setUint16(6, b[6]! % 12, true); } return b; }), fc.nat(255)], { numRuns: 3000 })(
    "random bytes with a plausible header: same guarantees",
    (bytes, guard) => {
      walkChecked(bytes, guard);
    },
  );

  test.prop([payloadArbitrary, fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 }), fc.nat(255)], { numRuns: 3000 })(
    "mutated capture datagrams: same guarantees",
    (payload, mutations, guard) => {
      walkChecked(mutate(payload, mutations), guard);
    },
  );

  test.prop([fc.array(payloadArbitrary, { minLength: 2, maxLength: 6 })], { numRuns: 300 })(
    "data datagrams concatenated at 32-byte alignment are accepted as one batch",
    (parts) => {
      const dataParts = parts.filter((p) => p.length % 32 === 0 && viewOf(p).getUint16(6, true) === HDR_TYPE_DATA);
      fc.pre(dataParts.length >= 2);
      const total = dataParts.reduce((n, p) => n + p.length, 0);
      fc.pre(total <= MAX_UDP_PAYLOAD_LENGTH);
      const joined = new Uint8Array(total);
      let at = 0;
      for (const p of dataParts) {
        joined.set(p, at);
        at += p.length;
      }
      const outcome = walkChecked(joined, 0);
      expect(outcome.accepted).toBe(true);
    },
  );

  it("the mutation generator reaches both verdicts and many reasons (so the properties bite)", () => {
    const samples = fc.sample(fc.tuple(payloadArbitrary, fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 })), { numRuns: 3000, seed: 42 });
    const walker = new DatagramWalker();
    const visitor = new RecordingVisitor();
    for (const [payload, mutations] of samples) {
      const bytes = mutate(payload, mutations);
      walker.walk(bytes, 0, bytes.length, visitor);
    }
    expect(walker.datagramsAccepted).toBeGreaterThan(300);
    expect(walker.rejectedTotal()).toBeGreaterThan(300);
    expect(Array.from(walker.rejections).filter((n) => n > 0).length).toBeGreaterThanOrEqual(7);
  });

  it("keeps one DataView while the same array is walked again", () => {
    const walker = new DatagramWalker();
    const views = new Set<DataView>();
    const visitor = new (class extends RecordingVisitor {
      override onData(v: DataView, b: Uint8Array, o: number, l: number): void {
        views.add(v);
        super.onData(v, b, o, l);
      }
    })();
    const buffer = new Uint8Array(64);
    writeHeartbeat(viewOf(buffer), 0, 0, 1, 2, 3, false);
    writeHeartbeat(viewOf(buffer), 32, 32, 1, 2, 3, false);
    for (let i = 0; i < 10; i++) walker.walk(buffer, 0, 64, visitor);
    expect(views.size).toBe(1);
    walker.walk(buffer.slice(), 0, 64, visitor);
    expect(views.size).toBe(2);
  });
});

describe("each rejection reason, pinned", () => {
  function datagram(length: number, fill: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
    const bytes = new Uint8Array(length);
    fill(viewOf(bytes), bytes);
    return bytes;
  }
  const sm = (v: DataView, at = 0): void => writeStatusMessage(v, at, 0, 1, 2, 3, 0, 65536, 5, 6);
  const data = (v: DataView, at: number, frameLength: number, termOffset = 0): void =>
    writeDataHeader(v, at, frameLength, 0xc0, HDR_TYPE_DATA, termOffset, 1, 2, 3, 0, 0);

  const cases: Array<[string, RejectReason, Uint8Array]> = [
    ["empty datagram", RejectReason.HEADER_TRUNCATED, new Uint8Array(0)],
    ["7 bytes", RejectReason.HEADER_TRUNCATED, new Uint8Array(7)],
    ["5 trailing bytes after a heartbeat", RejectReason.HEADER_TRUNCATED, datagram(37, (v) => writeHeartbeat(v, 0, 0, 1, 2, 3, false))],
    ["65505 bytes", RejectReason.DATAGRAM_TOO_LONG, new Uint8Array(65505)],
    ["version 1", RejectReason.BAD_VERSION, datagram(36, (v) => { sm(v); v.setInt8(4, 1); })],
    ["type 0x0c", RejectReason.UNKNOWN_TYPE, datagram(36, (v) => { sm(v); v.setUint16(6, 0x0c, true); })],
    ["ATS data 0x08", RejectReason.UNSUPPORTED_TYPE, datagram(36, (v) => { sm(v); v.setUint16(6, 0x08, true); })],
    ["ATS setup 0x09", RejectReason.UNSUPPORTED_TYPE, datagram(36, (v) => { sm(v); v.setUint16(6, 0x09, true); })],
    ["ATS SM 0x0a", RejectReason.UNSUPPORTED_TYPE, datagram(36, (v) => { sm(v); v.setUint16(6, 0x0a, true); })],
    ["EXT 0xffff", RejectReason.UNSUPPORTED_TYPE, datagram(36, (v) => { sm(v); v.setUint16(6, 0xffff, true); })],
    ["negative frameLength", RejectReason.NEGATIVE_FRAME_LENGTH, datagram(64, (v) => data(v, 0, -32))],
    ["frameLength 65505", RejectReason.FRAME_LENGTH_TOO_LARGE, datagram(64, (v) => data(v, 0, 65505))],
    ["PAD frameLength 2^30 + 1", RejectReason.FRAME_LENGTH_TOO_LARGE, datagram(32, (v) => { data(v, 0, (1 << 30) + 1); v.setUint16(6, HDR_TYPE_PAD, true); })],
    ["DATA frameLength 16", RejectReason.FRAME_SHORTER_THAN_TYPE, datagram(32, (v) => data(v, 0, 16))],
    ["28-byte legacy SM", RejectReason.FRAME_SHORTER_THAN_TYPE, datagram(36, (v) => { sm(v); v.setInt32(0, 28, true); }).slice(0, 28)],
    ["NAK frameLength 20", RejectReason.FRAME_SHORTER_THAN_TYPE, datagram(28, (v) => { writeNak(v, 0, 0, 1, 2, 3, 0, 64); v.setInt32(0, 20, true); })],
    ["SM cut at 30 bytes", RejectReason.FRAME_PAST_DATAGRAM_END, datagram(30, (_v, b) => { const full = new Uint8Array(36); sm(viewOf(full)); b.set(full.subarray(0, 30)); })],
    ["DATA frameLength past the end", RejectReason.FRAME_PAST_DATAGRAM_END, datagram(64, (v) => data(v, 0, 100))],
    ["heartbeat of 16 bytes", RejectReason.FRAME_PAST_DATAGRAM_END, datagram(16, (v, b) => { const hb = new Uint8Array(32); writeHeartbeat(viewOf(hb), 0, 0, 1, 2, 3, false); b.set(hb.subarray(0, 16)); void v; })],
    ["DATA termOffset 48", RejectReason.MISALIGNED, datagram(64, (v) => data(v, 0, 40, 48))],
    ["DATA termOffset -32", RejectReason.MISALIGNED, datagram(64, (v) => data(v, 0, 40, -32))],
    ["ERR text length 1024", RejectReason.BAD_INNER_LENGTH, datagram(40 + 1024, (v) => { writeError(v, 0, 0, 1, 2, 3, 4, 0, 0, 7, new Uint8Array(1023), 0, 1023); v.setInt32(36, 1024, true); v.setInt32(0, 1064, true); })],
    ["ERR text past frameLength", RejectReason.BAD_INNER_LENGTH, datagram(48, (v) => { writeError(v, 0, 0, 1, 2, 3, 4, 0, 0, 7, new Uint8Array(8), 0, 8); v.setInt32(36, 9, true); })],
    ["RES entry of unknown type", RejectReason.BAD_INNER_LENGTH, datagram(32, (v) => { writeResolutionHeader(v, 0, 32, 0); writeResolutionEntry(v, 8, RES_TYPE_NAME_TO_IP4, 0, 40000, 5, new Uint8Array(4), 0, new Uint8Array(2), 0, 2); v.setInt8(8, 3); })],
  ];

  for (const [name, reason, bytes] of cases) {
    it(`${name} -> ${REJECT_REASON_NAMES[reason]}`, () => {
      const walker = new DatagramWalker();
      expect(walker.walk(bytes, 0, bytes.length, new RecordingVisitor())).toBe(false);
      expect(walker.lastRejectReason).toBe(reason);
      expect(walker.rejections[reason]).toBe(1);
      expect(walker.rejectedTotal()).toBe(1);
    });
  }

  it("bad arguments are counted, not thrown", () => {
    const walker = new DatagramWalker();
    expect(walker.walk(new Uint8Array(32), 16, 32, new RecordingVisitor())).toBe(false);
    expect(walker.walk(new Uint8Array(32), -1, 8, new RecordingVisitor())).toBe(false);
    expect(walker.rejections[RejectReason.BAD_ARGUMENTS]).toBe(2);
  });

  it("every reason has a name and is exercised above", () => {
    expect(REJECT_REASON_NAMES.length).toBe(REJECT_REASON_COUNT);
    const covered = new Set<number>(cases.map(([, reason]) => reason));
    covered.add(RejectReason.BAD_ARGUMENTS);
    expect(covered.size).toBe(REJECT_REASON_COUNT);
  });

  it("rejects a batch whole when only its last frame is bad", () => {
    const bytes = datagram(96, (v) => {
      data(v, 0, 40);
      data(v, 64, 32, 64);
      v.setInt8(64 + 4, 9);
    });
    const walker = new DatagramWalker();
    const visitor = new RecordingVisitor();
    expect(walker.walk(bytes, 0, 96, visitor)).toBe(false);
    expect(visitor.frames).toEqual([]);
    expect(walker.lastRejectReason).toBe(RejectReason.BAD_VERSION);
  });

  it("accepts a header-only PAD whose frameLength covers the rest of the term, as the last frame", () => {
    const bytes = datagram(96, (v) => {
      data(v, 0, 40, 65408);
      writeDataHeader(v, 64, 16 * 1024 * 1024 - 65472, 0xc0, HDR_TYPE_PAD, 65472, 1, 2, 3, 0, 0);
    });
    const walker = new DatagramWalker();
    const visitor = new RecordingVisitor();
    expect(walker.walk(bytes, 0, 64, visitor)).toBe(true);
    expect(walker.walk(bytes, 0, 96, visitor)).toBe(true);
    expect(visitor.frames.at(-1)).toEqual(["pad", 64, 16 * 1024 * 1024 - 65472]);
  });

  it("accepts RSP_SETUP, RES and ERR frames", () => {
    const entry = resEntryLength(RES_TYPE_NAME_TO_IP4, 9);
    const res = datagram(8 + entry, (v) => {
      writeResolutionHeader(v, 0, 8 + entry, 0);
      writeResolutionEntry(v, 8, RES_TYPE_NAME_TO_IP4, 0x80, 40123, 12, Uint8Array.of(10, 0, 0, 7), 0, Buffer.from("host-name"), 0, 9);
    });
    const rsp = datagram(20, (v) => writeResponseSetup(v, 0, 0, 11, 12, 13));
    const err = datagram(45, (v) => writeError(v, 0, 0, 1, 2, 3, 4, 0, 0, 7, Buffer.from("nope!"), 0, 5));
    for (const [bytes, kind] of [[res, "res"], [rsp, "rsp"], [err, "err"]] as const) {
      const visitor = new RecordingVisitor();
      expect(new DatagramWalker().walk(bytes, 0, bytes.length, visitor)).toBe(true);
      expect(visitor.frames).toEqual([[kind, 0, bytes.length]]);
    }
  });
});
