// Goal: the trace hash is genuine 64-bit FNV-1a computed with 32-bit integer arithmetic (it matches
// published test vectors and a BigInt reference), and folding packet events is sensitive to every
// field (time, link, verdict, length, bytes).
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { TraceHash } from "../../src/sim/trace.js";

function fnv1a64Reference(bytes: Uint8Array): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & ((1n << 64n) - 1n);
  }
  return hash.toString(16).padStart(16, "0");
}

function hashOf(bytes: Uint8Array): string {
  const trace = new TraceHash();
  trace.foldBytes(bytes, 0, bytes.length);
  return trace.hex();
}

describe("TraceHash", () => {
  it("matches the published FNV-1a 64 vectors", () => {
    expect(hashOf(new Uint8Array(0))).toBe("cbf29ce484222325");
    expect(hashOf(new TextEncoder().encode("a"))).toBe("af63dc4c8601ec8c");
    expect(hashOf(new TextEncoder().encode("foobar"))).toBe("85944171f73967e8");
  });

  test.prop([fc.uint8Array({ maxLength: 200 })])("matches a BigInt reference", (bytes) => {
    expect(hashOf(bytes)).toBe(fnv1a64Reference(bytes));
  });

  it("changes with every field of a packet event", () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const base = (t: number, link: number, verdict: number, b: Uint8Array, length: number): string => {
      const trace = new TraceHash();
      trace.foldPacket(t, link, verdict, b, 0, length);
      return trace.hex();
    };
    const reference = base(1000, 1, 0, bytes, 4);
    const variants = [
      base(1001, 1, 0, bytes, 4),
      base(1000 + 2 ** 40, 1, 0, bytes, 4),
      base(1000, 2, 0, bytes, 4),
      base(1000, -1, 0, bytes, 4),
      base(1000, 1, 5, bytes, 4),
      base(1000, 1, 0, bytes, 3),
      base(1000, 1, 0, new Uint8Array([1, 2, 3, 5]), 4),
    ];
    for (const variant of variants) expect(variant).not.toBe(reference);
    expect(new Set(variants).size).toBe(variants.length);
    expect(base(1000, 1, 0, bytes, 4)).toBe(reference);
  });
});

describe("foldPayload (word-at-a-time, the simulator's packet fold)", () => {
  it("reaches every byte: flipping any one byte of a payload, including the trailing ones, changes the hash", () => {
    const payload = new Uint8Array(23).map((_, i) => (i * 37 + 11) & 0xff);
    const hashPayload = (bytes: Uint8Array): string => {
      const trace = new TraceHash();
      trace.foldPayload(bytes, 0, bytes.length);
      return trace.hex();
    };
    const reference = hashPayload(payload);
    const seen = new Set([reference]);
    for (let i = 0; i < payload.length; i++) {
      const variant = payload.slice();
      variant[i] = variant[i]! ^ 0x01;
      seen.add(hashPayload(variant));
    }
    expect(seen.size).toBe(payload.length + 1);
    expect(hashPayload(payload.subarray(0, 22))).not.toBe(reference);
  });
});
