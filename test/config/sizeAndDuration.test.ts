// Goal: the size ('64k') and duration ('5s') notations parse exactly as Aeron's do, refuse
// everything else with a reason, and format back to an equal value in the largest exact unit.
import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { formatSizeBytes, isPowerOfTwo, parseSizeBytes } from "../../src/core/config/size.js";
import { formatDurationNs, parseDurationNs } from "../../src/core/config/duration.js";

describe("sizes", () => {
  it("parses plain counts and k/m/g in either case as powers of 1024", () => {
    expect(parseSizeBytes("0")).toEqual({ ok: true, value: 0 });
    expect(parseSizeBytes("1408")).toEqual({ ok: true, value: 1408 });
    expect(parseSizeBytes("64k")).toEqual({ ok: true, value: 65536 });
    expect(parseSizeBytes("64K")).toEqual({ ok: true, value: 65536 });
    expect(parseSizeBytes("16m")).toEqual({ ok: true, value: 16777216 });
    expect(parseSizeBytes("1G")).toEqual({ ok: true, value: 1073741824 });
  });

  it("refuses signs, fractions, spaces, other suffixes and values past 2^53", () => {
    for (const text of ["", "-1", "+1", "1.5k", " 64k", "64k ", "64kb", "64t", "k", "0x10", "9007199254740992", "8388608g"]) {
      expect(parseSizeBytes(text).ok, text).toBe(false);
    }
    expect(parseSizeBytes("9007199254740991").ok).toBe(true);
  });

  it("formats with the largest exact suffix", () => {
    expect(formatSizeBytes(0)).toBe("0");
    expect(formatSizeBytes(1000)).toBe("1000");
    expect(formatSizeBytes(1536)).toBe("1536");
    expect(formatSizeBytes(65536)).toBe("64k");
    expect(formatSizeBytes(3 * 1024 * 1024)).toBe("3m");
    expect(formatSizeBytes(2 ** 30)).toBe("1g");
    expect(() => formatSizeBytes(-1)).toThrow(RangeError);
    expect(() => formatSizeBytes(1.5)).toThrow(RangeError);
  });

  test.prop([fc.maxSafeNat()])("parse(format(n)) === n", (bytes) => {
    expect(parseSizeBytes(formatSizeBytes(bytes))).toEqual({ ok: true, value: bytes });
  });

  it("knows powers of two across the whole safe range", () => {
    expect(isPowerOfTwo(1)).toBe(true);
    expect(isPowerOfTwo(2 ** 52)).toBe(true);
    expect(isPowerOfTwo(2 ** 31)).toBe(true);
    expect(isPowerOfTwo(0)).toBe(false);
    expect(isPowerOfTwo(-2)).toBe(false);
    expect(isPowerOfTwo(3 * 2 ** 20)).toBe(false);
    expect(isPowerOfTwo(0.5)).toBe(false);
  });
});

describe("durations", () => {
  it("parses ns (the default), us, ms and s in any case", () => {
    expect(parseDurationNs("250")).toEqual({ ok: true, value: 250 });
    expect(parseDurationNs("250ns")).toEqual({ ok: true, value: 250 });
    expect(parseDurationNs("100us")).toEqual({ ok: true, value: 100_000 });
    expect(parseDurationNs("100ms")).toEqual({ ok: true, value: 100_000_000 });
    expect(parseDurationNs("5s")).toEqual({ ok: true, value: 5_000_000_000 });
    expect(parseDurationNs("5S")).toEqual({ ok: true, value: 5_000_000_000 });
    expect(parseDurationNs("0ms")).toEqual({ ok: true, value: 0 });
  });

  it("refuses other units, signs, fractions and values past 2^53 ns", () => {
    for (const text of ["", "-1", "1.5s", "5m", "5min", "5 s", "s", "1h", "9007200s"]) {
      const result = parseDurationNs(text);
      expect(result.ok, text).toBe(false);
    }
    expect(parseDurationNs("9007199s").ok).toBe(true);
  });

  it("formats with the largest exact unit", () => {
    expect(formatDurationNs(0)).toBe("0ns");
    expect(formatDurationNs(5_000_000_000)).toBe("5s");
    expect(formatDurationNs(1_500_000_000)).toBe("1500ms");
    expect(formatDurationNs(100_000)).toBe("100us");
    expect(formatDurationNs(1_500)).toBe("1500ns");
    expect(() => formatDurationNs(-1)).toThrow(RangeError);
  });

  test.prop([fc.maxSafeNat()])("parse(format(ns)) === ns", (ns) => {
    expect(parseDurationNs(formatDurationNs(ns))).toEqual({ ok: true, value: ns });
  });
});
