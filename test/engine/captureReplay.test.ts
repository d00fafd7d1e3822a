// Goal: a Petrel Engine, subscribed to the channel and streams of aeron-unicast-loss.pcap, is fed
// every datagram the Aeron sender sent to the receiver's port (20121), at the capture's own
// timestamps, and delivers exactly the messages the capture holds: in order, each once, with the
// right lengths and bytes. The expected messages are counted independently here, from the capture's
// distinct data frames, not from the engine. The capture has originals and retransmissions (the
// real receiver dropped 20% of data after capture and NAKed), so duplicates arrive; they are
// counted and harmless. What Petrel sends back goes nowhere but must be well formed: every datagram
// passes the DatagramWalker, and is an SM or a NAK whose fields fit an image and what it received.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { Engine } from "../../src/core/engine/engine.js";
import type { PublicationImage } from "../../src/core/engine/publicationImage.js";
import { computePosition } from "../../src/core/logbuffer/logBufferDescriptor.js";
import {
  DatagramWalker,
  HDR_TYPE_DATA,
  HDR_TYPE_NAK,
  HDR_TYPE_SETUP,
  HDR_TYPE_SM,
  IgnoringFrameVisitor,
  nakLength,
  nakSessionId,
  nakStreamId,
  nakTermId,
  nakTermOffset,
  REJECT_REASON_COUNT,
  smConsumptionTermId,
  smConsumptionTermOffset,
  smReceiverWindow,
  smSessionId,
  smStreamId,
} from "../../src/core/protocol/index.js";
import { TransmitBatch } from "../../src/core/transmitBatch.js";
import { PacketStatus, UdpPacketInfo, parseLinkIpv4Udp } from "../../src/net/ethernetIpv4Udp.js";
import { openPcapFile } from "../../src/net/pcapFile.js";
import { Prng } from "../../src/sim/prng.js";

const CAPTURE = join(import.meta.dirname, "..", "fixtures", "aeron-unicast-loss.pcap");
const RECEIVER_PORT = 20121;
const CHANNEL = "aeron:udp?endpoint=127.0.0.1:20121";
const STREAMS = [1001, 1002, 1003] as const;

interface Captured {
  readonly tNs: number;
  readonly fromIp: number;
  readonly fromPort: number;
  readonly payload: Uint8Array;
}

/** The datagrams addressed to the receiver, with times relative to the first record of the file. */
function loadToReceiver(): Captured[] {
  const reader = openPcapFile(CAPTURE);
  const info = new UdpPacketInfo();
  const out: Captured[] = [];
  let firstNs = -1;
  while (reader.next()) {
    const tNs = reader.seconds * 1e9 + reader.nanoseconds;
    if (firstNs < 0) firstNs = tNs;
    const packet = reader.packet();
    const status = parseLinkIpv4Udp(reader.header.linkType, packet, 0, packet.length, info);
    if (status !== PacketStatus.OK) throw new Error(`record ${reader.index}: packet status ${status}`);
    if (info.destinationPort !== RECEIVER_PORT) continue;
    out.push({
      tNs: tNs - firstNs,
      fromIp: info.sourceAddress,
      fromPort: info.sourcePort,
      payload: packet.slice(info.payloadOffset, info.payloadOffset + info.payloadLength),
    });
  }
  return out;
}

interface StreamModel {
  initialTermId: number;
  activeTermId: number;
  termOffset: number;
  termLength: number;
  /** Distinct data frames by position: flags and payload. */
  readonly frames: Map<number, { flags: number; payload: Uint8Array }>;
  dataFramesSeen: number;
}

/**
 * The expected messages of each stream, worked out without the engine: the distinct data frames
 * (by position), read from the SETUP's starting position while frames are contiguous, joined
 * BEGIN..END into messages.
 */
