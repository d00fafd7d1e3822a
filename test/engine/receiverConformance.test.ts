// Goal: the receiver side behaves on the wire as Aeron's driver does (issue #12), each rule checked
// on one real Engine fed hand-written frames, so that every assertion names the exact frame and
// instant Aeron's rule gives:
//  - item 3: data is dropped only beyond the last SM position + termLength / 2 (PublicationImage);
//  - item 4: a subscription that closes sends SMs with the EOS flag (deactivate, DRAINING);
//  - item 6: RTTM replies for another receiver id are not taken as this image's RTT;
//  - item 7: `reliable=false` fills a gap only when the NAK delay expires;
//  - item 9: the SETUP's GROUP flag (and `group=`) picks multicast NAK delays; Petrel sets GROUP;
//  - item 10: rejoin cool-down and `rejoin=false`, an SM on a window change, `gtag` on SETUP
//    requests, and a late subscriber that joins at the slowest subscriber's position.
import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { CraftedSender, INITIAL_TERM_ID, MS, SENDER_IP, SENDER_PORT, SESSION } from "./support/craftedSender.js";
import { Counter, Counters } from "../../src/core/engine/counters.js";
import { HDR_TYPE_NAK, HDR_TYPE_RTTM, HDR_TYPE_SETUP, HDR_TYPE_SM } from "../../src/core/protocol/frameHeader.js";
import { SM_EOS_FLAG, SM_SEND_SETUP_FLAG, SM_WITH_GROUP_TAG_LENGTH } from "../../src/core/protocol/statusMessageFrame.js";
import { SETUP_GROUP_FLAG } from "../../src/core/protocol/setupFrame.js";
import { parseIpv4 } from "../../src/core/address.js";
import { Engine } from "../../src/core/engine/engine.js";
import { TransmitBatch } from "../../src/core/transmitBatch.js";
import { Prng } from "../../src/sim/prng.js";
import type { RandomSource } from "../../src/core/random.js";
import { PublicationImage } from "../../src/core/engine/publicationImage.js";
import { ImageLog } from "../../src/core/logbuffer/imageLog.js";
import { resolveEngineConfig } from "../../src/core/config/engineConfig.js";
import { StaticDelayGenerator } from "../../src/core/strategy/feedbackDelay.js";
import type { CongestionControl } from "../../src/core/strategy/congestionControl.js";
import { packCongestionOutcome } from "../../src/core/strategy/congestionOutcome.js";
import { NO_DEADLINE_NS } from "../../src/core/strategy/timers.js";
import { writeDataHeader } from "../../src/core/protocol/dataFrame.js";
import { HDR_TYPE_DATA } from "../../src/core/protocol/frameHeader.js";

const STREAM = 10;
const UNICAST = "aeron:udp?endpoint=127.0.0.1:40500";
const MULTICAST = "aeron:udp?endpoint=224.0.1.1:40502|interface=127.0.0.1";

function countMessages(sub: { poll: (h: () => void, n: number) => number }): number {
  let n = 0;
  sub.poll(() => n++, 1000);
  return n;
}

describe("item 3: the over-run threshold is last SM position + termLength / 2", () => {
  it("takes data beyond the receiver window and drops data beyond half a term", () => {
    const r = new CraftedSender();
    r.subscribe(UNICAST, STREAM);
    r.nowNs = MS;
    r.setup(STREAM, { termLength: 1024 * 1024 }); // window min(128 KiB, 512 KiB) = 128 KiB
    const counters = r.engine.counters;
    r.data(STREAM, 200 * 1024, 992); // beyond SM position + window, inside + termLength / 2
    expect(counters.get(Counter.FLOW_CONTROL_OVER_RUNS)).toBe(0);
    expect(counters.get(Counter.DATA_FRAMES_RECEIVED)).toBe(1);
    r.data(STREAM, 512 * 1024 - 1024, 992); // ends exactly at the threshold: taken
    expect(counters.get(Counter.DATA_FRAMES_RECEIVED)).toBe(2);
    r.data(STREAM, 512 * 1024 - 1024 + 32, 992); // ends past it: dropped and counted
    expect(counters.get(Counter.FLOW_CONTROL_OVER_RUNS)).toBe(1);
    expect(counters.get(Counter.DATA_FRAMES_RECEIVED)).toBe(2);
  });
});

