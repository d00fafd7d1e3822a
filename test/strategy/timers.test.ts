// Goal: the timer table is plain data that reports the earliest deadline, treats a timer as due
// exactly at its deadline (deadline − nowNs <= 0) and not one nanosecond before, and drains due
// timers earliest first. A property checks earliest() against a straightforward model.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  NO_DEADLINE_NS,
  TIMER_KIND_COUNT,
  TimerKind,
  TimerTable,
  earlierDeadline,
  isDeadlineDue,
} from "../../src/core/strategy/timers.js";
import { StrategyAssertionError } from "../../src/core/strategy/assert.js";
import { testSeed } from "./support/seed.js";

const seed = testSeed("timers");

describe("TimerTable", () => {
  it("starts empty: no earliest deadline, no due kind", () => {
    const table = new TimerTable();
    expect(table.kindCount).toBe(TIMER_KIND_COUNT);
    expect(table.earliest()).toBe(NO_DEADLINE_NS);
    expect(table.earliestKind()).toBe(-1);
    expect(table.pollExpired(Number.MAX_SAFE_INTEGER - 1)).toBe(-1);
  });

  it("is due exactly at the deadline and not 1 ns before", () => {
    const table = new TimerTable().set(TimerKind.Heartbeat, 1_000);
    expect(table.isDue(TimerKind.Heartbeat, 999)).toBe(false);
    expect(table.isDue(TimerKind.Heartbeat, 1_000)).toBe(true);
    expect(table.isDue(TimerKind.Heartbeat, 1_001)).toBe(true);
    expect(table.pollExpired(999)).toBe(-1);
    expect(table.pollExpired(1_000)).toBe(TimerKind.Heartbeat);
    expect(table.isArmed(TimerKind.Heartbeat)).toBe(false);
  });

  it("reports the earliest of several and drains them earliest first", () => {
    const table = new TimerTable()
      .set(TimerKind.StatusMessage, 300)
      .set(TimerKind.SetupResend, 100)
      .set(TimerKind.Nak, 200);
    expect(table.earliest()).toBe(100);
    expect(table.earliestKind()).toBe(TimerKind.SetupResend);
    const order: number[] = [];
    let kind: number;
    while ((kind = table.pollExpired(250)) !== -1) order.push(kind);
    expect(order).toEqual([TimerKind.SetupResend, TimerKind.Nak]);
    expect(table.earliest()).toBe(300);
  });

  it("clear disarms a timer; clearAll disarms all", () => {
    const table = new TimerTable().set(TimerKind.Linger, 5).set(TimerKind.Nak, 7);
    table.clear(TimerKind.Linger);
    expect(table.earliest()).toBe(7);
    table.clearAll();
    expect(table.earliest()).toBe(NO_DEADLINE_NS);
  });

  it("rejects an out-of-range kind, a fractional deadline and the sentinel", () => {
    const table = new TimerTable(2);
    expect(() => table.set(2, 1)).toThrow(StrategyAssertionError);
    expect(() => table.set(-1, 1)).toThrow(StrategyAssertionError);
    expect(() => table.set(0, 1.5)).toThrow(StrategyAssertionError);
    expect(() => table.set(0, NO_DEADLINE_NS)).toThrow(StrategyAssertionError);
  });

  it("deadline helpers compare by subtraction", () => {
    expect(isDeadlineDue(10, 9)).toBe(false);
    expect(isDeadlineDue(10, 10)).toBe(true);
    expect(isDeadlineDue(NO_DEADLINE_NS, NO_DEADLINE_NS)).toBe(false);
    expect(earlierDeadline(5, NO_DEADLINE_NS)).toBe(5);
    expect(earlierDeadline(NO_DEADLINE_NS, 5)).toBe(5);
  });

  test.prop(
    [fc.array(fc.tuple(fc.integer({ min: 0, max: TIMER_KIND_COUNT - 1 }), fc.option(fc.integer({ min: -1e15, max: 1e15 }))), { maxLength: 40 })],
    { seed, numRuns: 300 },
  )("earliest() equals the minimum of the model after any sequence of set/clear", (ops) => {
    const table = new TimerTable();
    const model = new Map<number, number>();
    for (const [kind, deadline] of ops) {
      if (deadline === null) {
        table.clear(kind);
        model.delete(kind);
      } else {
        table.set(kind, deadline);
        model.set(kind, deadline);
      }
    }
    const expected = model.size === 0 ? NO_DEADLINE_NS : Math.min(...model.values());
    expect(table.earliest()).toBe(expected);
    if (model.size > 0) expect(model.get(table.earliestKind())).toBe(expected);
  });
});
