// Channel URIs (PROTOCOL.md section 10): `aeron:udp?key=value|key=value...` and
// `aeron:ipc[?key=value...]`, parsed into a frozen, fully typed plain object, and formatted back.
//
// Rules beyond the per-parameter limits:
// - Unknown, repeated or empty parameters are errors naming the parameter.
// - `init-term-id`, `term-id` and `term-offset` come together or not at all.
// - Parameters that only shape a UDP transport (endpoint, fc, ttl, ...) are refused on aeron:ipc
//   rather than ignored, so a mistyped channel does not silently lose a setting.
// - `control-mode=dynamic` needs `control`.
// - An IPv4 multicast endpoint gets its control address derived (section 9), in `multicast`.
//
// Gotchas:
// - Parameter values are checked on their own here; checks that need the engine's defaults too
//   (mtu against the receiver window, term-offset against a default term length) happen in
//   resolveStreamParams (src/core/config/streamParams.ts).
// - formatChannelUri writes parameters in one canonical order with sizes and durations in their
//   largest exact unit, so format(parse(text)) equals text only when text is already canonical;
//   parse(format(uri)) always equals uri.
// - A host name endpoint is kept as written; whether it names a multicast group is for the resolver.
//
// Example:
//   const uri = parseChannelUri("aeron:udp?endpoint=224.0.1.1:40456|interface=192.168.1.0/24|ttl=4");
//   uri.multicast?.control.host === "224.0.1.2";
//   formatChannelUri(uri) === "aeron:udp?endpoint=224.0.1.1:40456|interface=192.168.1.0/24|ttl=4";

import { ChannelUriError, WHOLE_URI } from "../errors.js";
import { formatDurationNs, parseDurationNs } from "../config/duration.js";
import { formatSizeBytes, parseSizeBytes } from "../config/size.js";
import {
  I32_MAX,
  I32_MIN,
  isValidMtu,
  isValidTermLength,
  MAX_RETRANSMIT_ACTIONS_MAX,
  MTU_RULE,
  TERM_LENGTH_BYTES_MAX,
  TERM_LENGTH_RULE,
  TTL_MAX,
} from "../config/limits.js";
import type { ParseResult } from "../config/parseResult.js";
import { FRAME_ALIGNMENT } from "../protocol/frameHeader.js";
import {
  formatInterfaceAddress,
  formatSocketAddress,
  multicastAddressesOf,
  parseInterfaceAddress,
  parseSocketAddress,
  type InterfaceAddress,
  type MulticastAddresses,
  type SocketAddress,
} from "./address.js";
import { formatFlowControlParam, parseFlowControlParam, type FlowControlParam } from "./flowControlParam.js";
import { parseGroupTag } from "./groupTag.js";

export type Media = "udp" | "ipc";
export type ControlMode = "manual" | "dynamic" | "response";
/** `bbr`: the delay-based controller (delayBasedCongestionControl.ts). */
export type CongestionControlName = "static" | "cubic" | "bbr";

/** Where a publication starts: the three URI parameters that must travel together. */
export interface InitialPosition {
  readonly initTermId: number;
  readonly termId: number;
  /** 0 .. termLength, a multiple of 32. */
  readonly termOffset: number;
}

