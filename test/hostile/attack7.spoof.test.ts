// Goal: issue #11, attack 7 (spoofing, inherited from Aeron's protocol) fails with source pinning,
// Petrel's opt-in channel parameter `source-pin=true`. A pinned unicast publication takes SMs, NAKs
// and RTTM requests only from its endpoint's address (PINNED_CONTROL_MISMATCHES counts the rest);
// a pinned image takes DATA, heartbeats, EOS and RTTM replies only from the address its SETUP came
// from (PINNED_DATA_MISMATCHES). Spoofed SMs no longer inflate the sender's window, spoofed DATA
// delivers no forged message and spoofed EOS ends nothing; the real stream flows, intact. Off (the
// default) Petrel behaves as Aeron does: the spoofed SM moves the sender limit. The parameter
// parses true/false and refuses anything else with an error naming it.
import { describe, expect, it } from "vitest";
import { parseChannelUri } from "../../src/core/channel/channelUri.js";
import { Counter } from "../../src/core/engine/counters.js";
import { ImageState } from "../../src/core/engine/publicationImage.js";
import { ChannelUriError } from "../../src/core/errors.js";
import { AttackPair, ATTACKER_IP, ATTACKER_PORT, PUBLISHER_IP, SUBSCRIBER_IP } from "./attackPair.js";
import { attackNakToTermEnd, attackRttmUnsafeEcho, attackSpoofedData, attackSpoofedEos, attackSpoofedSm } from "./hostileFrames.js";

/** Where the publisher is sending now. */
function live(pair: AttackPair): { termId: number; termOffset: number } {
  const n = pair.network;
  return {
    termId: (n.initialTermId + Math.floor(n.senderPosition / n.termLength)) | 0,
    termOffset: n.senderPosition & (n.termLength - 1),
  };
}

describe("attack 7: spoofing, with source-pin", () => {
  it("parses source-pin=true|false and refuses other values, naming the parameter; not for aeron:ipc", () => {
    expect(parseChannelUri("aeron:udp?endpoint=127.0.0.1:1|source-pin=true").sourcePin).toBe(true);
    expect(parseChannelUri("aeron:udp?endpoint=127.0.0.1:1|source-pin=false").sourcePin).toBe(false);
    expect(parseChannelUri("aeron:udp?endpoint=127.0.0.1:1").sourcePin).toBeUndefined();
    for (const bad of ["yes", "1", "TRUE", ""]) {
      let error: unknown;
      try {
        parseChannelUri(`aeron:udp?endpoint=127.0.0.1:1|source-pin=${bad}`);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ChannelUriError);
      expect(String(error)).toContain("source-pin");
    }
    expect(() => parseChannelUri("aeron:ipc?source-pin=true")).toThrow(ChannelUriError);
  });

  it("a pinned publication drops and counts SMs, NAKs and RTTM requests from anyone but its endpoint", () => {
    const pair = new AttackPair({ params: "term-length=64k|source-pin=true" });
    pair.stream(200 * 1024);
    const sessionId = pair.publication.sessionId;
    const limitBefore = pair.network.senderLimit;
    const { termId, termOffset } = live(pair);
    const third = [[ATTACKER_IP, ATTACKER_PORT], [SUBSCRIBER_IP, ATTACKER_PORT], [PUBLISHER_IP, 20121]] as const;
    for (const [ip, port] of third) {
      pair.toPublisher(attackSpoofedSm(sessionId, 1001, termId, termOffset), ip, port);
      pair.toPublisher(attackNakToTermEnd(sessionId, 1001, termId, 64 * 1024), ip, port);
      pair.toPublisher(attackRttmUnsafeEcho(sessionId, 1001), ip, port);
    }
    expect(pair.publisherCounter(Counter.PINNED_CONTROL_MISMATCHES)).toBe(9);
    expect(pair.network.senderLimit).toBe(limitBefore);
    expect(pair.drainPublisher().filter((d) => d.length === 40 && d[6] === 0x06)).toHaveLength(0);
    expect(pair.retransmittedBytes).toBe(0);
    // The real receiver's SMs still count: the stream flows and completes.
    pair.stream(200 * 1024);
    expect(pair.corrupt).toBe(0);
    expect(pair.publisherCounter(Counter.FLOW_CONTROL_OVER_RUNS)).toBe(0);
    expect(pair.subscriberCounter(Counter.FLOW_CONTROL_OVER_RUNS)).toBe(0);
  });

  it("a pinned image drops and counts DATA and EOS from anyone but its SETUP's source", () => {
    const pair = new AttackPair({ params: "term-length=64k|source-pin=true" });
    pair.stream(100 * 1024);
    const sessionId = pair.publication.sessionId;
    const image = pair.image!;
    expect([image.sourceIp, image.sourcePort, image.sourcePinned]).toEqual([PUBLISHER_IP, 40000, true]);
    for (let i = 0; i < 8; i++) {
      const { termId, termOffset } = live(pair);
      // A forged message just ahead of the stream, and an EOS at the current position.
      pair.toSubscriber(attackSpoofedData(sessionId, 1001, termId, termOffset));
      pair.toSubscriber(attackSpoofedData(sessionId, 1001, termId, termOffset + 1056 * 2), PUBLISHER_IP, 40001);
      pair.toSubscriber(attackSpoofedEos(sessionId, 1001, termId, termOffset));
      pair.stream(8 * 1024);
    }
    expect(pair.subscriberCounter(Counter.PINNED_DATA_MISMATCHES)).toBe(24);
    expect(image.state).toBe(ImageState.ACTIVE);
    expect(image.endOfStreamPosition).toBe(-1);
    pair.stream(100 * 1024);
    expect(pair.corrupt).toBe(0);
  });

  it("without source-pin (the default, as in Aeron) a spoofed SM moves the sender limit", () => {
    const pair = new AttackPair({ params: "term-length=64k" });
    pair.stream(100 * 1024);
    const limitBefore = pair.network.senderLimit;
    const { termId, termOffset } = live(pair);
    pair.toPublisher(attackSpoofedSm(pair.publication.sessionId, 1001, termId, termOffset));
    expect(pair.network.senderLimit).toBeGreaterThan(limitBefore);
    expect(pair.publisherCounter(Counter.PINNED_CONTROL_MISMATCHES)).toBe(0);
  });
});
