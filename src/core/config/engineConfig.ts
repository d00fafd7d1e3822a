// Every engine-wide timeout, window and limit (PROTOCOL.md section 5, plus the few stream defaults
// a channel URI can override), with Aeron's defaults, and a validator that turns a partial
// configuration from the application into a complete, frozen one.
//
// Names carry their unit last (`setupResendIntervalNs`, `receiverWindowBytes`); a field with no
// unit is a count or a ratio. Durations are integer nanoseconds, sizes integer bytes.
//
// Gotchas:
// - `socketSndbufBytes` / `socketRcvbufBytes` of 0 mean "leave the operating system's default";
//   the core cannot know that default, so the buffer checks below are skipped for 0.
// - `publicationTermWindowBytes` of 0 means termLength / 2 (Aeron's convention); any other value
//   is still capped at termLength / 2 for each stream.
// - Per-stream values (mtu, term length, window, linger, NAK delay, ...) can be overridden by the
//   channel URI; resolveStreamParams in streamParams.ts combines the two.

import { ConfigurationError } from "../errors.js";
import { DEFAULT_MTU_LENGTH } from "../protocol/frameHeader.js";
import { parseGroupTag } from "../channel/groupTag.js";
import type { CongestionControlName } from "../channel/channelUri.js";
import type { FlowControlStrategy } from "../channel/flowControlParam.js";
import { NS_PER_MS, NS_PER_S, NS_PER_US } from "./duration.js";
import { I32_MAX, I32_MIN, isValidMtu, isValidTermLength, MAX_RETRANSMIT_ACTIONS_MAX, MTU_RULE, TERM_LENGTH_RULE, TTL_MAX } from "./limits.js";
import { KIB, MIB } from "./size.js";


export interface EngineConfig {
  // --- Connection lifecycle (PROTOCOL.md section 5) ---
  /** SETUP resend period while a publication has no status message yet. */
  readonly setupResendIntervalNs: number;
  /** Heartbeat period while a connected publication has no data to send. */
  readonly heartbeatIntervalNs: number;
  /** A publication with no SM for this long is no longer connected. */
  readonly publicationConnectionTimeoutNs: number;
  /** Period of a receiver's status messages (sent sooner after consuming a quarter window). */
  readonly statusMessageIntervalNs: number;
  /** An image with no data or heartbeat for this long is closed. */
  readonly imageLivenessTimeoutNs: number;
  /** How long a closed publication keeps serving retransmits. */
  readonly publicationLingerNs: number;
  /** How long a receiver remembers a SETUP it has asked for before asking again. */
  readonly pendingSetupsTimeoutNs: number;
  /**
   * An image at least this old that never received data (unjoined), or received no frame for this
   * long (idle), may be evicted when a new SETUP would otherwise be refused for maxImages or the
   * image log budget. Beyond Aeron (which waits for the 10 s liveness timeout): a SETUP flood then
   * locks real publishers out for this long, not imageLivenessTimeoutNs.
   */
  readonly unjoinedImageEvictionNs: number;

  // --- Loss detection and retransmission (sections 5 and 6) ---
  /** Delay before the first NAK for a gap on a unicast stream. */
  readonly nakUnicastDelayNs: number;
  /** Re-NAK after nakUnicastDelayNs × this ratio if the gap is still there. */
  readonly nakUnicastRetryDelayRatio: number;
  /** Multicast NAK delay generator: maximum backoff T. */
  readonly nakMulticastMaxBackoffNs: number;
  /** Multicast NAK delay generator: expected group size N. */
  readonly nakMulticastGroupSize: number;
  /** Delay before a unicast sender resends a NAKed range (0: immediately). */
  readonly retransmitUnicastDelayNs: number;
  /** After a resend, repeat NAKs for the same range are ignored for this long. */
  readonly retransmitUnicastLingerNs: number;
  /** Retransmit actions that may exist at once per publication (URI: max-resend). */
  readonly maxRetransmitActions: number;

