// Which receivers a network publication has heard from (Aeron's ReceiverLivenessTracker): receiver
// id -> time of its latest status message. A publication "has receivers" while the table is not
// empty; a receiver is forgotten when it is silent for the connection timeout (5 s), when it sends
// an SM with the end-of-stream flag (its subscription closed, or it drained the stream), or when it
// sends an error frame (it rejected the image).
//
// Preallocated parallel typed arrays, removal by swapping the last entry into the hole: no
// allocation per status message. Aeron's map is unbounded; here the table has a fixed capacity,
// and an SM from a new receiver when it is full is not tracked (counted by the caller): the
// publication still has receivers then, so nothing is lost but the early drop of that one receiver.

/** Receivers one publication tracks at once. */
export const RECEIVER_LIVENESS_CAPACITY = 256;

export class ReceiverLivenessTracker {
  private readonly idLo = new Int32Array(RECEIVER_LIVENESS_CAPACITY);
  private readonly idHi = new Int32Array(RECEIVER_LIVENESS_CAPACITY);
  private readonly lastSmNs = new Float64Array(RECEIVER_LIVENESS_CAPACITY);
  private count = 0;

  /** True while at least one receiver is live. */
  hasReceivers(): boolean {
    return this.count > 0;
  }

  get receiverCount(): number {
    return this.count;
  }

  /** A status message (without EOS) from a receiver. Returns false when the table is full and the receiver is new. */
  onStatusMessage(lo: number, hi: number, nowNs: number): boolean {
    const i = this.indexOf(lo, hi);
    if (i >= 0) {
      this.lastSmNs[i] = nowNs;
      return true;
    }
    if (this.count === RECEIVER_LIVENESS_CAPACITY) return false;
    const slot = this.count++;
    this.idLo[slot] = lo;
    this.idHi[slot] = hi;
    this.lastSmNs[slot] = nowNs;
    return true;
  }

  /** The receiver closed (EOS SM) or rejected the image (error frame). True when it was tracked. */
  onRemoteClose(lo: number, hi: number): boolean {
    const i = this.indexOf(lo, hi);
    if (i < 0) return false;
    this.remove(i);
    return true;
  }

  /** Forgets receivers silent for timeoutNs (last SM at or before nowNs - timeoutNs, as Aeron). */
  onIdle(nowNs: number, timeoutNs: number): void {
    // Walk backwards so that swapping the last entry into a hole never skips an entry.
    for (let i = this.count - 1; i >= 0; i--) {
      if (this.lastSmNs[i]! + timeoutNs - nowNs <= 0) this.remove(i);
    }
  }

  /** When the earliest receiver times out, or Infinity when there is none. */
  nextTimeoutNs(timeoutNs: number): number {
    let earliest = Infinity;
    for (let i = 0; i < this.count; i++) {
      const at = this.lastSmNs[i]! + timeoutNs;
      if (at < earliest) earliest = at;
    }
    return earliest;
  }

  private indexOf(lo: number, hi: number): number {
    for (let i = 0; i < this.count; i++) if (this.idLo[i] === lo && this.idHi[i] === hi) return i;
    return -1;
  }

  private remove(i: number): void {
    const last = --this.count;
    if (i !== last) {
      this.idLo[i] = this.idLo[last]!;
      this.idHi[i] = this.idHi[last]!;
      this.lastSmNs[i] = this.lastSmNs[last]!;
    }
  }
}
