// Goal: the position arithmetic of a log (PROTOCOL.md section 4) is exact and wraps like Aeron's
// i32 term ids: position <-> (termId, termOffset) round-trips for initial term ids at and near the
// int32 limits, the partition index stays in 0..2 across the wrap, and bad application input (term
// length, MTU) fails with a LogBufferConfigError that names the parameter.
import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import {
  checkMtuLength,
  checkTermLength,
  computePosition,
  computeTermIdFromPosition,
  computeTermOffsetFromPosition,
  indexByPosition,
  indexByTerm,
  LogBufferConfigError,
  maxMessageLength,
  maxPayloadLength,
  maxPossiblePosition,
  positionBitsToShift,
  termCount,
} from "../../src/core/logbuffer/logBufferDescriptor.js";

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

describe("term length and MTU checks", () => {
  it("accepts every power of two from 64 KiB to 1 GiB", () => {
    for (let shift = 16; shift <= 30; shift++) {
      expect(() => checkTermLength(2 ** shift)).not.toThrow();
      expect(positionBitsToShift(2 ** shift)).toBe(shift);
    }
  });

  it("rejects lengths out of range or not a power of two, naming the parameter", () => {
    for (const bad of [0, -65536, 32 * 1024, 2 ** 31, 65536 + 32, 3 * 65536, 1.5, Number.NaN]) {
      expect(() => checkTermLength(bad)).toThrow(LogBufferConfigError);
    }
    expect(() => checkTermLength(100_000)).toThrow(/termLength = 100000 is invalid: must be a power of two/);
    expect(() => checkTermLength(1024)).toThrow(/termLength = 1024 is invalid: must be between 65536/);
    try {
      checkTermLength(12345);
    } catch (error) {
      expect(error).toBeInstanceOf(LogBufferConfigError);
      expect((error as LogBufferConfigError).parameter).toBe("termLength");
      expect((error as LogBufferConfigError).name).toBe("LogBufferConfigError");
    }
  });

  it("accepts MTUs above 32, multiples of 32, up to 65504", () => {
    for (const mtu of [64, 1408, 8192, 65504]) expect(() => checkMtuLength(mtu)).not.toThrow();
    for (const bad of [0, 32, 33, 1400, 65536, 65505, -64]) expect(() => checkMtuLength(bad)).toThrow(LogBufferConfigError);
    expect(() => checkMtuLength(1400)).toThrow(/mtu = 1400 is invalid: must be a multiple of the frame alignment 32/);
  });

  it("derives message and payload limits", () => {
    expect(maxMessageLength(64 * 1024)).toBe(8 * 1024);
    expect(maxMessageLength(16 * 1024 * 1024)).toBe(2 * 1024 * 1024);
    expect(maxMessageLength(1024 * 1024 * 1024)).toBe(16 * 1024 * 1024);
    expect(maxPayloadLength(1408)).toBe(1376);
    expect(maxPossiblePosition(64 * 1024)).toBe(2 ** 47);
    expect(maxPossiblePosition(1024 * 1024 * 1024)).toBe(2 ** 53);
  });
});

describe("position arithmetic", () => {
  const bits = 16;

  it("computes positions from term ids near the int32 limits, across the wrap", () => {
    expect(computePosition(INT32_MAX, 0, bits, INT32_MAX)).toBe(0);
    expect(computePosition(INT32_MIN, 32, bits, INT32_MAX)).toBe(65536 + 32);
    expect(computePosition(INT32_MIN + 1, 64, bits, INT32_MAX)).toBe(2 * 65536 + 64);
    expect(computePosition(INT32_MIN, 0, bits, INT32_MIN)).toBe(0);
    // The largest term count an i32 difference holds: 2^31 - 1 terms after INT32_MIN is -1.
    expect(computePosition(-1, 96, bits, INT32_MIN)).toBe(INT32_MAX * 65536 + 96);
    expect(computePosition(INT32_MIN, 0, bits, INT32_MAX - 9)).toBe(10 * 65536);
    expect(computePosition(-1, 0, bits, INT32_MAX - 1)).toBe(((-1 - (INT32_MAX - 1)) | 0) * 65536);
    expect(termCount(INT32_MIN, INT32_MAX)).toBe(1);
    expect(termCount(0, -1)).toBe(1);
  });

  it("maps positions back to wrapped term ids and offsets", () => {
    expect(computeTermIdFromPosition(65536 + 32, bits, INT32_MAX)).toBe(INT32_MIN);
    expect(computeTermIdFromPosition(3 * 65536 - 1, bits, INT32_MAX)).toBe(INT32_MIN + 1);
    expect(computeTermIdFromPosition(INT32_MAX * 65536, bits, INT32_MIN)).toBe(-1);
    expect(computeTermIdFromPosition(10 * 65536, bits, INT32_MAX - 9)).toBe(INT32_MIN);
    expect(computeTermOffsetFromPosition(3 * 65536 + 4000, bits)).toBe(4000);
    // Above 2^32 the mask still sees the exact low bits.
    expect(computeTermOffsetFromPosition(2 ** 40 + 65536 * 7 + 1234, bits)).toBe(1234);
    expect(computeTermOffsetFromPosition(2 ** 52 + 2 ** 29 + 96, 30)).toBe(2 ** 29 + 96);
  });

  it("indexes partitions modulo 3, also for wrapped ids", () => {
    expect(indexByTerm(INT32_MAX, INT32_MAX)).toBe(0);
    expect(indexByTerm(INT32_MAX, INT32_MIN)).toBe(1);
    expect(indexByTerm(INT32_MAX, INT32_MIN + 1)).toBe(2);
    expect(indexByTerm(INT32_MAX, INT32_MIN + 2)).toBe(0);
    expect(indexByTerm(-1, 0)).toBe(1);
    expect(indexByTerm(5, 4)).toBeGreaterThanOrEqual(0);
    expect(indexByPosition(65536 * 4 + 10, bits)).toBe(1);
  });

  test.prop([
    fc.oneof(fc.constantFrom(INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 0, -1), fc.integer({ min: INT32_MIN, max: INT32_MAX })),
    fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    fc.integer({ min: 16, max: 30 }),
    fc.nat(),
  ])("round-trips position <-> (termId, termOffset)", (initialTermId, count, shift, rawOffset) => {
    // Keep the position exact: count · 2^shift must stay below 2^53.
    const terms = count % 2 ** (53 - shift - 1);
    const termOffset = (rawOffset % 2 ** shift) & ~31;
    const termId = (initialTermId + terms) | 0;
    const position = computePosition(termId, termOffset, shift, initialTermId);
    expect(position).toBe(terms * 2 ** shift + termOffset);
    expect(computeTermIdFromPosition(position, shift, initialTermId)).toBe(termId);
    expect(computeTermOffsetFromPosition(position, shift)).toBe(termOffset);
    expect(indexByTerm(initialTermId, termId)).toBe(indexByPosition(position, shift));
    expect(indexByTerm(initialTermId, termId)).toBe(terms % 3);
  });
});