/** A parsed channel URI. Every optional field is absent (not undefined) when the URI omits it. */
export interface ChannelUri {
  readonly media: Media;
  /** `endpoint` */
  readonly endpoint?: SocketAddress;
  /** Derived from an IPv4 multicast `endpoint`; never written by formatChannelUri. */
  readonly multicast?: MulticastAddresses;
  /** `interface` */
  readonly networkInterface?: InterfaceAddress;
  /** `control` */
  readonly control?: SocketAddress;
  /** `control-mode` */
  readonly controlMode?: ControlMode;
  /** `mtu`: 64 .. 65504, a multiple of 32. */
  readonly mtuBytes?: number;
  /** `term-length`: a power of two, 64 KiB .. 1 GiB. */
  readonly termLengthBytes?: number;
  /** `init-term-id` + `term-id` + `term-offset` */
  readonly initialPosition?: InitialPosition;
  /** `session-id`: any i32. */
  readonly sessionId?: number;
  /** `reliable` */
  readonly reliable?: boolean;
  /** `ttl`: 0 .. 255. */
  readonly ttl?: number;
  /** `fc` */
  readonly flowControl?: FlowControlParam;
  /** `cc` */
  readonly congestionControl?: CongestionControlName;
  /** `rcv-wnd`: 1 .. 2^31 - 1. */
  readonly receiverWindowBytes?: number;
  /** `so-sndbuf`: 0 .. 2^31 - 1 (0 leaves the operating system's default). */
  readonly socketSndbufBytes?: number;
  /** `so-rcvbuf`: 0 .. 2^31 - 1 (0 leaves the operating system's default). */
  readonly socketRcvbufBytes?: number;
  /** `linger` */
  readonly lingerNs?: number;
  /** `sparse` */
  readonly sparse?: boolean;
  /** `eos` */
  readonly eos?: boolean;
  /** `tether` */
  readonly tether?: boolean;
  /** `group` */
  readonly group?: boolean;
  /** `gtag`: canonical decimal i64 (see groupTagToInt32Pair for the wire form). */
  readonly groupTag?: string;
  /** `nak-delay` */
  readonly nakDelayNs?: number;
  /** `max-resend`: 1 .. 256. */
  readonly maxResend?: number;
  /** `alias`: a label for people and tools; no effect on the stream (as in Aeron). */
  readonly alias?: string;
  /** `stream-id`: when given, must equal the stream id the channel is added with (as in Aeron). */
  readonly streamId?: number;
  /** `rejoin`: whether a subscription takes a new image from a session whose image timed out. */
  readonly rejoin?: boolean;
  /** `ssc` (spies simulate connection): accepted; Petrel has no spies, so it changes nothing. */
  readonly spiesSimulateConnection?: boolean;
  /** `pub-wnd`: how far a publisher may run ahead of its sender; mtu .. termLength / 2. */
  readonly publicationWindowBytes?: number;
  /** `untethered-window-limit-timeout`: accepted for Aeron compatibility; only untethered subscriptions use it. */
  readonly untetheredWindowLimitTimeoutNs?: number;
  /** `untethered-resting-timeout`: accepted for Aeron compatibility; only untethered subscriptions use it. */
  readonly untetheredRestingTimeoutNs?: number;
  /**
   * `source-pin` (a Petrel extension, not Aeron's; off by default): a unicast publication takes SMs,
   * NAKs and RTTM requests only from its endpoint's address, an image takes data, heartbeats, EOS
   * and RTTM replies only from the address its SETUP came from (issue #11, attack 7).
   */
  readonly sourcePin?: boolean;
}


/** Every parameter Petrel knows, in the order formatChannelUri writes them. */
export const CHANNEL_PARAMETERS = [
  "endpoint",
  "interface",
  "control",
  "control-mode",
  "mtu",
  "term-length",
  "init-term-id",
  "term-id",
  "term-offset",
  "session-id",
  "reliable",
  "ttl",
  "fc",
  "cc",
  "rcv-wnd",
  "so-sndbuf",
  "so-rcvbuf",
  "linger",
  "sparse",
  "eos",
  "tether",
  "group",
  "gtag",
  "nak-delay",
  "max-resend",
  "alias",
  "stream-id",
  "rejoin",
  "ssc",
  "pub-wnd",
  "untethered-window-limit-timeout",
  "untethered-resting-timeout",
  "source-pin",
] as const;

export type ChannelParameter = (typeof CHANNEL_PARAMETERS)[number];

/** The parameters that mean something for aeron:ipc; the rest only shape a UDP transport. */
export const IPC_PARAMETERS: ReadonlySet<ChannelParameter> = new Set<ChannelParameter>([
  "mtu",
  "term-length",
  "init-term-id",
  "term-id",
  "term-offset",
  "session-id",
  "linger",
  "sparse",
  "eos",
  "tether",
  "alias",
  "stream-id",
  "ssc",
  "pub-wnd",
  "untethered-window-limit-timeout",
  "untethered-resting-timeout",
]);

/**
 * Aeron channel parameters Petrel refuses by name, with the reason, rather than as unknown: each
 * asks for a feature Petrel does not have, so accepting it would silently change the stream.
 */
export const UNSUPPORTED_PARAMETERS: ReadonlyMap<string, string> = new Map<string, string>([
  ["tags", "channel tags (tags=) refer to another channel's settings, which Petrel does not share between channels; write the channel in full"],
  ["ats", "Aeron transport security (ats=) is not supported"],
  ["media-rcv-ts-offset", "receive timestamps written into messages (media-rcv-ts-offset=) are not supported"],
  ["channel-rcv-ts-offset", "receive timestamps written into messages (channel-rcv-ts-offset=) are not supported"],
  ["channel-snd-ts-offset", "send timestamps written into messages (channel-snd-ts-offset=) are not supported"],
  ["response-correlation-id", "response channels (response-correlation-id=, control-mode=response) are not supported"],
]);

