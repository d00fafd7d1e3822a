// Goal: error frames work as in Aeron 1.48 (issue #12, item 12). A receiver that rejects an image
// (Aeron's Image.reject) sends IMAGE_REJECTED error frames with the reason, one at the rejection and
// then one per status-message interval, never in answer to a datagram (no amplification), and
// takes no more data from that session. The publisher drops that receiver (not connected at once),
// surfaces the error once to the application (pollPublicationErrorFrame) and counts it. Error
// frames that are malformed, spoofed or for nothing here never throw: they are dropped and counted.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { InvalidArgumentError } from "../../src/core/engine/engineErrors.js";
import { IMAGE_REJECTED_ERROR_CODE } from "../../src/core/engine/errorFrames.js";
import { HDR_TYPE_ERR, HDR_TYPE_SM } from "../../src/core/protocol/index.js";
import { encodeErrorText, ERR_HAS_GROUP_TAG_FLAG, ErrorFrameFlyweight, writeError } from "../../src/core/protocol/errorFrame.js";
import { writeHeartbeat } from "../../src/core/protocol/dataFrame.js";
import { ManualLink, frameType, viewOf, type Datagram } from "./support/manualLink.js";
import type { Image } from "../../src/core/engine/subscription.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 12_012);
const CHANNEL = "aeron:udp?endpoint=127.0.0.2:20121|term-length=64k";
const STREAM = 1001;
const MS = 1_000_000;
const S = 1_000_000_000;

function connect(seed = SEED) {
  const link = new ManualLink(seed);
  const [a, b] = link.engines;
  const available: Image[] = [];
  const unavailable: Image[] = [];
  const subscription = b.addSubscription(CHANNEL, STREAM, {
    onAvailableImage: (image) => available.push(image),
    onUnavailableImage: (image) => unavailable.push(image),
  });
  const publication = a.addPublication(CHANNEL, STREAM);
  link.exchange(0);
  expect(publication.isConnected).toBe(true);
  const sm = link.sent.find((d) => d.from === 1 && frameType(d) === HDR_TYPE_SM)!;
  return { link, a, b, publication, subscription, available, unavailable, sm };
}

function errorFrames(datagrams: readonly Datagram[]): Datagram[] {
  return datagrams.filter((d) => d.from === 1 && frameType(d) === HDR_TYPE_ERR);
}

