// Goal: the sender side of issue #12 behaves as Aeron's NetworkPublication does (Aeron paths under
// aeron-driver/src/main/java/io/aeron/driver/):
//  - item 1: heartbeats are timed from data and heartbeats only (timeOfLastDataOrHeartbeatNs), so
//    an idle cc=cubic stream, whose receiver keeps asking for RTT measurements, heartbeats every
//    100 ms and its image outlives the 10 s liveness timeout;
//  - item 4: a status message with the EOS flag drops that receiver at once (ReceiverLivenessTracker),
//    ends a unicast linger (hasReceivedUnicastEos) and takes the receiver out of min flow control;
//  - item 8: eos=false: the end-of-stream heartbeat is not flagged EOS;
//  - item 10: after a connection timeout no SETUP goes out unless a receiver asks, and then every
//    100 ms until a receiver is live (setupMessageCheck); RTTM replies carry reception delta 0.
// Two engines are stepped by hand (ManualLink); frames Aeron would send are crafted where Petrel's
// own receiver does not send them.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { NOT_CONNECTED } from "../../src/core/engine/networkPublication.js";
import type { Image } from "../../src/core/engine/subscription.js";
import { HDR_TYPE_DATA, HDR_TYPE_RTTM, HDR_TYPE_SETUP, HDR_TYPE_SM, SM_EOS_FLAG } from "../../src/core/protocol/index.js";
import { writeStatusMessage, SM_SEND_SETUP_FLAG } from "../../src/core/protocol/statusMessageFrame.js";
import { writeRttm, RTTM_RECEPTION_DELTA_OFFSET } from "../../src/core/protocol/rttmFrame.js";
import { TwoEngineHarness } from "../support/twoEngineHarness.js";
import { ManualLink, IP_B, frameFlags, frameLength, frameType, viewOf, type Datagram } from "./support/manualLink.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 12_001);
const CHANNEL = "aeron:udp?endpoint=127.0.0.2:20121|term-length=64k";
const STREAM = 1001;
const MS = 1_000_000;
const S = 1_000_000_000;

function heartbeats(datagrams: readonly Datagram[]): Datagram[] {
  return datagrams.filter((d) => d.from === 0 && frameType(d) === HDR_TYPE_DATA && frameLength(d) === 0);
}

interface Pair {
  readonly link: ManualLink;
  readonly publication: ReturnType<ManualLink["engines"][0]["addPublication"]>;
  readonly subscription: ReturnType<ManualLink["engines"][1]["addSubscription"]>;
  readonly unavailable: Image[];
  /** B's first SM: its addresses and receiver id, to craft frames from. */
  readonly sm: Datagram;
}

function connect(channel = CHANNEL, seed = SEED): Pair {
  const link = new ManualLink(seed);
  const [a, b] = link.engines;
  const unavailable: Image[] = [];
  const subscription = b.addSubscription(channel, STREAM, { onUnavailableImage: (image) => unavailable.push(image) });
  const publication = a.addPublication(channel, STREAM);
  link.exchange(0);
  expect(publication.isConnected, `seed ${seed}`).toBe(true);
  const sm = link.sent.find((d) => d.from === 1 && frameType(d) === HDR_TYPE_SM)!;
  return { link, publication, subscription, unavailable, sm };
}

/** A copy of B's SM with other flags (and, optionally, another receiver id low half). */
function smLike(sm: Datagram, flags: number, receiverIdLo?: number): Datagram {
  const bytes = sm.bytes.slice();
  bytes[5] = flags;
  if (receiverIdLo !== undefined) viewOf({ ...sm, bytes }).setInt32(28, receiverIdLo, true);
  return { ...sm, bytes };
}