const KNOWN_PARAMETERS: ReadonlySet<string> = new Set<string>(CHANNEL_PARAMETERS);
const PREFIX = "aeron:";
const SPY_PREFIX = "aeron-spy:";
const INTEGER = /^-?[0-9]+$/;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Parses a channel URI; throws ChannelUriError naming the offending parameter. */
export function parseChannelUri(text: string): ChannelUri {
  if (typeof text !== "string") {
    throw new ChannelUriError(WHOLE_URI, String(text), "must be a string");
  }
  if (text.startsWith(SPY_PREFIX)) {
    throw new ChannelUriError(WHOLE_URI, text, "spy subscriptions (aeron-spy:) are not supported; subscribe to the channel itself");
  }
  if (!text.startsWith(PREFIX)) {
    throw new ChannelUriError(WHOLE_URI, text, "must start with 'aeron:udp' or 'aeron:ipc'");
  }
  const question = text.indexOf("?");
  const mediaText = text.slice(PREFIX.length, question < 0 ? text.length : question);
  if (mediaText !== "udp" && mediaText !== "ipc") {
    throw new ChannelUriError(WHOLE_URI, text, `media '${mediaText}' is not supported: must be 'udp' or 'ipc'`);
  }
  const media: Media = mediaText;
  const values = splitParameters(text, question < 0 ? "" : text.slice(question + 1));

  const draft: Partial<Mutable<ChannelUri>> = { media };
  for (const [key, value] of values) {
    if (media === "ipc" && !IPC_PARAMETERS.has(key)) {
      throw new ChannelUriError(key, value, "only applies to aeron:udp, not aeron:ipc");
    }
    parseParameter(draft, key, value);
  }
  const initialPosition = parseInitialPosition(values, draft.termLengthBytes);
  if (initialPosition !== undefined) draft.initialPosition = initialPosition;

  if (draft.controlMode === "dynamic" && draft.control === undefined) {
    throw new ChannelUriError("control-mode", "dynamic", "needs a 'control' parameter (the address receivers register with)");
  }
  if (draft.endpoint !== undefined) {
    const multicast = multicastAddressesOf("endpoint", draft.endpoint);
    if (multicast !== undefined) draft.multicast = multicast;
  }
  return Object.freeze(draft as ChannelUri);
}

/** Splits `k=v|k=v` into a map, refusing empty, unknown, keyless and repeated parameters. */
function splitParameters(whole: string, query: string): Map<ChannelParameter, string> {
  const values = new Map<ChannelParameter, string>();
  if (query.length === 0) return values;
  for (const segment of query.split("|")) {
    if (segment.length === 0) {
      throw new ChannelUriError(WHOLE_URI, whole, "has an empty parameter (two '|' in a row, or a '|' at an end)");
    }
    const equals = segment.indexOf("=");
    if (equals < 0) {
      throw new ChannelUriError(segment, "", "has no value: parameters are written key=value");
    }
    if (equals === 0) {
      throw new ChannelUriError(WHOLE_URI, whole, `parameter '${segment}' has no name before '='`);
    }
    const key = segment.slice(0, equals);
    const value = segment.slice(equals + 1);
    const unsupported = UNSUPPORTED_PARAMETERS.get(key);
    if (unsupported !== undefined) throw new ChannelUriError(key, value, unsupported);
    if (!KNOWN_PARAMETERS.has(key)) {
      throw new ChannelUriError(key, value, `unknown parameter; known parameters are ${CHANNEL_PARAMETERS.join(", ")}`);
    }
    const parameter = key as ChannelParameter;
    const previous = values.get(parameter);
    if (previous !== undefined) {
      throw new ChannelUriError(key, value, `is given more than once (first as '${previous}')`);
    }
    if (value.length === 0) {
      throw new ChannelUriError(key, value, "must not be empty");
    }
    values.set(parameter, value);
  }
  return values;
}

function unwrap<T>(parameter: string, text: string, result: ParseResult<T>): T {
  if (!result.ok) throw new ChannelUriError(parameter, text, result.reason);
  return result.value;
}

function parseBoolean(parameter: string, text: string): boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  throw new ChannelUriError(parameter, text, "must be true or false");
}

/** Parses a decimal integer and checks it against [min, max] (both inclusive). */
function parseInteger(parameter: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!INTEGER.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ChannelUriError(parameter, text, `must be a decimal integer between ${min} and ${max}`);
  }
  // "-0" is 0, as Java's Integer.parseInt reads it; Number("-0") is -0, which would print back as "0".
  return value === 0 ? 0 : value;
}

