// Issue #11, attack 3: "SETUPs allocate 3 × term-length at once". Under `ulimit -v` the third
// hostile SETUP with 1 GiB terms made handleDatagram throw RangeError: Array buffer allocation
// failed; 1024 fake sessions filled maxImages within 2 s and real publishers were refused for
// 10 s. Now: image logs are lazy, SETUPs are checked against Aeron's rules, a budget, a cap per
// source and maxImages (each refusal counted), a failed allocation is counted and never thrown,
// and unjoined or idle images give way to new SETUPs after unjoinedImageEvictionNs.
import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { DEFAULT_IMAGE_LOG_BUDGET_BYTES } from "../../src/core/engine/engine.js";
import { GIB, LoneSubscriber, MIB, NS_PER_MS, REAL_IP, hostileIp } from "./imageBudgetSupport.js";

const TERM_64K = 64 * 1024;
const REAL_SESSION = 0x7e57;

function failingAllocator(): never {
  throw new RangeError("Array buffer allocation failed");
}

describe("attack 3: SETUP floods against the image budget", () => {
  it("1024 hostile SETUPs with 1 GiB terms, each with a DATA frame: no throw, all refused for the budget, a real publisher gets its image at once", () => {
    const sub = new LoneSubscriber();
    const c = sub.engine.counters;
    const rssBefore = process.memoryUsage.rss();
    for (let i = 0; i < 1024; i++) {
      sub.setup(hostileIp(i), { sessionId: 0x10000 + i, termLength: GIB, termOffset: GIB - 64 });
      sub.data(hostileIp(i), 0x10000 + i, 7, GIB - 64, 32);
      sub.step(NS_PER_MS);
    }
    expect(c.get(Counter.IMAGES_REFUSED_BUDGET)).toBe(1024);
    expect(c.get(Counter.IMAGES_CREATED)).toBe(0);
    expect(c.get(Counter.IMAGE_LOG_BYTES_RESERVED)).toBe(0);
    expect(c.get(Counter.IMAGE_LOG_BYTES_ALLOCATED)).toBe(0);
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(64 * MIB);
    sub.setup(REAL_IP, { sessionId: REAL_SESSION, termLength: TERM_64K, termOffset: 0 });
    expect(sub.hasImage(REAL_SESSION)).toBe(true);
  });

  it("16 hostile SETUPs with 1 GiB terms under a budget that admits them all: lazy logs, memory gauge and RSS bounded by what was written", () => {
    // 16 × 3 GiB reserved: only accounting. One partition each is allocated (virtual memory,
    // untouched), 64 bytes each are written and cleaned. (16, not 1024: V8 runs a full GC as
    // external memory grows by each gigabyte, slow with vitest's heap, ~0.2 s each here;
    // `npm run bench setup-flood -- --budget-mib=4194304` runs all 1024 in plain node.)
    const FLOOD = 16;
    const sub = new LoneSubscriber({ imageLogBudgetBytes: 4096 * GIB, maxImages: FLOOD });
    const c = sub.engine.counters;
    const rssBefore = process.memoryUsage.rss();
    for (let i = 0; i < FLOOD; i++) {
      sub.setup(hostileIp(i), { sessionId: 0x10000 + i, termLength: GIB, termOffset: GIB - 64 });
      sub.data(hostileIp(i), 0x10000 + i, 7, GIB - 64, 32);
      sub.step(NS_PER_MS);
    }
    expect(c.get(Counter.IMAGES_CREATED)).toBe(FLOOD);
    expect(sub.received).toBe(FLOOD);
    expect(c.get(Counter.IMAGE_LOG_BYTES_RESERVED)).toBe(FLOOD * 3 * GIB);
    expect(c.get(Counter.IMAGE_LOG_BYTES_ALLOCATED)).toBe(FLOOD * GIB);
    expect(c.get(Counter.IMAGE_LOG_BYTES_CLEANED)).toBe(FLOOD * 64);
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(128 * MIB);
    // maxImages is full of images that each got one frame and went quiet: after
    // unjoinedImageEvictionNs (2 s) they are idle, and a real publisher's SETUP (every 100 ms) evicts one.
    const floodEndNs = sub.nowNs;
    for (let attempt = 0; attempt < 100 && !sub.hasImage(REAL_SESSION); attempt++) {
      sub.setup(REAL_IP, { sessionId: REAL_SESSION, termLength: TERM_64K, termOffset: 0 });
      if (!sub.hasImage(REAL_SESSION)) sub.step(100 * NS_PER_MS);
    }
    expect(sub.hasImage(REAL_SESSION)).toBe(true);
    expect(sub.nowNs - floodEndNs).toBeLessThanOrEqual(2_000 * NS_PER_MS);
    expect(c.get(Counter.IMAGES_REFUSED_LIMIT)).toBeGreaterThan(0);
    expect(c.get(Counter.IMAGES_EVICTED_UNJOINED)).toBe(1);
    // The evicted image's reservation and memory were released.
    expect(c.get(Counter.IMAGE_LOG_BYTES_RESERVED)).toBe((FLOOD - 1) * 3 * GIB + 3 * TERM_64K);
    expect(c.get(Counter.IMAGE_LOG_BYTES_ALLOCATED)).toBe((FLOOD - 1) * GIB);
  });

  it("a flood of SETUPs alone (no data) fills maxImages; a real publisher gets in after unjoinedImageEvictionNs, not the 10 s liveness timeout", () => {
    const sub = new LoneSubscriber();
    const c = sub.engine.counters;
    for (let i = 0; i < 2048; i++) {
      sub.setup(hostileIp(i), { sessionId: 0x10000 + i, termLength: TERM_64K, termOffset: 0 });
      if (i % 64 === 63) sub.step(NS_PER_MS);
    }
    expect(c.get(Counter.IMAGES_ACTIVE)).toBe(1024);
    expect(c.get(Counter.IMAGES_REFUSED_LIMIT)).toBe(1024);
    expect(c.get(Counter.IMAGE_LOG_BYTES_ALLOCATED)).toBe(0); // lazy: no frame, no memory
    expect(c.get(Counter.IMAGE_LOG_BYTES_RESERVED)).toBe(1024 * 3 * TERM_64K);
    const floodEndNs = sub.nowNs;
    for (let attempt = 0; attempt < 200 && !sub.hasImage(REAL_SESSION); attempt++) {
      sub.setup(REAL_IP, { sessionId: REAL_SESSION, termLength: TERM_64K, termOffset: 0 });
      if (!sub.hasImage(REAL_SESSION)) sub.step(100 * NS_PER_MS);
    }
    const waitedNs = sub.nowNs - floodEndNs;
    expect(sub.hasImage(REAL_SESSION)).toBe(true);
    expect(waitedNs).toBeGreaterThan(0);
    expect(waitedNs).toBeLessThanOrEqual(sub.engine.config.unjoinedImageEvictionNs);
    expect(c.get(Counter.IMAGES_EVICTED_UNJOINED)).toBe(1);
    // The real publisher's data makes its image joined: a later flood cannot evict it.
    sub.data(REAL_IP, REAL_SESSION, 7, 0, 32);
    sub.step(NS_PER_MS);
    for (let i = 0; i < 100; i++) {
      sub.setup(hostileIp(3000 + i), { sessionId: 0x20000 + i, termLength: TERM_64K, termOffset: 0 });
      sub.data(REAL_IP, REAL_SESSION, 7, 64 * (i + 1), 32); // the real stream keeps flowing
      sub.step(50 * NS_PER_MS);
    }
    expect(sub.hasImage(REAL_SESSION)).toBe(true);
    expect(sub.received).toBe(101);
  });

  it("caps images per source address", () => {
    const sub = new LoneSubscriber();
    const c = sub.engine.counters;
    for (let i = 0; i < 100; i++) sub.setup(hostileIp(1), { sessionId: 0x10000 + i, termLength: TERM_64K, termOffset: 0 });
    expect(c.get(Counter.IMAGES_ACTIVE)).toBe(64);
    expect(c.get(Counter.IMAGES_REFUSED_SOURCE_LIMIT)).toBe(36);
    sub.setup(hostileIp(2), { sessionId: 0x20000, termLength: TERM_64K, termOffset: 0 });
    expect(c.get(Counter.IMAGES_ACTIVE)).toBe(65);

    const capped = new LoneSubscriber({ maxImagesPerSource: 2 });
    for (let i = 0; i < 5; i++) capped.setup(hostileIp(1), { sessionId: 0x10000 + i, termLength: TERM_64K, termOffset: 0 });
    expect(capped.engine.counters.get(Counter.IMAGES_ACTIVE)).toBe(2);
    expect(capped.engine.counters.get(Counter.IMAGES_REFUSED_SOURCE_LIMIT)).toBe(3);
  });

  it("refuses a SETUP whose reservation does not fit the budget, and admits it once an unjoined image is old enough to evict", () => {
    const budget = 5 * 3 * TERM_64K + 1000;
    const sub = new LoneSubscriber({ imageLogBudgetBytes: budget });
    const c = sub.engine.counters;
    for (let i = 0; i < 8; i++) sub.setup(hostileIp(i), { sessionId: 0x10000 + i, termLength: TERM_64K, termOffset: 0 });
    expect(c.get(Counter.IMAGES_ACTIVE)).toBe(5);
    expect(c.get(Counter.IMAGES_REFUSED_BUDGET)).toBe(3);
    expect(c.get(Counter.IMAGE_LOG_BYTES_RESERVED)).toBeLessThanOrEqual(budget);
    sub.step(sub.engine.config.unjoinedImageEvictionNs);
    sub.setup(REAL_IP, { sessionId: REAL_SESSION, termLength: TERM_64K, termOffset: 0 });
    expect(sub.hasImage(REAL_SESSION)).toBe(true);
    expect(c.get(Counter.IMAGES_EVICTED_UNJOINED)).toBe(1);
    expect(c.get(Counter.IMAGE_LOG_BYTES_RESERVED)).toBe(5 * 3 * TERM_64K);
    // A term too large for the whole budget is refused without evicting anything.
    sub.setup(REAL_IP, { sessionId: REAL_SESSION + 1, termLength: 1024 * 1024, termOffset: 0 });
    expect(c.get(Counter.IMAGES_REFUSED_BUDGET)).toBe(4);
    expect(c.get(Counter.IMAGES_EVICTED_UNJOINED)).toBe(1);
  });

  it("a failing allocator is counted, never thrown: the image closes and its sender may SETUP again", () => {
    const sub = new LoneSubscriber({ imageLogAllocator: failingAllocator });
    const c = sub.engine.counters;
    for (let i = 0; i < 3; i++) {
      sub.setup(hostileIp(i), { sessionId: 0x10000 + i, termLength: GIB, termOffset: GIB - 64 });
      expect(() => sub.data(hostileIp(i), 0x10000 + i, 7, GIB - 64, 32)).not.toThrow();
      expect(() => sub.data(hostileIp(i), 0x10000 + i, 7, GIB - 64, 32)).not.toThrow();
      expect(() => sub.step(NS_PER_MS)).not.toThrow();
    }
    // Default budget: 1 GiB terms refused before any allocation.
    expect(c.get(Counter.IMAGES_REFUSED_BUDGET)).toBe(3);

    const admitting = new LoneSubscriber({ imageLogAllocator: failingAllocator, imageLogBudgetBytes: 64 * GIB });
    const a = admitting.engine.counters;
    for (let i = 0; i < 3; i++) {
      admitting.setup(hostileIp(i), { sessionId: 0x10000 + i, termLength: GIB, termOffset: GIB - 64 });
      admitting.data(hostileIp(i), 0x10000 + i, 7, GIB - 64, 32);
      admitting.data(hostileIp(i), 0x10000 + i, 7, GIB - 64, 32); // the image is closed: not tried again
      admitting.step(NS_PER_MS);
    }
    expect(a.get(Counter.IMAGES_CREATED)).toBe(3);
    expect(a.get(Counter.IMAGE_ALLOCATION_FAILURES)).toBe(3);
    expect(a.get(Counter.IMAGES_ACTIVE)).toBe(0);
    expect(a.get(Counter.IMAGE_LOG_BYTES_RESERVED)).toBe(0);
    expect(a.get(Counter.IMAGE_LOG_BYTES_ALLOCATED)).toBe(0);

    // Worker mode allocates the shared log up front: the failure refuses the SETUP.
    const shared = new LoneSubscriber({ imageLogAllocator: failingAllocator, sharedLogs: true });
    expect(() => shared.setup(hostileIp(1), { sessionId: 0x10000, termLength: TERM_64K, termOffset: 0 })).not.toThrow();
    expect(shared.engine.counters.get(Counter.IMAGE_ALLOCATION_FAILURES)).toBe(1);
    expect(shared.engine.counters.get(Counter.IMAGES_ACTIVE)).toBe(0);
  });

  it("refuses SETUPs outside Aeron's term-length, mtu and term-offset rules, counted as invalid", () => {
    const sub = new LoneSubscriber();
    const c = sub.engine.counters;
    const invalid = [
      { termLength: 0 }, { termLength: -TERM_64K }, { termLength: 32 * 1024 }, { termLength: TERM_64K + 32 }, { termLength: 3 * MIB },
      { termLength: -0x80000000 }, { termLength: 0x7fffffff },
      { mtu: 0 }, { mtu: 32 }, { mtu: -64 }, { mtu: 1400 }, { mtu: 65505 }, { mtu: 65536 }, { mtu: 0x7fffffe0 },
      { termOffset: -32 }, { termOffset: 33 }, { termOffset: TERM_64K }, { termOffset: TERM_64K - 16 },
      { initialTermId: 10, activeTermId: 9 },
    ];
    invalid.forEach((fields, i) => {
      sub.setup(hostileIp(i), { sessionId: 0x10000 + i, termLength: TERM_64K, termOffset: 0, ...fields });
    });
    expect(c.get(Counter.SETUPS_INVALID)).toBe(invalid.length);
    expect(c.get(Counter.IMAGES_CREATED)).toBe(0);
    // The bounds themselves are valid (Aeron: mtu > 32, <= 65504; term 64 KiB .. 1 GiB).
    const valid = [{ mtu: 64 }, { mtu: 65504 }, { termLength: GIB / 1024 / 16 }, { termLength: 4 * TERM_64K, termOffset: 4 * TERM_64K - 32 }];
    const roomy = new LoneSubscriber();
    valid.forEach((fields, i) => {
      roomy.setup(hostileIp(i), { sessionId: 0x10000 + i, termLength: TERM_64K, termOffset: 0, ...fields });
    });
    expect(roomy.engine.counters.get(Counter.SETUPS_INVALID)).toBe(0);
    expect(roomy.engine.counters.get(Counter.IMAGES_CREATED)).toBe(valid.length);
  });
});

