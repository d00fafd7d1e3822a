// Issue #11, attack 2: "Two datagrams cost 1 GiB". A SETUP with a 1 GiB term whose term offset
// sits 64 bytes before the term end, then one DATA frame there: once the application polls past
// the term end, an image that cleans the whole join term zero-fills a gigabyte (RSS 82 -> 1105 ->
// 2128 -> 3152 MiB over three fake sessions, seconds per handleTimeout). Aeron cleans from the
// join position only; Petrel cleans what was written since the join (or the last clean).
import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { GIB, LoneSubscriber, MIB, NS_PER_MS, hostileIp } from "./imageBudgetSupport.js";

describe("attack 2: cleaning a join term costs what was written, not the term length", () => {
  it("three fake sessions with 1 GiB terms and one DATA frame each: 64 bytes cleaned per session, RSS flat, no stall", () => {
    // A budget that admits three 1 GiB-term images (the default, 2 GiB, refuses them outright).
    const sub = new LoneSubscriber({ imageLogBudgetBytes: 16 * GIB });
    const c = sub.engine.counters;
    const rssBefore = process.memoryUsage.rss();
    let worstStepMs = 0;
    for (let i = 0; i < 3; i++) {
      const sessionId = 0x2000 + i;
      sub.setup(hostileIp(i), { sessionId, termLength: GIB, termOffset: GIB - 64 });
      sub.data(hostileIp(i), sessionId, 7, GIB - 64, 32);
      const t0 = performance.now();
      sub.step(NS_PER_MS);
      sub.step(NS_PER_MS);
      worstStepMs = Math.max(worstStepMs, performance.now() - t0);
    }
    expect(sub.received).toBe(3);
    expect(c.get(Counter.IMAGES_CREATED)).toBe(3);
    // Each session's reader moved past its join term's end, so each join term was cleaned: 64 bytes each.
    for (const image of sub.engine.images) expect(image.subscribers[0]!.position).toBe(GIB);
    expect(c.get(Counter.IMAGE_LOG_BYTES_CLEANED)).toBe(3 * 64);
    // One partition per session was ever written, so one was allocated (lazily, virtual memory).
    expect(c.get(Counter.IMAGE_LOG_BYTES_ALLOCATED)).toBe(3 * GIB);
    expect(c.get(Counter.IMAGE_LOG_BYTES_RESERVED)).toBe(3 * 3 * GIB);
    const rssGrowth = process.memoryUsage.rss() - rssBefore;
    expect(rssGrowth).toBeLessThan(64 * MIB);
    expect(worstStepMs).toBeLessThan(500);
  });

  it("cleaning zeroes the written range: the partition reads as new when the stream comes back to it", () => {
    const TERM = 64 * 1024;
    const sub = new LoneSubscriber();
    const c = sub.engine.counters;
    const sessionId = 0x3000;
    // Join half way through term 7; write three frames there, read them, then walk the stream
    // through terms 8, 9 and 10 (term 10 reuses term 7's partition, index 0: initial term 7).
    sub.setup(hostileIp(1), { sessionId, termLength: TERM, termOffset: TERM / 2 });
    for (let k = 0; k < 3; k++) sub.data(hostileIp(1), sessionId, 7, TERM / 2 + k * 64, 32);
    sub.step(NS_PER_MS);
    expect(sub.received).toBe(3);
    const image = sub.engine.images[0]!;
    const joinPartition = image.log.readableTerm(0)!;
    expect(image.log.dirtyRange(0)).toEqual([TERM / 2, TERM / 2 + 3 * 64]);
    sub.data(hostileIp(1), sessionId, 7, TERM / 2 + 3 * 64, 0); // a header-only DATA frame
    const position = TERM / 2 + 3 * 64 + 32;
    // Pad out term 7 (a PAD arrives as its header; its length covers the rest of the term).
    const pad = new Uint8Array(32);
    const view = new DataView(pad.buffer);
    view.setInt32(0, TERM - position, true);
    view.setUint8(4, 0);
    view.setUint8(5, 0xc0);
    view.setUint16(6, 0, true); // HDR_TYPE_PAD
    view.setInt32(8, position, true);
    view.setInt32(12, sessionId, true);
    view.setInt32(16, 1001, true);
    view.setInt32(20, 7, true);
    sub.engine.handleDatagram(sub.nowNs, hostileIp(1), 40000, sub.endpointId, pad, 0, 32);
    sub.step(NS_PER_MS);
    sub.data(hostileIp(1), sessionId, 8, 0, 32);
    sub.step(NS_PER_MS);
    expect(sub.received).toBe(5);
    expect(image.subscribers[0]!.position).toBe(TERM + 64);
    // The join term was left: its written range (three frames, the empty one, the PAD header) is zero again.
    expect(c.get(Counter.IMAGE_LOG_BYTES_CLEANED)).toBe(position + 32 - TERM / 2);
    expect(joinPartition.bytes.every((b) => b === 0)).toBe(true);
    expect(image.log.dirtyRange(0)[0]).toBeGreaterThanOrEqual(image.log.dirtyRange(0)[1]);
  });
});

// Any join offset and any set of frames written after it: after the reader leaves the term, the
// partition is all zero again, and the bytes cleaned are at most the span that was written.
test.prop(
  [
    fc.integer({ min: 0, max: 64 * 1024 / 32 - 1 }).map((k) => k * 32), // join offset
    fc.array(fc.tuple(fc.nat({ max: 2047 }), fc.integer({ min: 0, max: 200 })), { maxLength: 40 }), // (slot, payload)
  ],
  { numRuns: 100 },
)("attack 2 property: cleaning restores an all-zero partition and touches at most the written span", (joinOffset, frames) => {
  const TERM = 64 * 1024;
  const sub = new LoneSubscriber();
  const sessionId = 0x4000;
  sub.setup(hostileIp(2), { sessionId, termLength: TERM, termOffset: joinOffset });
  let lowest = TERM;
  let highest = 0;
  for (const [slot, payload] of frames) {
    const offset = joinOffset + ((slot * 32) % (TERM - joinOffset));
    const length = 32 + payload;
    if (offset + length > TERM) continue;
    const image = sub.engine.images[0]!;
    const before = image.log.dirtyRange(0);
    sub.data(hostileIp(2), sessionId, 7, offset, payload);
    const after = image.log.dirtyRange(0);
    if (after[0] !== before[0] || after[1] !== before[1]) {
      lowest = Math.min(lowest, offset);
      highest = Math.max(highest, offset + length);
    }
  }
  const image = sub.engine.images[0]!;
  sub.step(NS_PER_MS);
  // What the image does once its reader passes the term's end (frames beyond the window were
  // dropped and never written; a slot already filled is not written again).
  // (Overlapping hostile frames can make the reader run past the term's end already: the engine
  // then cleaned it itself, counted.)
  const cleaned = sub.engine.counters.get(Counter.IMAGE_LOG_BYTES_CLEANED) + image.log.clean(0);
  expect(cleaned).toBe(highest > lowest ? highest - lowest : 0);
  const partition = image.log.readableTerm(0);
  if (partition !== null) expect(partition.bytes.every((b) => b === 0)).toBe(true);
});
