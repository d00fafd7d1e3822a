// Sender-side flow control (PROTOCOL.md section 7): from the receivers' status messages, how far
// the sender may send (the sender limit, a stream position). One interface, one small class per
// strategy beside it (unicast, max, min, tagged), and a factory from the parsed `fc=` spec.
//
// No object is allocated per status message: the SM's fields arrive as plain numbers, and the
// 64-bit receiver id and group tag as two int32 halves (lo, hi), never as BigInt.
import { assert } from "./assert.js";
import { MaxMulticastFlowControl } from "./maxMulticastFlowControl.js";
import {
  FLOW_CONTROL_MAX_RECEIVERS_DEFAULT,
  FLOW_CONTROL_RECEIVER_TIMEOUT_DEFAULT_NS,
  MinMulticastFlowControl,
} from "./minMulticastFlowControl.js";
import { TaggedMulticastFlowControl } from "./taggedMulticastFlowControl.js";
import { UnicastFlowControl } from "./unicastFlowControl.js";

export interface FlowControl {
  /**
   * The sender limit before any status message: the initial position (nothing may be sent until a
   * receiver reports). Also resets any receiver state.
   */
  initialLimit(nowNs: number, initialPosition: number): number;

  /**
   * Handles one status message and returns the new sender limit (a stream position).
   * consumptionPosition is the SM's (consumptionTermId, consumptionTermOffset) as a position;
   * receiverWindowBytes its receiverWindow; receiverId and groupTag are the i64 fields split into
   * the signed int32 low and high halves; groupTagPresent is false for a 36-byte SM (no tag);
   * senderLimit is the current limit; isEos the SM's EOS flag.
   */
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
  ): number;

  /**
   * Called from the sender's duty cycle (at least by nextDeadlineNs()): drops receivers silent for
   * the receiver timeout and returns the (possibly raised) sender limit. isEos: the publication has
   * sent its end of stream.
   */
  onIdle(nowNs: number, senderLimit: number, senderPosition: number, isEos: boolean): number;

  /**
   * An error frame from a receiver (it rejected the image). Min and tagged flow control drop that
   * receiver (tagged: only when the frame carries the matching group tag), as Aeron's
   * AbstractMinMulticastFlowControl.processError; unicast and max ignore it.
   */
  onError(receiverIdLo: number, receiverIdHi: number, groupTagPresent: boolean, groupTagLo: number, groupTagHi: number): void;

  /** False while a group strategy still waits for its minimum number of receivers. */
  hasRequiredReceivers(): boolean;

  /** When onIdle next has work (the earliest receiver timeout), or NO_DEADLINE_NS. */
  nextDeadlineNs(): number;
}

/** A 64-bit value as two signed int32 halves, the shape flow control compares without BigInt. */
export interface Int64Parts {
  readonly lo: number;
  readonly hi: number;
}

/** The parsed `fc=` URI parameter (PROTOCOL.md sections 7 and 10). */
export interface FlowControlSpec {
  readonly strategy: "max" | "min" | "tagged";
  /** `t:<duration>`: receiver timeout in ns (default 5 s). */
  readonly receiverTimeoutNs?: number;
  /** `g:<tag>`: the group tag; a safe integer or its int32 halves. */
  readonly groupTag?: Int64Parts | number;
  /** `g:<tag>/<minSize>` (or `g:/<minSize>`): receivers required before the publication counts as connected. */
  readonly groupMinSize?: number;
}

export interface FlowControlOptions {
  /** Bound on tracked receivers for min and tagged (default 128); SMs from more are counted and ignored. */
  readonly maxReceivers?: number;
  /** Group tag for `fc=tagged` without `g:<tag>` (default -1, as Aeron's default flow-control group tag). */
  readonly defaultGroupTag?: Int64Parts | number;
}

/** Splits a safe integer (which may be negative) into int32 halves as an i64 field would hold it. */
export function int64PartsFromSafeInteger(value: number): Int64Parts {
  assert(Number.isSafeInteger(value), "a 64-bit tag given as a number must be a safe integer");
  const lo = value % 0x1_0000_0000;
  const hi = Math.floor(value / 0x1_0000_0000);
  return { lo: lo | 0, hi: hi | 0 };
}

function toParts(value: Int64Parts | number): Int64Parts {
  if (typeof value === "number") return int64PartsFromSafeInteger(value);
  return { lo: value.lo | 0, hi: value.hi | 0 };
}

/**
 * Builds the flow control for a publication. No spec: unicast for a unicast channel, max for a
 * multicast one (Aeron's default). Runs at setup time, never per message.
 */
export function createFlowControl(
  spec: FlowControlSpec | undefined,
  isMulticast: boolean,
  options: FlowControlOptions = {},
): FlowControl {
  if (spec === undefined) return isMulticast ? new MaxMulticastFlowControl() : new UnicastFlowControl();
  const timeoutNs = spec.receiverTimeoutNs ?? FLOW_CONTROL_RECEIVER_TIMEOUT_DEFAULT_NS;
  const maxReceivers = options.maxReceivers ?? FLOW_CONTROL_MAX_RECEIVERS_DEFAULT;
  const groupMinSize = spec.groupMinSize ?? 0;
  switch (spec.strategy) {
    case "max":
      return new MaxMulticastFlowControl();
    case "min":
      return new MinMulticastFlowControl({ receiverTimeoutNs: timeoutNs, maxReceivers, groupMinSize });
    case "tagged": {
      const tag = toParts(spec.groupTag ?? options.defaultGroupTag ?? -1);
      return new TaggedMulticastFlowControl({
        receiverTimeoutNs: timeoutNs,
        maxReceivers,
        groupMinSize,
        groupTagLo: tag.lo,
        groupTagHi: tag.hi,
      });
    }
  }
}