// Any SETUP field values, a DATA frame anywhere, the application polling and time passing: no
// call throws, the reservation never exceeds the budget, and memory allocated never exceeds it.
const int32 = fc.oneof(
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  fc.constantFrom(0, 32, 64, 1408, 65504, 65536, 1 << 16, 1 << 20, 1 << 30, -1, 0x7fffffff, -0x80000000),
);
test.prop(
  [
    fc.array(
      fc.record({
        source: fc.integer({ min: 0, max: 3 }),
        sessionId: fc.integer({ min: 0, max: 7 }),
        termLength: fc.oneof(int32, fc.integer({ min: 16, max: 30 }).map((b) => 1 << b)),
        termOffset: fc.oneof(int32, fc.integer({ min: 0, max: (1 << 25) - 1 }).map((k) => k * 32)),
        initialTermId: int32,
        activeDelta: fc.integer({ min: -2, max: 5 }),
        mtu: int32,
        dataTermDelta: fc.integer({ min: -1, max: 3 }),
        dataOffset: fc.oneof(int32, fc.nat({ max: 1 << 20 }).map((k) => k * 32)),
        payload: fc.integer({ min: 0, max: 1400 }),
        advanceMs: fc.integer({ min: 0, max: 3000 }),
      }),
      { maxLength: 30 },
    ),
    fc.constantFrom(3 * TERM_64K, 8 * MIB, 4 * GIB),
    fc.boolean(), // allocation fails
  ],
  { numRuns: 150 },
)("attack 3 property: any SETUP and DATA field values never throw and never exceed the budget", (steps, budget, failing) => {
  const sub = new LoneSubscriber({
    imageLogBudgetBytes: budget,
    maxImages: 6,
    maxImagesPerSource: 3,
    ...(failing ? { imageLogAllocator: failingAllocator } : {}),
  });
  const c = sub.engine.counters;
  for (const s of steps) {
    const sessionId = 0x1000 + s.sessionId;
    const activeTermId = (s.initialTermId + s.activeDelta) | 0;
    sub.setup(hostileIp(s.source), { sessionId, termLength: s.termLength, termOffset: s.termOffset, initialTermId: s.initialTermId,
      activeTermId, mtu: s.mtu });
    sub.data(hostileIp(s.source), sessionId, (activeTermId + s.dataTermDelta) | 0, s.dataOffset & ~31 & 0x3fffffff, s.payload);
    sub.step(s.advanceMs * NS_PER_MS);
    expect(c.get(Counter.IMAGE_LOG_BYTES_RESERVED)).toBeLessThanOrEqual(budget);
    expect(c.get(Counter.IMAGE_LOG_BYTES_ALLOCATED)).toBeLessThanOrEqual(c.get(Counter.IMAGE_LOG_BYTES_RESERVED));
    expect(c.get(Counter.IMAGES_ACTIVE)).toBeLessThanOrEqual(6);
    let allocated = 0;
    for (const image of sub.engine.images) allocated += image.log.allocatedBytes;
    expect(allocated).toBe(c.get(Counter.IMAGE_LOG_BYTES_ALLOCATED));
  }
});

it("the default budget is 2 GiB", () => {
  expect(DEFAULT_IMAGE_LOG_BUDGET_BYTES).toBe(2 * GIB);
});