  // --- Flow and congestion control (sections 7 and 8) ---
  /** Multicast flow control forgets a receiver silent for this long. */
  readonly flowControlReceiverTimeoutNs: number;
  /** Strategy for multicast and multi-destination publications without an `fc` parameter. */
  readonly multicastFlowControl: FlowControlStrategy;
  /** Group tag for `fc=tagged` without `g:` (canonical decimal i64). */
  readonly flowControlGroupTag: string;
  /** Minimum tagged receivers for `fc=tagged` without a `/minSize`. */
  readonly flowControlGroupMinSize: number;
  /** Receiver window before `rcv-wnd`; the window is min(this, termLength / 2). */
  readonly initialReceiverWindowBytes: number;
  /** Congestion control for streams without a `cc` parameter. */
  readonly congestionControl: CongestionControlName;
  /**
   * CUBIC (`cc=cubic`) images take the larger of the cubic window and the TCP-friendly (Reno-like)
   * estimate `wMax(1−β) + 3β/(2−β)·t/RTT` (PROTOCOL.md section 8). Off by default, as Aeron
   * (its driver property `aeron.CubicCongestionControl.tcpMode`); turn it on for faster
   * convergence of flows that share a bottleneck.
   */
  readonly cubicTcpMode: boolean;
  /** RTT assumed before the first RTTM exchange completes. */
  readonly rttInitialNs: number;
  /** An RTTM request unanswered for this long is abandoned. */
  readonly rttMeasurementTimeoutNs: number;
  /** RTT is measured again once the last measurement is older than this many RTTs. */
  readonly rttMeasurementRepeatRttMultiple: number;
  /** ... but never less often than this. */
  readonly rttMeasurementIntervalMaxNs: number;

  // --- Sockets ---
  /** SO_RCVBUF; 0 leaves the operating system's default. */
  readonly socketRcvbufBytes: number;
  /** SO_SNDBUF; 0 leaves the operating system's default. */
  readonly socketSndbufBytes: number;

  // --- Log geometry (section 4) ---
  /** Term length of UDP publications: a power of two, 64 KiB .. 1 GiB. */
  readonly termLengthBytes: number;
  /** Term length of IPC publications: a power of two, 64 KiB .. 1 GiB. */
  readonly ipcTermLengthBytes: number;
  /** MTU of UDP publications: a multiple of 32, 64 .. 65504. */
  readonly mtuBytes: number;
  /** MTU of IPC publications (bounds its largest fragment). */
  readonly ipcMtuBytes: number;
  /** How far a sender may run ahead of its slowest consumer; 0 means termLength / 2. */
  readonly publicationTermWindowBytes: number;

  // --- Sessions ---
  /** Lowest session id a publication never picks for itself (inclusive). */
  readonly reservedSessionIdLow: number;
  /** Highest session id a publication never picks for itself (inclusive). */
  readonly reservedSessionIdHigh: number;

  // --- Stream defaults a URI can override ---
  /** Multicast TTL without a `ttl` parameter (0: host-local). */
  readonly multicastTtl: number;
  /** `reliable` default: gaps are NAKed (true) or filled with padding (false). */
  readonly reliableStream: boolean;
  /** `sparse` default for term buffers. */
  readonly termBufferSparse: boolean;
  /** `tether` default: slow subscribers hold a publication back. */
  readonly tetherSubscriptions: boolean;
}

/** Aeron's defaults (PROTOCOL.md section 5). */
export const DEFAULT_ENGINE_CONFIG: EngineConfig = Object.freeze({
  setupResendIntervalNs: 100 * NS_PER_MS,
  heartbeatIntervalNs: 100 * NS_PER_MS,
  publicationConnectionTimeoutNs: 5 * NS_PER_S,
  statusMessageIntervalNs: 200 * NS_PER_MS,
  imageLivenessTimeoutNs: 10 * NS_PER_S,
  publicationLingerNs: 5 * NS_PER_S,
  pendingSetupsTimeoutNs: 1 * NS_PER_S,
  unjoinedImageEvictionNs: 2 * NS_PER_S,

  nakUnicastDelayNs: 100 * NS_PER_US,
  nakUnicastRetryDelayRatio: 100,
  nakMulticastMaxBackoffNs: 10 * NS_PER_MS,
  nakMulticastGroupSize: 10,
  retransmitUnicastDelayNs: 0,
  retransmitUnicastLingerNs: 10 * NS_PER_MS,
  maxRetransmitActions: 16,

  flowControlReceiverTimeoutNs: 5 * NS_PER_S,
  multicastFlowControl: "max",
  flowControlGroupTag: "-1",
  flowControlGroupMinSize: 0,
  initialReceiverWindowBytes: 128 * KIB,
  congestionControl: "static",
  cubicTcpMode: false,
  rttInitialNs: 100 * NS_PER_US,
  rttMeasurementTimeoutNs: 10 * NS_PER_MS,
  rttMeasurementRepeatRttMultiple: 4,
  rttMeasurementIntervalMaxNs: 1 * NS_PER_S,

  socketRcvbufBytes: 128 * KIB,
  socketSndbufBytes: 0,

  termLengthBytes: 16 * MIB,
  ipcTermLengthBytes: 64 * MIB,
  mtuBytes: DEFAULT_MTU_LENGTH,
  ipcMtuBytes: DEFAULT_MTU_LENGTH,
  publicationTermWindowBytes: 0,

  reservedSessionIdLow: -1,
  reservedSessionIdHigh: 1000,

  multicastTtl: 0,
  reliableStream: true,
  termBufferSparse: false,
  tetherSubscriptions: true,
});

