// Frame filters for `petrel replay --drop/--delay`: which datagrams of a journal a fault applies to.
// Syntax (comma-separated key=value, every key optional, the type may stand alone):
//   TYPE[,dir=rx|tx][,t=FROM..TO][,offset=FROM..TO][,every=N][,count=N]
// e.g. "DATA,dir=rx,t=1s..2s,every=3,count=5". TYPE is a frame type (DATA, PAD, NAK, SM, ERR, SETUP,
// RTTM, RES, or ANY); a datagram matches when any of its frames has that type. `t` is a range of
// recorded time from the journal's first timed record (either end may be left out: "t=1.5s.."),
// `offset` a range of the matching frame's term offset (DATA, PAD, NAK, SETUP, SM carry one).
// Among the datagrams that match, `every=N` picks the Nth, 2Nth, ... and `count=N` stops after N picks.
// A delay is "FILTER:DURATION" (e.g. "DATA,every=10:5ms"). Durations: a number with ns, us, ms or s.

export class FrameFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameFilterError";
  }
}

export const FRAME_TYPE_CODES: Readonly<Record<string, number>> = { PAD: 0, DATA: 1, NAK: 2, SM: 3, ERR: 4, SETUP: 5, RTTM: 6, RES: 7, ANY: -1 };

export interface FrameFilterSpec {
  readonly type: string;
  readonly dir?: "rx" | "tx";
  readonly fromNs?: number;
  readonly toNs?: number;
  readonly offsetFrom?: number;
  readonly offsetTo?: number;
  readonly every?: number;
  readonly count?: number;
}

export interface FaultSpec {
  readonly kind: "drop" | "delay";
  readonly filter: FrameFilterSpec;
  /** The extra delay, ns (delay only). */
  readonly delayNs?: number;
}

