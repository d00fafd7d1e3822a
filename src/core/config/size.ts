// Byte sizes written the way Aeron writes them: a decimal integer with an optional binary suffix,
// k = 1024, m = 1024^2, g = 1024^3, in either case ('64k', '16M', '1g', '131072').
// Cold path only (URIs and configuration); results are exact non-negative safe integers.

import { parsed, rejected, type ParseResult } from "./parseResult.js";

export const KIB = 1024;
export const MIB = 1024 * 1024;
export const GIB = 1024 * 1024 * 1024;

const SIZE_PATTERN = /^([0-9]+)([kKmMgG]?)$/;

/** Parses '64k', '16m', '1g' or a plain byte count into bytes. */
export function parseSizeBytes(text: string): ParseResult<number> {
  const match = SIZE_PATTERN.exec(text);
  if (match === null) {
    return rejected("must be a non-negative integer byte count with an optional k, m or g suffix (e.g. 64k, 16m)");
  }
  const digits = match[1] ?? "";
  const suffix = (match[2] ?? "").toLowerCase();
  const multiplier = suffix === "g" ? GIB : suffix === "m" ? MIB : suffix === "k" ? KIB : 1;
  const count = Number(digits);
  const bytes = count * multiplier;
  // A count beyond 2^53 has already lost digits in Number(); refusing it keeps every size exact.
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(bytes)) {
    return rejected(`is too large: sizes must be at most ${Number.MAX_SAFE_INTEGER} bytes`);
  }
  return parsed(bytes);
}

/** Formats bytes with the largest suffix that keeps it exact (65536 → '64k', 1000 → '1000'). */
export function formatSizeBytes(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`formatSizeBytes: ${bytes} is not a non-negative safe integer`);
  }
  if (bytes === 0) return "0";
  if (bytes % GIB === 0) return `${bytes / GIB}g`;
  if (bytes % MIB === 0) return `${bytes / MIB}m`;
  if (bytes % KIB === 0) return `${bytes / KIB}k`;
  return String(bytes);
}

/** True when `value` is a positive integer power of two (exact for every safe integer). */
export function isPowerOfTwo(value: number): boolean {
  if (!Number.isSafeInteger(value) || value <= 0) return false;
  // Bit tricks stop at 2^31; halving is exact for every safe integer.
  let remaining = value;
  while (remaining % 2 === 0) remaining /= 2;
  return remaining === 1;
}