function expectedMessages(datagrams: readonly Captured[]): Map<number, Uint8Array[]> {
  const models = new Map<number, StreamModel>();
  const pending: Array<{ stream: number; termId: number; termOffset: number; flags: number; payload: Uint8Array }> = [];
  for (const d of datagrams) {
    const view = new DataView(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength);
    // Bounded by the datagram's length: every frame advances at least 32 bytes or ends the walk.
    for (let offset = 0; offset + 8 <= d.payload.length;) {
      const length = view.getInt32(offset, true);
      const flags = view.getUint8(offset + 5);
      const type = view.getUint16(offset + 6, true);
      if (type === HDR_TYPE_SETUP) {
        const stream = view.getInt32(offset + 16, true);
        if (!models.has(stream)) {
          models.set(stream, {
            termOffset: view.getInt32(offset + 8, true),
            initialTermId: view.getInt32(offset + 20, true),
            activeTermId: view.getInt32(offset + 24, true),
            termLength: view.getInt32(offset + 28, true),
            frames: new Map(),
            dataFramesSeen: 0,
          });
        }
        break;
      }
      if (type !== HDR_TYPE_DATA) throw new Error(`unexpected frame type ${type} towards the receiver`);
      if (length === 0) {
        offset += 32;
        continue;
      }
      pending.push({
        stream: view.getInt32(offset + 16, true),
        termId: view.getInt32(offset + 20, true),
        termOffset: view.getInt32(offset + 8, true),
        flags,
        payload: d.payload.slice(offset + 32, offset + length),
      });
      offset += (length + 31) & ~31;
    }
  }
  for (const f of pending) {
    const model = models.get(f.stream);
    if (model === undefined) throw new Error(`data for stream ${f.stream} without a SETUP in the capture`);
    model.dataFramesSeen++;
    const position = computePosition(f.termId, f.termOffset, Math.log2(model.termLength), model.initialTermId);
    const existing = model.frames.get(position);
    if (existing !== undefined) {
      // A retransmission must be byte-identical to the original.
      expect(existing.flags).toBe(f.flags);
      expect(Buffer.compare(existing.payload, f.payload)).toBe(0);
      continue;
    }
    model.frames.set(position, { flags: f.flags, payload: f.payload });
  }
  const out = new Map<number, Uint8Array[]>();
  for (const [stream, model] of models) {
    const messages: Uint8Array[] = [];
    let position = computePosition(model.activeTermId, model.termOffset, Math.log2(model.termLength), model.initialTermId);
    let parts: Uint8Array[] = [];
    // Bounded by the number of distinct frames.
    for (let frame = model.frames.get(position); frame !== undefined; frame = model.frames.get(position)) {
      if ((frame.flags & 0x80) !== 0) parts = [];
      parts.push(frame.payload);
      if ((frame.flags & 0x40) !== 0) messages.push(Buffer.concat(parts));
      position += (32 + frame.payload.length + 31) & ~31;
    }
    out.set(stream, messages);
  }
  return out;
}

/** Checks everything the engine sends back; the datagrams themselves go nowhere. */
class OutboundChecker extends IgnoringFrameVisitor {
  readonly walker = new DatagramWalker();
  readonly problems: string[] = [];
  sms = 0;
  naks = 0;
  other = 0;
  private images: readonly PublicationImage[] = [];

  check(engine: Engine, batch: TransmitBatch): void {
    this.images = engine.images;
    for (let slot = 0; slot < batch.count; slot++) {
      const offset = batch.slotOffset(slot);
      if (!this.walker.walk(batch.bytes, offset, batch.lengths[slot]!, this)) this.problems.push(`rejected datagram in slot ${slot}`);
      const type = batch.view.getUint16(offset + 6, true);
      if (type !== HDR_TYPE_SM && type !== HDR_TYPE_NAK) this.other++;
    }
  }

  private image(sessionId: number, streamId: number): PublicationImage | undefined {
    return this.images.find((i) => i.sessionId === sessionId && i.streamId === streamId);
  }

  override onStatus(view: DataView, _bytes: Uint8Array, frameOffset: number): void {
    this.sms++;
    const image = this.image(smSessionId(view, frameOffset), smStreamId(view, frameOffset));
    if (image === undefined) {
      this.problems.push(`SM for no image: ${smSessionId(view, frameOffset)}/${smStreamId(view, frameOffset)}`);
      return;
    }
    const position = computePosition(smConsumptionTermId(view, frameOffset), smConsumptionTermOffset(view, frameOffset),
      image.positionBitsToShift, image.initialTermId);
    if (smReceiverWindow(view, frameOffset) <= 0) this.problems.push(`SM window ${smReceiverWindow(view, frameOffset)}`);
    if (position < image.joinPosition || position > image.rebuildPosition) {
      this.problems.push(`SM position ${position} outside [join ${image.joinPosition}, rebuilt ${image.rebuildPosition}]`);
    }
  }

