// Goal: aeron:ipc publications hand messages to local subscriptions through the publication's own
// log, with no datagram at all: every subscriber sees every message in order (fragmented ones
// whole), the slowest subscriber back-pressures the publisher, NOT_CONNECTED without subscribers,
// a late subscriber joins at the current position, session-specific subscriptions filter, and
// closing drains to the end of stream before the image goes. Also checks session-specific
// subscriptions on UDP, which share the same matching rule.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine/engine.js";
import { Counter } from "../../src/core/engine/counters.js";
import { ADMIN_ACTION, BACK_PRESSURED, CLOSED, NOT_CONNECTED } from "../../src/core/engine/networkPublication.js";
import { TransmitBatch } from "../../src/core/transmitBatch.js";
import { Prng } from "../../src/sim/prng.js";
import { TwoEngineHarness } from "../support/twoEngineHarness.js";

const IPC = "aeron:ipc?term-length=64k";

function engine(seed = 7): Engine {
  return new Engine({ random: new Prng(seed) });
}

function message(index: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (index * 31 + i) & 0xff;
  if (length >= 4) new DataView(bytes.buffer).setUint32(0, index, true);
  return bytes;
}

function offer(publication: ReturnType<Engine["addPublication"]>, bytes: Uint8Array): number {
  // Bounded: ADMIN_ACTION (a term rotation) is returned at most once in a row.
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = publication.offer(bytes);
    if (result !== ADMIN_ACTION) return result;
  }
  throw new Error("ADMIN_ACTION three times in a row");
}

