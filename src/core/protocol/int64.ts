// 64-bit wire fields without BigInt.
//
// Aeron carries several i64 fields. Petrel splits them into two kinds and treats each its own way:
//
// - Quantities (echoTimestampNs, receptionDeltaNs, and reservedValue when an application stores a
//   count or a time in it) are read as two little-endian 32-bit halves combined into a JS number:
//   `hi * 2^32 + (lo >>> 0)`. The result is exact whenever the value lies in
//   [-(2^53 - 1), 2^53 - 1], which covers nanosecond clocks for 104 days from their origin and
//   every monotonic clock Aeron drivers use in practice. A value outside that range reads as NaN
//   (readI64OrNaN, i64HalvesToSafeNumber): never silently rounded. Code on a path from the network
//   carries such fields as their two halves instead (an RTTM echo goes back bit for bit, issue
//   #11 attack 1) and writes them with writeI64Halves, which cannot throw. Writing a number
//   splits it the same way; a non-safe-integer argument is a programming error, asserted by
//   `writeI64`, which only application-supplied values reach.
// - Identities (receiverId, groupTag) are arbitrary 64-bit patterns (random per receiver), so a
//   number cannot hold them exactly. They are exposed as a pair of i32 halves (lo = bytes 0..3,
//   hi = bytes 4..7, each read with getInt32 little-endian) and compared, copied and hashed as
//   pairs. BigInt stays off the hot path: it allocates on every read.

const TWO_POW_32 = 4294967296;

/** Lower 32 bits of the i64 at `offset`, as an i32 (little-endian). */
export function readI64Lo(view: DataView, offset: number): number {
  return view.getInt32(offset, true);
}

/** Upper 32 bits of the i64 at `offset`, as an i32 (little-endian). */
export function readI64Hi(view: DataView, offset: number): number {
  return view.getInt32(offset + 4, true);
}

/** Smallest and largest `hi` half of a safe integer: safe integers lie in [-2^53 + 1, 2^53 - 1]. */
const SAFE_HI_MIN = -0x200000;
const SAFE_HI_MAX = 0x1fffff;

/**
 * The i64 (lo, hi) halves as a number when the value is a safe integer, else NaN: never rounded.
 * (-2^53 has hi = -2^21 and lo = 0, and is not safe: it is the one value of that hi refused.)
 */
export function i64HalvesToSafeNumber(lo: number, hi: number): number {
  const h = hi | 0;
  if (h < SAFE_HI_MIN || h > SAFE_HI_MAX || (h === SAFE_HI_MIN && (lo | 0) === 0)) return NaN;
  return h * TWO_POW_32 + (lo >>> 0);
}

/** The i64 at `offset` as a number when it is a safe integer, else NaN: never rounded. */
export function readI64OrNaN(view: DataView, offset: number): number {
  return i64HalvesToSafeNumber(view.getInt32(offset, true), view.getInt32(offset + 4, true));
}

/**
 * The i64 at `offset` as a number: exact when the value is a safe integer, NaN otherwise (never
 * silently rounded). The same as readI64OrNaN.
 */
export function readI64(view: DataView, offset: number): number {
  return readI64OrNaN(view, offset);
}

/** The exact i64 value of (lo, hi) as a BigInt. Allocates: cold paths only (logs, tests, tools). */
export function i64HalvesToBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);
}

/** Combines two i32 halves into a number: exact for safe integers, NaN otherwise (i64HalvesToSafeNumber). */
export function i64FromHalves(lo: number, hi: number): number {
  return i64HalvesToSafeNumber(lo, hi);
}

/** Lower 32 bits (as an i32) of a safe integer; with i64HiOf, the halves writeI64Halves takes. */
export function i64LoOf(value: number): number {
  return value | 0;
}

/** Upper 32 bits (as an i32) of a safe integer. */
export function i64HiOf(value: number): number {
  return Math.floor(value / TWO_POW_32) | 0;
}

/** Writes a safe integer as a little-endian i64. */
export function writeI64(view: DataView, offset: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`i64 value ${value} is not a safe integer`);
  const hi = Math.floor(value / TWO_POW_32);
  const lo = value - hi * TWO_POW_32;
  view.setUint32(offset, lo, true);
  view.setInt32(offset + 4, hi, true);
}

/** Writes an i64 from its two 32-bit halves (each taken modulo 2^32), little-endian. */
export function writeI64Halves(view: DataView, offset: number, lo: number, hi: number): void {
  view.setInt32(offset, lo | 0, true);
  view.setInt32(offset + 4, hi | 0, true);
}


/** True when the i64 at (viewA, offsetA) equals the pair (lo, hi). */
export function i64EqualsHalves(view: DataView, offset: number, lo: number, hi: number): boolean {
  return view.getInt32(offset, true) === (lo | 0) && view.getInt32(offset + 4, true) === (hi | 0);
}

/** True when two i64 fields hold the same 64 bits. */
export function i64Equals(viewA: DataView, offsetA: number, viewB: DataView, offsetB: number): boolean {
  return (
    viewA.getInt32(offsetA, true) === viewB.getInt32(offsetB, true) &&
    viewA.getInt32(offsetA + 4, true) === viewB.getInt32(offsetB + 4, true)
  );
}

/** Copies the 64 bits of one i64 field to another. */
export function copyI64(from: DataView, fromOffset: number, to: DataView, toOffset: number): void {
  to.setInt32(toOffset, from.getInt32(fromOffset, true), true);
  to.setInt32(toOffset + 4, from.getInt32(fromOffset + 4, true), true);
}

/**
 * A 32-bit hash of an (lo, hi) pair for open-addressing tables keyed by receiverId or groupTag
 * (flow control tracks receivers by receiverId). Deterministic; not cryptographic.
 */
export function hashI64Halves(lo: number, hi: number): number {
  let h = Math.imul(lo | 0, 0x9e3779b1) ^ (hi | 0);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Hex text of an (lo, hi) pair, most significant digit first, for logs and tests (allocates). */
export function i64HalvesToHex(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
}
