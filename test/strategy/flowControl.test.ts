// Goal: each flow-control strategy computes the sender limit PROTOCOL.md section 7 describes.
// Unicast: SM position + window, never backwards. Max: the fastest receiver sets the pace and slow
// receivers are ignored. Min: the slowest live receiver sets the pace; a silent receiver is dropped
// exactly at the receiver timeout (kept 1 ns before, gone 1 ns after); the table is bounded and
// counts overflow. Tagged: like min over the SMs carrying the group tag only; not connected until
// the minimum number of tagged receivers has reported. The factory maps the parsed `fc=` spec.
// 64-bit receiver ids and tags travel as int32 halves; a property checks min against a model.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  createFlowControl,
  type FlowControl,
  int64PartsFromSafeInteger,
} from "../../src/core/strategy/flowControl.js";
import { MaxMulticastFlowControl } from "../../src/core/strategy/maxMulticastFlowControl.js";
import {
  FLOW_CONTROL_RECEIVER_TIMEOUT_DEFAULT_NS,
  MinMulticastFlowControl,
} from "../../src/core/strategy/minMulticastFlowControl.js";
import { TaggedMulticastFlowControl } from "../../src/core/strategy/taggedMulticastFlowControl.js";
import { UnicastFlowControl } from "../../src/core/strategy/unicastFlowControl.js";
import { NO_DEADLINE_NS } from "../../src/core/strategy/timers.js";
import { testSeed } from "./support/seed.js";

const seed = testSeed("flowControl");

const WINDOW = 128 * 1024;
const TIMEOUT = FLOW_CONTROL_RECEIVER_TIMEOUT_DEFAULT_NS;

/** An SM without a group tag from receiver `id` (the id's high half set to show it is compared too). */
function sm(fcs: FlowControl, nowNs: number, id: number, position: number, limit: number, windowBytes = WINDOW): number {
  return fcs.onStatusMessage(nowNs, id, 0x5eed, position, windowBytes, false, 0, 0, limit, false);
}

function taggedSm(fcs: FlowControl, nowNs: number, id: number, position: number, limit: number, tagLo: number, tagHi: number): number {
  return fcs.onStatusMessage(nowNs, id, 0x5eed, position, WINDOW, true, tagLo, tagHi, limit, false);
}

describe("UnicastFlowControl", () => {
  it("sets the limit to SM position + window and never moves it backwards", () => {
    const fcs = new UnicastFlowControl();
    let limit = fcs.initialLimit(0, 4096);
    expect(limit).toBe(4096);
    limit = sm(fcs, 1, 1, 4096, limit);
    expect(limit).toBe(4096 + WINDOW);
    limit = sm(fcs, 2, 1, 10_000, limit);
    expect(limit).toBe(10_000 + WINDOW);
    // A reordered older SM, or a shrunken window, does not pull the limit in.
    limit = sm(fcs, 3, 1, 5_000, limit);
    expect(limit).toBe(10_000 + WINDOW);
    limit = sm(fcs, 4, 1, 10_000, limit, 1024);
    expect(limit).toBe(10_000 + WINDOW);
    expect(fcs.onIdle(1e12, limit, 0, false)).toBe(limit);
    expect(fcs.hasRequiredReceivers()).toBe(true);
    expect(fcs.nextDeadlineNs()).toBe(NO_DEADLINE_NS);
  });

  test.prop([fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 24 })), { maxLength: 50 })], {
    seed,
    numRuns: 200,
  })("the limit is monotonic and at least every SM's position + window", (sms) => {
    const fcs = new UnicastFlowControl();
    let limit = fcs.initialLimit(0, 0);
    let highest = 0;
    for (const [position, windowBytes] of sms) {
      const next = sm(fcs, 0, 1, position, limit, windowBytes);
      expect(next).toBeGreaterThanOrEqual(limit);
      highest = Math.max(highest, position + windowBytes);
      limit = next;
    }
    expect(limit).toBe(highest);
  });
});

describe("MaxMulticastFlowControl", () => {
  it("follows the fastest receiver and ignores slow ones", () => {
    const fcs = new MaxMulticastFlowControl();
    let limit = fcs.initialLimit(0, 0);
    limit = sm(fcs, 1, 1, 100_000, limit);
    limit = sm(fcs, 2, 2, 10_000, limit); // slow receiver
    expect(limit).toBe(100_000 + WINDOW);
    limit = sm(fcs, 3, 2, 20_000, limit);
    expect(limit).toBe(100_000 + WINDOW);
    limit = sm(fcs, 4, 1, 200_000, limit);
    expect(limit).toBe(200_000 + WINDOW);
    expect(fcs.hasRequiredReceivers()).toBe(true);
  });
});