  override onNak(view: DataView, _bytes: Uint8Array, frameOffset: number): void {
    this.naks++;
    const image = this.image(nakSessionId(view, frameOffset), nakStreamId(view, frameOffset));
    if (image === undefined) {
      this.problems.push(`NAK for no image: ${nakSessionId(view, frameOffset)}/${nakStreamId(view, frameOffset)}`);
      return;
    }
    const termOffset = nakTermOffset(view, frameOffset);
    const length = nakLength(view, frameOffset);
    const start = computePosition(nakTermId(view, frameOffset), termOffset, image.positionBitsToShift, image.initialTermId);
    if (length <= 0 || termOffset % 32 !== 0 || termOffset + length > image.termLength) {
      this.problems.push(`NAK range offset ${termOffset} length ${length}`);
    }
    if (start < image.rebuildPosition || start + length > image.hwmPosition) {
      this.problems.push(`NAK [${start}, ${start + length}) outside [rebuilt ${image.rebuildPosition}, hwm ${image.hwmPosition})`);
    }
  }
}

interface ReplayResult {
  readonly engine: Engine;
  readonly checker: OutboundChecker;
  readonly delivered: Map<number, Uint8Array[]>;
  readonly subscriptions: ReturnType<Engine["addSubscription"]>[];
}

/**
 * Feeds `datagrams` to a fresh engine at their capture times: before each, every timer due runs;
 * after each, the subscriptions are polled and pollTransmit is drained into the checker.
 */
function replay(datagrams: readonly Captured[]): ReplayResult {
  const engine = new Engine({ random: new Prng(20121) });
  const delivered = new Map<number, Uint8Array[]>();
  const subscriptions = STREAMS.map((stream) => {
    delivered.set(stream, []);
    return engine.addSubscription(CHANNEL, stream);
  });
  const event = engine.pollEndpointEvent();
  expect(event?.type).toBe("open");
  const endpointId = event?.type === "open" ? event.endpoint.id : -1;
  expect(engine.pollEndpointEvent()).toBeUndefined();

  const batch = new TransmitBatch(64, 2048);
  const checker = new OutboundChecker();
  const handlers = STREAMS.map((stream) => (buffer: Uint8Array, offset: number, length: number): void => {
    delivered.get(stream)!.push(buffer.slice(offset, offset + length));
  });
  const pollAll = (): void => {
    for (let i = 0; i < subscriptions.length; i++) {
      // Bounded: a subscription drains what has been rebuilt.
      while (subscriptions[i]!.poll(handlers[i]!, 1000) > 0) {
        /* drain */
      }
    }
  };
  const drain = (nowNs: number): void => {
    // Bounded: the engine has finitely much due at one instant.
    for (let pass = 0; pass < 1000; pass++) {
      batch.clear();
      const n = engine.pollTransmit(nowNs, batch);
      checker.check(engine, batch);
      if (n < batch.capacity) return;
    }
    throw new Error(`pollTransmit never drained at ${nowNs}`);
  };
  let now = 0;
  /** Runs every timer due before `untilNs`. */
  const runTimersBefore = (untilNs: number): void => {
    // Bounded: each pass moves time forward (checked) or the engine would livelock.
    for (let pass = 0; pass < 1_000_000; pass++) {
      const deadline = engine.pollTimeout();
      if (deadline >= untilNs) return;
      const at = deadline > now ? deadline : now;
      engine.handleTimeout(at);
      pollAll();
      drain(at);
      if (engine.pollTimeout() - at <= 0 && at === now && pass > 3) throw new Error(`engine stays due at ${at}`);
      now = at;
    }
  };
  for (const d of datagrams) {
    runTimersBefore(d.tNs);
    now = Math.max(now, d.tNs);
    engine.handleDatagram(now, d.fromIp, d.fromPort, endpointId, d.payload, 0, d.payload.length);
    pollAll();
    if (engine.pollTimeout() - now <= 0) engine.handleTimeout(now);
    drain(now);
  }
  runTimersBefore(now + 1e9);

  return { engine, checker, delivered, subscriptions };
}

/** The replies were well formed and the messages delivered are exactly `expected`, in order. */
function expectDelivered(checker: OutboundChecker, delivered: Map<number, Uint8Array[]>, expected: Map<number, Uint8Array[]>): void {
  expect(checker.problems.slice(0, 10)).toEqual([]);
  expect(checker.walker.rejections).toEqual(new Float64Array(REJECT_REASON_COUNT));
  expect(checker.other).toBe(0);
  expect(checker.sms).toBeGreaterThan(0);
  for (const stream of STREAMS) {
    const want = expected.get(stream)!;
    const got = delivered.get(stream)!;
    expect(got.length, `stream ${stream}`).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      if (Buffer.compare(got[i]!, want[i]!) !== 0) expect.fail(`stream ${stream} message ${i} differs (length ${got[i]!.length} vs ${want[i]!.length})`);
    }
  }
}