// Bounds. Every duration is capped at a day: nothing in a transport waits longer, and a cap keeps
// deadline arithmetic (nowNs + timeout) far from the 2^53 edge.
export const DURATION_NS_MAX = 86_400 * NS_PER_S;
export const RATIO_MAX = 1_000_000;

/** A rule returns why a value is invalid, or undefined when it is fine. */
type Rule = (value: unknown) => string | undefined;

function integerIn(min: number, max: number, what = "an integer"): Rule {
  return (value) =>
    typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max
      ? undefined
      : `must be ${what} between ${min} and ${max}`;
}

const durationNs = (min: number): Rule => integerIn(min, DURATION_NS_MAX, "an integer number of nanoseconds");
const positiveDurationNs = durationNs(1);
const count = (min: number, max: number): Rule => integerIn(min, max);
const bufferBytes: Rule = integerIn(0, I32_MAX, "a byte count (0 for the OS default)");

const mtu: Rule = (value) => (typeof value === "number" && isValidMtu(value) ? undefined : MTU_RULE);
const termLength: Rule = (value) => (typeof value === "number" && isValidTermLength(value) ? undefined : TERM_LENGTH_RULE);

const boolean: Rule = (value) => (typeof value === "boolean" ? undefined : "must be true or false");

function oneOf(...allowed: readonly string[]): Rule {
  return (value) =>
    typeof value === "string" && allowed.includes(value) ? undefined : `must be one of ${allowed.map((a) => `'${a}'`).join(", ")}`;
}

const groupTag: Rule = (value) => {
  if (typeof value !== "string") return "must be a signed 64-bit integer written as a decimal string";
  const result = parseGroupTag(value);
  if (!result.ok) return result.reason;
  return result.value === value ? undefined : `must be written canonically as '${result.value}'`;
};

const RULES: { readonly [K in keyof EngineConfig]: Rule } = {
  setupResendIntervalNs: positiveDurationNs,
  heartbeatIntervalNs: positiveDurationNs,
  publicationConnectionTimeoutNs: positiveDurationNs,
  statusMessageIntervalNs: positiveDurationNs,
  imageLivenessTimeoutNs: positiveDurationNs,
  publicationLingerNs: durationNs(0),
  pendingSetupsTimeoutNs: positiveDurationNs,
  unjoinedImageEvictionNs: positiveDurationNs,

  nakUnicastDelayNs: positiveDurationNs,
  nakUnicastRetryDelayRatio: count(1, RATIO_MAX),
  nakMulticastMaxBackoffNs: positiveDurationNs,
  nakMulticastGroupSize: count(1, I32_MAX),
  retransmitUnicastDelayNs: durationNs(0),
  retransmitUnicastLingerNs: durationNs(0),
  maxRetransmitActions: count(1, MAX_RETRANSMIT_ACTIONS_MAX),

  flowControlReceiverTimeoutNs: positiveDurationNs,
  multicastFlowControl: oneOf("max", "min", "tagged"),
  flowControlGroupTag: groupTag,
  flowControlGroupMinSize: count(0, I32_MAX),
  initialReceiverWindowBytes: integerIn(1, I32_MAX, "a byte count"),
  congestionControl: oneOf("static", "cubic", "bbr"),
  cubicTcpMode: boolean,
  rttInitialNs: positiveDurationNs,
  rttMeasurementTimeoutNs: positiveDurationNs,
  rttMeasurementRepeatRttMultiple: count(1, RATIO_MAX),
  rttMeasurementIntervalMaxNs: positiveDurationNs,

  socketRcvbufBytes: bufferBytes,
  socketSndbufBytes: bufferBytes,

  termLengthBytes: termLength,
  ipcTermLengthBytes: termLength,
  mtuBytes: mtu,
  ipcMtuBytes: mtu,
  publicationTermWindowBytes: integerIn(0, I32_MAX, "a byte count (0 for termLength / 2)"),

  reservedSessionIdLow: count(I32_MIN, I32_MAX),
  reservedSessionIdHigh: count(I32_MIN, I32_MAX),

  multicastTtl: count(0, TTL_MAX),
  reliableStream: boolean,
  termBufferSparse: boolean,
  tetherSubscriptions: boolean,
};