describe("item 1: heartbeats are timed from data and heartbeats only", () => {
  it("an idle cc=cubic stream heartbeats every 100 ms for 15 s and its image stays, although RTTM replies keep going out", () => {
    // 1 ms each way, so that cubic's RTT measurements (every 4 RTT) are frequent but finite.
    const harness = new TwoEngineHarness(SEED, { latencyNs: MS });
    const [a, b] = harness.engines;
    const unavailable: Image[] = [];
    const channel = `${CHANNEL}|cc=cubic`;
    b.addSubscription(channel, STREAM, { onUnavailableImage: (image) => unavailable.push(image) });
    const publication = a.addPublication(channel, STREAM);
    expect(harness.runUntil(() => publication.isConnected, () => {}, S)).toBe(true);
    const connectedNs = harness.nowNs;
    const heartbeatsAtConnect = a.counters.get(Counter.HEARTBEATS_SENT);
    const endNs = connectedNs + 15 * S;
    harness.advanceTo(endNs);
    // The receiver measured RTT throughout: the sender answered many RTTM requests...
    expect(a.counters.get(Counter.RTTM_SENT)).toBeGreaterThan(1000);
    // ...and still heartbeat every 100 ms (Aeron's rule): one at the connection, then 150 in 15 s.
    expect(heartbeatsAtConnect).toBeLessThanOrEqual(1);
    expect(a.counters.get(Counter.HEARTBEATS_SENT)).toBe(151);
    expect(unavailable).toEqual([]);
    expect(b.images).toHaveLength(1);
    expect(b.counters.get(Counter.IMAGES_TIMED_OUT)).toBe(0);
    expect(publication.isConnected).toBe(true);
    expect(a.counters.get(Counter.SETUPS_SENT)).toBe(1);
  });

  it("an RTTM reply carries reception delta 0 (Aeron's sender always puts 0), whenever it goes out", () => {
    const { link, sm } = connect();
    const a = link.engines[0];
    const bytes = new Uint8Array(40);
    writeRttm(new DataView(bytes.buffer), 0, 0x80, viewOf(sm).getInt32(8, true), STREAM, 123_456, 0, 1, 2);
    a.handleDatagram(MS, sm.fromIp, sm.fromPort, endpointOf(link), bytes, 0, 40);
    // Answered later than it arrived: Petrel used to put the time it held the request.
    const replies = link.transmit(0, 3 * MS).filter((d) => frameType(d) === HDR_TYPE_RTTM);
    expect(replies).toHaveLength(1);
    expect(frameFlags(replies[0]!)).toBe(0);
    expect(viewOf(replies[0]!).getBigInt64(16, true)).toBe(123_456n);
    expect(viewOf(replies[0]!).getBigInt64(RTTM_RECEPTION_DELTA_OFFSET, true)).toBe(0n);
  });

  test.prop([fc.array(fc.record({ atMs: fc.integer({ min: 1, max: 1999 }), kind: fc.constantFrom("rttm", "setup-request", "nak") }), { maxLength: 40 })],
    { numRuns: 40, seed: SEED })(
    "whatever control frames arrive (RTTM requests, SETUP requests, NAKs), an idle publication heartbeats exactly every 100 ms",
    (arrivals) => {
      const { link, sm } = connect();
      const a = link.engines[0];
      const sessionId = viewOf(sm).getInt32(8, true);
      const sorted = [...arrivals].sort((x, y) => x.atMs - y.atMs);
      let now = 0;
      const out: Datagram[] = [];
      for (const arrival of [...sorted, { atMs: 2000, kind: "end" as const }]) {
        const at = arrival.atMs * MS + 7;
        out.push(...link.runAlone(0, now, at));
        now = at;
        if (arrival.kind === "end") break;
        const bytes = new Uint8Array(40);
        const view = new DataView(bytes.buffer);
        if (arrival.kind === "rttm") writeRttm(view, 0, 0x80, sessionId, STREAM, at, 0, 1, 2);
        else if (arrival.kind === "setup-request") writeStatusMessage(view, 0, SM_SEND_SETUP_FLAG, sessionId, STREAM, 0, 0, 0, 1, 2);
        else {
          // A NAK for the (empty) range at the start: nothing to resend, but it reaches the retransmit handler.
          view.setInt32(0, 28, true);
          view.setInt16(6, 2, true);
          view.setInt32(8, sessionId, true);
          view.setInt32(12, STREAM, true);
          view.setInt32(16, a.publications[0]!.initialTermId, true);
          view.setInt32(24, 32, true);
        }
        const length = arrival.kind === "nak" ? 28 : arrival.kind === "rttm" ? 40 : 36;
        a.handleDatagram(at, sm.fromIp, sm.fromPort, endpointOf(link), bytes, 0, length);
        out.push(...link.transmit(0, at));
      }
      const times = heartbeats(out).map((d) => d.sentAtNs);
      expect(times).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 100 * MS));
      // Each NAK asked for nothing sent yet: no retransmit action, counted as ignored.
      expect(a.counters.get(Counter.NAKS_IGNORED)).toBe(arrivals.filter((x) => x.kind === "nak").length);
      expect(a.counters.get(Counter.RETRANSMITS_SENT)).toBe(0);
    },
  );
});

