// Unicast flow control: one receiver; the sender limit is its SM position plus its window, and it
// never moves backwards (a reordered older SM must not pull the limit in).
import type { FlowControl } from "./flowControl.js";
import { NO_DEADLINE_NS } from "./timers.js";

export class UnicastFlowControl implements FlowControl {
  initialLimit(_nowNs: number, initialPosition: number): number {
    return initialPosition;
  }

  onStatusMessage(
    _nowNs: number,
    _receiverIdLo: number,
    _receiverIdHi: number,
    consumptionPosition: number,
    receiverWindowBytes: number,
    _groupTagPresent: boolean,
    _groupTagLo: number,
    _groupTagHi: number,
    senderLimit: number,
    _isEos: boolean,
  ): number {
    const limit = consumptionPosition + receiverWindowBytes;
    return limit > senderLimit ? limit : senderLimit;
  }

  onIdle(_nowNs: number, senderLimit: number, _senderPosition: number, _isEos: boolean): number {
    return senderLimit;
  }

  onError(_receiverIdLo: number, _receiverIdHi: number, _groupTagPresent: boolean, _groupTagLo: number, _groupTagHi: number): void {}

  hasRequiredReceivers(): boolean {
    return true;
  }

  nextDeadlineNs(): number {
    return NO_DEADLINE_NS;
  }
}