describe("item 3, property: a frame is taken exactly when it ends within SM position + termLength / 2", () => {
  test.prop([fc.integer({ min: 16, max: 22 }), fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 1, max: 1376 })])(
    "any term length, offset and payload",
    (shift, rawOffset, payload) => {
      const termLength = 2 ** shift;
      const frameLength = (32 + payload + 31) & ~31;
      const termOffset = (rawOffset % (termLength - frameLength + 32)) & ~31;
      if (termOffset + frameLength > termLength) return;
      const r = new CraftedSender();
      r.subscribe(UNICAST, STREAM);
      r.nowNs = MS;
      r.setup(STREAM, { termLength });
      r.data(STREAM, termOffset, payload);
      const taken = r.engine.counters.get(Counter.DATA_FRAMES_RECEIVED) === 1;
      expect(taken).toBe(termOffset + frameLength <= termLength / 2);
      expect(r.engine.counters.get(Counter.FLOW_CONTROL_OVER_RUNS)).toBe(taken ? 0 : 1);
    },
  );
});

describe("item 4: a closing subscription sends SMs with the EOS flag", () => {
  for (const [name, channel, ip, port] of [
    ["unicast, to the sender's address", UNICAST, SENDER_IP, SENDER_PORT],
    ["multicast, to the control group", MULTICAST, parseIpv4("224.0.1.2"), 40502],
  ] as const) {
    it(name, () => {
      const r = new CraftedSender();
      const sub = r.subscribe(channel, STREAM);
      r.nowNs = MS;
      r.setup(STREAM);
      r.data(STREAM, 0, 100);
      r.runUntil(50 * MS);
      expect(countMessages(sub)).toBe(1);
      const before = r.sentOfType(HDR_TYPE_SM);
      expect(before.length).toBeGreaterThan(0);
      expect(before.every((s) => (s.flags & SM_EOS_FLAG) === 0)).toBe(true);
      const closedAt = r.nowNs;
      sub.close();
      r.flush();
      r.runUntil(closedAt + 3000 * MS);
      const eos = r.sentOfType(HDR_TYPE_SM, closedAt);
      // Aeron: the first at once (PublicationImage.deactivate), then one per SM interval for
      // 5 intervals (SM_EOS_MULTIPLE) while DRAINING, then none.
      expect(eos[0]!.atNs).toBe(closedAt);
      expect(eos.every((s) => (s.flags & SM_EOS_FLAG) !== 0 && s.ip === ip && s.port === port)).toBe(true);
      expect(eos.every((s) => s.view.getInt32(8, true) === SESSION && s.view.getInt32(12, true) === STREAM)).toBe(true);
      expect(eos.length).toBe(6);
      expect(eos[eos.length - 1]!.atNs - closedAt).toBe(1000 * MS);
      // The socket stayed open while the image drained, and closes after.
      expect(r.closedEndpointIds).toEqual([r.endpointIds[0]]);
      expect(r.engine.counters.get(Counter.IMAGES_ACTIVE)).toBe(0);
      expect(r.engine.images.length).toBe(0);
    });
  }

  it("an image that reached end of stream sends EOS SMs for 5 SM intervals, then goes", () => {
    const r = new CraftedSender();
    const sub = r.subscribe(UNICAST, STREAM);
    r.nowNs = MS;
    r.setup(STREAM);
    r.data(STREAM, 0, 100);
    r.heartbeat(STREAM, 160, { eos: true });
    r.runUntil(20_000 * MS, () => countMessages(sub));
    const eos = r.sent.filter((s) => s.type === HDR_TYPE_SM && (s.flags & SM_EOS_FLAG) !== 0);
    // As Aeron (checkEosForDrainTransition, then DRAINING for SM_EOS_MULTIPLE intervals), not until
    // the liveness timeout.
    expect(eos.length).toBe(6);
    expect(eos[eos.length - 1]!.atNs - eos[0]!.atNs).toBe(1000 * MS);
    expect(r.engine.images.length).toBe(0);
    expect(r.engine.counters.get(Counter.IMAGES_TIMED_OUT)).toBe(0);
  });

  it("data for a draining image elicits nothing and a new subscription gets a new image", () => {
    const r = new CraftedSender();
    const sub = r.subscribe(UNICAST, STREAM);
    r.nowNs = MS;
    r.setup(STREAM);
    r.runUntil(10 * MS);
    sub.close();
    r.runUntil(20 * MS);
    const setupRequests = () => r.sent.filter((s) => s.type === HDR_TYPE_SM && (s.flags & SM_SEND_SETUP_FLAG) !== 0).length;
    r.data(STREAM, 0, 100);
    expect(setupRequests()).toBe(0);
    const again = r.subscribe(UNICAST, STREAM);
    r.setup(STREAM);
    expect(again.images.length).toBe(1);
    expect(r.closedEndpointIds).toEqual([]);
  });
});