/** Engine A's send endpoint id (the one B's SMs arrive on). */
function endpointOf(link: ManualLink): number {
  return link.engines[0].publications[0]!.destinations.endpointId;
}

describe("item 4: status messages with the EOS flag", () => {
  it("drop the receiver at once: the publication is not connected in the same call, offers see NOT_CONNECTED", () => {
    const { link, publication, sm } = connect();
    const a = link.engines[0];
    link.runTogether(0, 500 * MS);
    expect(publication.isConnected).toBe(true);
    link.deliver(500 * MS, [smLike(sm, SM_EOS_FLAG)]);
    expect(publication.isConnected).toBe(false);
    expect(publication.offer(new Uint8Array(8))).toBe(NOT_CONNECTED);
    expect(a.counters.get(Counter.STATUS_MESSAGES_EOS_RECEIVED)).toBe(1);
    expect(a.publications[0]!.receiverCount).toBe(0);
  });

  it("an EOS SM from another receiver id leaves the live one in place", () => {
    const { link, publication, sm } = connect();
    link.deliver(MS, [smLike(sm, SM_EOS_FLAG, 0x0badf00d)]);
    expect(publication.isConnected).toBe(true);
  });

  it("end a unicast publication's linger at once: removed when the receiver's EOS SM arrives, not 5 s later", () => {
    const { link, publication, subscription } = connect();
    const a = link.engines[0];
    let received = 0;
    expect(publication.offer(new Uint8Array(100))).toBeGreaterThan(0);
    link.runTogether(0, 300 * MS, () => subscription.poll(() => received++, 10));
    expect(received).toBe(1);
    const closeNs = 300 * MS;
    publication.close();
    // The EOS heartbeat reaches B; its subscriber reads to the end; B's image reaches end of stream
    // and its next SM carries EOS; A drops the receiver and ends the linger.
    let removedAtNs = -1;
    // In 1 ms steps, so that the removal instant is known to the millisecond.
    for (let t = closeNs; t < closeNs + 6 * S && removedAtNs < 0; t += MS) {
      link.runTogether(t, t + MS, () => subscription.poll(() => received++, 10));
      if (a.publications.length === 0) removedAtNs = t + MS;
    }
    const eosSm = link.sent.find((d) => d.from === 1 && frameType(d) === HDR_TYPE_SM && (frameFlags(d) & SM_EOS_FLAG) !== 0);
    expect(eosSm).toBeDefined();
    expect(a.counters.get(Counter.STATUS_MESSAGES_EOS_RECEIVED)).toBeGreaterThanOrEqual(1);
    expect(a.counters.get(Counter.PUBLICATIONS_ACTIVE)).toBe(0);
    // Removed by the first instant after the EOS SM (zero latency), well before the 5 s linger.
    expect(removedAtNs).toBeGreaterThan(0);
    expect(removedAtNs - eosSm!.sentAtNs).toBeLessThanOrEqual(MS);
    expect(removedAtNs - closeNs).toBeLessThan(300 * MS);
  });

  it("a multicast publication keeps its linger (Aeron ends it early for unicast only)", () => {
    const channel = "aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1|fc=min|linger=1s";
    const link = new ManualLink(SEED);
    const a = link.engines[0];
    const publication = a.addPublication(channel, STREAM);
    link.transmit(0, 0);
    const bytes = new Uint8Array(36);
    const sessionId = a.publications[0]!.sessionId;
    const termId = a.publications[0]!.initialTermId;
    writeStatusMessage(new DataView(bytes.buffer), 0, 0, sessionId, STREAM, termId, 0, 65536, 1, 2);
    a.handleDatagram(MS, IP_B, 5000, endpointOf(link), bytes, 0, 36);
    expect(publication.isConnected).toBe(true);
    publication.close();
    a.handleTimeout(2 * MS);
    writeStatusMessage(new DataView(bytes.buffer), 0, SM_EOS_FLAG, sessionId, STREAM, termId, 0, 65536, 1, 2);
    a.handleDatagram(3 * MS, IP_B, 5000, endpointOf(link), bytes, 0, 36);
    link.runAlone(0, 3 * MS, 900 * MS);
    expect(a.publications).toHaveLength(1);
    link.runAlone(0, 900 * MS, 3 * S);
    expect(a.publications).toHaveLength(0);
  });

  it("min flow control: a receiver's EOS SM removes it from the group at once and the limit moves to the others", () => {
    const link = new ManualLink(SEED);
    const a = link.engines[0];
    a.addPublication("aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1|fc=min|term-length=1m", STREAM);
    link.transmit(0, 0);
    const network = a.publications[0]!;
    const bytes = new Uint8Array(36);
    const view = new DataView(bytes.buffer);
    const sm = (nowNs: number, flags: number, receiverLo: number, window: number): void => {
      writeStatusMessage(view, 0, flags, network.sessionId, STREAM, network.initialTermId, 0, window, receiverLo, 0);
      a.handleDatagram(nowNs, IP_B, 5000 + receiverLo, endpointOf(link), bytes, 0, 36);
    };
    sm(MS, 0, 1, 131072);
    sm(MS, 0, 2, 4096);
    expect(network.senderLimit).toBe(4096);
    sm(2 * MS, SM_EOS_FLAG, 2, 4096);
    expect(network.senderLimit).toBe(131072);
    expect(network.receiverCount).toBe(1);
    expect(network.isConnected).toBe(true);
  });
});

