// Goal: every flyweight reads back exactly what its encoder wrote, for any field values; the
// flyweight's fluent setters and the free encoder produce the same bytes; free accessors agree
// with flyweight getters; wrap() reuses its DataView for the same array; and the 64-bit helpers
// are exact for safe integers and for arbitrary (lo, hi) identities without BigInt.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  DataFrameFlyweight,
  ErrorFrameFlyweight,
  HDR_TYPE_DATA,
  HDR_TYPE_NAK,
  HDR_TYPE_SETUP,
  HDR_TYPE_SM,
  NakFlyweight,
  ResolutionFrameFlyweight,
  ResponseSetupFlyweight,
  RttmFlyweight,
  SetupFrameFlyweight,
  StatusMessageFlyweight,
  RES_TYPE_NAME_TO_IP4,
  RES_TYPE_NAME_TO_IP6,
  copyI64,
  dataReservedValue,
  dataTermId,
  hashI64Halves,
  i64Equals,
  i64FromHalves,
  nakTermOffset,
  readI64,
  readI64Hi,
  readI64Lo,
  resEntryAgeInMs,
  resEntryLength,
  resEntryNameLength,
  resEntryUdpPort,
  rttmEchoTimestampNs,
  setupMtu,
  smGroupTagHi,
  smReceiverIdLo,
  viewOf,
  writeDataHeader,
  writeError,
  writeI64,
  writeI64Halves,
  writeNak,
  writeResolutionEntry,
  writeResolutionHeader,
  writeResponseSetup,
  writeRttm,
  writeSetup,
  writeStatusMessage,
  writeStatusMessageWithGroupTag,
  encodeErrorText,
} from "../../src/core/protocol/index.js";

const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const u8 = fc.integer({ min: 0, max: 255 });
const safe = fc.oneof(fc.maxSafeInteger(), fc.constantFrom(0, -1, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER));

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

