// The receiver's NAK timer for the one gap an image chases at a time (PROTOCOL.md section 6).
// The gap scanner (log buffer module) finds the first gap below the high-water mark and reports it
// here on every scan; this class decides when a NAK goes out. A new gap (a different term id,
// offset or length from the active one) arms the timer with the delay generator's initial delay;
// the same gap reported again leaves the timer running. When the timer fires, poll() emits a NAK
// through the sink and re-arms with the retry delay, so a gap that persists is NAKed again.
// onGapFilled() clears it. Call order per duty cycle: onGap or onGapFilled, then poll.
import { assert, assertTimeNs } from "./assert.js";
import type { FeedbackDelayGenerator } from "./feedbackDelay.js";
import { NO_DEADLINE_NS } from "./timers.js";

/** Sends a NAK for [termOffset, termOffset + length) of term termId. */
export interface NakSink {
  sendNak(termId: number, termOffset: number, length: number): void;
}

export class NakTimer {
  private readonly delayGenerator: FeedbackDelayGenerator;
  private active = false;
  private gapTermId = 0;
  private gapTermOffset = 0;
  private gapLength = 0;
  private timerDeadlineNs = NO_DEADLINE_NS;

  /** NAKs emitted (first NAKs and re-NAKs). */
  naksSentCount = 0;
  /** Distinct gaps that armed the timer. */
  gapsDetectedCount = 0;

  constructor(delayGenerator: FeedbackDelayGenerator) {
    this.delayGenerator = delayGenerator;
  }

  /**
   * Reports the first gap found by the scanner. Returns true when it is a new gap and the timer was
   * (re)armed, false when it is the active gap again (the timer keeps its deadline).
   */
  onGap(nowNs: number, termId: number, termOffset: number, length: number): boolean {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    assert(termOffset >= 0, "gap term offset must not be negative");
    assert(length > 0, "gap length must be positive");
    const id = termId | 0;
    if (this.active && id === this.gapTermId && termOffset === this.gapTermOffset && length === this.gapLength) {
      return false;
    }
    const delayNs = this.delayGenerator.generateDelayNs();
    assert(delayNs >= 0, "NAK delay must not be negative");
    this.active = true;
    this.gapTermId = id;
    this.gapTermOffset = termOffset;
    this.gapLength = length;
    this.timerDeadlineNs = nowNs + delayNs;
    this.gapsDetectedCount++;
    return true;
  }

  /** The scanner found no gap: stop chasing. */
  onGapFilled(): void {
    this.active = false;
    this.timerDeadlineNs = NO_DEADLINE_NS;
  }

  /**
   * When the timer is due (`deadline - nowNs <= 0`) sends a NAK for the active gap through the sink,
   * re-arms with the retry delay and returns 1; otherwise returns 0. A spurious call is a no-op.
   */
  poll(nowNs: number, sink: NakSink): number {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    if (!this.active || this.timerDeadlineNs - nowNs > 0) return 0;
    sink.sendNak(this.gapTermId, this.gapTermOffset, this.gapLength);
    this.naksSentCount++;
    const retryNs = this.delayGenerator.retryDelayNs();
    assert(retryNs >= 0, "NAK retry delay must not be negative");
    this.timerDeadlineNs = nowNs + retryNs;
    return 1;
  }

  /** When the next NAK is due, or NO_DEADLINE_NS when no gap is being chased. */
  deadlineNs(): number {
    return this.active ? this.timerDeadlineNs : NO_DEADLINE_NS;
  }

  hasActiveGap(): boolean {
    return this.active;
  }

  activeTermId(): number {
    return this.gapTermId;
  }

  activeTermOffset(): number {
    return this.gapTermOffset;
  }

  activeLength(): number {
    return this.gapLength;
  }
}