describe("MinMulticastFlowControl", () => {
  it("waits for the slowest receiver", () => {
    const fcs = new MinMulticastFlowControl();
    let limit = fcs.initialLimit(0, 0);
    limit = sm(fcs, 1, 1, 100_000, limit);
    expect(limit).toBe(100_000 + WINDOW);
    limit = sm(fcs, 2, 2, 10_000, limit);
    expect(limit).toBe(10_000 + WINDOW);
    limit = sm(fcs, 3, 1, 300_000, limit); // the fast one moving does not help
    expect(limit).toBe(10_000 + WINDOW);
    limit = sm(fcs, 4, 2, 50_000, limit); // the slow one moving does
    expect(limit).toBe(50_000 + WINDOW);
    expect(fcs.receiverCount()).toBe(2);
  });

  it("keys receivers by the whole 64-bit id (both halves)", () => {
    const fcs = new MinMulticastFlowControl();
    let limit = fcs.initialLimit(0, 0);
    limit = fcs.onStatusMessage(0, 7, 1, 100_000, WINDOW, false, 0, 0, limit, false);
    limit = fcs.onStatusMessage(0, 7, 2, 10_000, WINDOW, false, 0, 0, limit, false);
    expect(fcs.receiverCount()).toBe(2);
    expect(limit).toBe(10_000 + WINDOW);
  });

  it("drops a silent receiver exactly at the timeout: kept at −1 ns, gone at +1 ns", () => {
    const fcs = new MinMulticastFlowControl();
    let limit = fcs.initialLimit(0, 0);
    limit = sm(fcs, 0, 1, 10_000, limit); // slow, then silent
    const fastSmNs = 1_000_000_000;
    limit = sm(fcs, fastSmNs, 2, 500_000, limit);
    expect(limit).toBe(10_000 + WINDOW);
    expect(fcs.nextDeadlineNs()).toBe(TIMEOUT);

    expect(fcs.onIdle(TIMEOUT - 1, limit, 500_000, false)).toBe(10_000 + WINDOW);
    expect(fcs.receiverCount()).toBe(2);
    limit = fcs.onIdle(TIMEOUT + 1, limit, 500_000, false);
    expect(limit).toBe(500_000 + WINDOW);
    expect(fcs.receiverCount()).toBe(1);
    expect(fcs.receiverTimeoutCount).toBe(1);
    expect(fcs.nextDeadlineNs()).toBe(fastSmNs + TIMEOUT);
  });

  it("drops exactly at the deadline (deadline − now <= 0)", () => {
    const fcs = new MinMulticastFlowControl({ receiverTimeoutNs: 1_000 });
    sm(fcs, 0, 1, 0, 0);
    fcs.onIdle(999, 0, 0, false);
    expect(fcs.receiverCount()).toBe(1);
    fcs.onIdle(1_000, 0, 0, false);
    expect(fcs.receiverCount()).toBe(0);
  });

  it("an SM refreshes the receiver's timeout", () => {
    const fcs = new MinMulticastFlowControl({ receiverTimeoutNs: 1_000 });
    sm(fcs, 0, 1, 0, 0);
    sm(fcs, 900, 1, 64, 0);
    fcs.onIdle(1_500, 0, 0, false);
    expect(fcs.receiverCount()).toBe(1);
    fcs.onIdle(1_900, 0, 0, false);
    expect(fcs.receiverCount()).toBe(0);
  });

  it("with every receiver gone keeps the current limit", () => {
    const fcs = new MinMulticastFlowControl({ receiverTimeoutNs: 1_000 });
    const limit = sm(fcs, 0, 1, 4096, 0);
    expect(fcs.onIdle(5_000, limit, 4096, false)).toBe(limit);
    expect(fcs.nextDeadlineNs()).toBe(NO_DEADLINE_NS);
  });

  it("drops a receiver at once when its SM carries EOS, and never adds one from an EOS SM (Aeron's eosFlagged)", () => {
    const fcs = new MinMulticastFlowControl();
    let limit = sm(fcs, 0, 1, 1_000_000, 0);
    limit = sm(fcs, 1, 2, 8192, limit);
    expect(limit).toBe(8192 + WINDOW);
    expect(fcs.receiverCount()).toBe(2);
    // Receiver 2's subscription closes: its EOS SM removes it, the slow receiver no longer holds the group.
    limit = fcs.onStatusMessage(2, 2, 0x5eed, 8192, WINDOW, false, 0, 0, limit, true);
    expect(fcs.receiverCount()).toBe(1);
    expect(limit).toBe(1_000_000 + WINDOW);
    // An EOS SM from a receiver never seen does not add it.
    limit = fcs.onStatusMessage(3, 3, 0x5eed, 0, WINDOW, false, 0, 0, limit, true);
    expect(fcs.receiverCount()).toBe(1);
    expect(fcs.receiverRemoteCloseCount).toBe(1);
  });

  it("drops a receiver that sends an error frame (min: any; tagged: only with the matching tag)", () => {
    const min = new MinMulticastFlowControl();
    let limit = sm(min, 0, 1, 1_000_000, 0);
    limit = sm(min, 0, 2, 0, limit);
    min.onError(2, 0x5eed, false, 0, 0);
    expect(min.receiverCount()).toBe(1);
    expect(min.onIdle(1, limit, 0, false)).toBe(1_000_000 + WINDOW);
    const tagged = createFlowControl({ strategy: "tagged", groupTag: 7 }, true);
    tagged.onStatusMessage(0, 1, 0, 0, WINDOW, true, 7, 0, 0, false);
    tagged.onError(1, 0, false, 0, 0);
    tagged.onError(1, 0, true, 8, 0);
    expect(tagged.hasRequiredReceivers()).toBe(true);
    expect((tagged as MinMulticastFlowControl).receiverCount()).toBe(1);
    tagged.onError(1, 0, true, 7, 0);
    expect((tagged as MinMulticastFlowControl).receiverCount()).toBe(0);
  });

  it("bounds the receiver table and counts the overflow", () => {
    const fcs = new MinMulticastFlowControl({ maxReceivers: 4 });
    let limit = fcs.initialLimit(0, 0);
    for (let id = 1; id <= 4; id++) limit = sm(fcs, 0, id, 100_000 * id, limit);
    expect(limit).toBe(100_000 + WINDOW);
    limit = sm(fcs, 0, 99, 0, limit); // a fifth receiver: not tracked
    expect(fcs.receiverOverflowCount).toBe(1);
    expect(fcs.receiverCount()).toBe(4);
    expect(limit).toBe(100_000 + WINDOW);
  });

  it("with a group minimum size holds the limit until that many receivers report", () => {
    const fcs = new MinMulticastFlowControl({ groupMinSize: 2 });
    let limit = fcs.initialLimit(0, 0);
    expect(fcs.hasRequiredReceivers()).toBe(false);
    limit = sm(fcs, 0, 1, 0, limit);
    expect(limit).toBe(0);
    expect(fcs.hasRequiredReceivers()).toBe(false);
    limit = sm(fcs, 0, 2, 0, limit);
    expect(limit).toBe(WINDOW);
    expect(fcs.hasRequiredReceivers()).toBe(true);
  });

  test.prop(
    [
      fc.array(
        fc.record({
          advanceNs: fc.integer({ min: 0, max: 2_000 }),
          id: fc.integer({ min: 0, max: 7 }),
          position: fc.integer({ min: 0, max: 1_000_000 }),
          idle: fc.boolean(),
        }),
        { maxLength: 100 },
      ),
    ],
    { seed, numRuns: 300 },
  )("matches a model: min over live receivers of (max position seen + window)", (events) => {
    const timeoutNs = 3_000;
    const fcs = new MinMulticastFlowControl({ receiverTimeoutNs: timeoutNs });
    const model = new Map<number, { position: number; lastNs: number }>();
    let nowNs = 0;
    let limit = fcs.initialLimit(0, 0);
    for (const event of events) {
      nowNs += event.advanceNs;
      if (event.idle) {
        limit = fcs.onIdle(nowNs, limit, 0, false);
        for (const [id, r] of model) if (r.lastNs + timeoutNs - nowNs <= 0) model.delete(id);
      } else {
        limit = sm(fcs, nowNs, event.id, event.position, limit);
        const known = model.get(event.id);
        model.set(event.id, { position: Math.max(known?.position ?? 0, event.position), lastNs: nowNs });
      }
      expect(fcs.receiverCount()).toBe(model.size);
      if (model.size > 0) {
        expect(limit).toBe(Math.min(...[...model.values()].map((r) => r.position + WINDOW)));
      }
    }
  });
});

