// Typed errors for bad APPLICATION input: a channel URI or an engine option the caller wrote.
// Input from the network is never thrown on (it is counted and dropped), so nothing on a hot path
// constructs these. Each error names what was wrong, the value given, and the rule it broke, in
// one sentence a user can act on without reading the source.

/** Base of every error Petrel throws on purpose. `code` is stable; the message is for humans. */
export class PetrelError extends Error {
  override readonly name: string = "PetrelError";
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The parameter name used when the URI as a whole (not one parameter) is malformed. */
export const WHOLE_URI = "uri";

/** Quotes a value for a message, shortening a very long one so the message stays readable. */
function quote(value: string): string {
  const limit = 120;
  return value.length <= limit ? `'${value}'` : `'${value.slice(0, limit)}…' (${value.length} chars)`;
}

/**
 * A channel URI parameter is unknown, repeated, missing a partner, or has a value outside its
 * rules. `parameter` is the URI key (`mtu`, `term-length`, ...) or `"uri"` ({@link WHOLE_URI}) when
 * the URI's shape itself is wrong (bad prefix, empty key).
 *
 * Message shape: `channel parameter 'mtu' = '1000': must be a multiple of 32 between 64 and 65504`.
 */
export class ChannelUriError extends PetrelError {
  override readonly name: string = "ChannelUriError";
  readonly parameter: string;
  readonly value: string;
  readonly reason: string;

  constructor(parameter: string, value: string, reason: string) {
    super(
      "CHANNEL_URI",
      parameter === WHOLE_URI
        ? `channel URI ${quote(value)}: ${reason}`
        : `channel parameter '${parameter}' = ${quote(value)}: ${reason}`,
    );
    this.parameter = parameter;
    this.value = value;
    this.reason = reason;
  }
}

/**
 * An engine configuration option is unknown, of the wrong type, or outside its bounds. `option` is
 * the EngineConfig field name (`setupResendIntervalNs`, ...).
 *
 * Message shape: `engine option 'mtuBytes' = 1000: must be a multiple of 32 between 64 and 65504`.
 */
export class ConfigurationError extends PetrelError {
  override readonly name: string = "ConfigurationError";
  readonly option: string;
  readonly value: unknown;
  readonly reason: string;

  constructor(option: string, value: unknown, reason: string) {
    super("CONFIGURATION", `engine option '${option}' = ${describe(value)}: ${reason}`);
    this.option = option;
    this.value = value;
    this.reason = reason;
  }
}

/** Renders any configuration value for a message without throwing (cold path only). */
function describe(value: unknown): string {
  if (typeof value === "string") return quote(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  return `(${typeof value})`;
}