describe("flyweights round-trip their encoders", () => {
  test.prop([u8, fc.constantFrom(0, 1), i32, i32, i32, i32, i32, i32, i32])(
    "data header",
    (flags, type, frameLength, termOffset, sessionId, streamId, termId, lo, hi) => {
      const a = new Uint8Array(40);
      writeDataHeader(viewOf(a), 8, frameLength, flags, type, termOffset, sessionId, streamId, termId, lo, hi);
      const f = new DataFrameFlyweight().wrap(a, 8, 32);
      expect([f.frameLength(), f.version(), f.flags(), f.type(), f.termOffset(), f.sessionId(), f.streamId(), f.termId()]).toEqual([
        frameLength, 0, flags, type, termOffset, sessionId, streamId, termId,
      ]);
      expect([f.reservedValueLo(), f.reservedValueHi()]).toEqual([lo, hi]);
      expect(dataTermId(viewOf(a), 8)).toBe(termId);
      const b = new Uint8Array(40);
      new DataFrameFlyweight()
        .wrap(b, 8, 32)
        .setFrameLength(frameLength)
        .setVersion(0)
        .setFlags(flags)
        .setType(type)
        .setTermOffset(termOffset)
        .setSessionId(sessionId)
        .setStreamId(streamId)
        .setTermId(termId)
        .setReservedValueHalves(lo, hi);
      expect(hexOf(b)).toBe(hexOf(a));
    },
  );

  test.prop([safe])("data reservedValue as a safe integer", (value) => {
    const a = new Uint8Array(32);
    const f = new DataFrameFlyweight().wrap(a, 0, 32).setReservedValue(value);
    expect(f.reservedValue()).toBe(value);
    expect(dataReservedValue(viewOf(a), 0)).toBe(value);
  });

  test.prop([u8, i32, i32, i32, i32, i32, i32, i32, i32])("setup", (flags, termOffset, session, stream, initial, active, termLength, mtu, ttl) => {
    const a = new Uint8Array(40);
    writeSetup(viewOf(a), 0, flags, termOffset, session, stream, initial, active, termLength, mtu, ttl);
    const f = new SetupFrameFlyweight().wrap(a, 0, 40);
    expect([f.frameLength(), f.type(), f.flags(), f.termOffset(), f.sessionId(), f.streamId(), f.initialTermId(), f.activeTermId(), f.termLength(), f.mtu(), f.ttl()]).toEqual([
      40, HDR_TYPE_SETUP, flags, termOffset, session, stream, initial, active, termLength, mtu, ttl,
    ]);
    expect(setupMtu(viewOf(a), 0)).toBe(mtu);
    const b = new Uint8Array(40);
    new SetupFrameFlyweight().wrap(b, 0, 40).setFrameLength(40).setType(HDR_TYPE_SETUP).setFlags(flags).setTermOffset(termOffset).setSessionId(session).setStreamId(stream).setInitialTermId(initial).setActiveTermId(active).setTermLength(termLength).setMtu(mtu).setTtl(ttl);
    expect(hexOf(b)).toBe(hexOf(a));
  });

  test.prop([u8, i32, i32, i32, i32, i32, i32, i32, fc.option(fc.tuple(i32, i32), { nil: undefined })])(
    "status message, with and without group tag",
    (flags, session, stream, termId, termOffset, window, idLo, idHi, tag) => {
      const a = new Uint8Array(44);
      if (tag) writeStatusMessageWithGroupTag(viewOf(a), 0, flags, session, stream, termId, termOffset, window, idLo, idHi, tag[0], tag[1]);
      else writeStatusMessage(viewOf(a), 0, flags, session, stream, termId, termOffset, window, idLo, idHi);
      const f = new StatusMessageFlyweight().wrap(a, 0, 44);
      expect([f.frameLength(), f.type(), f.flags(), f.sessionId(), f.streamId(), f.consumptionTermId(), f.consumptionTermOffset(), f.receiverWindow()]).toEqual([
        tag ? 44 : 36, HDR_TYPE_SM, flags, session, stream, termId, termOffset, window,
      ]);
      expect([f.receiverIdLo(), f.receiverIdHi()]).toEqual([idLo, idHi]);
      expect(smReceiverIdLo(viewOf(a), 0)).toBe(idLo);
      expect(f.receiverIdEquals(idLo, idHi)).toBe(true);
      expect(f.receiverIdEquals(idLo ^ 1, idHi)).toBe(false);
      expect(f.hasGroupTag()).toBe(tag !== undefined);
      if (tag) {
        expect([f.groupTagLo(), f.groupTagHi()]).toEqual(tag);
        expect(smGroupTagHi(viewOf(a), 0)).toBe(tag[1]);
        expect(f.groupTagEquals(tag[0], tag[1])).toBe(true);
      }
      const b = new Uint8Array(44);
      const g = new StatusMessageFlyweight().wrap(b, 0, 44).setFrameLength(36).setType(HDR_TYPE_SM).setFlags(flags).setSessionId(session).setStreamId(stream).setConsumptionTermId(termId).setConsumptionTermOffset(termOffset).setReceiverWindow(window).setReceiverId(idLo, idHi);
      if (tag) g.setGroupTag(tag[0], tag[1]);
      expect(hexOf(b)).toBe(hexOf(a));
    },
  );

  test.prop([u8, i32, i32, i32, i32, i32])("nak", (flags, session, stream, termId, termOffset, length) => {
    const a = new Uint8Array(28);
    writeNak(viewOf(a), 0, flags, session, stream, termId, termOffset, length);
    const f = new NakFlyweight().wrap(a, 0, 28);
    expect([f.frameLength(), f.type(), f.flags(), f.sessionId(), f.streamId(), f.termId(), f.termOffset(), f.length()]).toEqual([
      28, HDR_TYPE_NAK, flags, session, stream, termId, termOffset, length,
    ]);
    expect(nakTermOffset(viewOf(a), 0)).toBe(termOffset);
    const b = new Uint8Array(28);
    new NakFlyweight().wrap(b, 0, 28).setFrameLength(28).setType(HDR_TYPE_NAK).setFlags(flags).setSessionId(session).setStreamId(stream).setTermId(termId).setTermOffset(termOffset).setLength(length);
    expect(hexOf(b)).toBe(hexOf(a));
  });

  test.prop([u8, i32, i32, safe, safe, i32, i32])("rttm", (flags, session, stream, echo, delta, idLo, idHi) => {
    const a = new Uint8Array(40);
    writeRttm(viewOf(a), 0, flags, session, stream, echo, delta, idLo, idHi);
    const f = new RttmFlyweight().wrap(a, 0, 40);
    expect([f.frameLength(), f.flags(), f.sessionId(), f.streamId(), f.echoTimestampNs(), f.receptionDeltaNs(), f.receiverIdLo(), f.receiverIdHi()]).toEqual([
      40, flags, session, stream, echo, delta, idLo, idHi,
    ]);
    expect(rttmEchoTimestampNs(viewOf(a), 0)).toBe(echo);
    expect(f.asksForReply()).toBe((flags & 0x80) !== 0);
    const b = new Uint8Array(40);
    new RttmFlyweight().wrap(b, 0, 40).setFrameLength(40).setType(6).setFlags(flags).setSessionId(session).setStreamId(stream).setEchoTimestampNs(echo).setReceptionDeltaNs(delta).setReceiverId(idLo, idHi);
    expect(hexOf(b)).toBe(hexOf(a));
  });

  test.prop([u8, i32, i32, i32, i32, i32, i32, i32, fc.string({ maxLength: 300 })])(
    "error with text",
    (flags, session, stream, idLo, idHi, tagLo, tagHi, code, message) => {
      const text = encodeErrorText(message).subarray(0, 1023);
      const a = new Uint8Array(40 + 1023);
      const length = writeError(viewOf(a), 0, flags, session, stream, idLo, idHi, tagLo, tagHi, code, text, 0, text.length);
      expect(length).toBe(40 + text.length);
      const f = new ErrorFrameFlyweight().wrap(a, 0, length);
      expect([f.frameLength(), f.type(), f.flags(), f.sessionId(), f.streamId(), f.receiverIdLo(), f.receiverIdHi(), f.groupTagLo(), f.groupTagHi(), f.errorCode(), f.errorLength()]).toEqual([
        length, 4, flags, session, stream, idLo, idHi, tagLo, tagHi, code, text.length,
      ]);
      expect(hexOf(a.subarray(f.textOffset(), f.textOffset() + f.errorLength()))).toBe(hexOf(text));
      if (Buffer.from(message).length <= 1023) expect(f.errorText()).toBe(message);
      const b = new Uint8Array(40 + 1023);
      new ErrorFrameFlyweight().wrap(b, 0, b.length).setType(4).setFlags(flags).setSessionId(session).setStreamId(stream).setReceiverId(idLo, idHi).setGroupTag(tagLo, tagHi).setErrorCode(code).setErrorText(text);
      expect(hexOf(b)).toBe(hexOf(a));
    },
  );

  it("refuses an error text over 1023 bytes", () => {
    const a = new Uint8Array(2000);
    expect(() => writeError(viewOf(a), 0, 0, 0, 0, 0, 0, 0, 0, 0, new Uint8Array(1024), 0, 1024)).toThrow(RangeError);
  });

  test.prop([u8, i32, i32, i32])("response setup", (flags, session, stream, response) => {
    const a = new Uint8Array(20);
    writeResponseSetup(viewOf(a), 0, flags, session, stream, response);
    const f = new ResponseSetupFlyweight().wrap(a, 0, 20);
    expect([f.frameLength(), f.type(), f.flags(), f.sessionId(), f.streamId(), f.responseSessionId()]).toEqual([20, 0x0b, flags, session, stream, response]);
    const b = new Uint8Array(20);
    new ResponseSetupFlyweight().wrap(b, 0, 20).setFrameLength(20).setType(0x0b).setFlags(flags).setSessionId(session).setStreamId(stream).setResponseSessionId(response);
    expect(hexOf(b)).toBe(hexOf(a));
  });

  test.prop([
    fc.array(
      fc.record({
        ipv6: fc.boolean(),
        flags: u8,
        port: fc.integer({ min: 0, max: 65535 }),
        age: i32,
        address: fc.uint8Array({ minLength: 16, maxLength: 16 }),
        name: fc.uint8Array({ maxLength: 64 }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  ])("resolution entries", (entries) => {
    const length = 8 + entries.reduce((n, e) => n + resEntryLength(e.ipv6 ? RES_TYPE_NAME_TO_IP6 : RES_TYPE_NAME_TO_IP4, e.name.length), 0);
    const a = new Uint8Array(length);
    const view = viewOf(a);
    writeResolutionHeader(view, 0, length, 0);
    let at = 8;
    for (const e of entries) {
      at += writeResolutionEntry(view, at, e.ipv6 ? RES_TYPE_NAME_TO_IP6 : RES_TYPE_NAME_TO_IP4, e.flags, e.port, e.age, e.address, 0, e.name, 0, e.name.length);
    }
    expect(at).toBe(length);
    const f = new ResolutionFrameFlyweight().wrap(a, 0, length);
    expect(f.entryCount()).toBe(entries.length);
    let entry = f.firstEntryOffset();
    for (const e of entries) {
      expect([resEntryUdpPort(view, entry), resEntryAgeInMs(view, entry), resEntryNameLength(view, entry)]).toEqual([e.port, e.age, e.name.length]);
      entry += resEntryLength(e.ipv6 ? RES_TYPE_NAME_TO_IP6 : RES_TYPE_NAME_TO_IP4, e.name.length);
    }
  });
});

describe("wrap and the 64-bit helpers", () => {
  it("wrap rebuilds its DataView only for a different array, and asserts its window", () => {
    const f = new DataFrameFlyweight();
    const a = new Uint8Array(64);
    const first = f.wrap(a, 0, 32).view();
    expect(f.wrap(a, 32, 32).view()).toBe(first);
    expect(f.wrap(new Uint8Array(64), 0, 32).view()).not.toBe(first);
    expect(() => f.wrap(a, 40, 32)).toThrow(RangeError);
  });

  it("sees a subarray's own bytes (its byteOffset is honoured)", () => {
    const backing = new Uint8Array(96);
    writeDataHeader(viewOf(backing), 32, 0, 0xc0, HDR_TYPE_DATA, 64, 7, 8, 9, 0, 0);
    const f = new DataFrameFlyweight().wrap(backing.subarray(32), 0, 32);
    expect([f.termOffset(), f.sessionId(), f.streamId(), f.termId()]).toEqual([64, 7, 8, 9]);
  });

  test.prop([safe])("writeI64/readI64 are exact for safe integers", (value) => {
    const view = viewOf(new Uint8Array(8));
    writeI64(view, 0, value);
    expect(readI64(view, 0)).toBe(value);
    expect(i64FromHalves(readI64Lo(view, 0), readI64Hi(view, 0))).toBe(value);
    expect(view.getBigInt64(0, true)).toBe(BigInt(value));
  });

  test.prop([i32, i32, i32, i32])("halves compare, copy and hash any 64-bit pattern", (lo, hi, lo2, hi2) => {
    const a = viewOf(new Uint8Array(16));
    writeI64Halves(a, 0, lo, hi);
    writeI64Halves(a, 8, lo2, hi2);
    expect(i64Equals(a, 0, a, 8)).toBe(lo === lo2 && hi === hi2);
    const b = viewOf(new Uint8Array(8));
    copyI64(a, 0, b, 0);
    expect(i64Equals(a, 0, b, 0)).toBe(true);
    expect(hashI64Halves(lo, hi)).toBe(hashI64Halves(readI64Lo(b, 0), readI64Hi(b, 0)));
    expect(Number.isInteger(hashI64Halves(lo, hi))).toBe(true);
  });

  it("refuses to write a number that is not a safe integer", () => {
    expect(() => writeI64(viewOf(new Uint8Array(8)), 0, 2 ** 53)).toThrow(RangeError);
    expect(() => writeI64(viewOf(new Uint8Array(8)), 0, 1.5)).toThrow(RangeError);
  });
});
