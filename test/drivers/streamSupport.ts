// Shared by the driver tests and the network-namespace peer: a stream of deterministic messages
// (lengths and bytes derived from a seed and the message index) that a receiver checks for
// completeness, order and content, and a seeded receive-side drop filter for loss injection.
import * as dgram from "node:dgram";
import { Engine } from "../../src/core/engine/engine.js";
import { Counter } from "../../src/core/engine/counters.js";
import { ADMIN_ACTION } from "../../src/core/engine/networkPublication.js";
import type { Publication } from "../../src/core/engine/publication.js";
import type { Subscription } from "../../src/core/engine/subscription.js";
import type { DatagramFilter } from "../../src/drivers/runtime.js";
import { Prng } from "../../src/sim/prng.js";

export const STREAM_ID = 1001;

/** Message lengths: mostly small, some up to an MTU, a few fragmented (up to 3 MTUs). */
export function messageLengths(seed: number, count: number, maxLength = 3 * 1376): Int32Array {
  const prng = new Prng(seed).fork("lengths");
  const lengths = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const bucket = prng.intBelow(100);
    const length = bucket < 90 ? prng.intRange(4, 128) : bucket < 99 ? prng.intRange(129, 1376) : prng.intRange(1377, 3 * 1376);
    lengths[i] = Math.min(length, maxLength);
  }
  return lengths;
}

/** Writes message `index`: its index (u32 LE) then a pattern of the index. */
export function fillMessage(out: Uint8Array, length: number, index: number): void {
  out[0] = index & 255;
  out[1] = (index >>> 8) & 255;
  out[2] = (index >>> 16) & 255;
  out[3] = (index >>> 24) & 255;
  const base = Math.imul(index, 31);
  for (let i = 4; i < length; i++) out[i] = (base + i) & 255;
}

/** Checks a received message against message `index`; returns a failure text or undefined. */
export function checkMessage(buffer: Uint8Array, offset: number, length: number, index: number, expectedLength: number): string | undefined {
  if (length !== expectedLength) return `message ${index}: length ${length}, expected ${expectedLength}`;
  const got = (buffer[offset]! | (buffer[offset + 1]! << 8) | (buffer[offset + 2]! << 16) | (buffer[offset + 3]! << 24)) >>> 0;
  if (got !== index >>> 0) return `message ${index}: carries index ${got} (out of order or duplicated)`;
  const base = Math.imul(index, 31);
  for (let i = 4; i < length; i++) {
    if (buffer[offset + i] !== ((base + i) & 255)) return `message ${index}: byte ${i} differs`;
  }
  return undefined;
}

/** Drops received datagrams with probability numerator/denominator, decided by a seeded PRNG. */
export class SeededDropFilter implements DatagramFilter {
  dropped = 0;
  private readonly prng: Prng;
  constructor(seed: number, private readonly numerator: number, private readonly denominator: number) {
    this.prng = new Prng(seed).fork("drop-filter");
  }
  drop(): boolean {
    if (!this.prng.chance(this.numerator, this.denominator)) return false;
    this.dropped++;
    return true;
  }
}

/** Offers messages [sent, count) until back-pressured; returns the new `sent`. */
export function offerSome(publication: Pick<Publication, "offer">, lengths: Int32Array, sent: number, count: number, scratch: Uint8Array, limit: number): number {
  for (let k = 0; k < limit && sent < count; k++) {
    const length = lengths[sent]!;
    fillMessage(scratch, length, sent);
    const result = publication.offer(scratch, 0, length);
    if (result === ADMIN_ACTION) continue;
    if (result < 0) break;
    sent++;
  }
  return sent;
}

/** A receiver that checks each message as it arrives. */
export class StreamChecker {
  received = 0;
  readonly failures: string[] = [];
  readonly handler: (buffer: Uint8Array, offset: number, length: number) => void;
  constructor(readonly lengths: Int32Array) {
    this.handler = (buffer, offset, length) => {
      if (this.failures.length > 5) return;
      const index = this.received;
      if (index >= lengths.length) {
        this.failures.push(`extra message after ${lengths.length}`);
        return;
      }
      const failure = checkMessage(buffer, offset, length, index, lengths[index]!);
      if (failure !== undefined) this.failures.push(failure);
      this.received++;
    };
  }
  drain(subscription: Subscription): number {
    let total = 0;
    for (let k = 0; k < 64; k++) {
      const n = subscription.poll(this.handler, 1024);
      total += n;
      if (n === 0) break;
    }
    return total;
  }
}

export interface ProtocolCounters {
  readonly naksSent: number;
  readonly naksReceived: number;
  readonly retransmitsSent: number;
  readonly retransmittedBytes: number;
  readonly invalidPackets: number;
  readonly datagramsSent: number;
  readonly datagramsReceived: number;
  readonly lossGapFills: number;
}

export function protocolCounters(engine: Engine): ProtocolCounters {
  const c = engine.counters;
  return {
    naksSent: c.get(Counter.NAKS_SENT),
    naksReceived: c.get(Counter.NAKS_RECEIVED),
    retransmitsSent: c.get(Counter.RETRANSMITS_SENT),
    retransmittedBytes: c.get(Counter.RETRANSMITTED_BYTES),
    invalidPackets: c.get(Counter.INVALID_PACKETS),
    datagramsSent: c.get(Counter.DATAGRAMS_SENT),
    datagramsReceived: c.get(Counter.DATAGRAMS_RECEIVED),
    lossGapFills: c.get(Counter.LOSS_GAP_FILLS),
  };
}

/**
 * A UDP port on 127.0.0.1 that is free right now (the kernel's choice for an ephemeral bind).
 * Test files run in parallel: a port derived from the seed would collide with another file that
 * uses the same seed, so ports come from the kernel, not from the seed.
 */
export async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/**
 * Message counts for the real-network streams: the issues ask for 10^6 messages per stream;
 * PETREL_FULL_COUNTS=1 (set by CI for one of its passes) runs that many, other runs use `reduced`
 * so that the ASan pass and local runs stay quick. `timeoutMs` scales with the count.
 */
export const FULL_COUNTS = process.env["PETREL_FULL_COUNTS"] === "1";

export function streamCount(reduced: number): number {
  return FULL_COUNTS ? 1_000_000 : reduced;
}

/** A wall-clock budget for a stream of `count` messages: `perMillionMs` per 10^6, at least `minimumMs`. */
export function streamTimeoutMs(count: number, perMillionMs: number, minimumMs = 60_000): number {
  return Math.max(minimumMs, Math.ceil((count / 1_000_000) * perMillionMs));
}