/** The names of every option, in declaration order. */
export const ENGINE_CONFIG_OPTIONS = Object.freeze(Object.keys(RULES) as ReadonlyArray<keyof EngineConfig>);

/**
 * Completes `overrides` with DEFAULT_ENGINE_CONFIG and validates every field; throws
 * ConfigurationError naming the first bad option. A field given as undefined takes its default.
 */
export function resolveEngineConfig(overrides: Partial<EngineConfig> = {}): EngineConfig {
  if (typeof overrides !== "object" || overrides === null) {
    throw new ConfigurationError("(config)", overrides, "must be an object of engine options");
  }
  for (const key of Object.keys(overrides)) {
    if (!Object.hasOwn(RULES, key)) {
      throw new ConfigurationError(key, (overrides as Record<string, unknown>)[key], `unknown option; known options are ${ENGINE_CONFIG_OPTIONS.join(", ")}`);
    }
  }
  const merged: Record<string, unknown> = { ...DEFAULT_ENGINE_CONFIG };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) merged[key] = value;
  }
  for (const key of ENGINE_CONFIG_OPTIONS) {
    const reason = RULES[key](merged[key]);
    if (reason !== undefined) throw new ConfigurationError(key, merged[key], reason);
  }
  const config = merged as unknown as EngineConfig;
  checkConsistency(config);
  return Object.freeze(config);
}

/** Checks between fields, each error naming the field most likely to be the mistake. */
function checkConsistency(config: EngineConfig): void {
  if (config.reservedSessionIdLow > config.reservedSessionIdHigh) {
    throw new ConfigurationError("reservedSessionIdHigh", config.reservedSessionIdHigh, `must not be below reservedSessionIdLow (${config.reservedSessionIdLow})`);
  }
  if (config.initialReceiverWindowBytes < config.mtuBytes) {
    throw new ConfigurationError("initialReceiverWindowBytes", config.initialReceiverWindowBytes, `must be at least mtuBytes (${config.mtuBytes}) so one full frame fits in the window`);
  }
  if (config.termLengthBytes / 2 < config.mtuBytes) {
    throw new ConfigurationError("mtuBytes", config.mtuBytes, `must be at most half of termLengthBytes (${config.termLengthBytes / 2}) so one full frame fits in the window`);
  }
  if (config.publicationTermWindowBytes !== 0 && config.publicationTermWindowBytes < config.mtuBytes) {
    throw new ConfigurationError("publicationTermWindowBytes", config.publicationTermWindowBytes, `must be 0 or at least mtuBytes (${config.mtuBytes})`);
  }
  if (config.socketSndbufBytes !== 0 && config.socketSndbufBytes < config.mtuBytes) {
    throw new ConfigurationError("socketSndbufBytes", config.socketSndbufBytes, `must be 0 (OS default) or at least mtuBytes (${config.mtuBytes})`);
  }
  if (config.socketRcvbufBytes !== 0 && config.socketRcvbufBytes < config.initialReceiverWindowBytes) {
    throw new ConfigurationError("socketRcvbufBytes", config.socketRcvbufBytes, `must be 0 (OS default) or at least initialReceiverWindowBytes (${config.initialReceiverWindowBytes})`);
  }
  if (config.rttMeasurementIntervalMaxNs < config.rttMeasurementTimeoutNs) {
    throw new ConfigurationError("rttMeasurementIntervalMaxNs", config.rttMeasurementIntervalMaxNs, `must be at least rttMeasurementTimeoutNs (${config.rttMeasurementTimeoutNs})`);
  }
  if (config.nakUnicastDelayNs * config.nakUnicastRetryDelayRatio > DURATION_NS_MAX) {
    throw new ConfigurationError("nakUnicastRetryDelayRatio", config.nakUnicastRetryDelayRatio, `makes the re-NAK delay (nakUnicastDelayNs × ratio) exceed ${DURATION_NS_MAX} ns`);
  }
}