function parseSizeIn(parameter: string, text: string, min: number, max: number): number {
  const bytes = unwrap(parameter, text, parseSizeBytes(text));
  if (bytes < min || bytes > max) {
    throw new ChannelUriError(parameter, text, `must be between ${formatSizeBytes(min)} and ${formatSizeBytes(max)} bytes (${min} .. ${max})`);
  }
  return bytes;
}

function parseParameter(draft: Partial<Mutable<ChannelUri>>, key: ChannelParameter, value: string): void {
  switch (key) {
    case "endpoint":
      draft.endpoint = parseSocketAddress(key, value);
      return;
    case "interface":
      draft.networkInterface = parseInterfaceAddress(key, value);
      return;
    case "control":
      draft.control = parseSocketAddress(key, value);
      return;
    case "control-mode":
      if (value !== "manual" && value !== "dynamic" && value !== "response") {
        throw new ChannelUriError(key, value, "must be manual, dynamic or response");
      }
      draft.controlMode = value;
      return;
    case "mtu": {
      const bytes = unwrap(key, value, parseSizeBytes(value));
      if (!isValidMtu(bytes)) throw new ChannelUriError(key, value, MTU_RULE);
      draft.mtuBytes = bytes;
      return;
    }
    case "term-length": {
      const bytes = unwrap(key, value, parseSizeBytes(value));
      if (!isValidTermLength(bytes)) throw new ChannelUriError(key, value, TERM_LENGTH_RULE);
      draft.termLengthBytes = bytes;
      return;
    }
    case "init-term-id":
    case "term-id":
    case "term-offset":
      // Checked together in parseInitialPosition, once every parameter has been read.
      return;
    case "session-id":
      if (value.startsWith("tag:")) {
        throw new ChannelUriError(key, value, "tag-based session ids (tag:<n>) are not supported; give an i32");
      }
      draft.sessionId = parseInteger(key, value, I32_MIN, I32_MAX);
      return;
    case "reliable":
      draft.reliable = parseBoolean(key, value);
      return;
    case "ttl":
      draft.ttl = parseInteger(key, value, 0, TTL_MAX);
      return;
    case "fc":
      draft.flowControl = parseFlowControlParam(value);
      return;
    case "cc":
      if (value !== "static" && value !== "cubic" && value !== "bbr") {
        throw new ChannelUriError(key, value, "must be static, cubic or bbr");
      }
      draft.congestionControl = value;
      return;
    case "rcv-wnd":
      draft.receiverWindowBytes = parseSizeIn(key, value, 1, I32_MAX);
      return;
    case "so-sndbuf":
      draft.socketSndbufBytes = parseSizeIn(key, value, 0, I32_MAX);
      return;
    case "so-rcvbuf":
      draft.socketRcvbufBytes = parseSizeIn(key, value, 0, I32_MAX);
      return;
    case "linger":
      draft.lingerNs = unwrap(key, value, parseDurationNs(value));
      return;
    case "sparse":
      draft.sparse = parseBoolean(key, value);
      return;
    case "eos":
      draft.eos = parseBoolean(key, value);
      return;
    case "tether":
      draft.tether = parseBoolean(key, value);
      return;
    case "group":
      draft.group = parseBoolean(key, value);
      return;
    case "gtag":
      draft.groupTag = unwrap(key, value, parseGroupTag(value));
      return;
    case "nak-delay":
      draft.nakDelayNs = unwrap(key, value, parseDurationNs(value));
      return;
    case "max-resend":
      draft.maxResend = parseInteger(key, value, 1, MAX_RETRANSMIT_ACTIONS_MAX);
      return;
    case "alias":
      draft.alias = value;
      return;
    case "stream-id":
      draft.streamId = parseInteger(key, value, I32_MIN, I32_MAX);
      return;
    case "rejoin":
      draft.rejoin = parseBoolean(key, value);
      return;
    case "ssc":
      draft.spiesSimulateConnection = parseBoolean(key, value);
      return;
    case "pub-wnd":
      // Checked against the mtu and the term length in resolveStreamParams.
      draft.publicationWindowBytes = parseSizeIn(key, value, 1, I32_MAX);
      return;
    case "untethered-window-limit-timeout":
      draft.untetheredWindowLimitTimeoutNs = unwrap(key, value, parseDurationNs(value));
      return;
    case "untethered-resting-timeout":
      draft.untetheredRestingTimeoutNs = unwrap(key, value, parseDurationNs(value));
      return;
    case "source-pin":
      draft.sourcePin = parseBoolean(key, value);
      return;
  }
}

/**
 * Reads the three start-position parameters, all or none. The term-id distance from init-term-id
 * is taken with i32 wraparound, as Aeron does, and must not be negative (a distance of 2^31 or
 * more would be read as negative everywhere positions are computed).
 */
