// What the engine checks at an add call and at construction before anything is created (Aeron's
// driver conductor validates channels the same way, at the command): the stream id's range, the
// channel features Petrel refuses by name, Aeron's fc and stream-id rules, and engine option limits.
import { formatFlowControlParam } from "../channel/flowControlParam.js";
import type { ChannelUri } from "../channel/channelUri.js";
import { groupTagToInt32Pair } from "../channel/groupTag.js";
import type { StreamParams } from "../config/streamParams.js";
import { ChannelUriError } from "../errors.js";
import { checkTermLength, LogBufferConfigError } from "../logbuffer/logBufferDescriptor.js";
import type { FlowControlSpec } from "../strategy/flowControl.js";
import { InvalidArgumentError, UnsupportedChannelError } from "./engineErrors.js";

export function checkStreamId(streamId: number): void {
  if (!Number.isInteger(streamId) || streamId < -0x80000000 || streamId > 0x7fffffff) {
    throw new InvalidArgumentError("streamId", streamId, "must be a 32-bit signed integer");
  }
}

/** Channel features Petrel refuses at the add call, and Aeron's stream-id rule. */
export function checkSupported(uri: ChannelUri, canonical: string, streamId: number, side: "publication" | "subscription"): void {
  if (uri.controlMode === "response") throw new UnsupportedChannelError(canonical, "control-mode=response (response channels) is not supported");
  if (uri.streamId !== undefined && uri.streamId !== streamId) {
    throw new ChannelUriError("stream-id", String(uri.streamId), `does not match the stream id ${streamId} the ${side} is added with`);
  }
  const multiReceiver = uri.multicast !== undefined || uri.controlMode === "manual" || uri.controlMode === "dynamic";
  if (side === "publication" && uri.media === "udp" && uri.flowControl !== undefined && !multiReceiver) {
    throw new ChannelUriError("fc", formatFlowControlParam(uri.flowControl), "applies only to multicast and multi-destination-cast publications (Aeron refuses fc on a unicast one)");
  }
  if (side === "subscription" && uri.tether === false) {
    throw new UnsupportedChannelError(canonical, "untethered subscriptions (tether=false) are not supported: every subscription holds its publication back");
  }
}

/** An optional positive-integer limit of EngineOptions, or its default; throws InvalidArgumentError when malformed. */
export function limitOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(name, value, `must be an integer of at least ${min}`);
  }
  return value;
}

export function isValidTermLength(termLength: number): boolean {
  try {
    checkTermLength(termLength);
    return true;
  } catch (error) {
    if (error instanceof LogBufferConfigError) return false;
    throw error;
  }
}

export function flowControlSpec(params: StreamParams): FlowControlSpec | undefined {
  const fc = params.flowControl;
  switch (fc.strategy) {
    case "unicast":
      return undefined;
    case "max":
      return { strategy: "max" };
    case "min":
      return { strategy: "min", receiverTimeoutNs: fc.receiverTimeoutNs, groupMinSize: fc.groupMinSize };
    case "tagged":
      return { strategy: "tagged", receiverTimeoutNs: fc.receiverTimeoutNs, groupTag: groupTagToInt32Pair(fc.groupTag), groupMinSize: fc.groupMinSize };
  }
}
