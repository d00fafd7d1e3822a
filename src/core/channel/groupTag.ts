// Group tags are signed 64-bit integers (SM field groupTag, the `gtag` and `fc=tagged,g:` values).
// They are kept as canonical decimal strings so that no BigInt reaches a hot path; a writer that
// puts one on the wire takes the {lo, hi} i32 pair once, when the stream is created.
// Parsing is cold, so BigInt is used here for exact range checks.

import { parsed, rejected, type ParseResult } from "../config/parseResult.js";

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^-?[0-9]+$/;

/** Parses a decimal i64 into its canonical string form (no '+', no leading zeros, no '-0'). */
export function parseGroupTag(text: string): ParseResult<string> {
  if (!DECIMAL.test(text)) {
    return rejected("must be a signed 64-bit decimal integer (e.g. 42 or -7)");
  }
  const value = BigInt(text);
  if (value < I64_MIN || value > I64_MAX) {
    return rejected("is outside the signed 64-bit range -9223372036854775808 .. 9223372036854775807");
  }
  return parsed(value.toString());
}

/** The little-endian halves of a canonical group tag, each as a signed 32-bit integer. */
export interface Int64Pair {
  readonly lo: number;
  readonly hi: number;
}

/** Splits a group tag (as returned by parseGroupTag) into the two i32 words that go on the wire. */
export function groupTagToInt32Pair(tag: string): Int64Pair {
  const result = parseGroupTag(tag);
  if (!result.ok) throw new RangeError(`groupTagToInt32Pair: '${tag}' ${result.reason}`);
  const unsigned = BigInt.asUintN(64, BigInt(result.value));
  return {
    lo: Number(BigInt.asIntN(32, unsigned & 0xffff_ffffn)),
    hi: Number(BigInt.asIntN(32, unsigned >> 32n)),
  };
}

/** Joins two i32 words (as read from the wire) into a canonical group tag. */
export function groupTagFromInt32Pair(lo: number, hi: number): string {
  const value = (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);
  return BigInt.asIntN(64, value).toString();
}
