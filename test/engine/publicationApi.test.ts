// Goal: the publication API an Aeron user reaches for behaves as Aeron's: a ReservedValueSupplier
// sets all 64 bits of every frame's reservedValue (fragments too) and reaches the receiver over
// UDP; offerv sends the concatenation of its slices (fragmented or not) and checks them; tryClaim's
// BufferClaim reads and sets flags, header type and a 64-bit reservedValue; availableWindow is
// positionLimit - position; registrationId names the stream.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Engine } from "../../src/core/engine/engine.js";
import { ADMIN_ACTION, BACK_PRESSURED, CLOSED } from "../../src/core/engine/networkPublication.js";
import { InvalidArgumentError } from "../../src/core/engine/engineErrors.js";
import { BufferClaim, DirectBufferVector, type BufferVector, type ReservedValueSupplier } from "../../src/core/logbuffer/termAppender.js";
import type { FragmentHeader } from "../../src/core/logbuffer/fragmentHeader.js";
import { i64HalvesToBigInt } from "../../src/core/protocol/int64.js";
import { Prng } from "../../src/sim/prng.js";
import { TwoEngineHarness } from "../support/twoEngineHarness.js";

const IPC = "aeron:ipc?term-length=64k|mtu=128";
const UDP = "aeron:udp?endpoint=127.0.0.2:20121|term-length=64k|mtu=1408";

function ipc(): { engine: Engine; publication: ReturnType<Engine["addPublication"]>; subscription: ReturnType<Engine["addSubscription"]> } {
  const engine = new Engine({ random: new Prng(21) });
  const subscription = engine.addSubscription(IPC, 9);
  const publication = engine.addPublication(IPC, 9);
  return { engine, publication, subscription };
}

/** Every fragment's raw header fields, read through a controlled poll of the image (one term). */
function frames(subscription: ReturnType<Engine["addSubscription"]>): Array<{ flags: number; type: number; reserved: bigint; length: number }> {
  const out: Array<{ flags: number; type: number; reserved: bigint; length: number }> = [];
  subscription.images[0]!.blockPoll((buffer, offset, length) => {
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    // Bounded: each pass moves one aligned frame forward within the block.
    for (let at = offset; at < offset + length;) {
      const frameLength = view.getInt32(at, true);
      out.push({ flags: view.getUint8(at + 5), type: view.getUint16(at + 6, true), reserved: view.getBigInt64(at + 24, true), length: frameLength });
      at += (frameLength + 31) & ~31;
    }
  }, 1 << 20);
  return out;
}

describe("offer with a ReservedValueSupplier", () => {
  it("writes the supplied 64 bits into every frame, fragments included, after the payload", () => {
    const { publication, subscription } = ipc();
    const seen: Array<[number, number, number]> = [];
    const values = [-1n, 0x7fff_ffff_ffff_ffffn, -0x8000_0000_0000_0000n, 0x1234_5678_9abc_def0n];
    let call = 0;
    const supplier: ReservedValueSupplier = (term, termOffset, frameLength) => {
      // The payload is already in place when the supplier runs (Aeron computes checksums here).
      seen.push([termOffset, frameLength, term[termOffset + 32]!]);
      return values[call++ % values.length]!;
    };
    const payload = new Uint8Array(250).fill(7); // 96-byte payloads: 3 fragments
    expect(publication.offer(payload, 0, payload.length, supplier)).toBeGreaterThan(0);
    expect(publication.offer(new Uint8Array(10).fill(7), 0, 10, supplier)).toBeGreaterThan(0);
    expect(publication.offer(new Uint8Array(10))).toBeGreaterThan(0);
    expect(seen).toEqual([[0, 128, 7], [128, 128, 7], [256, 90, 7], [352, 42, 7]]);
    expect(frames(subscription).map((f) => f.reserved)).toEqual([...values, 0n]);
  });

  it("carries all 64 bits to a receiver over UDP", () => {
    const harness = new TwoEngineHarness(5, { latencyNs: 100_000 });
    const [a, b] = harness.engines;
    const subscription = b.addSubscription(UDP, 3);
    const publication = a.addPublication(UDP, 3);
    harness.runUntil(() => publication.isConnected, () => {}, 1e9);
    const sent = [0xdead_beef_cafe_f00dn, -2n, 1n << 62n];
    const received: bigint[] = [];
    const handler = (_b: Uint8Array, _o: number, _l: number, header: FragmentHeader): void => {
      received.push(BigInt.asIntN(64, i64HalvesToBigInt(header.reservedValueLo, header.reservedValueHi)));
    };
    for (const value of sent) expect(publication.offer(new Uint8Array(100), 0, 100, () => value)).toBeGreaterThan(0);
    harness.runUntil(() => received.length === sent.length, () => void subscription.poll(handler, 10), 1e9);
    expect(received).toEqual(sent.map((v) => BigInt.asIntN(64, v)));
  });
});