const UNITS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ns|us|ms|s)$/.exec(text.trim());
  if (match === null) throw new FrameFilterError(`bad duration '${text}': expected a number with ns, us, ms or s (e.g. 5ms)`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

export function formatDuration(ns: number): string {
  if (ns !== 0 && ns % 1e9 === 0) return `${ns / 1e9}s`;
  if (ns !== 0 && ns % 1e6 === 0) return `${ns / 1e6}ms`;
  if (ns !== 0 && ns % 1e3 === 0) return `${ns / 1e3}us`;
  return `${ns}ns`;
}

function parseCount(key: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new FrameFilterError(`bad ${key} '${text}': expected a whole number of at least 1`);
  return Number(text);
}

function parseRange(key: string, text: string, parse: (s: string) => number): [number | undefined, number | undefined] {
  const at = text.indexOf("..");
  if (at < 0) throw new FrameFilterError(`bad ${key} '${text}': expected FROM..TO (either end may be left out)`);
  const from = text.slice(0, at);
  const to = text.slice(at + 2);
  return [from === "" ? undefined : parse(from), to === "" ? undefined : parse(to)];
}

function parseOffset(text: string): number {
  if (!/^\d+$/.test(text)) throw new FrameFilterError(`bad term offset '${text}': expected a whole number of bytes`);
  return Number(text);
}

export function parseFrameFilter(text: string): FrameFilterSpec {
  const parts = text.split(",").map((p) => p.trim());
  let type = "ANY";
  const spec: { -readonly [K in keyof FrameFilterSpec]: FrameFilterSpec[K] } = { type };
  for (const [i, part] of parts.entries()) {
    const eq = part.indexOf("=");
    if (eq < 0) {
      if (i !== 0) throw new FrameFilterError(`bad filter part '${part}' in '${text}': expected key=value (dir, t, offset, every, count)`);
      type = part.toUpperCase();
      if (!(type in FRAME_TYPE_CODES)) throw new FrameFilterError(`unknown frame type '${part}': one of ${Object.keys(FRAME_TYPE_CODES).join(", ")}`);
      spec.type = type;
      continue;
    }
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    switch (key) {
      case "type":
        if (!(value.toUpperCase() in FRAME_TYPE_CODES)) throw new FrameFilterError(`unknown frame type '${value}': one of ${Object.keys(FRAME_TYPE_CODES).join(", ")}`);
        spec.type = value.toUpperCase();
        break;
      case "dir":
        if (value !== "rx" && value !== "tx") throw new FrameFilterError(`bad dir '${value}': rx or tx`);
        spec.dir = value;
        break;
      case "t": {
        const [from, to] = parseRange("t", value, parseDuration);
        if (from !== undefined) spec.fromNs = from;
        if (to !== undefined) spec.toNs = to;
        break;
      }
      case "offset": {
        const [from, to] = parseRange("offset", value, parseOffset);
        if (from !== undefined) spec.offsetFrom = from;
        if (to !== undefined) spec.offsetTo = to;
        break;
      }
      case "every":
        spec.every = parseCount(key, value);
        break;
      case "count":
        spec.count = parseCount(key, value);
        break;
      default:
        throw new FrameFilterError(`unknown filter key '${key}' in '${text}': type, dir, t, offset, every, count`);
    }
  }
  return spec;
}

export function formatFrameFilter(spec: FrameFilterSpec): string {
  const parts = [spec.type];
  if (spec.dir !== undefined) parts.push(`dir=${spec.dir}`);
  if (spec.fromNs !== undefined || spec.toNs !== undefined) {
    parts.push(`t=${spec.fromNs === undefined ? "" : formatDuration(spec.fromNs)}..${spec.toNs === undefined ? "" : formatDuration(spec.toNs)}`);
  }
  if (spec.offsetFrom !== undefined || spec.offsetTo !== undefined) parts.push(`offset=${spec.offsetFrom ?? ""}..${spec.offsetTo ?? ""}`);
  if (spec.every !== undefined) parts.push(`every=${spec.every}`);
  if (spec.count !== undefined) parts.push(`count=${spec.count}`);
  return parts.join(",");
}

/** "FILTER:DURATION" (the last colon splits them). */
export function parseDelay(text: string): FaultSpec {
  const at = text.lastIndexOf(":");
  if (at < 0) throw new FrameFilterError(`bad --delay '${text}': expected FILTER:DURATION, e.g. DATA,every=10:5ms`);
  return { kind: "delay", filter: parseFrameFilter(text.slice(0, at)), delayNs: parseDuration(text.slice(at + 1)) };
}

export function formatFault(fault: FaultSpec): string {
  return fault.kind === "drop" ? formatFrameFilter(fault.filter) : `${formatFrameFilter(fault.filter)}:${formatDuration(fault.delayNs ?? 0)}`;
}

/** A fault with its pick counters: decides, datagram by datagram, in journal order. */
export class FrameFault {
  private matched = 0;
  private picked = 0;
  private readonly code: number;

  constructor(readonly spec: FaultSpec) {
    this.code = FRAME_TYPE_CODES[spec.filter.type]!;
  }

  /** True when this fault applies to the datagram (counts it as a pick). `relNs`: time from the journal's first timed record. */
  test(dir: "rx" | "tx", relNs: number, bytes: Uint8Array, offset: number, length: number): boolean {
    const f = this.spec.filter;
    if (f.dir !== undefined && f.dir !== dir) return false;
    if (f.fromNs !== undefined && relNs < f.fromNs) return false;
    if (f.toNs !== undefined && relNs > f.toNs) return false;
    if (!this.framesMatch(bytes, offset, length)) return false;
    this.matched++;
    if (f.every !== undefined && this.matched % f.every !== 0) return false;
    if (f.count !== undefined && this.picked >= f.count) return false;
    this.picked++;
    return true;
  }

  private framesMatch(bytes: Uint8Array, offset: number, length: number): boolean {
    const f = this.spec.filter;
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
    let p = 0;
    // Bounded: each frame advances by at least 8 bytes (an aligned frame length), and never past the datagram.
    while (p + 8 <= length) {
      const frameLength = view.getInt32(p, true);
      const type = view.getUint16(p + 6, true);
      if (this.code < 0 || type === this.code) {
        if (f.offsetFrom === undefined && f.offsetTo === undefined) return true;
        // The term offset field: at 8 in DATA, PAD and SETUP frames, at 20 in NAK and SM frames.
        const field = type === 2 || type === 3 ? 20 : 8;
        if (p + field + 4 <= length) {
          const termOffset = view.getInt32(p + field, true);
          if ((f.offsetFrom === undefined || termOffset >= f.offsetFrom) && (f.offsetTo === undefined || termOffset <= f.offsetTo)) return true;
        }
      }
      if (type !== 0 && type !== 1) break; // only data and pad frames are batched in one datagram
      const step = (Math.max(frameLength, 32) + 31) & ~31;
      p += step;
    }
    return false;
  }
}
