// Goal: the receiver's NAK timer for the one gap chased at a time. A new gap arms the timer with
// the initial delay and the NAK goes out exactly at the deadline (not 1 ns before); the same gap
// reported again does not restart the timer; a different term id, offset or length does; a gap
// still there after the NAK is NAKed again after the retry delay (100 µs → 10 ms unicast);
// onGapFilled stops it. Zero delay NAKs in the same duty cycle.
import { describe, expect, it } from "vitest";
import { NAK_UNICAST_DELAY_DEFAULT_NS, OptimalMulticastDelayGenerator, StaticDelayGenerator } from "../../src/core/strategy/feedbackDelay.js";
import { NakTimer, type NakSink } from "../../src/core/strategy/nakTimer.js";
import { NO_DEADLINE_NS } from "../../src/core/strategy/timers.js";
import { ScriptedRandom } from "./support/seededRandom.js";

class RecordingSink implements NakSink {
  readonly naks: Array<[number, number, number]> = [];
  sendNak(termId: number, termOffset: number, length: number): void {
    this.naks.push([termId, termOffset, length]);
  }
}

const DELAY = NAK_UNICAST_DELAY_DEFAULT_NS; // 100 µs
const RETRY = DELAY * 100; // 10 ms

describe("NakTimer", () => {
  it("is idle until a gap is reported", () => {
    const timer = new NakTimer(new StaticDelayGenerator(DELAY));
    const sink = new RecordingSink();
    expect(timer.deadlineNs()).toBe(NO_DEADLINE_NS);
    expect(timer.poll(1e12, sink)).toBe(0);
    expect(sink.naks).toEqual([]);
  });

  it("NAKs a new gap exactly at now + delay, not 1 ns before", () => {
    const timer = new NakTimer(new StaticDelayGenerator(DELAY));
    const sink = new RecordingSink();
    expect(timer.onGap(1_000, 5, 2048, 1408)).toBe(true);
    expect(timer.deadlineNs()).toBe(1_000 + DELAY);
    expect(timer.poll(1_000 + DELAY - 1, sink)).toBe(0);
    expect(sink.naks).toEqual([]);
    expect(timer.poll(1_000 + DELAY, sink)).toBe(1);
    expect(sink.naks).toEqual([[5, 2048, 1408]]);
    expect(timer.naksSentCount).toBe(1);
  });

  it("NAKs when polled just past the deadline", () => {
    const timer = new NakTimer(new StaticDelayGenerator(DELAY));
    const sink = new RecordingSink();
    timer.onGap(0, 5, 0, 64);
    expect(timer.poll(DELAY + 1, sink)).toBe(1);
    expect(timer.deadlineNs()).toBe(DELAY + 1 + RETRY);
  });

  it("re-NAKs a gap still there after the retry delay (and not 1 ns before)", () => {
    const timer = new NakTimer(new StaticDelayGenerator(DELAY));
    const sink = new RecordingSink();
    timer.onGap(0, 5, 2048, 1408);
    timer.poll(DELAY, sink);
    // The scanner keeps finding the same gap: the timer is not restarted.
    expect(timer.onGap(DELAY + 500, 5, 2048, 1408)).toBe(false);
    expect(timer.deadlineNs()).toBe(DELAY + RETRY);
    expect(timer.poll(DELAY + RETRY - 1, sink)).toBe(0);
    expect(timer.poll(DELAY + RETRY, sink)).toBe(1);
    expect(sink.naks).toEqual([
      [5, 2048, 1408],
      [5, 2048, 1408],
    ]);
    expect(timer.deadlineNs()).toBe(DELAY + 2 * RETRY);
  });

  it("the same gap reported before the first NAK does not postpone it", () => {
    const timer = new NakTimer(new StaticDelayGenerator(DELAY));
    const sink = new RecordingSink();
    timer.onGap(0, 5, 2048, 1408);
    timer.onGap(DELAY - 1, 5, 2048, 1408);
    expect(timer.poll(DELAY, sink)).toBe(1);
  });

  it("re-arms for a gap that differs in term id, offset or length", () => {
    const timer = new NakTimer(new StaticDelayGenerator(DELAY));
    timer.onGap(0, 5, 2048, 1408);
    expect(timer.onGap(10, 6, 2048, 1408)).toBe(true);
    expect(timer.deadlineNs()).toBe(10 + DELAY);
    expect(timer.onGap(20, 6, 2080, 1408)).toBe(true);
    expect(timer.deadlineNs()).toBe(20 + DELAY);
    // Part of the gap filled in: same offset, shorter length, a new gap.
    expect(timer.onGap(30, 6, 2080, 704)).toBe(true);
    expect(timer.deadlineNs()).toBe(30 + DELAY);
    expect(timer.activeTermId()).toBe(6);
    expect(timer.activeTermOffset()).toBe(2080);
    expect(timer.activeLength()).toBe(704);
    expect(timer.gapsDetectedCount).toBe(4);
  });

  it("stops when the gap is filled, and a later gap starts afresh", () => {
    const timer = new NakTimer(new StaticDelayGenerator(DELAY));
    const sink = new RecordingSink();
    timer.onGap(0, 5, 2048, 1408);
    timer.onGapFilled();
    expect(timer.hasActiveGap()).toBe(false);
    expect(timer.deadlineNs()).toBe(NO_DEADLINE_NS);
    expect(timer.poll(DELAY * 10, sink)).toBe(0);
    // The very same range lost again later is a new gap.
    expect(timer.onGap(DELAY * 10, 5, 2048, 1408)).toBe(true);
    expect(timer.poll(DELAY * 11, sink)).toBe(1);
  });

  it("with zero delay NAKs in the same duty cycle (onGap then poll)", () => {
    const timer = new NakTimer(new StaticDelayGenerator(0, RETRY));
    const sink = new RecordingSink();
    timer.onGap(500, 1, 0, 32);
    expect(timer.poll(500, sink)).toBe(1);
    expect(timer.deadlineNs()).toBe(500 + RETRY);
  });

  it("uses the multicast generator's draws for the first NAK and the retries", () => {
    // Draws 0.5 then 0.25: first delay from 0.5, retry from 0.25.
    const generator = new OptimalMulticastDelayGenerator(new ScriptedRandom([0.5, 0.25]), 10_000_000, 10);
    const first = generator.delayForUniform(0.5);
    const retry = generator.delayForUniform(0.25);
    const timer = new NakTimer(generator);
    const sink = new RecordingSink();
    timer.onGap(0, 9, 64, 32);
    expect(timer.deadlineNs()).toBe(first);
    timer.poll(first, sink);
    expect(timer.deadlineNs()).toBe(first + retry);
  });
});
