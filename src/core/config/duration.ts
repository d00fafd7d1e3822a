// Durations written the way Aeron writes them: a decimal integer with an optional unit suffix
// ns, us, ms or s (case-insensitive); no suffix means nanoseconds ('5s', '100ms', '100us', '250').
// Cold path only; results are exact non-negative safe integers of nanoseconds.

import { parsed, rejected, type ParseResult } from "./parseResult.js";

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

const DURATION_PATTERN = /^([0-9]+)(ns|us|ms|s)?$/i;

/** Parses '5s', '100ms', '100us', '250ns' or '250' into nanoseconds. */
export function parseDurationNs(text: string): ParseResult<number> {
  const match = DURATION_PATTERN.exec(text);
  if (match === null) {
    return rejected("must be a non-negative integer duration with an optional unit ns, us, ms or s (e.g. 5s, 100ms; no unit means ns)");
  }
  const count = Number(match[1] ?? "");
  const unit = (match[2] ?? "ns").toLowerCase();
  const multiplier = unit === "s" ? NS_PER_S : unit === "ms" ? NS_PER_MS : unit === "us" ? NS_PER_US : 1;
  const ns = count * multiplier;
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(ns)) {
    return rejected(`is too long: durations must be at most ${Number.MAX_SAFE_INTEGER} ns`);
  }
  return parsed(ns);
}

/** Formats nanoseconds with the largest unit that keeps it exact (5e9 → '5s', 1500 → '1500ns'). */
export function formatDurationNs(ns: number): string {
  if (!Number.isSafeInteger(ns) || ns < 0) {
    throw new RangeError(`formatDurationNs: ${ns} is not a non-negative safe integer`);
  }
  if (ns !== 0) {
    if (ns % NS_PER_S === 0) return `${ns / NS_PER_S}s`;
    if (ns % NS_PER_MS === 0) return `${ns / NS_PER_MS}ms`;
    if (ns % NS_PER_US === 0) return `${ns / NS_PER_US}us`;
  }
  return `${ns}ns`;
}
