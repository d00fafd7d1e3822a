// Helpers shared by the log buffer tests: a fragment handler that records copies of what it is
// given, and deterministic message contents.
import type { FragmentHeader } from "../../src/core/logbuffer/fragmentHeader.js";
import type { FragmentHandler } from "../../src/core/logbuffer/termReader.js";

export interface Received {
  readonly bytes: Uint8Array;
  readonly flags: number;
  readonly termId: number;
  readonly termOffset: number;
  readonly sessionId: number;
  readonly position: number;
}

export class Recorder implements FragmentHandler {
  readonly received: Received[] = [];

  onFragment(buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void {
    this.received.push({
      bytes: buffer.slice(offset, offset + length),
      flags: header.flags,
      termId: header.termId,
      termOffset: header.termOffset,
      sessionId: header.sessionId,
      position: header.position,
    });
  }
}

/** Message `index` of a run seeded with `seed`: `length` bytes that differ between messages. */
export function messageBytes(seed: number, index: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
