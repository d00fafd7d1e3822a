// The reliable-stream workload's messages: `count` messages of deterministic sizes and content,
// decided by (seed, stream) alone, so that a subscriber can check any message it receives without
// having seen the ones before it (a subscriber that restarts joins mid-stream). Every message
// carries its own index in its first four bytes and its stream tag in the next four; the rest is
// pseudo-random bytes drawn from a hash of (seed, stream, index).
//
// Sizes are mixed: mostly small, some up to one MTU's payload, a few longer than that (so they are
// fragmented across frames and reassembled by the subscriber). Fixed-length content (every message
// `messageBytes` long, up to 2^32 - 1 of them, no table of lengths) is for rate workloads such as
// the petrel CLI's scenarios.
import { assert, assertIntegerInRange } from "./assert.js";

/** Bytes every message starts with: its index (u32 LE) and its stream tag (u32 LE). */
export const MESSAGE_HEADER_BYTES = 8;

/** A 32-bit mix (murmur3's finalizer) of three integers. */
function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c ^ 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface StreamContentOptions {
  readonly seed: number;
  /** Which stream of the run (so that two streams carry different bytes). */
  readonly stream: number;
  readonly count: number;
  /** The payload one frame carries (MTU minus the 32-byte data header). */
  readonly framePayloadBytes: number;
  /** The longest message (at most the publication's maxMessageLength). */
  readonly maxMessageBytes: number;
}

/** Every message `messageBytes` long (at least MESSAGE_HEADER_BYTES); `count` up to 2^32 - 1. */
export interface FixedLengthContentOptions {
  readonly seed: number;
  readonly stream: number;
  readonly count: number;
  readonly messageBytes: number;
}

export class StreamContent {
  readonly count: number;
  /** Each message's length (empty for fixed-length content: see lengthOf). */
  readonly lengths: Int32Array;
  /** The one length of fixed-length content, or -1. */
  readonly fixedLength: number;
  readonly tag: number;
  private readonly seedLo: number;
  private readonly seedHi: number;
  readonly maxLength: number;

  constructor(options: StreamContentOptions | FixedLengthContentOptions) {
    if ("messageBytes" in options) {
      assertIntegerInRange(options.count, 0, 0xffffffff, "count");
      assertIntegerInRange(options.messageBytes, MESSAGE_HEADER_BYTES, 1 << 24, "messageBytes");
    } else {
      assertIntegerInRange(options.count, 0, 1 << 24, "count");
    }
    this.count = options.count;
    this.seedLo = options.seed >>> 0;
    this.seedHi = Math.floor(options.seed / 4294967296) >>> 0;
    this.tag = mix(this.seedLo, this.seedHi, options.stream + 0x5157);
    if ("messageBytes" in options) {
      this.fixedLength = options.messageBytes;
      this.lengths = new Int32Array(0);
      this.maxLength = options.messageBytes;
      return;
    }
    this.fixedLength = -1;
    assertIntegerInRange(options.framePayloadBytes, MESSAGE_HEADER_BYTES + 1, 65536, "framePayloadBytes");
    assert(options.maxMessageBytes >= options.framePayloadBytes, "maxMessageBytes must be at least framePayloadBytes");
    const lengths = new Int32Array(options.count);
    const frame = options.framePayloadBytes;
    const longest = Math.min(options.maxMessageBytes, 4 * frame);
    let maxLength = 0;
    for (let i = 0; i < options.count; i++) {
      const h = mix(this.seedLo ^ 0x1e57, this.tag, i);
      const bucket = h % 100;
      const r = Math.floor(h / 100);
      let length: number;
      if (bucket < 70) length = MESSAGE_HEADER_BYTES + (r % 193);
      else if (bucket < 92) length = 201 + (r % (frame - 200));
      else length = frame + 1 + (r % (longest - frame));
      lengths[i] = length;
      if (length > maxLength) maxLength = length;
    }
    this.lengths = lengths;
    this.maxLength = maxLength;
  }

  lengthOf(index: number): number {
    return this.fixedLength >= 0 ? this.fixedLength : (this.lengths[index] as number);
  }

  /** Writes message `index` at out[offset..]; returns its length. */
  fill(out: Uint8Array, offset: number, index: number): number {
    const length = this.lengthOf(index);
    writeU32(out, offset, index);
    writeU32(out, offset + 4, this.tag);
    let x = mix(this.seedHi, this.tag, index);
    for (let i = MESSAGE_HEADER_BYTES; i < length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out[offset + i] = x >>> 24;
    }
    return length;
  }

  /** The index a received message claims (its first four bytes), or -1 when it is too short to say. */
  static indexOf(bytes: Uint8Array, offset: number, length: number): number {
    if (length < MESSAGE_HEADER_BYTES) return -1;
    return readU32(bytes, offset);
  }

  /**
   * Compares a received message with message `index`: -1 when identical, -2 when the length
   * differs, else the first byte offset that differs.
   */
  compare(bytes: Uint8Array, offset: number, length: number, index: number): number {
    const expected = this.lengthOf(index);
    if (length !== expected) return -2;
    if (readU32(bytes, offset) !== index) return 0;
    if (readU32(bytes, offset + 4) !== this.tag) return 4;
    let x = mix(this.seedHi, this.tag, index);
    for (let i = MESSAGE_HEADER_BYTES; i < length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      if (bytes[offset + i] !== x >>> 24) return i;
    }
    return -1;
  }
}

function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = (value >>> 24) & 0xff;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) | ((bytes[offset + 1] as number) << 8) | ((bytes[offset + 2] as number) << 16) |
    ((bytes[offset + 3] as number) << 24)) >>> 0;
}
