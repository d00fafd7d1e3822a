// Frame filters for `petrel replay --drop/--delay`: which datagrams of a journal a fault applies to.
// Syntax (comma-separated key=value, every key optional, the type may stand alone):
//   TYPE[,dir=rx|tx][,to=publisher|subscriber][,t=FROM..TO][,offset=FROM..TO][,every=N][,rate=N/D][,count=N]
// e.g. "DATA,dir=rx,t=1s..2s,every=3,count=5". TYPE is a frame type (DATA, PAD, NAK, SM, ERR, SETUP,
// RTTM, RES, or ANY); a datagram matches when any of its frames has that type. `to` is the end the
// datagram goes to (the publisher's or the subscriber's engine: the caller knows each journal's
// role). `t` is a range of recorded time from the journal's first timed record, both ends included
// (either may be left out: "t=1.5s.."), `offset` a range of the matching frame's term offset (DATA,
// PAD, NAK, SETUP, SM carry one). Among the datagrams that match, `every=N` picks the Nth, 2Nth, ...;
// `rate=N/D` picks each of those with probability N/D, drawn from a generator (src/sim/prng.ts)
// seeded from the fault's own text (formatFault), so a run is reproducible and a fault tested on the
// same datagrams makes the same draws whatever other faults a schedule has; `count=N` stops after N picks.
// A delay is "FILTER:DURATION" (e.g. "DATA,every=10:5ms"). Durations: a number with ns, us, ms or s.

import { Prng, type Ratio } from "../sim/prng.js";

export class FrameFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameFilterError";
  }
}

/** The end a datagram goes to (`to=`). */
export type FaultEnd = "publisher" | "subscriber";

export const FRAME_TYPE_CODES: Readonly<Record<string, number>> = { PAD: 0, DATA: 1, NAK: 2, SM: 3, ERR: 4, SETUP: 5, RTTM: 6, RES: 7, ANY: -1 };

export interface FrameFilterSpec {
  readonly type: string;
  readonly dir?: "rx" | "tx";
  readonly to?: FaultEnd;
  readonly fromNs?: number;
  readonly toNs?: number;
  readonly offsetFrom?: number;
  readonly offsetTo?: number;
  readonly every?: number;
  /** Picks a matching datagram with probability numerator / denominator. */
  readonly rate?: Ratio;
  readonly count?: number;
}

export interface FaultSpec {
  readonly kind: "drop" | "delay";
  readonly filter: FrameFilterSpec;
  /** The extra delay, ns (delay only). */
  readonly delayNs?: number;
}

/** rate=N/D: integers, 0 <= N <= D, 1 <= D <= 2^32 (what Prng.chance takes). */
function parseRate(text: string): Ratio {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const numerator = Number(match?.[1]);
  const denominator = Number(match?.[2]);
  if (match === null || denominator < 1 || denominator > 2 ** 32 || numerator > denominator) {
    throw new FrameFilterError(`bad rate '${text}': expected N/D, whole numbers with N <= D and 1 <= D <= 2^32 (e.g. rate=1/8)`);
  }
  return { numerator, denominator };
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
      if (i !== 0) throw new FrameFilterError(`bad filter part '${part}' in '${text}': expected key=value (dir, to, t, offset, every, rate, count)`);
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
      case "to":
        if (value !== "publisher" && value !== "subscriber") throw new FrameFilterError(`bad to '${value}': publisher or subscriber (the end the datagram goes to)`);
        spec.to = value;
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
      case "rate":
        spec.rate = parseRate(value);
        break;
      case "count":
        spec.count = parseCount(key, value);
        break;
      default:
        throw new FrameFilterError(`unknown filter key '${key}' in '${text}': type, dir, to, t, offset, every, rate, count`);
    }
  }
  return spec;
}

export function formatFrameFilter(spec: FrameFilterSpec): string {
  const parts = [spec.type];
  if (spec.dir !== undefined) parts.push(`dir=${spec.dir}`);
  if (spec.to !== undefined) parts.push(`to=${spec.to}`);
  if (spec.fromNs !== undefined || spec.toNs !== undefined) {
    parts.push(`t=${spec.fromNs === undefined ? "" : formatDuration(spec.fromNs)}..${spec.toNs === undefined ? "" : formatDuration(spec.toNs)}`);
  }
  if (spec.offsetFrom !== undefined || spec.offsetTo !== undefined) parts.push(`offset=${spec.offsetFrom ?? ""}..${spec.offsetTo ?? ""}`);
  if (spec.every !== undefined) parts.push(`every=${spec.every}`);
  if (spec.rate !== undefined) parts.push(`rate=${spec.rate.numerator}/${spec.rate.denominator}`);
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

/** The generator of a fault with rate=: the same fault text, the same draws. */
export function rateGenerator(spec: FaultSpec): Prng {
  return new Prng(0).fork(`petrel replay rate ${formatFault(spec)}`);
}

/** A fault with its pick counters: decides, datagram by datagram, in journal order. */
export class FrameFault {
  private matched = 0;
  private picked = 0;
  private readonly code: number;
  /** rate=: the fault's own generator, seeded from its text. */
  private readonly random: Prng | undefined;

  constructor(readonly spec: FaultSpec) {
    this.code = FRAME_TYPE_CODES[spec.filter.type]!;
    this.random = spec.filter.rate === undefined ? undefined : rateGenerator(spec);
  }

  /**
   * True when this fault applies to the datagram (counts it as a pick). `relNs`: time from the
   * journal's first timed record; `to`: the end the datagram goes to (needed when the filter has
   * `to=`: the caller refuses such a fault when it cannot tell).
   */
  test(dir: "rx" | "tx", relNs: number, bytes: Uint8Array, offset: number, length: number, to?: FaultEnd): boolean {
    const f = this.spec.filter;
    if (f.dir !== undefined && f.dir !== dir) return false;
    if (f.to !== undefined) {
      if (to === undefined) throw new FrameFilterError(`'${formatFault(this.spec)}': which end a datagram goes to is not known here`);
      if (f.to !== to) return false;
    }
    if (f.fromNs !== undefined && relNs < f.fromNs) return false;
    if (f.toNs !== undefined && relNs > f.toNs) return false;
    if (!this.framesMatch(bytes, offset, length)) return false;
    this.matched++;
    if (f.every !== undefined && this.matched % f.every !== 0) return false;
    if (this.random !== undefined && !this.random.chanceOf(f.rate!)) return false;
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