describe("TaggedMulticastFlowControl", () => {
  const TAG = int64PartsFromSafeInteger(0x1_2345_6789);

  it("waits for N tagged receivers and ignores untagged or other-tag SMs", () => {
    const fcs = new TaggedMulticastFlowControl({ groupTagLo: TAG.lo, groupTagHi: TAG.hi, groupMinSize: 2 });
    let limit = fcs.initialLimit(0, 0);
    expect(fcs.hasRequiredReceivers()).toBe(false);

    limit = sm(fcs, 1, 10, 50_000, limit); // untagged
    limit = taggedSm(fcs, 2, 11, 50_000, limit, TAG.lo, TAG.hi + 1); // other tag (high half differs)
    limit = taggedSm(fcs, 3, 12, 50_000, limit, TAG.lo + 1, TAG.hi); // other tag (low half differs)
    expect(fcs.receiverCount()).toBe(0);
    expect(limit).toBe(0);
    expect(fcs.hasRequiredReceivers()).toBe(false);

    limit = taggedSm(fcs, 4, 20, 100_000, limit, TAG.lo, TAG.hi);
    expect(fcs.hasRequiredReceivers()).toBe(false);
    expect(limit).toBe(0);
    limit = taggedSm(fcs, 5, 21, 40_000, limit, TAG.lo, TAG.hi);
    expect(fcs.hasRequiredReceivers()).toBe(true);
    expect(limit).toBe(40_000 + WINDOW);

    // An untagged straggler far behind does not hold the group back.
    limit = sm(fcs, 6, 10, 0, limit);
    expect(limit).toBe(40_000 + WINDOW);
  });

  it("drops silent tagged receivers and loses the connection below the minimum", () => {
    const fcs = new TaggedMulticastFlowControl({ groupTagLo: TAG.lo, groupTagHi: TAG.hi, groupMinSize: 1, receiverTimeoutNs: 1_000 });
    taggedSm(fcs, 0, 1, 0, 0, TAG.lo, TAG.hi);
    expect(fcs.hasRequiredReceivers()).toBe(true);
    fcs.onIdle(999, 0, 0, false);
    expect(fcs.hasRequiredReceivers()).toBe(true);
    fcs.onIdle(1_001, 0, 0, false);
    expect(fcs.hasRequiredReceivers()).toBe(false);
  });
});

