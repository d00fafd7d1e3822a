// Min multicast flow control: the sender runs at the pace of the slowest live receiver, the
// minimum over receivers (keyed by receiver id) of (position + window). A receiver silent for the
// receiver timeout (5 s default) is dropped in onIdle, so one dead receiver cannot stall the group
// forever. With a group minimum size, the limit stays put and hasRequiredReceivers() is false
// until that many receivers have reported. Unlike unicast and max, the limit may move backwards
// (a slower receiver joins, or a receiver's window shrinks): the sender never takes back what it
// sent, it simply sends nothing more until the limit passes its position again (as Aeron).
//
// A receiver whose SM carries the EOS flag (its subscription closed) is removed at once and a new
// receiver's EOS SM does not add it; an error frame from a receiver removes it too (Aeron's
// AbstractMinMulticastFlowControl: eosFlagged receivers go at the next onIdle, which in Aeron's
// sender is the next duty cycle; here, at the SM itself). So a closed subscriber stops holding a
// min-flow-control group back at once instead of after the receiver timeout.
//
// Receivers live in a preallocated table of parallel typed arrays with a fixed maximum; removal
// swaps the last entry into the hole. An SM from a new receiver when the table is full is counted
// (receiverOverflowCount) and otherwise ignored: that receiver does not hold the sender back.
import { assert, assertTimeNs } from "./assert.js";
import type { FlowControl } from "./flowControl.js";
import { NO_DEADLINE_NS } from "./timers.js";

/** Flow-control receiver timeout (multicast): 5 s. */
export const FLOW_CONTROL_RECEIVER_TIMEOUT_DEFAULT_NS = 5_000_000_000;
/** Receivers tracked by min and tagged flow control unless configured otherwise. */
export const FLOW_CONTROL_MAX_RECEIVERS_DEFAULT = 128;
/** Upper bound on the table: every SM scans it. */
export const FLOW_CONTROL_MAX_RECEIVERS_LIMIT = 4096;

export interface MinMulticastFlowControlOptions {
  readonly receiverTimeoutNs?: number;
  readonly maxReceivers?: number;
  readonly groupMinSize?: number;
}

export class MinMulticastFlowControl implements FlowControl {
  readonly receiverTimeoutNs: number;
  readonly groupMinSize: number;

  private readonly idLo: Int32Array;
  private readonly idHi: Int32Array;
  private readonly lastPosition: Float64Array;
  private readonly lastPositionPlusWindow: Float64Array;
  private readonly lastSmNs: Float64Array;
  private count = 0;

  /** SMs from new receivers ignored because the table was full. */
  receiverOverflowCount = 0;
  /** Receivers dropped after the receiver timeout. */
  receiverTimeoutCount = 0;
  /** Receivers dropped because they closed (EOS SM) or rejected the image (error frame). */
  receiverRemoteCloseCount = 0;

  constructor(options: MinMulticastFlowControlOptions = {}) {
    const timeoutNs = options.receiverTimeoutNs ?? FLOW_CONTROL_RECEIVER_TIMEOUT_DEFAULT_NS;
    const maxReceivers = options.maxReceivers ?? FLOW_CONTROL_MAX_RECEIVERS_DEFAULT;
    const groupMinSize = options.groupMinSize ?? 0;
    assert(Number.isSafeInteger(timeoutNs), "receiver timeout must be an integer number of ns");
    assert(timeoutNs > 0, "receiver timeout must be positive");
    assert(Number.isInteger(maxReceivers), "max receivers must be an integer");
    assert(maxReceivers >= 1, "max receivers must be at least 1");
    assert(maxReceivers <= FLOW_CONTROL_MAX_RECEIVERS_LIMIT, "max receivers above the table limit");
    assert(Number.isInteger(groupMinSize), "group min size must be an integer");
    assert(groupMinSize >= 0, "group min size must not be negative");
    assert(groupMinSize <= maxReceivers, "group min size larger than the receiver table");
    this.receiverTimeoutNs = timeoutNs;
    this.groupMinSize = groupMinSize;
    this.idLo = new Int32Array(maxReceivers);
    this.idHi = new Int32Array(maxReceivers);
    this.lastPosition = new Float64Array(maxReceivers);
    this.lastPositionPlusWindow = new Float64Array(maxReceivers);
    this.lastSmNs = new Float64Array(maxReceivers);
  }

  /** Live receivers currently tracked. */
  receiverCount(): number {
    return this.count;
  }

  get maxReceivers(): number {
    return this.idLo.length;
  }

  initialLimit(_nowNs: number, initialPosition: number): number {
    this.count = 0;
    return initialPosition;
  }