describe("aeron:ipc", () => {
  it("delivers every message, in order and whole, to two subscribers across many term rotations", () => {
    const e = engine();
    const first = e.addSubscription(IPC, 10);
    const second = e.addSubscription(IPC, 10);
    const publication = e.addPublication(IPC, 10);
    expect(publication.isConnected).toBe(true);
    const sizes = new Prng(99);
    const lengths: number[] = [];
    const got: [number[], number[]] = [[], []];
    const check = (which: 0 | 1) => (buffer: Uint8Array, offset: number, length: number) => {
      const index = got[which].length;
      if (length !== lengths[index]) throw new Error(`subscriber ${which}: message ${index} has length ${length}, expected ${lengths[index]}`);
      const want = message(index, length);
      for (let i = 0; i < length; i++) {
        if (buffer[offset + i] !== want[i]) throw new Error(`subscriber ${which}: message ${index} differs at byte ${i}`);
      }
      got[which].push(index);
    };
    const onFirst = check(0);
    const onSecond = check(1);
    const total = 5_000;
    // Bounded: each pass offers until back-pressured, then both subscribers drain.
    for (let pass = 0; pass < 100_000 && got[1].length < total; pass++) {
      while (lengths.length < total) {
        const length = sizes.intRange(0, 4 * 1408);
        const result = offer(publication, message(lengths.length, length));
        if (result === BACK_PRESSURED) break;
        expect(result).toBeGreaterThan(0);
        lengths.push(length);
      }
      while (first.poll(onFirst, 100) > 0) { /* drain */ }
      while (second.poll(onSecond, 100) > 0) { /* drain */ }
    }
    expect(got[0].length).toBe(total);
    expect(got[1].length).toBe(total);
    expect(publication.position).toBeGreaterThan(10 * 65536);
    // IPC never touches the network.
    const batch = new TransmitBatch(8, 2048);
    expect(e.pollTransmit(0, batch)).toBe(0);
    expect(e.pollEndpointEvent()).toBeUndefined();
  });

  it("is NOT_CONNECTED without a subscriber and BACK_PRESSURED one term window ahead of the slowest", () => {
    const e = engine();
    const publication = e.addPublication(IPC, 11);
    expect(publication.offer(message(0, 100))).toBe(NOT_CONNECTED);
    const fast = e.addSubscription(IPC, 11);
    e.addSubscription(IPC, 11); // never polls
    let result = 0;
    for (let i = 0; i < 1000 && result >= 0; i++) {
      result = offer(publication, message(i, 1000));
      fast.poll(() => {}, 100);
    }
    expect(result).toBe(BACK_PRESSURED);
    expect(publication.position).toBeGreaterThanOrEqual(32 * 1024);
    expect(publication.position).toBeLessThan(32 * 1024 + 2048);
  });

  it("joins a late subscriber at the current position and filters by session", () => {
    const e = engine();
    const early = e.addSubscription(IPC, 12);
    const a = e.addExclusivePublication(`${IPC}|session-id=5001`, 12);
    const b = e.addExclusivePublication(`${IPC}|session-id=5002`, 12);
    expect(offer(a, message(0, 10))).toBeGreaterThan(0);
    const late = e.addSubscription(IPC, 12);
    const onlyB = e.addSubscription(`${IPC}|session-id=5002`, 12);
    expect(offer(a, message(1, 10))).toBeGreaterThan(0);
    expect(offer(b, message(2, 10))).toBeGreaterThan(0);
    const seen = (s: typeof early) => {
      const out: Array<[number, number]> = [];
      s.poll((buffer, offset, _length, header) => out.push([header.sessionId, new DataView(buffer.buffer, buffer.byteOffset + offset).getUint32(0, true)]), 100);
      return out.sort((x, y) => x[1] - y[1]);
    };
    expect(seen(early)).toEqual([[5001, 0], [5001, 1], [5002, 2]]);
    expect(seen(late)).toEqual([[5001, 1], [5002, 2]]);
    expect(seen(onlyB)).toEqual([[5002, 2]]);
    expect(onlyB.images.map((image) => image.sessionId)).toEqual([5002]);
  });

  it("drains to the end of stream on close, then the image goes and the publication is removed", () => {
    const e = engine();
    const unavailable: number[] = [];
    const subscription = e.addSubscription(IPC, 13, { onUnavailableImage: (image) => unavailable.push(image.sessionId) });
    const publication = e.addPublication(IPC, 13);
    for (let i = 0; i < 10; i++) expect(offer(publication, message(i, 50))).toBeGreaterThan(0);
    publication.close();
    expect(publication.offer(message(99, 1))).toBe(CLOSED);
    e.handleTimeout(1);
    expect(unavailable).toEqual([]);
    let read = 0;
    while (subscription.poll(() => read++, 3) > 0) { /* drain */ }
    expect(read).toBe(10);
    expect(subscription.images[0]!.isEndOfStream).toBe(true);
    expect(e.pollTimeout()).toBeLessThanOrEqual(1);
    e.handleTimeout(2);
    expect(unavailable).toEqual([publication.sessionId]);
    expect(subscription.images).toEqual([]);
    expect(e.counters.get(Counter.PUBLICATIONS_ACTIVE)).toBe(0);
  });
});

describe("session-specific UDP subscriptions", () => {
  it("see only the named session's image while a plain subscription sees both", () => {
    const harness = new TwoEngineHarness(3, { latencyNs: 10_000 });
    const [pubEngine, subEngine] = harness.engines;
    const channel = "aeron:udp?endpoint=127.0.0.2:20200|term-length=64k";
    const all = subEngine.addSubscription(channel, 7);
    const only = subEngine.addSubscription(`${channel}|session-id=4242`, 7);
    const a = pubEngine.addExclusivePublication(`${channel}|session-id=4242`, 7);
    const b = pubEngine.addExclusivePublication(`${channel}|session-id=4343`, 7);
    harness.runUntil(() => a.isConnected && b.isConnected, () => {}, 1e9);
    expect(offer(a, message(1, 20))).toBeGreaterThan(0);
    expect(offer(b, message(2, 20))).toBeGreaterThan(0);
    const fromAll: number[] = [];
    const fromOnly: number[] = [];
    harness.runUntil(
      () => fromAll.length === 2 && fromOnly.length === 1,
      () => {
        all.poll((_b, _o, _l, header) => fromAll.push(header.sessionId), 10);
        only.poll((_b, _o, _l, header) => fromOnly.push(header.sessionId), 10);
      },
      1e9,
    );
    expect(fromAll.sort()).toEqual([4242, 4343]);
    expect(fromOnly).toEqual([4242]);
    expect(only.images.map((image) => image.sessionId)).toEqual([4242]);
  });
});
