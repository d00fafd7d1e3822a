// Results that carry two values are packed into one number, so that no hot-path call allocates a
// result object. A JS number holds 53 exact bits; two term offsets or lengths (each up to 2^30)
// would need 62. They are multiples of the 32-byte frame alignment, though, so the low part is
// stored divided by 32 (26 bits, up to 2^25 · 32 = 1 GiB) and the high part gets the other 27:
//
//   packed = high · 2^26 + aligned / 32        0 <= high < 2^27, aligned a multiple of 32 <= 2^30
//
// Every packed value is a non-negative integer below 2^53, so negative numbers stay free for
// error codes.
import { FRAME_ALIGNMENT } from "../protocol/frameHeader.js";

const LOW_BITS = 26;
const LOW_SCALE = 2 ** LOW_BITS;
const LOW_MASK = LOW_SCALE - 1;
/** Largest value the high part of a packed result can hold. */
export const PACK_HIGH_MAX = 2 ** 27 - 1;

/** Packs a small count and a 32-aligned offset or length. */
export function packAligned(high: number, aligned: number): number {
  return high * LOW_SCALE + (aligned >>> 5);
}

/** The 32-aligned low part of a packed result. */
export function unpackAligned(packed: number): number {
  return (packed & LOW_MASK) * FRAME_ALIGNMENT;
}

/** The high part of a packed result. */
export function unpackHigh(packed: number): number {
  return Math.floor(packed / LOW_SCALE);
}