describe("item 6: RTTM replies are filtered by receiver id", () => {
  it("takes its own (or 0) and drops another receiver's, counted", () => {
    const r = new CraftedSender();
    r.subscribe(`${MULTICAST}|cc=cubic`, STREAM);
    r.nowNs = MS;
    r.setup(STREAM);
    r.runUntil(2 * MS);
    const request = r.sentOfType(HDR_TYPE_RTTM)[0]!;
    const echoNs = Number(request.view.getBigInt64(16, true));
    const ownLo = request.view.getInt32(32, true);
    const ownHi = request.view.getInt32(36, true);
    const counters = r.engine.counters;
    r.nowNs = 3 * MS;
    r.rttmReply(STREAM, echoNs, ownLo ^ 1, ownHi);
    expect(counters.get(Counter.RTTM_REPLIES_OTHER_RECEIVER)).toBe(1);
    r.rttmReply(STREAM, echoNs, ownLo, ownHi);
    r.rttmReply(STREAM, echoNs, 0, 0);
    expect(counters.get(Counter.RTTM_REPLIES_OTHER_RECEIVER)).toBe(1);
    expect(counters.get(Counter.RTTM_REPLIES_DROPPED)).toBe(0);
  });
});

describe("item 7: reliable=false fills a gap only after the NAK delay", () => {
  it("a frame that arrives late but within the NAK delay is delivered, not lost", () => {
    const r = new CraftedSender();
    const sub = r.subscribe(`${UNICAST}|reliable=false`, STREAM);
    r.nowNs = MS;
    r.setup(STREAM);
    r.data(STREAM, 0, 992);
    r.data(STREAM, 2048, 992); // gap [1024, 2048)
    r.runUntil(MS + 50_000); // half the 100 µs unicast NAK delay
    r.data(STREAM, 1024, 992);
    r.runUntil(5 * MS);
    expect(countMessages(sub)).toBe(3);
    expect(r.engine.counters.get(Counter.LOSS_GAP_FILLS)).toBe(0);
  });

  test.prop([fc.array(fc.integer({ min: 0, max: 99_999 }), { minLength: 2, maxLength: 24 })])(
    "property: frames arriving in any order, each within the NAK delay of the first, are all delivered, none filled",
    (delaysNs) => {
      const r = new CraftedSender();
      const sub = r.subscribe(`${UNICAST}|reliable=false`, STREAM);
      r.nowNs = MS;
      r.setup(STREAM);
      // Frame i (1 KiB) arrives at 1 ms + delaysNs[i]: any order, all within 100 µs of the first.
      const order = delaysNs.map((d, i) => [d, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      for (const [delay, i] of order) {
        r.runUntil(MS + delay);
        r.data(STREAM, i * 1024, 992);
      }
      r.runUntil(10 * MS);
      expect(countMessages(sub)).toBe(delaysNs.length);
      expect(r.engine.counters.get(Counter.LOSS_GAP_FILLS)).toBe(0);
    },
  );

  it("a gap still there when the NAK delay expires is filled (no NAK), and the stream goes on", () => {
    const r = new CraftedSender();
    const sub = r.subscribe(`${UNICAST}|reliable=false`, STREAM);
    r.nowNs = MS;
    r.setup(STREAM);
    r.data(STREAM, 0, 992);
    r.data(STREAM, 2048, 992);
    r.runUntil(MS + 99_999);
    expect(r.engine.counters.get(Counter.LOSS_GAP_FILLS)).toBe(0);
    r.runUntil(MS + 100_000);
    expect(r.engine.counters.get(Counter.LOSS_GAP_FILLS)).toBe(1);
    r.runUntil(5 * MS);
    expect(countMessages(sub)).toBe(2);
    expect(r.sentOfType(HDR_TYPE_NAK).length).toBe(0);
  });
});

/** A random source whose doubles are all 0.5: the multicast NAK delay is then a fixed ~8 ms. */
const halfRandom: RandomSource = { nextUint32: () => 0x2468ace0, nextDouble: () => 0.5 };

/** When the first NAK goes out after a gap appears at 1 ms, in ns after it. */
function nakDelayNs(channel: string, setupFlags: number): number {
  const r = new CraftedSender({}, halfRandom);
  r.subscribe(channel, STREAM);
  r.nowNs = MS;
  r.setup(STREAM, { flags: setupFlags });
  r.data(STREAM, 0, 992);
  r.data(STREAM, 2048, 992);
  r.runUntil(50 * MS);
  return r.sentOfType(HDR_TYPE_NAK)[0]!.atNs - MS;
}

describe("item 9: the GROUP flag", () => {
  it("Petrel sets GROUP in SETUP for multicast and MDC, not for unicast", () => {
    const flagsOf = (channel: string, destination?: string): number => {
      const engine = new Engine({ random: new Prng(3) });
      const publication = engine.addPublication(channel, STREAM);
      if (destination !== undefined) publication.addDestination(destination);
      const batch = new TransmitBatch(16, 2048);
      engine.pollTransmit(0, batch);
      for (let i = 0; i < batch.count; i++) {
        const offset = batch.slotOffset(i);
        if (batch.view.getUint16(offset + 6, true) === HDR_TYPE_SETUP) return batch.view.getUint8(offset + 5);
      }
      throw new Error(`no SETUP for ${channel}`);
    };
    expect(flagsOf("aeron:udp?endpoint=127.0.0.1:40510")).toBe(0);
    expect(flagsOf("aeron:udp?endpoint=224.0.1.1:40511|interface=127.0.0.1")).toBe(SETUP_GROUP_FLAG);
    expect(flagsOf("aeron:udp?control=127.0.0.1:40512|control-mode=manual", "aeron:udp?endpoint=127.0.0.1:40513")).toBe(SETUP_GROUP_FLAG);
    expect(flagsOf("aeron:udp?control=127.0.0.1:40514|control-mode=dynamic|endpoint=127.0.0.1:40515")).toBe(SETUP_GROUP_FLAG);
  });

  it("the receiver picks multicast NAK delays from GROUP, unless group= on its channel says otherwise", () => {
    const unicastDelay = 100_000;
    const multicastDelay = nakDelayNs(`${UNICAST}|group=true`, 0);
    // (T/λ)·ln(1 + 0.5·(e^λ − 1)) with T = 10 ms, λ = ln 10 + 1.
    expect(multicastDelay).toBeGreaterThan(7 * MS);
    expect(multicastDelay).toBeLessThan(9 * MS);
    expect(nakDelayNs(UNICAST, 0)).toBe(unicastDelay);
    expect(nakDelayNs(UNICAST, SETUP_GROUP_FLAG)).toBe(multicastDelay);
    expect(nakDelayNs(`${UNICAST}|group=false`, SETUP_GROUP_FLAG)).toBe(unicastDelay);
    expect(nakDelayNs(MULTICAST, 0)).toBe(multicastDelay);
    expect(nakDelayNs(`${MULTICAST}|group=false`, 0)).toBe(unicastDelay);
  });
});

describe("item 10: rejoin cool-down", () => {
  function timedOut(channel: string): CraftedSender {
    const r = new CraftedSender();
    r.subscribe(channel, STREAM);
    r.nowNs = MS;
    r.setup(STREAM);
    r.data(STREAM, 0, 100);
    r.runUntil(MS + 10_000 * MS); // the sender went silent: liveness timeout (10 s)
    expect(r.engine.counters.get(Counter.IMAGES_TIMED_OUT)).toBe(1);
    return r;
  }

  it("a timed-out session's SETUPs and data are ignored for the cool-down (5 SM intervals), then it rejoins", () => {
    const r = timedOut(UNICAST);
    const counters = r.engine.counters;
    const removedAt = r.nowNs;
    const requestsBefore = counters.get(Counter.STATUS_MESSAGES_SETUP_REQUESTED);
    r.heartbeat(STREAM, 128);
    r.setup(STREAM);
    expect(counters.get(Counter.IMAGES_CREATED)).toBe(1);
    expect(counters.get(Counter.STATUS_MESSAGES_SETUP_REQUESTED)).toBe(requestsBefore);
    expect(counters.get(Counter.FRAMES_DROPPED_COOL_DOWN)).toBe(2);
    r.runUntil(removedAt + 999 * MS);
    r.setup(STREAM);
    expect(counters.get(Counter.IMAGES_CREATED)).toBe(1);
    r.runUntil(removedAt + 1000 * MS);
    r.setup(STREAM);
    expect(counters.get(Counter.IMAGES_CREATED)).toBe(2);
  });

  it("rejoin=false keeps the session out for as long as the subscription lasts", () => {
    const r = timedOut(`${UNICAST}|rejoin=false`);
    r.runUntil(r.nowNs + 60_000 * MS);
    r.setup(STREAM);
    r.heartbeat(STREAM, 128);
    expect(r.engine.counters.get(Counter.IMAGES_CREATED)).toBe(1);
    // Another session of the stream is welcome.
    r.setup(STREAM, { session: SESSION + 1 });
    expect(r.engine.counters.get(Counter.IMAGES_CREATED)).toBe(2);
  });

  it("an image that ended with end of stream puts nothing on cool-down", () => {
    const r = new CraftedSender();
    const sub = r.subscribe(UNICAST, STREAM);
    r.nowNs = MS;
    r.setup(STREAM);
    r.heartbeat(STREAM, 0, { eos: true });
    r.runUntil(MS + 10_000 * MS);
    countMessages(sub);
    r.runUntil(MS + 20_000 * MS);
    expect(r.engine.images.length).toBe(0);
    r.setup(STREAM);
    expect(r.engine.counters.get(Counter.IMAGES_CREATED)).toBe(2);
  });
});

describe("item 10: gtag on SETUP requests", () => {
  it("the SETUP-eliciting SM carries the subscription's group tag", () => {
    const r = new CraftedSender();
    r.subscribe(`${UNICAST}|gtag=99`, STREAM);
    r.nowNs = MS;
    r.heartbeat(STREAM, 0);
    const request = r.sent.find((s) => s.type === HDR_TYPE_SM && (s.flags & SM_SEND_SETUP_FLAG) !== 0)!;
    expect(request.bytes.length).toBe(SM_WITH_GROUP_TAG_LENGTH);
    expect(request.view.getBigInt64(36, true)).toBe(99n);
  });
});

describe("item 10: a late subscriber joins at the slowest subscriber's position", () => {
  it("sees every message the existing subscriber has yet to read", () => {
    const r = new CraftedSender();
    const first = r.subscribe(UNICAST, STREAM);
    r.nowNs = MS;
    r.setup(STREAM);
    for (let i = 0; i < 5; i++) r.data(STREAM, i * 128, 96);
    r.runUntil(2 * MS);
    const late = r.subscribe(UNICAST, STREAM);
    expect(late.images[0]!.joinPosition).toBe(0);
    expect(countMessages(late)).toBe(5);
    expect(countMessages(first)).toBe(5);
  });
});

/** A congestion control whose window the test sets. */
class SettableWindow implements CongestionControl {
  window = 65536;
  shouldMeasureRtt(): boolean {
    return false;
  }
  onRttMeasurementSent(): void {}
  onRttMeasurement(): void {}
  onTrackRebuild(): number {
    return packCongestionOutcome(this.window, false);
  }
  initialWindowLength(): number {
    return 65536;
  }
  receiverWindowLength(): number {
    return this.window;
  }
  nextDeadlineNs(): number {
    return NO_DEADLINE_NS;
  }
}

describe("item 10: an SM on a receiver window change", () => {
  it("goes out at once when congestion control changes the window, before the SM timer", () => {
    const cc = new SettableWindow();
    const config = resolveEngineConfig({});
    const image = new PublicationImage({
      sessionId: SESSION, streamId: STREAM, endpointId: 1, controlIp: SENDER_IP, controlPort: SENDER_PORT, initialTermId: INITIAL_TERM_ID,
      activeTermId: INITIAL_TERM_ID, termOffset: 0, termLength: 65536, mtu: 1408, receiverIdLo: 1, receiverIdHi: 2, hasGroupTag: false,
      groupTagLo: 0, groupTagHi: 0, reliable: true, congestionControl: cc, nakDelay: new StaticDelayGenerator(100_000), config,
      counters: new Counters(), nowNs: 0, log: ImageLog.create(65536, false)!,
    });
    const batch = new TransmitBatch(8, 2048);
    const frame = new Uint8Array(64);
    const view = new DataView(frame.buffer);
    const deliver = (nowNs: number, termOffset: number): number => {
      writeDataHeader(view, 0, 64, 0xc0, HDR_TYPE_DATA, termOffset, SESSION, STREAM, INITIAL_TERM_ID, 0, 0);
      image.onDataFrame(nowNs, view, frame, 0, 64, HDR_TYPE_DATA);
      batch.clear();
      image.pollTransmit(nowNs, batch);
      return batch.count;
    };
    batch.clear();
    image.pollTransmit(0, batch);
    expect(batch.count).toBe(1); // the first SM
    expect(deliver(1 * MS, 0)).toBe(0); // same window, timer not due
    cc.window = 32768;
    expect(deliver(2 * MS, 64)).toBe(1);
    expect(batch.view.getInt32(batch.slotOffset(0) + 24, true)).toBe(32768);
    expect(deliver(3 * MS, 128)).toBe(0);
  });
});