describe("rejecting an image", () => {
  it("sends IMAGE_REJECTED with the reason; the publisher drops the receiver at once and surfaces the error once", () => {
    const { link, a, b, publication, available, sm } = connect();
    b.rejectImage(available[0]!, "checksum mismatch at 4096");
    const out = link.transmit(1, MS);
    const errs = errorFrames(out);
    expect(errs).toHaveLength(1);
    const frame = new ErrorFrameFlyweight().wrap(errs[0]!.bytes, 0, errs[0]!.bytes.length);
    expect(frame.errorCode()).toBe(IMAGE_REJECTED_ERROR_CODE);
    expect(frame.errorText()).toBe("checksum mismatch at 4096");
    expect(frame.sessionId()).toBe(a.publications[0]!.sessionId);
    expect(frame.hasGroupTag()).toBe(false);
    // Sent where the image's status messages go (the publication's address), with the receiver's id.
    expect([errs[0]!.toIp, errs[0]!.toPort]).toEqual([sm.toIp, sm.toPort]);
    expect(viewOf(errs[0]!).getBigInt64(16, true)).toBe(viewOf(sm).getBigInt64(28, true));
    expect(b.counters.get(Counter.ERROR_FRAMES_SENT)).toBe(1);

    link.deliver(MS, errs);
    expect(publication.isConnected).toBe(false);
    expect(a.counters.get(Counter.ERROR_FRAMES_RECEIVED)).toBe(1);
    expect(a.counters.get(Counter.PUBLICATION_ERROR_FRAMES)).toBe(1);
    const event = a.pollPublicationErrorFrame();
    expect(event).toMatchObject({
      channel: a.publications[0]!.channel,
      sessionId: a.publications[0]!.sessionId,
      streamId: STREAM,
      receiverId: viewOf(sm).getBigInt64(28, true),
      sourceIp: sm.fromIp,
      sourcePort: sm.fromPort,
      groupTag: undefined,
      errorCode: IMAGE_REJECTED_ERROR_CODE,
      errorMessage: "checksum mismatch at 4096",
    });
    expect(a.pollPublicationErrorFrame()).toBeUndefined();
  });

  it("repeats the error frame every 200 ms, however much the publisher sends, takes no data, and the image times out at 10 s", () => {
    const { link, a, b, available, unavailable } = connect();
    b.rejectImage(available[0]!, "no");
    // The publisher keeps heartbeating (and the link delivers everything) for 11 s.
    link.runTogether(0, 11 * S);
    const errs = errorFrames(link.sent);
    const times = errs.map((d) => d.sentAtNs);
    // 0, 200 ms, ..., until the image goes at 10 s (no data refreshes a rejected image).
    expect(times.slice(0, 3)).toEqual([0, 200 * MS, 400 * MS]);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(200 * MS);
    expect(unavailable).toHaveLength(1);
    expect(b.counters.get(Counter.IMAGES_TIMED_OUT)).toBe(1);
    expect(times.length).toBe(50);
    // While rejected, no SM left B for that session; the error surfaced at A once.
    expect(a.counters.get(Counter.PUBLICATION_ERROR_FRAMES)).toBe(1);
    expect(a.counters.get(Counter.ERROR_FRAMES_RECEIVED)).toBe(50);
  });

  it("a flood of heartbeats to a rejected image sends no extra error frame (never amplifying)", () => {
    const { link, a, b, available, sm } = connect();
    b.rejectImage(available[0]!, "no");
    link.transmit(1, 0);
    const before = b.counters.get(Counter.ERROR_FRAMES_SENT);
    const heartbeatsBefore = b.counters.get(Counter.HEARTBEATS_RECEIVED);
    const hb = new Uint8Array(32);
    writeHeartbeat(new DataView(hb.buffer), 0, 0, a.publications[0]!.sessionId, STREAM, a.publications[0]!.initialTermId, false);
    const receiveEndpoint = b.endpoints().find((e) => e.role === "receive")!.id;
    for (let i = 1; i <= 1000; i++) {
      b.handleDatagram(i * 100, sm.toIp, sm.toPort, receiveEndpoint, hb, 0, 32);
      link.transmit(1, i * 100);
    }
    expect(b.counters.get(Counter.ERROR_FRAMES_SENT)).toBe(before);
    expect(b.counters.get(Counter.HEARTBEATS_RECEIVED)).toBe(heartbeatsBefore);
  });

  it("refuses bad application input with a typed error", () => {
    const { b, available } = connect();
    expect(() => b.rejectImage(available[0]!, "x".repeat(1024))).toThrow(InvalidArgumentError);
    expect(() => b.rejectImage(available[0]!, "é".repeat(512))).toThrow(InvalidArgumentError);
    const ipc = b.addSubscription("aeron:ipc", 9);
    b.addPublication("aeron:ipc", 9);
    expect(() => b.rejectImage(ipc.images[0]!, "no")).toThrow(InvalidArgumentError);
    b.rejectImage(available[0]!, "x".repeat(1023));
  });
});