describe("offerv", () => {
  it("sends the concatenation of any slices, fragmented or not (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 5 }), (lengths, pad) => {
        const { publication, subscription } = ipc();
        const vectors: BufferVector[] = lengths.map((length, i) => {
          const buffer = new Uint8Array(length + 2 * pad);
          for (let j = 0; j < buffer.length; j++) buffer[j] = (i * 37 + j * 11) & 0xff;
          return new DirectBufferVector(buffer, pad, length);
        });
        const expected = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
        let at = 0;
        for (const v of vectors) {
          expected.set(v.buffer.subarray(v.offset, v.offset + v.length), at);
          at += v.length;
        }
        const result = publication.offerv(vectors);
        expect(result).toBeGreaterThan(0);
        let got: Uint8Array | undefined;
        subscription.poll((buffer, offset, length) => {
          got = buffer.slice(offset, offset + length);
        }, 100);
        expect(got).toEqual(expected);
        // The same bytes in one offer land at the same position.
        const single = ipc();
        expect(single.publication.offer(expected)).toBe(result);
      }),
      { numRuns: 200 },
    );
  });

  it("passes each frame to the supplier and refuses bad slices with a typed error", () => {
    const { publication } = ipc();
    const a = new Uint8Array(8);
    expect(() => publication.offerv([])).toThrow(InvalidArgumentError);
    expect(() => publication.offerv([{ buffer: a, offset: 4, length: 5 }])).toThrow(/vectors\[0\]\.length/);
    expect(() => publication.offerv([{ buffer: a, offset: -1, length: 1 }])).toThrow(/vectors\[0\]\.offset/);
    expect(() => publication.offerv([new DirectBufferVector(new Uint8Array(9000))])).toThrow(/maxMessageLength/);
    const offsets: number[] = [];
    expect(publication.offerv([new DirectBufferVector(a), new DirectBufferVector(new Uint8Array(200))], (_t, o) => (offsets.push(o), 5n)))
      .toBeGreaterThan(0);
    expect(offsets).toEqual([0, 128, 256]);
    publication.close();
    expect(publication.offerv([new DirectBufferVector(a)])).toBe(CLOSED);
  });
});

describe("tryClaim with header flags", () => {
  it("reads and sets flags, header type and a 64-bit reservedValue in place", () => {
    const { publication, subscription } = ipc();
    const claim = new BufferClaim();
    expect(publication.tryClaim(16, claim)).toBeGreaterThan(0);
    expect(claim.flags).toBe(0xc0);
    expect(claim.headerType).toBe(1);
    expect(claim.reservedValue).toBe(0n);
    claim.putFlags(0xc0 | 0x01).putReservedValue(-0x0123_4567_89ab_cdefn).putBytes(new Uint8Array([1, 2, 3]), 0, 3, 13);
    expect(claim.reservedValue).toBe(-0x0123_4567_89ab_cdefn);
    claim.commit();
    expect(publication.tryClaim(8, claim)).toBeGreaterThan(0);
    claim.putHeaderType(0x1234).putReservedValue(42);
    expect(claim.headerType).toBe(0x1234);
    claim.commit();
    expect(() => publication.tryClaim(8, claim) && claim.putFlags(256)).toThrow(/flags/);
    claim.abort();
    const got = frames(subscription);
    expect(got.slice(0, 2)).toEqual([
      { flags: 0xc1, type: 1, reserved: -0x0123_4567_89ab_cdefn, length: 48 },
      { flags: 0xc0, type: 0x1234, reserved: 42n, length: 40 },
    ]);
  });
});

describe("availableWindow and registrationId", () => {
  it("is positionLimit - position, reaches 0 when back-pressured, and CLOSED once closed", () => {
    const { publication } = ipc();
    expect(publication.availableWindow).toBe(32 * 1024);
    publication.offer(new Uint8Array(10));
    expect(publication.availableWindow).toBe(32 * 1024 - 64);
    let result = 0;
    // Bounded: 32 KiB / 64-byte frames.
    for (let i = 0; i < 1000 && result !== BACK_PRESSURED; i++) {
      result = publication.offer(new Uint8Array(10));
      if (result === ADMIN_ACTION) throw new Error("no rotation expected within the window");
    }
    expect(result).toBe(BACK_PRESSURED);
    expect(publication.availableWindow).toBe(publication.positionLimit - publication.position);
    expect(publication.availableWindow).toBeLessThanOrEqual(0);
    publication.close();
    expect(publication.availableWindow).toBe(CLOSED);
  });

  it("shared handles share the stream's registration id; an exclusive one has its own", () => {
    const engine = new Engine({ random: new Prng(2) });
    const first = engine.addPublication(UDP, 1);
    const second = engine.addPublication(UDP, 1);
    const exclusive = engine.addExclusivePublication(UDP, 1);
    expect(first.registrationId).toBeGreaterThan(0);
    expect(second.registrationId).toBe(first.registrationId);
    expect(exclusive.registrationId).not.toBe(first.registrationId);
    expect(first.endpointId).toBeGreaterThanOrEqual(0);
    expect(engine.addPublication("aeron:ipc", 1).endpointId).toBe(-1);
  });
});
