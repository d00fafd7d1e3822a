// Goal: group tags (i64) survive the trip between their canonical decimal form and the two i32
// words that go on the wire, at both ends of the range, without a BigInt leaving this module.
import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { groupTagFromInt32Pair, groupTagToInt32Pair, parseGroupTag } from "../../src/core/channel/groupTag.js";

describe("group tags", () => {
  it("splits known values into little-endian i32 halves", () => {
    expect(groupTagToInt32Pair("0")).toEqual({ lo: 0, hi: 0 });
    expect(groupTagToInt32Pair("-1")).toEqual({ lo: -1, hi: -1 });
    expect(groupTagToInt32Pair("4294967296")).toEqual({ lo: 0, hi: 1 });
    expect(groupTagToInt32Pair("2147483648")).toEqual({ lo: -2147483648, hi: 0 });
    expect(groupTagToInt32Pair("9223372036854775807")).toEqual({ lo: -1, hi: 2147483647 });
    expect(groupTagToInt32Pair("-9223372036854775808")).toEqual({ lo: 0, hi: -2147483648 });
    expect(() => groupTagToInt32Pair("abc")).toThrow(RangeError);
  });

  it("canonicalises the decimal form", () => {
    expect(parseGroupTag("+5").ok).toBe(false);
    expect(parseGroupTag("007")).toEqual({ ok: true, value: "7" });
    expect(parseGroupTag("-0")).toEqual({ ok: true, value: "0" });
  });

  test.prop([fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })])("pair round trip", (value) => {
    const tag = value.toString();
    const { lo, hi } = groupTagToInt32Pair(tag);
    expect(Number.isInteger(lo) && lo >= -(2 ** 31) && lo < 2 ** 31).toBe(true);
    expect(Number.isInteger(hi) && hi >= -(2 ** 31) && hi < 2 ** 31).toBe(true);
    expect(groupTagFromInt32Pair(lo, hi)).toBe(tag);
  });
});