describe("createFlowControl", () => {
  it("defaults to unicast for unicast channels and max for multicast", () => {
    expect(createFlowControl(undefined, false)).toBeInstanceOf(UnicastFlowControl);
    expect(createFlowControl(undefined, true)).toBeInstanceOf(MaxMulticastFlowControl);
    expect(createFlowControl({ strategy: "max" }, true)).toBeInstanceOf(MaxMulticastFlowControl);
  });

  it("builds min with its timeout and group size", () => {
    const fcs = createFlowControl({ strategy: "min", receiverTimeoutNs: 2_000_000_000, groupMinSize: 3 }, true);
    expect(fcs).toBeInstanceOf(MinMulticastFlowControl);
    const min = fcs as MinMulticastFlowControl;
    expect(min.receiverTimeoutNs).toBe(2_000_000_000);
    expect(min.groupMinSize).toBe(3);
  });

  it("builds tagged from a numeric tag, a lo/hi tag, or the default tag -1", () => {
    const fromNumber = createFlowControl({ strategy: "tagged", groupTag: 0x1_0000_0002, groupMinSize: 1 }, true);
    expect(fromNumber).toBeInstanceOf(TaggedMulticastFlowControl);
    expect((fromNumber as TaggedMulticastFlowControl).groupTagLo).toBe(2);
    expect((fromNumber as TaggedMulticastFlowControl).groupTagHi).toBe(1);

    const fromParts = createFlowControl({ strategy: "tagged", groupTag: { lo: -5, hi: 3 } }, true) as TaggedMulticastFlowControl;
    expect([fromParts.groupTagLo, fromParts.groupTagHi]).toEqual([-5, 3]);

    const byDefault = createFlowControl({ strategy: "tagged" }, true) as TaggedMulticastFlowControl;
    expect([byDefault.groupTagLo, byDefault.groupTagHi]).toEqual([-1, -1]);
    expect(byDefault.receiverTimeoutNs).toBe(FLOW_CONTROL_RECEIVER_TIMEOUT_DEFAULT_NS);
  });

  it("splits safe integers into int32 halves as an i64 field holds them", () => {
    expect(int64PartsFromSafeInteger(0)).toEqual({ lo: 0, hi: 0 });
    expect(int64PartsFromSafeInteger(-1)).toEqual({ lo: -1, hi: -1 });
    expect(int64PartsFromSafeInteger(0xffff_ffff)).toEqual({ lo: -1, hi: 0 });
    expect(int64PartsFromSafeInteger(-(2 ** 32) + 5)).toEqual({ lo: 5, hi: -1 });
    expect(int64PartsFromSafeInteger(2 ** 52 + 3)).toEqual({ lo: 3, hi: 2 ** 20 });
  });
});