function parseInitialPosition(values: ReadonlyMap<ChannelParameter, string>, termLengthBytes: number | undefined): InitialPosition | undefined {
  const names = ["init-term-id", "term-id", "term-offset"] as const;
  const present = names.filter((name) => values.has(name));
  if (present.length === 0) return undefined;
  if (present.length < names.length) {
    const first = present[0] ?? "init-term-id";
    const missing = names.filter((name) => !values.has(name));
    throw new ChannelUriError(first, values.get(first) ?? "", `init-term-id, term-id and term-offset must be given together (missing: ${missing.join(", ")})`);
  }
  const initTermIdText = values.get("init-term-id") ?? "";
  const termIdText = values.get("term-id") ?? "";
  const termOffsetText = values.get("term-offset") ?? "";
  const initTermId = parseInteger("init-term-id", initTermIdText, I32_MIN, I32_MAX);
  const termId = parseInteger("term-id", termIdText, I32_MIN, I32_MAX);
  const termOffsetMax = termLengthBytes ?? TERM_LENGTH_BYTES_MAX;
  const termOffset = parseInteger("term-offset", termOffsetText, 0, termOffsetMax);
  if (termOffset % FRAME_ALIGNMENT !== 0) {
    throw new ChannelUriError("term-offset", termOffsetText, `must be a multiple of ${FRAME_ALIGNMENT} (the frame alignment)`);
  }
  if (((termId - initTermId) | 0) < 0) {
    throw new ChannelUriError("term-id", termIdText, `is more than 2^31 - 1 terms after init-term-id ${initTermId} (or before it)`);
  }
  return Object.freeze({ initTermId, termId, termOffset });
}

/** Formats a URI in canonical parameter order; the inverse of parseChannelUri. */
export function formatChannelUri(uri: ChannelUri): string {
  const parts: string[] = [];
  const add = (key: ChannelParameter, value: string | undefined): void => {
    if (value !== undefined) parts.push(`${key}=${value}`);
  };
  const bool = (value: boolean | undefined): string | undefined => (value === undefined ? undefined : String(value));
  const size = (value: number | undefined): string | undefined => (value === undefined ? undefined : formatSizeBytes(value));
  const duration = (value: number | undefined): string | undefined => (value === undefined ? undefined : formatDurationNs(value));
  const int = (value: number | undefined): string | undefined => (value === undefined ? undefined : String(value));

  add("endpoint", uri.endpoint === undefined ? undefined : formatSocketAddress(uri.endpoint));
  add("interface", uri.networkInterface === undefined ? undefined : formatInterfaceAddress(uri.networkInterface));
  add("control", uri.control === undefined ? undefined : formatSocketAddress(uri.control));
  add("control-mode", uri.controlMode);
  add("mtu", size(uri.mtuBytes));
  add("term-length", size(uri.termLengthBytes));
  add("init-term-id", int(uri.initialPosition?.initTermId));
  add("term-id", int(uri.initialPosition?.termId));
  add("term-offset", int(uri.initialPosition?.termOffset));
  add("session-id", int(uri.sessionId));
  add("reliable", bool(uri.reliable));
  add("ttl", int(uri.ttl));
  add("fc", uri.flowControl === undefined ? undefined : formatFlowControlParam(uri.flowControl));
  add("cc", uri.congestionControl);
  add("rcv-wnd", size(uri.receiverWindowBytes));
  add("so-sndbuf", size(uri.socketSndbufBytes));
  add("so-rcvbuf", size(uri.socketRcvbufBytes));
  add("linger", duration(uri.lingerNs));
  add("sparse", bool(uri.sparse));
  add("eos", bool(uri.eos));
  add("tether", bool(uri.tether));
  add("group", bool(uri.group));
  add("gtag", uri.groupTag);
  add("nak-delay", duration(uri.nakDelayNs));
  add("max-resend", int(uri.maxResend));
  add("alias", uri.alias);
  add("stream-id", int(uri.streamId));
  add("rejoin", bool(uri.rejoin));
  add("ssc", bool(uri.spiesSimulateConnection));
  add("pub-wnd", size(uri.publicationWindowBytes));
  add("untethered-window-limit-timeout", duration(uri.untetheredWindowLimitTimeoutNs));
  add("untethered-resting-timeout", duration(uri.untetheredRestingTimeoutNs));
  add("source-pin", bool(uri.sourcePin));

  const head = `${PREFIX}${uri.media}`;
  return parts.length === 0 ? head : `${head}?${parts.join("|")}`;
}
