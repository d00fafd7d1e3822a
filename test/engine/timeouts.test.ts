// Goal: every timer of the engine fires exactly when PROTOCOL.md section 5 says and not a
// nanosecond before. Each test drives two engines by hand (explicit handleDatagram, handleTimeout
// and pollTransmit calls through ManualLink) and checks the instant deadline - 1 ns (nothing
// happens) against the deadline itself (it happens: deadlines are due when `deadlineNs - nowNs <= 0`):
// SETUP resend, status-message interval, image liveness, publication linger, connection timeout,
// first NAK and re-NAK. It also checks the call-order contract (a spurious handleTimeout changes
// nothing on the wire; time going backwards throws) and end of stream, frame by frame.
import { describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { EngineUsageError } from "../../src/core/engine/engineErrors.js";
import { NOT_CONNECTED } from "../../src/core/engine/networkPublication.js";
import type { Image } from "../../src/core/engine/subscription.js";
import {
  HDR_TYPE_DATA,
  HDR_TYPE_NAK,
  HDR_TYPE_SETUP,
  HDR_TYPE_SM,
  nakLength,
  nakSessionId,
  nakStreamId,
  nakTermId,
  nakTermOffset,
  smConsumptionTermOffset,
  SM_EOS_FLAG,
} from "../../src/core/protocol/index.js";
import { Prng } from "../../src/sim/prng.js";
import { ManualLink, frameFlags, frameLength, frameType, viewOf, type Datagram } from "./support/manualLink.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 7_340_021);
const CHANNEL = "aeron:udp?endpoint=127.0.0.2:20121|term-length=64k";
const STREAM = 1001;
const US = 1_000;
const MS = 1_000_000;
const S = 1_000_000_000;

function ofType(datagrams: readonly Datagram[], type: number): Datagram[] {
  return datagrams.filter((d) => frameType(d) === type);
}

/** Data datagrams that carry payload (not heartbeats). */
function dataFrames(datagrams: readonly Datagram[]): Datagram[] {
  return datagrams.filter((d) => frameType(d) === HDR_TYPE_DATA && frameLength(d) > 0);
}

function heartbeats(datagrams: readonly Datagram[]): Datagram[] {
  return datagrams.filter((d) => frameType(d) === HDR_TYPE_DATA && frameLength(d) === 0);
}

interface Connected {
  readonly link: ManualLink;
  readonly unavailable: Image[];
  readonly available: Image[];
  /** link.sent.length when each unavailable callback ran (what was sent before it). */
  readonly unavailableAtSent: number[];
  readonly publication: ReturnType<ManualLink["engines"][0]["addPublication"]>;
  readonly subscription: ReturnType<ManualLink["engines"][1]["addSubscription"]>;
}

/** Engine A publishes, engine B subscribes; the SETUP/SM handshake runs at t = 0 with zero latency. */
function connect(channel = CHANNEL, seed = SEED): Connected {
  const link = new ManualLink(seed);
  const [a, b] = link.engines;
  const unavailable: Image[] = [];
  const available: Image[] = [];
  const unavailableAtSent: number[] = [];
  const subscription = b.addSubscription(channel, STREAM, {
    onAvailableImage: (image) => available.push(image),
    onUnavailableImage: (image) => {
      unavailable.push(image);
      unavailableAtSent.push(link.sent.length);
    },
  });
  const publication = a.addPublication(channel, STREAM);
  link.exchange(0);
  expect(publication.isConnected, `seed ${seed}`).toBe(true);
  expect(available).toHaveLength(1);
  return { link, unavailable, unavailableAtSent, available, publication, subscription };
}

describe("publication SETUP resend while no status message arrives", () => {
  it("sends SETUP at once, then again every 100 ms exactly, and pollTimeout names each instant", () => {
    const link = new ManualLink(SEED);
    const a = link.engines[0];
    a.addPublication(CHANNEL, STREAM);
    const first = link.turn(0, 0);
    expect(first.map(frameType)).toEqual([HDR_TYPE_SETUP]);
    for (let k = 1; k <= 5; k++) {
      const deadline = k * 100 * MS;
      expect(a.pollTimeout()).toBe(deadline);
      a.handleTimeout(deadline - 1);
      expect(link.transmit(0, deadline - 1), `before SETUP ${k}`).toEqual([]);
      a.handleTimeout(deadline);
      expect(link.transmit(0, deadline).map(frameType), `SETUP ${k}`).toEqual([HDR_TYPE_SETUP]);
    }
    expect(a.counters.get(Counter.SETUPS_SENT)).toBe(6);
    // Nobody answered: no data, no heartbeat, no status message ever left.
    expect(link.sent.every((d) => frameType(d) === HDR_TYPE_SETUP)).toBe(true);
  });
});

describe("receiver status-message interval", () => {
  it("sends an SM when the image is created and then every 200 ms exactly while nothing else prompts one", () => {
    const { link } = connect();
    const b = link.engines[1];
    const handshake = ofType(link.sent.filter((d) => d.from === 1), HDR_TYPE_SM);
    expect(handshake).toHaveLength(1);
    let last = 0;
    for (let k = 1; k <= 5; k++) {
      const deadline = last + 200 * MS;
      expect(b.pollTimeout()).toBe(deadline);
      b.handleTimeout(deadline - 1);
      expect(link.transmit(1, deadline - 1), `before SM ${k}`).toEqual([]);
      b.handleTimeout(deadline);
      const sms = link.transmit(1, deadline);
      expect(sms.map(frameType), `SM ${k}`).toEqual([HDR_TYPE_SM]);
      last = deadline;
    }
    expect(b.counters.get(Counter.STATUS_MESSAGES_SENT)).toBe(6);
  });
});

describe("image liveness timeout", () => {
  it("keeps the image 10 s - 1 ns after the last frame and removes it at 10 s: unavailable callback, IMAGES_TIMED_OUT", () => {
    const { link, unavailable, subscription } = connect();
    const [a, b] = link.engines;
    // One heartbeat at 50 ms is the last frame B hears; after that A is cut off.
    a.handleTimeout(100 * MS);
    const hb = link.transmit(0, 100 * MS);
    expect(heartbeats(hb)).toHaveLength(1);
    const lastFrameNs = 100 * MS + 7;
    link.deliver(lastFrameNs, hb);
    link.transmit(1, lastFrameNs);
    const deadline = lastFrameNs + 10 * S;
    link.runAlone(1, lastFrameNs, deadline - 1);
    b.handleTimeout(deadline - 1);
    link.transmit(1, deadline - 1);
    expect(unavailable).toHaveLength(0);
    expect(b.images).toHaveLength(1);
    expect(b.counters.get(Counter.IMAGES_TIMED_OUT)).toBe(0);
    expect(b.pollTimeout()).toBeLessThanOrEqual(deadline);
    b.handleTimeout(deadline);
    expect(link.transmit(1, deadline)).toEqual([]);
    expect(unavailable).toHaveLength(1);
    expect(b.images).toHaveLength(0);
    expect(subscription.images).toHaveLength(0);
    expect(b.counters.get(Counter.IMAGES_TIMED_OUT)).toBe(1);
    expect(b.counters.get(Counter.IMAGES_ACTIVE)).toBe(0);
  });
});

describe("publication linger", () => {
  const cases: Array<[string, string, number]> = [
    ["default 5 s", CHANNEL, 5 * S],
    ["linger=250ms from the URI", `${CHANNEL}|linger=250ms`, 250 * MS],
  ];
  for (const [name, channel, lingerNs] of cases) {
    it(`removes a closed, drained publication exactly its linger after the drain (${name}) when no EOS SM arrives: PUBLICATIONS_ACTIVE drops, send endpoint closes`, () => {
      const { link, publication, subscription } = connect(channel);
      const a = link.engines[0];
      const message = new Uint8Array(200).fill(7);
      let received = 0;
      const poll = (): void => {
        subscription.poll(() => received++, 100);
      };
      for (let i = 0; i < 5; i++) expect(publication.offer(message)).toBeGreaterThan(0);
      const closeNs = 3 * MS;
      link.runTogether(0, closeNs, poll);
      // Data is still unsent at the close: it drains at once over the zero-latency link.
      publication.close();
      expect(a.pollTimeout()).toBeLessThanOrEqual(closeNs);
      link.exchange(closeNs);
      expect(a.publications[0]!.senderPosition).toBe(a.publications[0]!.endOfStreamPosition);
      const deadline = closeNs + lingerNs;
      // B's status messages no longer arrive: its end-of-stream SM would end a unicast linger at
      // once (Aeron's hasReceivedUnicastEos; test/engine/senderConformance.test.ts checks that).
      poll();
      link.runAlone(0, closeNs, deadline - 1);
      expect(received).toBe(5);
      const sendEndpointId = a.publications[0]!.destinations.endpointId;
      a.handleTimeout(deadline - 1);
      link.transmit(0, deadline - 1);
      expect(a.publications).toHaveLength(1);
      expect(a.counters.get(Counter.PUBLICATIONS_ACTIVE)).toBe(1);
      expect(link.closedEndpoints[0]).toEqual([]);
      expect(a.pollTimeout()).toBeLessThanOrEqual(deadline);
      a.handleTimeout(deadline);
      expect(link.transmit(0, deadline)).toEqual([]);
      expect(a.publications).toHaveLength(0);
      expect(a.counters.get(Counter.PUBLICATIONS_ACTIVE)).toBe(0);
      expect(link.closedEndpoints[0]).toEqual([sendEndpointId]);
    });
  }
});

describe("publication connection timeout", () => {
  it("stays connected 5 s - 1 ns after the last SM; at 5 s offers see NOT_CONNECTED, heartbeats go on and no SETUP is sent unless asked for", () => {
    const { link, publication } = connect();
    const a = link.engines[0];
    // B is cut off from here: its SMs never arrive. The handshake SM arrived at t = 0.
    const beforeTimeout = link.runAlone(0, 0, 5 * S - 1);
    expect(heartbeats(beforeTimeout).length).toBe(49);
    expect(ofType(beforeTimeout, HDR_TYPE_SETUP)).toEqual([]);
    a.handleTimeout(5 * S - 1);
    expect(link.transmit(0, 5 * S - 1)).toEqual([]);
    expect(publication.isConnected).toBe(true);
    expect(a.pollTimeout()).toBe(5 * S);
    a.handleTimeout(5 * S);
    expect(publication.isConnected).toBe(false);
    expect(publication.offer(new Uint8Array(10))).toBe(NOT_CONNECTED);
    // Aeron (NetworkPublication.send): SETUP only before the initial connection or when a receiver
    // asks; after a connection timeout the sender heartbeats, so a receiver that lost its image asks.
    const afterTimeout = link.runAlone(0, 5 * S, 7 * S);
    expect(ofType(afterTimeout, HDR_TYPE_SETUP)).toEqual([]);
    expect(heartbeats(afterTimeout).length).toBe(20);
  });
});

describe("NAK timing", () => {
  it("NAKs a gap 100 us after it is seen, again every 10 ms while it persists, and never once it is filled", () => {
    const { link, publication, subscription } = connect();
    const [a, b] = link.engines;
    const t0 = 1 * MS;
    const message = new Uint8Array(100);
    const datagrams: Datagram[] = [];
    for (let i = 0; i < 3; i++) {
      message.fill(i + 1);
      expect(publication.offer(message)).toBeGreaterThan(0);
      const out = link.transmit(0, t0);
      expect(dataFrames(out)).toHaveLength(1);
      datagrams.push(out[0]!);
    }
    expect(a.pollTimeout()).toBeGreaterThan(t0);
    const seenNs = t0 + 20 * US;
    link.deliver(seenNs, [datagrams[0]!, datagrams[2]!]);
    expect(ofType(link.transmit(1, seenNs), HDR_TYPE_NAK)).toEqual([]);
    const firstNak = seenNs + 100 * US;
    expect(b.pollTimeout()).toBe(firstNak);
    b.handleTimeout(firstNak - 1);
    expect(link.transmit(1, firstNak - 1)).toEqual([]);
    b.handleTimeout(firstNak);
    const naks = link.transmit(1, firstNak);
    expect(naks.map(frameType)).toEqual([HDR_TYPE_NAK]);
    const nak = viewOf(naks[0]!);
    const gapOffset = 160; // the first frame: 32-byte header + 100 bytes, aligned to 32
    expect(nakSessionId(nak, 0)).toBe(publication.sessionId);
    expect(nakStreamId(nak, 0)).toBe(STREAM);
    expect(nakTermId(nak, 0)).toBe(publication.initialTermId);
    expect(nakTermOffset(nak, 0)).toBe(gapOffset);
    expect(nakLength(nak, 0)).toBe(160);
    const retry = firstNak + 10 * MS;
    expect(b.pollTimeout()).toBe(retry);
    b.handleTimeout(retry - 1);
    expect(link.transmit(1, retry - 1)).toEqual([]);
    b.handleTimeout(retry);
    expect(link.transmit(1, retry).map(frameType)).toEqual([HDR_TYPE_NAK]);
    expect(b.counters.get(Counter.NAKS_SENT)).toBe(2);
    // The original arrives late: the gap is filled and the NAK timer stops.
    const filledNs = retry + 1 * MS;
    link.deliver(filledNs, [datagrams[1]!]);
    link.transmit(1, filledNs);
    expect(b.pollTimeout()).toBeGreaterThan(retry + 10 * MS);
    const later = link.runAlone(1, filledNs, filledNs + 100 * MS);
    expect(ofType(later, HDR_TYPE_NAK)).toEqual([]);
    const got: number[] = [];
    subscription.poll((buffer, offset) => got.push(buffer[offset]!), 10);
    expect(got).toEqual([1, 2, 3]);
    expect(b.counters.get(Counter.NAKS_SENT)).toBe(2);
  });
});

describe("call-order contract", () => {
  it("time going backwards throws EngineUsageError from handleTimeout, handleDatagram and pollTransmit; the engine carries on", () => {
    const link = new ManualLink(SEED);
    const a = link.engines[0];
    a.addPublication(CHANNEL, STREAM);
    a.handleTimeout(10 * MS);
    a.handleTimeout(10 * MS);
    expect(() => a.handleTimeout(10 * MS - 1)).toThrow(EngineUsageError);
    expect(() => link.transmit(0, 5 * MS)).toThrow(EngineUsageError);
    const bytes = new Uint8Array(64);
    expect(() => a.handleDatagram(9 * MS, 0, 0, 1, bytes, 0, bytes.length)).toThrow(EngineUsageError);
    expect(() => a.handleTimeout(Number.NaN)).toThrow(EngineUsageError);
    expect(a.nowNs).toBe(10 * MS);
    expect(link.transmit(0, 10 * MS).map(frameType)).toEqual([HDR_TYPE_SETUP]);
  });

  it("an engine created at nowNs refuses earlier times", () => {
    const link = new ManualLink(SEED, {}, { nowNs: 1_000 });
    expect(() => link.engines[1].handleTimeout(999)).toThrow(EngineUsageError);
    link.engines[1].handleTimeout(1_000);
  });

  /** A lossy, delayed exchange of 3000 messages; `spurious` adds handleTimeout calls nobody asked for. */
  function lossyRun(seed: number, spurious: boolean): { hashes: [number, number]; received: number; naksSent: number } {
    const link = new ManualLink(seed);
    const [a, b] = link.engines;
    const subscription = b.addSubscription(CHANNEL, STREAM);
    const publication = a.addPublication(CHANNEL, STREAM);
    const loss = new Prng(seed).fork("loss");
    const extra = new Prng(seed).fork("spurious");
    const latencyNs = 40 * US;
    const inFlight: Array<{ at: number; d: Datagram }> = [];
    const message = new Uint8Array(300);
    let sent = 0;
    let received = 0;
    let now = 0;
    // Bounded by simulated time (2 s) and a step budget.
    for (let step = 0; step < 2_000_000 && now < 2 * S; step++) {
      const head = inFlight.length > 0 ? inFlight[0]!.at : Number.MAX_SAFE_INTEGER;
      let next = Math.min(head, a.pollTimeout(), b.pollTimeout());
      if (next < now) next = now;
      if (next >= 2 * S) break;
      if (spurious && next > now + 1) {
        const early = now + 1 + extra.intBelow(next - now - 1);
        a.handleTimeout(early);
        b.handleTimeout(early);
        if (extra.chance(1, 2)) a.handleTimeout(early);
      }
      now = next;
      while (inFlight.length > 0 && inFlight[0]!.at <= now) link.deliver(now, [inFlight.shift()!.d]);
      if (spurious) {
        a.handleTimeout(now);
        b.handleTimeout(now);
      }
      while (sent < 3000 && publication.offer(message) > 0) sent++;
      subscription.poll(() => received++, 1000);
      for (const index of [0, 1] as const) {
        for (const d of link.turn(index, now)) {
          if (!loss.chance(1, 10)) inFlight.push({ at: now + latencyNs, d });
        }
      }
      if (spurious) b.handleTimeout(now);
    }
    return { hashes: [...link.outboundHash], received, naksSent: b.counters.get(Counter.NAKS_SENT) };
  }

  it("a spurious handleTimeout is a harmless no-op: extra calls at arbitrary times leave every outbound byte unchanged", () => {
    const plain = lossyRun(SEED, false);
    const noisy = lossyRun(SEED, true);
    expect(plain.received, `seed ${SEED}`).toBe(3000);
    expect(plain.naksSent).toBeGreaterThan(0);
    expect(noisy.naksSent).toBe(plain.naksSent);
    expect(noisy.received).toBe(3000);
    expect(noisy.hashes).toEqual(plain.hashes);
  });
});

describe("end of stream", () => {
  it("closing sends the remaining data then an EOS heartbeat; the image reaches end of stream; the next SM carries EOS", () => {
    const { link, publication, subscription, available, unavailable, unavailableAtSent } = connect();
    const [a, b] = link.engines;
    const message = new Uint8Array(500);
    for (let i = 0; i < 4; i++) expect(publication.offer(message)).toBeGreaterThan(0);
    const endPosition = publication.position;
    publication.close();
    const closeNs = 1 * MS;
    const firstBurst = link.exchange(closeNs).filter((d) => d.from === 0);
    const kinds = firstBurst.map((d) => (frameLength(d) > 0 ? "data" : `hb:${frameFlags(d).toString(16)}`));
    expect(kinds).toEqual(["data", "data", "hb:e0"]);
    const eos = viewOf(firstBurst[2]!);
    expect(eos.getInt32(8, true)).toBe(endPosition);
    const image = available[0]!;
    expect(image.isEndOfStream).toBe(false);
    let received = 0;
    link.runTogether(closeNs, 1 * S, () => {
      subscription.poll(() => received++, 100);
    });
    const unavailableAt = unavailableAtSent[0]!;
    expect(received).toBe(4);
    expect(image.isEndOfStream).toBe(true);
    expect(unavailable).toEqual([image]);
    expect(subscription.images).toHaveLength(0);
    const smsBefore = link.sent.filter((d, i) => d.from === 1 && frameType(d) === HDR_TYPE_SM && i < unavailableAt);
    const smsAfter = link.sent.filter((d, i) => d.from === 1 && frameType(d) === HDR_TYPE_SM && i >= unavailableAt);
    expect(smsBefore.length).toBeGreaterThan(0);
    expect(smsBefore.every((d) => (frameFlags(d) & SM_EOS_FLAG) === 0)).toBe(true);
    expect(smsAfter.length).toBeGreaterThan(0);
    expect(smsAfter.every((d) => frameFlags(d) === SM_EOS_FLAG)).toBe(true);
    expect(smConsumptionTermOffset(viewOf(smsAfter[0]!), 0)).toBe(endPosition);
    // Every heartbeat after the close carries EOS.
    const laterHeartbeats = heartbeats(link.sent.filter((d) => d.from === 0 && d.sentAtNs >= closeNs));
    expect(laterHeartbeats.length).toBeGreaterThan(1);
    expect(laterHeartbeats.every((d) => frameFlags(d) === 0xe0)).toBe(true);
    expect(a.counters.get(Counter.INVALID_PACKETS) + b.counters.get(Counter.INVALID_PACKETS)).toBe(0);
  });
});