describe("hostile error frames at a publisher", () => {
  it("a spoofed error frame for a receiver id that is not live surfaces nothing and disconnects nothing", () => {
    const { a, publication, sm } = connect();
    const bytes = new Uint8Array(64);
    const text = encodeErrorText("spoof");
    const length = writeError(new DataView(bytes.buffer), 0, 0, a.publications[0]!.sessionId, STREAM, 0x1234, 0x5678, 0, 0, 13, text, 0, text.length);
    a.handleDatagram(MS, sm.fromIp, sm.fromPort, a.publications[0]!.destinations.endpointId, bytes, 0, length);
    expect(publication.isConnected).toBe(true);
    expect(a.pollPublicationErrorFrame()).toBeUndefined();
    expect(a.counters.get(Counter.ERROR_FRAMES_RECEIVED)).toBe(1);
  });

  it("source-pin=true: an error frame from another address is dropped and counted", () => {
    const link = new ManualLink(SEED);
    const [a, b] = link.engines;
    b.addSubscription(CHANNEL, STREAM);
    const publication = a.addPublication(`${CHANNEL}|source-pin=true`, STREAM);
    link.exchange(0);
    const sm = link.sent.find((d) => d.from === 1 && frameType(d) === HDR_TYPE_SM)!;
    const bytes = new Uint8Array(64);
    const length = writeError(new DataView(bytes.buffer), 0, 0, a.publications[0]!.sessionId, STREAM,
      viewOf(sm).getInt32(28, true), viewOf(sm).getInt32(32, true), 0, 0, 13, new Uint8Array(0), 0, 0);
    a.handleDatagram(MS, sm.fromIp + 1, sm.fromPort, a.publications[0]!.destinations.endpointId, bytes, 0, length);
    expect(publication.isConnected).toBe(true);
    expect(a.counters.get(Counter.ERROR_FRAMES_DROPPED)).toBe(1);
    expect(a.counters.get(Counter.PINNED_CONTROL_MISMATCHES)).toBe(1);
  });

  test.prop([
    fc.record({
      flags: fc.integer({ min: 0, max: 255 }),
      sessionMatches: fc.boolean(),
      streamMatches: fc.boolean(),
      receiverMatches: fc.boolean(),
      errorCode: fc.integer(),
      declaredTextLength: fc.integer({ min: -5, max: 1100 }),
      text: fc.uint8Array({ maxLength: 1100 }),
      truncateBy: fc.integer({ min: 0, max: 48 }),
      groupTagLo: fc.integer(),
    }),
  ], { numRuns: 200, seed: SEED })(
    "any error frame bytes: never throws; surfaced only when well formed, for our session and stream, from the live receiver",
    (f) => {
      const { a, sm } = connect();
      const network = a.publications[0]!;
      const smView = viewOf(sm);
      const bytes = new Uint8Array(40 + f.text.length);
      const view = new DataView(bytes.buffer);
      view.setInt32(0, 40 + f.text.length, true);
      view.setUint8(5, f.flags);
      view.setInt16(6, HDR_TYPE_ERR, true);
      view.setInt32(8, f.sessionMatches ? network.sessionId : network.sessionId ^ 1, true);
      view.setInt32(12, f.streamMatches ? STREAM : STREAM + 1, true);
      view.setInt32(16, f.receiverMatches ? smView.getInt32(28, true) : smView.getInt32(28, true) ^ 1, true);
      view.setInt32(20, smView.getInt32(32, true), true);
      view.setInt32(24, f.groupTagLo, true);
      view.setInt32(32, f.errorCode, true);
      view.setInt32(36, f.declaredTextLength, true);
      bytes.set(f.text, 40);
      const length = Math.max(0, bytes.length - f.truncateBy);
      expect(() => a.handleDatagram(MS, sm.fromIp, sm.fromPort, network.destinations.endpointId, bytes, 0, length)).not.toThrow();
      const wellFormed = f.truncateBy === 0 && f.declaredTextLength >= 0 && f.declaredTextLength <= 1023 &&
        f.declaredTextLength <= f.text.length;
      const surfaced = a.pollPublicationErrorFrame();
      if (wellFormed && f.sessionMatches && f.streamMatches && f.receiverMatches) {
        expect(surfaced?.errorCode).toBe(f.errorCode);
        expect(surfaced?.groupTag === undefined).toBe((f.flags & ERR_HAS_GROUP_TAG_FLAG) === 0);
        expect(network.isConnected).toBe(false);
      } else {
        expect(surfaced).toBeUndefined();
        expect(network.isConnected).toBe(true);
      }
      expect(a.pollPublicationErrorFrame()).toBeUndefined();
    },
  );
});