describe("replaying aeron-unicast-loss.pcap into a Petrel engine", () => {
  const datagrams = loadToReceiver();
  const expected = expectedMessages(datagrams);

  it("the capture holds every message the sample programs sent (counted from distinct data frames)", () => {
    expect(datagrams.length).toBe(996);
    expect([...expected.keys()].sort()).toEqual([...STREAMS]);
    expect(expected.get(1001)!.map((m) => Buffer.from(m).toString("latin1"))).toEqual(["Hello World! 1", "Hello World! 2", "Hello World! 3"]);
    expect(expected.get(1002)!.length).toBe(300);
    expect(expected.get(1002)!.every((m) => m.length === 1400)).toBe(true);
    expect(expected.get(1003)!.length).toBe(2000);
    expect(expected.get(1003)!.every((m) => m.length === 32)).toBe(true);
  });

  it("delivers exactly those messages, in order and byte-identical; duplicates counted; every reply is a well-formed SM or NAK", () => {
    const { engine, checker, delivered, subscriptions } = replay(datagrams);
    expectDelivered(checker, delivered, expected);
    const counters = engine.counters;
    expect(counters.get(Counter.INVALID_PACKETS)).toBe(0);
    expect(counters.get(Counter.FLOW_CONTROL_OVER_RUNS)).toBe(0);
    expect(counters.get(Counter.IMAGES_CREATED)).toBe(3);
    expect(counters.get(Counter.SETUPS_RECEIVED)).toBe(4);
    // Retransmissions of frames already held: counted as duplicates or as behind the rebuild position.
    expect(counters.get(Counter.DUPLICATE_DATA_FRAMES) + counters.get(Counter.FLOW_CONTROL_UNDER_RUNS)).toBeGreaterThan(0);
    // Every stream ended with EOS in the capture: each image reached end of stream and left its subscription.
    for (const s of subscriptions) expect(s.images).toHaveLength(0);
  });

  it("with the real receiver's losses (each datagram whose frames were retransmitted later is dropped) it NAKs the gaps and still delivers what the capture holds", () => {
    const kept = receiverView(datagrams);
    expect(kept.length).toBeLessThan(datagrams.length);
    const expectedKept = expectedMessages(kept);
    const { engine, checker, delivered } = replay(kept);
    expectDelivered(checker, delivered, expectedKept);
    // The retransmissions carried everything the receiver lost: nothing is missing.
    expect(expectedKept.get(1002)!.length).toBe(300);
    expect(expectedKept.get(1003)!.length).toBe(2000);
    expect(checker.naks).toBeGreaterThan(0);
    expect(engine.counters.get(Counter.NAKS_SENT)).toBe(checker.naks);
    expect(engine.counters.get(Counter.INVALID_PACKETS)).toBe(0);
    expect(engine.counters.get(Counter.FLOW_CONTROL_OVER_RUNS)).toBe(0);
  });
});

/**
 * What the capturing receiver kept: a data datagram is dropped when one of its frames (stream,
 * term id, term offset) is sent again later, since the sender resends only what was NAKed.
 */
function receiverView(datagrams: readonly Captured[]): Captured[] {
  const keysOf = (d: Captured): string[] => {
    const view = new DataView(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength);
    const keys: string[] = [];
    // Bounded by the datagram's length.
    for (let offset = 0; offset + 32 <= d.payload.length;) {
      const length = view.getInt32(offset, true);
      if (view.getUint16(offset + 6, true) !== HDR_TYPE_DATA) break;
      if (length > 0) keys.push(`${view.getInt32(offset + 16, true)}:${view.getInt32(offset + 20, true)}:${view.getInt32(offset + 8, true)}`);
      offset += length === 0 ? 32 : (length + 31) & ~31;
    }
    return keys;
  };
  const seenLater = new Set<string>();
  const kept: Captured[] = [];
  for (let i = datagrams.length - 1; i >= 0; i--) {
    const keys = keysOf(datagrams[i]!);
    if (!keys.some((k) => seenLater.has(k))) kept.push(datagrams[i]!);
    for (const k of keys) seenLater.add(k);
  }
  return kept.reverse();
}
