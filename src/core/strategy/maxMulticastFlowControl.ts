// Max multicast flow control (Aeron's multicast default): the sender runs at the pace of the
// fastest receiver, the maximum over receivers of (position + window). Kept stateless as in Aeron:
// because the limit never moves backwards, max(limit, this SM's position + window) over the stream
// of SMs is the maximum over receivers. Slow receivers fall behind and recover by NAK.
import type { FlowControl } from "./flowControl.js";
import { NO_DEADLINE_NS } from "./timers.js";

export class MaxMulticastFlowControl implements FlowControl {
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

  hasRequiredReceivers(): boolean {
    return true;
  }

  nextDeadlineNs(): number {
    return NO_DEADLINE_NS;
  }
}
