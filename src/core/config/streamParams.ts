// The effective parameters of one stream: the engine configuration with the channel URI's
// overrides applied, plus the values derived from them (PROTOCOL.md sections 4, 5, 7, 9).
// Checks that need both sources (term-offset against a default term length, mtu against the
// receiver window and socket buffers) live here and throw ChannelUriError naming the URI
// parameter to change. Cold path: called once when a publication or subscription is added.

import { ChannelUriError } from "../errors.js";
import type { ChannelUri, CongestionControlName, InitialPosition, Media } from "../channel/channelUri.js";
import type { SocketAddress } from "../channel/address.js";
import type { FlowControlParam } from "../channel/flowControlParam.js";
import { DATA_HEADER_LENGTH } from "../protocol/dataHeader.js";
import type { EngineConfig } from "./engineConfig.js";
import { MIB } from "./size.js";

/** Flow control with every default filled in. 'unicast' is also what IPC streams carry. */
export type ResolvedFlowControl =
  | { readonly strategy: "unicast" }
  | { readonly strategy: "max" }
  | { readonly strategy: "min"; readonly groupMinSize: number; readonly receiverTimeoutNs: number }
  | { readonly strategy: "tagged"; readonly groupTag: string; readonly groupMinSize: number; readonly receiverTimeoutNs: number };

export interface StreamParams {
  readonly media: Media;
  /** True when the endpoint is an IPv4 multicast group. */
  readonly isMulticast: boolean;
  /** True for multi-destination-cast (control-mode manual or dynamic). */
  readonly isMultiDestination: boolean;
  /** Where SMs and NAKs go for a multicast stream (group address, last byte + 1). */
  readonly multicastControl?: SocketAddress;

  readonly mtuBytes: number;
  /** mtu − 32: the most payload one data frame carries. */
  readonly maxPayloadBytes: number;
  readonly termLengthBytes: number;
  /** log2(termLength). */
  readonly positionBitsToShift: number;
  /** min(termLength / 8, 16 MiB). */
  readonly maxMessageBytes: number;
  /** min(rcv-wnd or initialReceiverWindowBytes, termLength / 2). */
  readonly receiverWindowBytes: number;
  /** How far the publisher may run ahead of its sender: `pub-wnd`, else min(configured or termLength / 2, termLength / 2). */
  readonly publicationTermWindowBytes: number;

  /** Present when the URI fixes the start: the three values and the position they give. */
  readonly initialPosition?: InitialPosition;
  readonly initialPositionValue?: number;
  readonly sessionId?: number;

  readonly lingerNs: number;
  readonly nakDelayNs: number;
  /** nakDelayNs × nakUnicastRetryDelayRatio: re-NAK if the gap is still there. */
  readonly nakRetryDelayNs: number;
  readonly maxRetransmitActions: number;

  readonly flowControl: ResolvedFlowControl;
  readonly congestionControl: CongestionControlName;
  /** The tag this receiver's SMs carry (`gtag`), when it has one. */
  readonly groupTag?: string;

  readonly reliable: boolean;
  /**
   * `source-pin` (Petrel extension, default false): control frames for a unicast publication and
   * data frames for an image are taken only from the peer's pinned address (see ENGINE.md).
   */
  readonly sourcePin: boolean;
  readonly sparse: boolean;
  readonly tether: boolean;
  /** `group`, else true exactly for multicast (Aeron infers group semantics from the address). */
  readonly group: boolean;
  /** `eos`, else true: a closing publication sends end-of-stream. */
  readonly eos: boolean;
  /** `rejoin`, else true: a subscription takes a new image from a session whose image timed out. */
  readonly rejoin: boolean;
  readonly ttl: number;
  readonly socketSndbufBytes: number;
  readonly socketRcvbufBytes: number;
}

const MAX_MESSAGE_BYTES_CAP = 16 * MIB;

