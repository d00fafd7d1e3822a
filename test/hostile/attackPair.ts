// A small engine pair for issue #11's per-attack regression tests (attack1..7.*.test.ts) and the
// amplification benchmark (bench/hostile.ts): a publisher engine A and a subscriber engine B joined
// back to back (each datagram goes from one engine's transmit batch straight into the other's
// handleDatagram, as in bench/engine.ts), a live stream whose messages carry their index and a byte
// pattern of it, and doors for an attacker's datagrams from any address. Time is virtual and moves
// only when the test says so.
import { Counter, type CounterId } from "../../src/core/engine/counters.js";
import { Engine, type EngineOptions } from "../../src/core/engine/engine.js";
import { ADMIN_ACTION, BACK_PRESSURED, type NetworkPublication } from "../../src/core/engine/networkPublication.js";
import type { PublicationImage } from "../../src/core/engine/publicationImage.js";
import type { Publication } from "../../src/core/engine/publication.js";
import type { Subscription } from "../../src/core/engine/subscription.js";
import type { FragmentHeader } from "../../src/core/logbuffer/fragmentHeader.js";
import { ipv4 } from "../../src/core/address.js";
import { TransmitBatch } from "../../src/core/transmitBatch.js";
import { Prng } from "../../src/sim/prng.js";

export const PUBLISHER_IP = ipv4(127, 0, 0, 1);
export const PUBLISHER_PORT = 40000;
export const SUBSCRIBER_IP = ipv4(127, 0, 0, 2);
export const SUBSCRIBER_PORT = 20121;
export const ATTACKER_IP = ipv4(10, 9, 8, 7);
export const ATTACKER_PORT = 5555;
export const STREAM_ID = 1001;

export function attackChannel(params = ""): string {
  return `aeron:udp?endpoint=127.0.0.2:${SUBSCRIBER_PORT}${params === "" ? "" : `|${params}`}`;
}

export interface AttackPairOptions {
  /** Extra channel parameters, e.g. "term-length=16m|source-pin=true". */
  readonly params?: string;
  readonly engine?: Partial<EngineOptions>;
  readonly seed?: number;
}

