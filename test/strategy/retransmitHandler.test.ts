// Goal: the sender's retransmit handler resends a NAKed range once per burst of NAKs. It resends at
// once with delay 0, or exactly when the delay expires (not 1 ns before); it coalesces NAKs for a
// range already delayed or lingering; it ignores repeats during the linger and accepts the range
// again once the linger has run out (exactly at the deadline); it holds at most 16 actions and
// counts the overflow; it ignores NAKs for data not yet sent and clamps to what was sent. A
// property checks the bound and the counters' bookkeeping over random NAK streams.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { StaticDelayGenerator } from "../../src/core/strategy/feedbackDelay.js";
import {
  MAX_RETRANSMIT_ACTIONS_DEFAULT,
  NakOutcome,
  RetransmitHandler,
  type RetransmitSender,
} from "../../src/core/strategy/retransmitHandler.js";
import { NO_DEADLINE_NS } from "../../src/core/strategy/timers.js";
import { testSeed } from "./support/seed.js";

const seed = testSeed("retransmitHandler");

const TERM_LENGTH = 64 * 1024;
const INITIAL_TERM_ID = 7;
const LINGER_NS = 10_000_000;

class RecordingSender implements RetransmitSender {
  readonly resends: Array<[number, number, number]> = [];
  resend(termId: number, termOffset: number, length: number): void {
    this.resends.push([termId, termOffset, length]);
  }
}

function handler(delayNs: number, maxActions?: number): { sender: RecordingSender; rh: RetransmitHandler } {
  const sender = new RecordingSender();
  const rh = new RetransmitHandler(sender, {
    initialTermId: INITIAL_TERM_ID,
    delayGenerator: new StaticDelayGenerator(delayNs, 0),
    lingerGenerator: new StaticDelayGenerator(LINGER_NS, 0),
    ...(maxActions === undefined ? {} : { maxActions }),
  });
  return { sender, rh };
}

/** Far beyond anything these tests NAK: everything counts as sent. */
const SENT_ALL = 10 * TERM_LENGTH;

