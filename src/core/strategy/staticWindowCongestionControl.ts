// Static window congestion control (the default): the receiver window is fixed at
// min(rcv-wnd or 128 KiB, termLength / 2); no RTT measurement, never a forced SM.
import type { CongestionControl } from "./congestionControl.js";
import { maxReceiverWindowBytes, packCongestionOutcome } from "./congestionOutcome.js";
import { NO_DEADLINE_NS } from "./timers.js";

export class StaticWindowCongestionControl implements CongestionControl {
  private readonly windowBytes: number;
  private readonly outcome: number;

  constructor(termLength: number, initialWindowBytes: number) {
    this.windowBytes = maxReceiverWindowBytes(termLength, initialWindowBytes);
    this.outcome = packCongestionOutcome(this.windowBytes, false);
  }

  shouldMeasureRtt(_nowNs: number): boolean {
    return false;
  }

  onRttMeasurementSent(_nowNs: number): void {}

  onRttMeasurement(_nowNs: number, _rttNs: number): void {}

  onTrackRebuild(
    _nowNs: number,
    _newConsumptionPosition: number,
    _lastSmPosition: number,
    _hwmPosition: number,
    _startingRebuildPosition: number,
    _endingRebuildPosition: number,
    _lossOccurred: boolean,
  ): number {
    return this.outcome;
  }

  initialWindowLength(): number {
    return this.windowBytes;
  }

  receiverWindowLength(): number {
    return this.windowBytes;
  }

  nextDeadlineNs(): number {
    return NO_DEADLINE_NS;
  }
}