export class AttackPair {
  readonly a: Engine;
  readonly b: Engine;
  readonly publication: Publication;
  readonly subscription: Subscription;
  readonly network: NetworkPublication;
  nowNs = 0;
  offered = 0;
  received = 0;
  /** Messages of the live session that were not the next expected one, or whose bytes differ. */
  corrupt = 0;
  /** Messages of any other session. */
  foreign = 0;
  private readonly batch = new TransmitBatch(1024, 2048);
  private readonly message = new Uint8Array(65536);
  private readonly aSendEndpoint: number;
  private readonly bReceiveEndpoint: number;
  private readonly handler = (buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void => {
    if (header.sessionId !== this.publication.sessionId) {
      this.foreign++;
      return;
    }
    const index = this.received;
    const got = (buffer[offset]! | (buffer[offset + 1]! << 8) | (buffer[offset + 2]! << 16) | (buffer[offset + 3]! << 24)) >>> 0;
    let ok = got === index >>> 0;
    for (let i = 4; ok && i < length; i++) ok = buffer[offset + i] === ((index + i) & 255);
    if (!ok) this.corrupt++;
    this.received++;
  };

  constructor(options: AttackPairOptions = {}) {
    const prng = new Prng(options.seed ?? 11);
    this.a = new Engine({ ...options.engine, random: prng.fork("publisher") });
    this.b = new Engine({ ...options.engine, random: prng.fork("subscriber") });
    const channel = attackChannel(options.params);
    this.subscription = this.b.addSubscription(channel, STREAM_ID);
    this.publication = this.a.addPublication(channel, STREAM_ID);
    this.aSendEndpoint = openedEndpoint(this.a);
    this.bReceiveEndpoint = openedEndpoint(this.b);
    this.network = this.a.publications[0]!;
    // Bounded: the SETUP/SM handshake completes in a few turns on a perfect link.
    for (let i = 0; i < 100 && !this.publication.isConnected; i++) this.turn();
    if (!this.publication.isConnected) throw new Error("the pair did not connect");
  }

  get image(): PublicationImage | undefined {
    return this.b.images[0];
  }

  /** Offers up to `count` messages of `length` bytes (fewer when back-pressured); returns how many. */
  offer(count: number, length = 1024): number {
    let n = 0;
    for (let k = 0; k < count; k++) {
      const index = this.offered;
      const m = this.message;
      m[0] = index & 255;
      m[1] = (index >>> 8) & 255;
      m[2] = (index >>> 16) & 255;
      m[3] = (index >>> 24) & 255;
      for (let i = 4; i < length; i++) m[i] = (index + i) & 255;
      const result = this.publication.offer(m, 0, length);
      if (result === ADMIN_ACTION) continue;
      if (result === BACK_PRESSURED || result < 0) break;
      this.offered++;
      n++;
    }
    return n;
  }

  /** Streams until `bytes` more bytes of 1 KiB messages were received (1 us per turn). */
  stream(bytes: number, length = 1024): void {
    const target = this.received + Math.ceil(bytes / length);
    // Bounded: every turn moves data on a perfect link.
    for (let turns = 0; this.received < target; turns++) {
      if (turns > 10_000_000) throw new Error(`stalled at ${this.received} of ${target}`);
      this.offer(target - this.offered, length);
      this.turn();
    }
  }

  /** One turn at now + stepNs: A runs and sends to B, B runs, the subscription drains, B sends to A. */
  turn(stepNs = 1_000): void {
    const now = (this.nowNs += stepNs);
    if (this.a.pollTimeout() <= now) this.a.handleTimeout(now);
    this.transfer(this.a, now, this.b, PUBLISHER_IP, PUBLISHER_PORT, this.bReceiveEndpoint);
    if (this.b.pollTimeout() <= now) this.b.handleTimeout(now);
    // Bounded: the subscription drains what has arrived.
    for (let k = 0; k < 1024 && this.subscription.poll(this.handler, 1 << 16) > 0; k++) {
      /* drain */
    }
    this.transfer(this.b, now, this.a, SUBSCRIBER_IP, SUBSCRIBER_PORT, this.aSendEndpoint);
  }

  /** An attacker's (or anyone's) datagram to the publisher's send endpoint, at the current time. */
  toPublisher(bytes: Uint8Array, fromIp = ATTACKER_IP, fromPort = ATTACKER_PORT): void {
    this.a.handleDatagram(this.nowNs, fromIp, fromPort, this.aSendEndpoint, bytes, 0, bytes.length);
  }

  /** A datagram to the subscriber's receive endpoint, at the current time. */
  toSubscriber(bytes: Uint8Array, fromIp = ATTACKER_IP, fromPort = ATTACKER_PORT): void {
    this.b.handleDatagram(this.nowNs, fromIp, fromPort, this.bReceiveEndpoint, bytes, 0, bytes.length);
  }

  /** The publisher's next datagrams, without delivering them (for checking what a reply looks like). */
  drainPublisher(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const batch = this.batch;
    // Bounded: an engine has finitely much due at one instant.
    for (let pass = 0; pass < 1000; pass++) {
      batch.clear();
      const n = this.a.pollTransmit(this.nowNs, batch);
      for (let slot = 0; slot < batch.count; slot++) {
        const at = batch.slotOffset(slot);
        out.push(batch.bytes.slice(at, at + batch.lengths[slot]!));
      }
      if (n < batch.capacity) break;
    }
    return out;
  }

  publisherCounter(id: CounterId): number {
    return this.a.counters.get(id);
  }

  subscriberCounter(id: CounterId): number {
    return this.b.counters.get(id);
  }

  get retransmittedBytes(): number {
    return this.a.counters.get(Counter.RETRANSMITTED_BYTES);
  }

  private transfer(from: Engine, now: number, to: Engine, fromIp: number, fromPort: number, toEndpoint: number): void {
    const batch = this.batch;
    // Bounded: an engine has finitely much due at one instant.
    for (let pass = 0; pass < 100_000; pass++) {
      batch.clear();
      const n = from.pollTransmit(now, batch);
      const bytes = batch.bytes;
      const lengths = batch.lengths;
      for (let slot = 0; slot < batch.count; slot++) {
        to.handleDatagram(now, fromIp, fromPort, toEndpoint, bytes, batch.slotOffset(slot), lengths[slot]!);
      }
      if (n < batch.capacity) return;
    }
    throw new Error("pollTransmit never drained");
  }
}

function openedEndpoint(engine: Engine): number {
  const event = engine.pollEndpointEvent();
  if (event?.type !== "open") throw new Error("expected an endpoint to open");
  return event.endpoint.id;
}