describe("RetransmitHandler, immediate (delay 0)", () => {
  it("resends at once and then lingers", () => {
    const { sender, rh } = handler(0);
    expect(rh.onNak(1_000, INITIAL_TERM_ID, 1024, 512, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Resent);
    expect(sender.resends).toEqual([[INITIAL_TERM_ID, 1024, 512]]);
    expect(rh.retransmitsCount).toBe(1);
    expect(rh.retransmittedBytes).toBe(512);
    expect(rh.activeActionCount()).toBe(1);
    expect(rh.nextDeadlineNs()).toBe(1_000 + LINGER_NS);
  });

  it("ignores repeat NAKs for the range during the linger, accepts them exactly when it ends", () => {
    const { sender, rh } = handler(0);
    rh.onNak(0, INITIAL_TERM_ID, 1024, 512, TERM_LENGTH, SENT_ALL);
    const lingerEnd = LINGER_NS;

    expect(rh.onNak(lingerEnd - 1, INITIAL_TERM_ID, 1024, 512, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Coalesced);
    // A NAK starting inside the lingering range is the same loss seen later: also coalesced.
    expect(rh.onNak(lingerEnd - 1, INITIAL_TERM_ID, 1280, 64, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Coalesced);
    expect(rh.processTimeouts(lingerEnd - 1)).toBe(0);
    expect(rh.activeActionCount()).toBe(1);
    expect(rh.coalescedNakCount).toBe(2);

    expect(rh.processTimeouts(lingerEnd)).toBe(0);
    expect(rh.activeActionCount()).toBe(0);
    expect(rh.nextDeadlineNs()).toBe(NO_DEADLINE_NS);
    expect(rh.onNak(lingerEnd, INITIAL_TERM_ID, 1024, 512, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Resent);
    expect(sender.resends.length).toBe(2);
  });

  it("treats another term or an offset outside the range as a new action", () => {
    const { sender, rh } = handler(0);
    rh.onNak(0, INITIAL_TERM_ID, 1024, 512, TERM_LENGTH, SENT_ALL);
    expect(rh.onNak(1, INITIAL_TERM_ID + 1, 1024, 512, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Resent);
    expect(rh.onNak(2, INITIAL_TERM_ID, 1536, 512, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Resent);
    expect(sender.resends.length).toBe(3);
  });
});

describe("RetransmitHandler, delayed", () => {
  const DELAY_NS = 5_000;

  it("resends exactly when the delay expires, not 1 ns before", () => {
    const { sender, rh } = handler(DELAY_NS);
    expect(rh.onNak(100, INITIAL_TERM_ID, 0, 1408, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Delayed);
    expect(rh.nextDeadlineNs()).toBe(100 + DELAY_NS);
    expect(rh.processTimeouts(100 + DELAY_NS - 1)).toBe(0);
    expect(sender.resends).toEqual([]);
    expect(rh.processTimeouts(100 + DELAY_NS)).toBe(1);
    expect(sender.resends).toEqual([[INITIAL_TERM_ID, 0, 1408]]);
    expect(rh.nextDeadlineNs()).toBe(100 + DELAY_NS + LINGER_NS);
  });

  it("resends when processTimeouts comes late (just past the deadline)", () => {
    const { sender, rh } = handler(DELAY_NS);
    rh.onNak(0, INITIAL_TERM_ID, 0, 64, TERM_LENGTH, SENT_ALL);
    expect(rh.processTimeouts(DELAY_NS + 1)).toBe(1);
    expect(sender.resends.length).toBe(1);
    expect(rh.nextDeadlineNs()).toBe(DELAY_NS + 1 + LINGER_NS);
  });

  it("coalesces NAKs while delayed: many receivers NAKing one loss cost one resend", () => {
    const { sender, rh } = handler(DELAY_NS);
    rh.onNak(0, INITIAL_TERM_ID, 4096, 1408, TERM_LENGTH, SENT_ALL);
    for (let receiver = 0; receiver < 20; receiver++) {
      expect(rh.onNak(receiver, INITIAL_TERM_ID, 4096, 1408, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Coalesced);
    }
    rh.processTimeouts(DELAY_NS);
    expect(sender.resends).toEqual([[INITIAL_TERM_ID, 4096, 1408]]);
    expect(rh.coalescedNakCount).toBe(20);
  });

  it("a spurious processTimeouts is a no-op", () => {
    const { sender, rh } = handler(DELAY_NS);
    expect(rh.processTimeouts(0)).toBe(0);
    rh.onNak(0, INITIAL_TERM_ID, 0, 64, TERM_LENGTH, SENT_ALL);
    expect(rh.processTimeouts(1)).toBe(0);
    expect(sender.resends).toEqual([]);
    expect(rh.activeActionCount()).toBe(1);
  });
});

describe("RetransmitHandler, bounds", () => {
  it("holds at most 16 actions; the 17th NAK is counted as overflow and ignored", () => {
    const { sender, rh } = handler(1_000);
    for (let i = 0; i < MAX_RETRANSMIT_ACTIONS_DEFAULT; i++) {
      expect(rh.onNak(0, INITIAL_TERM_ID, i * 1024, 64, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Delayed);
    }
    expect(rh.activeActionCount()).toBe(16);
    expect(rh.onNak(0, INITIAL_TERM_ID, 16 * 1024, 64, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Overflow);
    expect(rh.retransmitOverflowCount).toBe(1);
    expect(rh.activeActionCount()).toBe(16);

    // Once the actions have resent and lingered out, a slot is free again.
    expect(rh.processTimeouts(1_000)).toBe(16);
    expect(sender.resends.length).toBe(16);
    expect(rh.processTimeouts(1_000 + LINGER_NS)).toBe(0);
    expect(rh.activeActionCount()).toBe(0);
    expect(rh.onNak(1_000 + LINGER_NS, INITIAL_TERM_ID, 16 * 1024, 64, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Delayed);
  });

  it("ignores NAKs for data not yet sent and clamps a range to what was sent", () => {
    const { sender, rh } = handler(0);
    const senderPosition = 2 * TERM_LENGTH + 4096; // two full terms and 4 KiB of the third
    // At the sender position: never sent.
    expect(rh.onNak(0, INITIAL_TERM_ID + 2, 4096, 64, TERM_LENGTH, senderPosition)).toBe(NakOutcome.NotSent);
    // A term not yet reached.
    expect(rh.onNak(0, INITIAL_TERM_ID + 3, 0, 64, TERM_LENGTH, senderPosition)).toBe(NakOutcome.NotSent);
    // A term before the stream began.
    expect(rh.onNak(0, INITIAL_TERM_ID - 1, 0, 64, TERM_LENGTH, senderPosition)).toBe(NakOutcome.NotSent);
    expect(rh.ignoredNakCount).toBe(3);
    expect(sender.resends).toEqual([]);

    // Straddling the sender position: clamped to what was sent.
    expect(rh.onNak(0, INITIAL_TERM_ID + 2, 4000, 1000, TERM_LENGTH, senderPosition)).toBe(NakOutcome.Resent);
    // Running past the end of the term: clamped to the term.
    expect(rh.onNak(0, INITIAL_TERM_ID, TERM_LENGTH - 64, 1000, TERM_LENGTH, senderPosition)).toBe(NakOutcome.Resent);
    expect(sender.resends).toEqual([
      [INITIAL_TERM_ID + 2, 4000, 96],
      [INITIAL_TERM_ID, TERM_LENGTH - 64, 64],
    ]);
  });

  it("handles term ids that wrap around i32", () => {
    const sender = new RecordingSender();
    const rh = new RetransmitHandler(sender, { initialTermId: 0x7fff_ffff });
    const wrapped = (0x7fff_ffff + 1) | 0; // -2^31, the term after the initial one
    expect(rh.onNak(0, wrapped, 0, 64, TERM_LENGTH, TERM_LENGTH + 128)).toBe(NakOutcome.Resent);
    expect(sender.resends).toEqual([[wrapped, 0, 64]]);
  });

  it("ignores impossible offsets and lengths", () => {
    const { rh } = handler(0);
    expect(rh.onNak(0, INITIAL_TERM_ID, -32, 64, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Invalid);
    expect(rh.onNak(0, INITIAL_TERM_ID, TERM_LENGTH, 64, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Invalid);
    expect(rh.onNak(0, INITIAL_TERM_ID, 0, 0, TERM_LENGTH, SENT_ALL)).toBe(NakOutcome.Invalid);
    expect(rh.ignoredNakCount).toBe(3);
  });

  test.prop(
    [
      fc.integer({ min: 0, max: 20_000 }),
      fc.array(
        fc.record({
          advanceNs: fc.integer({ min: 0, max: 3_000_000 }),
          term: fc.integer({ min: 0, max: 2 }),
          slot: fc.integer({ min: 0, max: 40 }),
          length: fc.integer({ min: 1, max: 4096 }),
        }),
        { maxLength: 200 },
      ),
    ],
    { seed, numRuns: 200 },
  )("never exceeds the bound; every NAK is accounted for; deadlines never in the past", (delayNs, naks) => {
    const { sender, rh } = handler(delayNs);
    let nowNs = 0;
    let immediate = 0;
    for (const nak of naks) {
      nowNs += nak.advanceNs;
      rh.processTimeouts(nowNs);
      const outcome = rh.onNak(nowNs, INITIAL_TERM_ID + nak.term, nak.slot * 1024, nak.length, TERM_LENGTH, 2 * TERM_LENGTH);
      if (outcome === NakOutcome.Resent) immediate++;
      expect(rh.activeActionCount()).toBeLessThanOrEqual(MAX_RETRANSMIT_ACTIONS_DEFAULT);
      if (rh.activeActionCount() > 0) expect(rh.nextDeadlineNs()).toBeGreaterThanOrEqual(nowNs);
    }
    const accounted =
      rh.coalescedNakCount + rh.retransmitOverflowCount + rh.ignoredNakCount + rh.activeActionCount();
    expect(accounted).toBeLessThanOrEqual(naks.length);
    expect(rh.retransmitsCount).toBe(sender.resends.length);
    if (delayNs === 0) expect(immediate).toBe(sender.resends.length);
    for (const [, termOffset, length] of sender.resends) expect(termOffset + length).toBeLessThanOrEqual(TERM_LENGTH);
  });
});