describe("item 8: eos=false", () => {
  for (const [eos, flags] of [["true", 0xe0], ["false", 0xc0]] as const) {
    it(`eos=${eos}: the heartbeats after the drain carry flags 0x${flags.toString(16)}`, () => {
      const { link, publication } = connect(`${CHANNEL}|eos=${eos}|linger=1s`);
      const a = link.engines[0];
      publication.close();
      const out = link.runAlone(0, MS, 2 * S);
      const after = heartbeats(out);
      expect(after.length).toBeGreaterThan(5);
      for (const hb of after) expect(frameFlags(hb)).toBe(flags);
      expect(a.publications).toHaveLength(0);
    });
  }
});

describe("item 10: SETUP after a connection timeout, only on request", () => {
  it("after a partition longer than the image liveness timeout, the stream comes back with one SETUP, elicited by a heartbeat", () => {
    const { link, publication, subscription, unavailable } = connect();
    const [a] = link.engines;
    // Partition: neither side hears the other for 12 s; the image times out at 10 s, the publication at 5 s.
    link.runAlone(0, 0, 12 * S);
    link.runAlone(1, 0, 12 * S);
    expect(publication.isConnected).toBe(false);
    expect(unavailable).toHaveLength(1);
    const setupsBefore = a.counters.get(Counter.SETUPS_SENT);
    expect(link.sent.filter((d) => d.from === 0 && frameType(d) === HDR_TYPE_SETUP)).toHaveLength(setupsBefore);
    expect(setupsBefore).toBe(1);
    // Healed: the next heartbeat reaches B, B asks for SETUP, A answers once, B's SM reconnects.
    link.runTogether(12 * S, 12 * S + 300 * MS);
    expect(publication.isConnected).toBe(true);
    // The elicited SETUP, and (as Aeron's setupMessageCheck) one more 100 ms later, when the flag
    // is cleared because a receiver is live: 2 after the partition, none during it.
    expect(a.counters.get(Counter.SETUPS_SENT)).toBe(3);
    expect(subscription.images).toHaveLength(1);
  });

  it("an elicited SETUP repeats every 100 ms until a receiver is live, then stops", () => {
    const { link, sm } = connect();
    const a = link.engines[0];
    link.runAlone(0, 0, 6 * S); // the connection times out at 5 s
    expect(a.publications[0]!.isConnected).toBe(false);
    link.deliver(6 * S, [smLike(sm, SM_SEND_SETUP_FLAG)]);
    const out = link.runAlone(0, 6 * S, 6 * S + 350 * MS);
    const setups = out.filter((d) => frameType(d) === HDR_TYPE_SETUP).map((d) => d.sentAtNs);
    expect(setups).toEqual([6 * S, 6 * S + 100 * MS, 6 * S + 200 * MS, 6 * S + 300 * MS]);
    link.deliver(6 * S + 350 * MS, [smLike(sm, 0)]);
    const later = link.runAlone(0, 6 * S + 350 * MS, 7 * S);
    expect(later.filter((d) => frameType(d) === HDR_TYPE_SETUP).map((d) => d.sentAtNs)).toEqual([6 * S + 400 * MS]);
    expect(a.publications[0]!.isConnected).toBe(true);
  });
});
