// Goal: the pcap reader and writer agree with each other and with real files. A written stream
// reads back record for record (both timestamp units); the reader accepts both byte orders and
// fails with a precise PcapFormatError on truncated or foreign input; the reference captures read
// with their documented record counts, and re-writing one reproduces the file byte for byte.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  GrowableByteSink,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_RAW,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PcapFormatError,
  PcapReader,
  PcapWriter,
} from "../../src/net/pcap.js";
import { createPcapWriter, openPcapFile, writePcapFile } from "../../src/net/pcapFile.js";

const capturesDirectory = join(import.meta.dirname, "..", "fixtures");

interface Rec {
  seconds: number;
  fraction: number;
  packet: Uint8Array;
}

const recordsArbitrary = (nanosecond: boolean): fc.Arbitrary<Rec[]> =>
  fc.array(
    fc.record({
      seconds: fc.integer({ min: 0, max: 0xffffffff }),
      fraction: fc.integer({ min: 0, max: nanosecond ? 999_999_999 : 999_999 }),
      packet: fc.uint8Array({ maxLength: 300 }),
    }),
    { maxLength: 20 },
  );

function readAll(bytes: Uint8Array): Rec[] {
  const reader = new PcapReader(bytes);
  const out: Rec[] = [];
  while (reader.next()) out.push({ seconds: reader.seconds, fraction: reader.fraction, packet: reader.packet().slice() });
  return out;
}

/** Rewrites a little-endian pcap image with every header field byte-swapped (a big-endian file). */
function toBigEndian(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const inView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const outView = new DataView(out.buffer);
  outView.setUint32(0, inView.getUint32(0, true), false);
  outView.setUint16(4, inView.getUint16(4, true), false);
  outView.setUint16(6, inView.getUint16(6, true), false);
  for (const at of [8, 12, 16, 20]) outView.setUint32(at, inView.getUint32(at, true), false);
  let cursor = 24;
  while (cursor < bytes.length) {
    const captured = inView.getUint32(cursor + 8, true);
    for (let i = 0; i < 4; i++) outView.setUint32(cursor + i * 4, inView.getUint32(cursor + i * 4, true), false);
    cursor += 16 + captured;
  }
  return out;
}

describe("pcap", () => {
  for (const nanosecond of [false, true]) {
    test.prop([recordsArbitrary(nanosecond)])(`write then read round-trips (${nanosecond ? "ns" : "us"})`, (records) => {
      const writer = new PcapWriter(new GrowableByteSink(16), { nanosecond, linkType: LINKTYPE_RAW });
      for (const r of records) writer.writeRecord(r.seconds, r.fraction, r.packet);
      const bytes = writer.sink.toUint8Array();
      const reader = new PcapReader(bytes);
      expect(reader.header.nanosecond).toBe(nanosecond);
      expect(reader.header.linkType).toBe(LINKTYPE_RAW);
      expect(reader.header.littleEndian).toBe(true);
      expect(readAll(bytes)).toEqual(records);
      expect(readAll(toBigEndian(bytes))).toEqual(records);
      expect(new PcapReader(toBigEndian(bytes)).header.littleEndian).toBe(false);
    });
  }

  it("writes the documented magic numbers", () => {
    const us = new PcapWriter(new GrowableByteSink()).sink.bytes();
    const ns = new PcapWriter(new GrowableByteSink(), { nanosecond: true }).sink.bytes();
    expect(new DataView(us.buffer, us.byteOffset).getUint32(0, true)).toBe(PCAP_MAGIC_MICROSECONDS);
    expect(new DataView(ns.buffer, ns.byteOffset).getUint32(0, true)).toBe(PCAP_MAGIC_NANOSECONDS);
    expect(Buffer.from(us.subarray(0, 4)).toString("hex")).toBe("d4c3b2a1");
  });

  it("stamps records from a nanosecond clock", () => {
    const writer = new PcapWriter(new GrowableByteSink(), { nanosecond: true, linkType: LINKTYPE_LINUX_SLL });
    writer.writeRecordAtNs(3_000_000_123, Uint8Array.of(1, 2, 3));
    const reader = new PcapReader(writer.sink.bytes());
    expect(reader.next()).toBe(true);
    expect([reader.seconds, reader.nanoseconds]).toEqual([3, 123]);
  });

  it("truncates to the snap length and keeps the original length", () => {
    const writer = new PcapWriter(new GrowableByteSink(), { snapLength: 4 });
    writer.writeRecord(1, 2, Uint8Array.of(1, 2, 3, 4, 5, 6));
    const reader = new PcapReader(writer.sink.bytes());
    reader.next();
    expect([reader.capturedLength, reader.originalLength]).toEqual([4, 6]);
  });

  it("fails precisely on bad input", () => {
    expect(() => new PcapReader(new Uint8Array(10))).toThrow(PcapFormatError);
    expect(() => new PcapReader(Uint8Array.from(Buffer.from("0a0d0d0a" + "00".repeat(20), "hex")))).toThrow(/unknown pcap magic/);
    const writer = new PcapWriter(new GrowableByteSink());
    writer.writeRecord(1, 2, new Uint8Array(10));
    const whole = writer.sink.toUint8Array();
    const cutHeader = new PcapReader(whole.subarray(0, 24 + 10));
    expect(() => cutHeader.next()).toThrow(/truncated record header/);
    const cutBody = new PcapReader(whole.subarray(0, whole.length - 1));
    expect(() => cutBody.next()).toThrow(/runs past the end/);
    const badFraction = whole.slice();
    new DataView(badFraction.buffer).setUint32(28, 1_000_000, true);
    expect(() => new PcapReader(badFraction).next()).toThrow(/fraction/);
  });

  it("reads the reference captures with their documented record counts", () => {
    const expected: Record<string, number> = {
      "aeron-unicast-loss.pcap": 1233,
      "aeron-unicast-cubic-rttm.pcap": 4396,
      "aeron-multicast-loss.pcap": 1220,
    };
    for (const [file, count] of Object.entries(expected)) {
      const reader = openPcapFile(join(capturesDirectory, file));
      expect(reader.header).toMatchObject({ littleEndian: true, nanosecond: false, linkType: LINKTYPE_ETHERNET, versionMajor: 2, versionMinor: 4 });
      let n = 0;
      while (reader.next()) n++;
      expect(n).toBe(count);
    }
  });

  it("re-writes a reference capture byte for byte, through a file", () => {
    const path = join(capturesDirectory, "aeron-unicast-loss.pcap");
    const original = readFileSync(path);
    const reader = openPcapFile(path);
    const writer = createPcapWriter({ linkType: reader.header.linkType, snapLength: reader.header.snapLength });
    while (reader.next()) writer.writeRecord(reader.seconds, reader.fraction, reader.packet());
    const directory = mkdtempSync(join(tmpdir(), "petrel-pcap-"));
    try {
      const out = join(directory, "copy.pcap");
      writePcapFile(out, writer);
      expect(readFileSync(out).equals(original)).toBe(true);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
