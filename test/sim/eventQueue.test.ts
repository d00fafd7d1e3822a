// Goal: the event queue always yields the earliest event, breaks ties between equal times in the
// order events were scheduled (FIFO, also after a reschedule), supports cancel and reschedule
// without leaving stale entries, grows on demand, and refuses to hold more than its limit.
// The model-based property compares it against a sorted array under random operations; a failure
// prints the fast-check seed and the shrunk operation list.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { EventQueue, EventQueueFullError } from "../../src/sim/eventQueue.js";

interface ModelEvent {
  timeNs: number;
  seq: number;
  tag: number;
  id: number;
}

type Op =
  | { readonly op: "push"; readonly timeNs: number }
  | { readonly op: "pop" }
  | { readonly op: "cancel"; readonly pick: number }
  | { readonly op: "reschedule"; readonly pick: number; readonly timeNs: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("push" as const), timeNs: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ op: fc.constant("pop" as const) }),
  fc.record({ op: fc.constant("cancel" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("reschedule" as const), pick: fc.nat(), timeNs: fc.integer({ min: 0, max: 20 }) }),
);

describe("EventQueue", () => {
  test.prop([fc.array(opArbitrary, { maxLength: 300 })])("behaves like a sorted list of (time, seq)", (ops) => {
    const queue = new EventQueue({ initialCapacity: 2, maxEvents: 1000 });
    let model: ModelEvent[] = [];
    let seq = 0;
    let tag = 0;
    const sortModel = (): void => {
      model.sort((a, b) => a.timeNs - b.timeNs || a.seq - b.seq);
    };
    for (const op of ops) {
      if (op.op === "push") {
        const id = queue.push(op.timeNs, 1, tag, tag);
        model.push({ timeNs: op.timeNs, seq: seq++, tag: tag++, id });
      } else if (op.op === "pop") {
        sortModel();
        const expected = model.shift();
        expect(queue.pop()).toBe(expected !== undefined);
        if (expected !== undefined) {
          expect(queue.poppedTimeNs).toBe(expected.timeNs);
          expect(queue.poppedTarget).toBe(expected.tag);
          expect(queue.poppedPayload).toBe(expected.tag);
        }
      } else if (model.length > 0) {
        const victim = model[op.pick % model.length] as ModelEvent;
        expect(queue.isScheduled(victim.id)).toBe(true);
        if (op.op === "cancel") {
          queue.cancel(victim.id);
          model = model.filter((e) => e !== victim);
          expect(queue.isScheduled(victim.id)).toBe(false);
        } else {
          queue.reschedule(victim.id, op.timeNs);
          victim.timeNs = op.timeNs;
          victim.seq = seq++;
        }
      }
      queue.verify();
      expect(queue.size).toBe(model.length);
      sortModel();
      expect(queue.peekTimeNs()).toBe(model[0]?.timeNs ?? Number.POSITIVE_INFINITY);
    }
  });

  it("pops equal times in FIFO order", () => {
    const queue = new EventQueue();
    for (let i = 0; i < 100; i++) queue.push(5, 0, i, 0);
    for (let i = 0; i < 100; i++) {
      expect(queue.pop()).toBe(true);
      expect(queue.poppedTarget).toBe(i);
    }
    expect(queue.pop()).toBe(false);
  });

  it("a rescheduled event queues behind events already due at its new time", () => {
    const queue = new EventQueue();
    const moved = queue.push(1, 0, 0, 0);
    queue.push(10, 0, 1, 0);
    queue.push(10, 0, 2, 0);
    queue.reschedule(moved, 10);
    const order: number[] = [];
    while (queue.pop()) order.push(queue.poppedTarget);
    expect(order).toEqual([1, 2, 0]);
  });

  it("grows from a small capacity and sorts 100,000 random times", () => {
    const queue = new EventQueue({ initialCapacity: 1 });
    let x = 12345;
    for (let i = 0; i < 100_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      queue.push(x % 1000, 0, i, 0);
    }
    let last = -1;
    let lastTarget = -1;
    let count = 0;
    while (queue.pop()) {
      expect(queue.poppedTimeNs >= last).toBe(true);
      if (queue.poppedTimeNs === last) expect(queue.poppedTarget > lastTarget).toBe(true);
      last = queue.poppedTimeNs;
      lastTarget = queue.poppedTarget;
      count++;
    }
    expect(count).toBe(100_000);
  });

  it("throws past its limit, and works again once drained", () => {
    const queue = new EventQueue({ maxEvents: 8, initialCapacity: 2 });
    for (let i = 0; i < 8; i++) queue.push(i, 0, i, 0);
    expect(() => queue.push(9, 0, 9, 0)).toThrow(EventQueueFullError);
    expect(queue.pop()).toBe(true);
    queue.push(9, 0, 9, 0);
    expect(queue.size).toBe(8);
    queue.verify();
  });

  it("rejects non-finite times and operations on unscheduled ids", () => {
    const queue = new EventQueue();
    expect(() => queue.push(Number.NaN, 0, 0, 0)).toThrow();
    expect(() => queue.push(Number.POSITIVE_INFINITY, 0, 0, 0)).toThrow();
    const id = queue.push(1, 0, 0, 0);
    queue.cancel(id);
    expect(() => queue.cancel(id)).toThrow();
    expect(() => queue.reschedule(id, 3)).toThrow();
  });
});