  onStatusMessage(
    nowNs: number,
    receiverIdLo: number,
    receiverIdHi: number,
    consumptionPosition: number,
    receiverWindowBytes: number,
    groupTagPresent: boolean,
    groupTagLo: number,
    groupTagHi: number,
    senderLimit: number,
    isEos: boolean,
  ): number {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    assert(receiverWindowBytes >= 0, "receiver window must not be negative");
    if (this.counts(groupTagPresent, groupTagLo | 0, groupTagHi | 0)) {
      if (isEos) this.removeReceiver(receiverIdLo | 0, receiverIdHi | 0);
      else this.upsert(nowNs, receiverIdLo | 0, receiverIdHi | 0, consumptionPosition, receiverWindowBytes);
    }
    return this.limit(senderLimit);
  }

  onError(receiverIdLo: number, receiverIdHi: number, groupTagPresent: boolean, groupTagLo: number, groupTagHi: number): void {
    if (this.countsError(groupTagPresent, groupTagLo | 0, groupTagHi | 0)) this.removeReceiver(receiverIdLo | 0, receiverIdHi | 0);
  }

  onIdle(nowNs: number, senderLimit: number, _senderPosition: number, _isEos: boolean): number {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    // Walk backwards so that swapping the last entry into a hole never skips an entry.
    for (let i = this.count - 1; i >= 0; i--) {
      const deadlineNs = (this.lastSmNs[i] ?? 0) + this.receiverTimeoutNs;
      if (deadlineNs - nowNs <= 0) {
        this.receiverTimeoutCount++;
        this.remove(i);
      }
    }
    return this.limit(senderLimit);
  }

  hasRequiredReceivers(): boolean {
    return this.count >= this.groupMinSize;
  }

  nextDeadlineNs(): number {
    let earliestNs = NO_DEADLINE_NS;
    for (let i = 0; i < this.count; i++) {
      const deadlineNs = (this.lastSmNs[i] ?? 0) + this.receiverTimeoutNs;
      if (deadlineNs - earliestNs < 0) earliestNs = deadlineNs;
    }
    return earliestNs;
  }

  /** Whether an SM with this tag takes part; min counts every SM, tagged overrides. */
  protected counts(_groupTagPresent: boolean, _groupTagLo: number, _groupTagHi: number): boolean {
    return true;
  }

  /** Whether an error frame with this tag takes part; min counts every one, tagged overrides. */
  protected countsError(_groupTagPresent: boolean, _groupTagLo: number, _groupTagHi: number): boolean {
    return true;
  }

  private removeReceiver(lo: number, hi: number): void {
    for (let i = 0; i < this.count; i++) {
      if (this.idLo[i] === lo && this.idHi[i] === hi) {
        this.receiverRemoteCloseCount++;
        this.remove(i);
        return;
      }
    }
  }

  private limit(senderLimit: number): number {
    if (this.count === 0 || this.count < this.groupMinSize) return senderLimit;
    let minLimit = this.lastPositionPlusWindow[0] ?? senderLimit;
    for (let i = 1; i < this.count; i++) {
      const limit = this.lastPositionPlusWindow[i] ?? minLimit;
      if (limit < minLimit) minLimit = limit;
    }
    return minLimit;
  }

  private upsert(nowNs: number, lo: number, hi: number, position: number, windowBytes: number): void {
    let slot = -1;
    for (let i = 0; i < this.count; i++) {
      if (this.idLo[i] === lo && this.idHi[i] === hi) {
        slot = i;
        break;
      }
    }
    if (slot === -1) {
      if (this.count === this.idLo.length) {
        this.receiverOverflowCount++;
        return;
      }
      slot = this.count++;
      this.idLo[slot] = lo;
      this.idHi[slot] = hi;
      this.lastPosition[slot] = position;
    }
    // A reordered older SM must not move a receiver's position backwards.
    const known = this.lastPosition[slot] ?? position;
    const latest = position > known ? position : known;
    this.lastPosition[slot] = latest;
    this.lastPositionPlusWindow[slot] = latest + windowBytes;
    this.lastSmNs[slot] = nowNs;
  }

  private remove(slot: number): void {
    assert(slot >= 0 && slot < this.count, "receiver slot out of range");
    const last = this.count - 1;
    if (slot !== last) {
      this.idLo[slot] = this.idLo[last] ?? 0;
      this.idHi[slot] = this.idHi[last] ?? 0;
      this.lastPosition[slot] = this.lastPosition[last] ?? 0;
      this.lastPositionPlusWindow[slot] = this.lastPositionPlusWindow[last] ?? 0;
      this.lastSmNs[slot] = this.lastSmNs[last] ?? 0;
    }
    this.count = last;
  }
}
