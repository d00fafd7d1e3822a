// Timers as data (STYLE.md, quinn-proto): an owner keeps a small fixed table of deadlines indexed
// by a timer kind and reports only the earliest one to whoever drives it. There is no timer wheel
// and no callback: the driver wakes the core at `earliest()`, the core asks which kind is due and
// handles it. Deadlines are integer nanoseconds and compare by subtraction (`deadlineNs - nowNs <= 0`
// means due), the Aeron habit; with JS numbers nothing wraps, but one idiom everywhere keeps the
// reading uniform and makes "due exactly at the deadline" the rule in every strategy.
import { assert, assertTimeNs } from "./assert.js";

/**
 * The value every strategy reports for "no deadline". It is a finite integer (not Infinity) so
 * that it survives a typed array, an event heap and the subtraction idiom unchanged.
 */
export const NO_DEADLINE_NS = Number.MAX_SAFE_INTEGER;

/** True when a deadline is set and has been reached: `deadlineNs - nowNs <= 0`. */
export function isDeadlineDue(deadlineNs: number, nowNs: number): boolean {
  return deadlineNs !== NO_DEADLINE_NS && deadlineNs - nowNs <= 0;
}

/** The earlier of two deadlines (either may be NO_DEADLINE_NS). */
export function earlierDeadline(aNs: number, bNs: number): number {
  return aNs - bNs <= 0 ? aNs : bNs;
}

/**
 * Timer kinds an engine keeps per publication or image (PROTOCOL.md section 5). An owner that
 * needs only some of them still indexes by these values; an owner with its own set builds a
 * TimerTable of its own size and its own constants.
 */
export const TimerKind = {
  SetupResend: 0,
  Heartbeat: 1,
  ConnectionTimeout: 2,
  StatusMessage: 3,
  ImageLiveness: 4,
  Nak: 5,
  Retransmit: 6,
  RttMeasurement: 7,
  FlowControlIdle: 8,
  Linger: 9,
} as const;
export type TimerKind = (typeof TimerKind)[keyof typeof TimerKind];
export const TIMER_KIND_COUNT = 10;

/** Upper bound on the table size; the earliest() scan is linear and must stay tiny. */
export const TIMER_TABLE_MAX_KINDS = 32;

/** A fixed table of deadlines, one per timer kind. Zero allocation after construction. */
export class TimerTable {
  private readonly deadlinesNs: Float64Array;

  constructor(kindCount: number = TIMER_KIND_COUNT) {
    assert(Number.isInteger(kindCount), "timer kind count must be an integer");
    assert(kindCount > 0, "timer table needs at least one kind");
    assert(kindCount <= TIMER_TABLE_MAX_KINDS, "timer table too large for a linear scan");
    this.deadlinesNs = new Float64Array(kindCount).fill(NO_DEADLINE_NS);
  }

  get kindCount(): number {
    return this.deadlinesNs.length;
  }

  /** Arms (or re-arms) the timer of one kind. Returns this. */
  set(kind: number, deadlineNs: number): this {
    this.checkKind(kind);
    assertTimeNs(deadlineNs, "timer deadline must be an integer number of ns");
    assert(deadlineNs !== NO_DEADLINE_NS, "timer deadline collides with NO_DEADLINE_NS; use clear()");
    this.deadlinesNs[kind] = deadlineNs;
    return this;
  }

  /** Disarms the timer of one kind. Returns this. */
  clear(kind: number): this {
    this.checkKind(kind);
    this.deadlinesNs[kind] = NO_DEADLINE_NS;
    return this;
  }

  clearAll(): this {
    this.deadlinesNs.fill(NO_DEADLINE_NS);
    return this;
  }

  /** The deadline of one kind, or NO_DEADLINE_NS when it is not armed. */
  deadlineNs(kind: number): number {
    this.checkKind(kind);
    return this.deadlinesNs[kind] ?? NO_DEADLINE_NS;
  }

  isArmed(kind: number): boolean {
    return this.deadlineNs(kind) !== NO_DEADLINE_NS;
  }

  /** True when the timer of this kind is armed and `deadline - nowNs <= 0`. */
  isDue(kind: number, nowNs: number): boolean {
    return isDeadlineDue(this.deadlineNs(kind), nowNs);
  }

  /** The earliest armed deadline, or NO_DEADLINE_NS when none is armed. */
  earliest(): number {
    let earliestNs = NO_DEADLINE_NS;
    const deadlines = this.deadlinesNs;
    for (let kind = 0; kind < deadlines.length; kind++) {
      const deadlineNs = deadlines[kind] ?? NO_DEADLINE_NS;
      if (deadlineNs - earliestNs < 0) earliestNs = deadlineNs;
    }
    return earliestNs;
  }

  /** The kind holding the earliest armed deadline (lowest kind on a tie), or -1 when none is armed. */
  earliestKind(): number {
    let earliestNs = NO_DEADLINE_NS;
    let earliestKind = -1;
    const deadlines = this.deadlinesNs;
    for (let kind = 0; kind < deadlines.length; kind++) {
      const deadlineNs = deadlines[kind] ?? NO_DEADLINE_NS;
      if (deadlineNs - earliestNs < 0) {
        earliestNs = deadlineNs;
        earliestKind = kind;
      }
    }
    return earliestKind;
  }

  /**
   * Takes the earliest due timer: clears it and returns its kind, or returns -1 when nothing is
   * due at nowNs. A caller drains with `while ((k = table.pollExpired(now)) !== -1) handle(k)`;
   * the loop is bounded by kindCount because each call clears one timer and handlers that re-arm
   * must re-arm in the future.
   */
  pollExpired(nowNs: number): number {
    const kind = this.earliestKind();
    if (kind === -1) return -1;
    if (!isDeadlineDue(this.deadlinesNs[kind] ?? NO_DEADLINE_NS, nowNs)) return -1;
    this.deadlinesNs[kind] = NO_DEADLINE_NS;
    return kind;
  }

  private checkKind(kind: number): void {
    assert(Number.isInteger(kind), "timer kind must be an integer");
    assert(kind >= 0, "timer kind must not be negative");
    assert(kind < this.deadlinesNs.length, "timer kind out of range for this table");
  }
}