/** Combines a validated engine configuration with a parsed URI. */
export function resolveStreamParams(config: EngineConfig, uri: ChannelUri): StreamParams {
  const isIpc = uri.media === "ipc";
  const termLengthBytes = uri.termLengthBytes ?? (isIpc ? config.ipcTermLengthBytes : config.termLengthBytes);
  const mtuBytes = uri.mtuBytes ?? (isIpc ? config.ipcMtuBytes : config.mtuBytes);
  const halfTerm = termLengthBytes / 2;
  const receiverWindowBytes = Math.min(uri.receiverWindowBytes ?? config.initialReceiverWindowBytes, halfTerm);
  const publicationTermWindowBytes = publicationWindow(config, uri, mtuBytes, termLengthBytes);
  const socketSndbufBytes = uri.socketSndbufBytes ?? config.socketSndbufBytes;
  const socketRcvbufBytes = uri.socketRcvbufBytes ?? config.socketRcvbufBytes;
  const isMulticast = uri.multicast !== undefined;
  const isMultiDestination = uri.controlMode === "manual" || uri.controlMode === "dynamic";

  checkTermOffset(uri, termLengthBytes);
  if (!isIpc) {
    checkWindow(uri, mtuBytes, receiverWindowBytes, socketRcvbufBytes);
    if (socketSndbufBytes !== 0 && socketSndbufBytes < mtuBytes) {
      throw new ChannelUriError(
        uri.socketSndbufBytes !== undefined ? "so-sndbuf" : "mtu",
        String(uri.socketSndbufBytes ?? mtuBytes),
        `the socket send buffer (${socketSndbufBytes}) must be 0 (OS default) or at least the mtu (${mtuBytes})`,
      );
    }
  }

  const positionBitsToShift = Math.log2(termLengthBytes);
  const nakDelayNs = uri.nakDelayNs ?? config.nakUnicastDelayNs;
  const initialPositionValue = uri.initialPosition === undefined ? undefined : startPosition(uri.initialPosition, positionBitsToShift);

  const params: StreamParams = {
    media: uri.media,
    isMulticast,
    isMultiDestination,
    ...(uri.multicast === undefined ? {} : { multicastControl: uri.multicast.control }),
    mtuBytes,
    maxPayloadBytes: mtuBytes - DATA_HEADER_LENGTH,
    termLengthBytes,
    positionBitsToShift,
    maxMessageBytes: Math.min(termLengthBytes / 8, MAX_MESSAGE_BYTES_CAP),
    receiverWindowBytes,
    publicationTermWindowBytes,
    ...(uri.initialPosition === undefined ? {} : { initialPosition: uri.initialPosition }),
    ...(initialPositionValue === undefined ? {} : { initialPositionValue }),
    ...(uri.sessionId === undefined ? {} : { sessionId: uri.sessionId }),
    lingerNs: uri.lingerNs ?? config.publicationLingerNs,
    nakDelayNs,
    nakRetryDelayNs: nakDelayNs * config.nakUnicastRetryDelayRatio,
    maxRetransmitActions: uri.maxResend ?? config.maxRetransmitActions,
    flowControl: resolveFlowControl(config, uri, isMulticast || isMultiDestination),
    congestionControl: uri.congestionControl ?? config.congestionControl,
    ...(uri.groupTag === undefined ? {} : { groupTag: uri.groupTag }),
    reliable: uri.reliable ?? config.reliableStream,
    sourcePin: uri.sourcePin ?? false,
    sparse: uri.sparse ?? config.termBufferSparse,
    tether: uri.tether ?? config.tetherSubscriptions,
    group: uri.group ?? isMulticast,
    eos: uri.eos ?? true,
    rejoin: uri.rejoin ?? true,
    ttl: uri.ttl ?? config.multicastTtl,
    socketSndbufBytes,
    socketRcvbufBytes,
  };
  return Object.freeze(params);
}

/** Aeron's PublicationParams rule: `pub-wnd` lies in mtu .. termLength / 2; without it, the configured window capped at half a term. */
function publicationWindow(config: EngineConfig, uri: ChannelUri, mtuBytes: number, termLengthBytes: number): number {
  const halfTerm = termLengthBytes / 2;
  const requested = uri.publicationWindowBytes;
  if (requested === undefined) {
    return config.publicationTermWindowBytes === 0 ? halfTerm : Math.min(config.publicationTermWindowBytes, halfTerm);
  }
  if (requested < mtuBytes) {
    throw new ChannelUriError("pub-wnd", String(requested), `must not be less than the mtu (${mtuBytes})`);
  }
  if (requested > halfTerm) {
    throw new ChannelUriError("pub-wnd", String(requested), `must not exceed half the term length (${termLengthBytes})`);
  }
  return requested;
}

function checkTermOffset(uri: ChannelUri, termLengthBytes: number): void {
  const position = uri.initialPosition;
  if (position !== undefined && position.termOffset > termLengthBytes) {
    throw new ChannelUriError("term-offset", String(position.termOffset), `must not exceed the term length (${termLengthBytes})`);
  }
}

/** One full frame must fit in the receiver window, and the window in the socket receive buffer. */
function checkWindow(uri: ChannelUri, mtuBytes: number, receiverWindowBytes: number, socketRcvbufBytes: number): void {
  if (receiverWindowBytes < mtuBytes) {
    const parameter = uri.receiverWindowBytes !== undefined && uri.receiverWindowBytes < mtuBytes ? "rcv-wnd" : uri.mtuBytes !== undefined ? "mtu" : "term-length";
    const value = parameter === "rcv-wnd" ? uri.receiverWindowBytes : parameter === "mtu" ? uri.mtuBytes : uri.termLengthBytes;
    throw new ChannelUriError(parameter, String(value), `the receiver window (${receiverWindowBytes}) must be at least the mtu (${mtuBytes}) so one full frame fits`);
  }
  if (socketRcvbufBytes !== 0 && socketRcvbufBytes < receiverWindowBytes) {
    const parameter = uri.socketRcvbufBytes !== undefined ? "so-rcvbuf" : "rcv-wnd";
    const value = parameter === "so-rcvbuf" ? uri.socketRcvbufBytes : uri.receiverWindowBytes;
    throw new ChannelUriError(parameter, String(value), `the socket receive buffer (${socketRcvbufBytes}) must be 0 (OS default) or at least the receiver window (${receiverWindowBytes})`);
  }
}

/** The stream position the three start parameters name; it must stay exact as a JS number. */
function startPosition(position: InitialPosition, positionBitsToShift: number): number {
  const termCount = (position.termId - position.initTermId) | 0;
  const value = termCount * 2 ** positionBitsToShift + position.termOffset;
  if (termCount < 0 || !Number.isSafeInteger(value)) {
    throw new ChannelUriError("term-id", String(position.termId), `gives a start position beyond 2^53 - 1 with init-term-id ${position.initTermId} and this term length`);
  }
  return value;
}

function resolveFlowControl(config: EngineConfig, uri: ChannelUri, isMultiReceiver: boolean): ResolvedFlowControl {
  // Without an explicit fc, only multicast and multi-destination streams use a multi-receiver
  // strategy. An explicit fc on a unicast publication is refused at the add call (Aeron's
  // DefaultUnicastFlowControlSupplier throws); on a subscription it means nothing.
  const byDefault: FlowControlParam = { strategy: config.multicastFlowControl };
  const fc = uri.flowControl ?? (isMultiReceiver ? byDefault : undefined);
  if (fc === undefined) return Object.freeze({ strategy: "unicast" });
  switch (fc.strategy) {
    case "max":
      return Object.freeze({ strategy: "max" });
    case "min":
      return Object.freeze({
        strategy: "min",
        groupMinSize: fc.groupMinSize ?? config.flowControlGroupMinSize,
        receiverTimeoutNs: fc.receiverTimeoutNs ?? config.flowControlReceiverTimeoutNs,
      });
    case "tagged":
      return Object.freeze({
        strategy: "tagged",
        groupTag: fc.groupTag ?? config.flowControlGroupTag,
        groupMinSize: fc.groupMinSize ?? config.flowControlGroupMinSize,
        receiverTimeoutNs: fc.receiverTimeoutNs ?? config.flowControlReceiverTimeoutNs,
      });
  }
}
