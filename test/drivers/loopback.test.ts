// Goal: over real UDP sockets on 127.0.0.1, two engines joined by the sockets driver and the runtime
// agent deliver a stream of 10^6 mixed-size messages complete, in order and byte-identical, even
// with 5% of received datagrams dropped by a seeded filter between driver and engine; the protocol's
// counters show the repair (NAKs sent and received, retransmits). The same holds, on a smaller
// stream, with GSO/GRO turned off and on the node:dgram fallback driver. Garbage and the hostile
// frames of issue #11 (test/hostile/hostileFrames.ts) sent at a live stream are counted, never
// accepted or thrown on, and the stream keeps flowing.
import * as dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { Engine } from "../../src/core/engine/engine.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import type { DriverOptions } from "../../src/drivers/driver.js";
import type { FragmentHeader } from "../../src/core/logbuffer/fragmentHeader.js";
import { Prng } from "../../src/sim/prng.js";
import {
  attackBigTermSetup,
  attackNakToTermEnd,
  attackRttmUnsafeEcho,
  attackSpoofedData,
  attackSpoofedEos,
  attackSpoofedSm,
  pinnedChannel,
  SOURCE_PINNING,
  UNSAFE_I64_HALVES,
} from "../hostile/hostileFrames.js";
import { freeUdpPort, streamCount, streamTimeoutMs, messageLengths, offerSome, protocolCounters, SeededDropFilter, STREAM_ID, StreamChecker } from "./streamSupport.js";

const SEED = Number(process.env["PETREL_SEED"] ?? 20261124);
const replay = `replay: PETREL_SEED=${SEED} npx vitest run test/drivers/loopback.test.ts`;

const runtimes: EngineRuntime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) {
    runtime.engine.close();
    runtime.doWork();
    await runtime.close();
  }
});

interface StreamCase {
  readonly count: number;
  readonly lossPerMille: number;
  readonly driver: DriverOptions & { prefer?: "auto" | "native" | "dgram" };
  readonly wallMs: number;
  /** Called every 64 cycles with the number of messages received so far (the test's side work). */
  readonly onProgress?: (received: number, live: LiveStreamInfo) => void;
  /** The channel for a port (default: unicast to 127.0.0.1). */
  readonly channel?: (port: number) => string;
  /**
   * Check only the live publication's session and count messages of any other session apart (in
   * `foreignMessages`) instead of failing on them: the hostile garbage test announces sessions.
   */
  readonly liveSessionOnly?: boolean;
}

/** Where the live stream is, for a test that attacks it. */
interface LiveStreamInfo {
  readonly subscriberPort: number;
  /** The publisher's send socket (ephemeral port), where SMs, NAKs and RTTM requests go. */
  readonly publisherPort: number;
  readonly sessionId: number;
  readonly termLength: number;
  /** The term and offset the publisher is sending at now. */
  readonly activeTermId: number;
  readonly termOffset: number;
}

/** Udp RcvbufErrors from /proc/net/snmp: datagrams the kernel dropped because a receive buffer was full. */
function udpRcvbufErrors(): number {
  const lines = readFileSync("/proc/net/snmp", "utf8").split("\n").filter((line) => line.startsWith("Udp:"));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const index = names.indexOf("RcvbufErrors");
  return index < 0 ? 0 : Number(values[index]);
}

async function runLoopbackStream(seed: number, c: StreamCase) {
  const port = await freeUdpPort();
  const channel = c.channel?.(port) ?? `aeron:udp?endpoint=127.0.0.1:${port}|term-length=1m`;
  const prng = new Prng(seed);
  const publisherEngine = new Engine({ random: prng.fork("publisher") });
  const subscriberEngine = new Engine({ random: prng.fork("subscriber") });
  const publisherDrop = new SeededDropFilter(seed + 1, c.lossPerMille, 1000);
  const subscriberDrop = new SeededDropFilter(seed + 2, c.lossPerMille, 1000);
  const pub = new EngineRuntime(publisherEngine, createSocketsDriver(c.driver), c.lossPerMille > 0 ? { receiveFilter: publisherDrop } : {});
  const sub = new EngineRuntime(subscriberEngine, createSocketsDriver(c.driver), c.lossPerMille > 0 ? { receiveFilter: subscriberDrop } : {});
  runtimes.push(pub, sub);
  const subscription = subscriberEngine.addSubscription(channel, STREAM_ID);
  sub.doWork();
  await sub.driver.ready();
  const publication = publisherEngine.addPublication(channel, STREAM_ID);
  pub.doWork();
  await pub.driver.ready();

  const lengths = messageLengths(seed, c.count);
  const checker = new StreamChecker(lengths);
  let foreignMessages = 0;
  const liveHandler = (buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void => {
    if (header.sessionId === publication.sessionId) checker.handler(buffer, offset, length);
    else foreignMessages++;
  };
  const drain = (): void => {
    if (c.liveSessionOnly !== true) {
      checker.drain(subscription);
      return;
    }
    // Bounded: 64 polls of up to 1024 fragments, as StreamChecker.drain.
    for (let k = 0; k < 64 && subscription.poll(liveHandler, 1024) > 0; k++) {
      /* drain */
    }
  };
  const liveInfo = (): LiveStreamInfo => {
    const sendEndpoint = publisherEngine.endpoints().find((e) => e.role === "send");
    const network = publisherEngine.publications[0];
    const position = network?.senderPosition ?? 0;
    const termLength = network?.termLength ?? 1 << 20;
    return {
      subscriberPort: port,
      publisherPort: sendEndpoint === undefined ? 0 : (pub.endpoint(sendEndpoint.id)?.localPort ?? 0),
      sessionId: publication.sessionId,
      termLength,
      activeTermId: ((network?.initialTermId ?? 0) + Math.floor(position / termLength)) | 0,
      termOffset: position & (termLength - 1),
    };
  };
  const scratch = new Uint8Array(8192);
  const needsLoop = pub.driver.needsEventLoop;
  let sent = 0;
  const started = performance.now();
  let cycles = 0;
  // Bounded by the wall-clock budget.
  while (checker.received < c.count && checker.failures.length === 0) {
    sent = offerSome(publication, lengths, sent, c.count, scratch, 256);
    pub.doWork();
    sub.doWork();
    drain();
    if (++cycles % 64 === 0) {
      if (performance.now() - started > c.wallMs) break;
      c.onProgress?.(checker.received, liveInfo());
      // node:dgram (the fallback driver, and the garbage sender) moves datagrams only while the
      // event loop turns.
      if (needsLoop || c.onProgress !== undefined) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const elapsedMs = performance.now() - started;
  return { checker, sent, elapsedMs, pub, sub, publisherDrop, subscriberDrop, publisherEngine, subscriberEngine, foreignMessages, drain };
}

describe("loopback stream over the sockets driver", () => {
  it("delivers 10^6 mixed-size messages in order with 5% receive loss; NAKs and retransmits repair it", async () => {
    const count = 1_000_000;
    const r = await runLoopbackStream(SEED, { count, lossPerMille: 50, driver: { prefer: "auto" }, wallMs: 100_000 });
    const publisher = protocolCounters(r.publisherEngine);
    const subscriber = protocolCounters(r.subscriberEngine);
    console.log(`10^6 messages in ${r.elapsedMs.toFixed(0)} ms (${r.pub.driver.kind}); dropped ${r.subscriberDrop.dropped} at the subscriber, ` +
      `${r.publisherDrop.dropped} at the publisher; publisher ${JSON.stringify(publisher)}; subscriber ${JSON.stringify(subscriber)}; ` +
      `driver ${JSON.stringify(r.pub.driver.stats())}`);
    expect(r.checker.failures, replay).toEqual([]);
    expect(r.checker.received, replay).toBe(count);
    expect(r.subscriberDrop.dropped).toBeGreaterThan(0);
    expect(subscriber.naksSent).toBeGreaterThan(0);
    expect(publisher.naksReceived).toBeGreaterThan(0);
    expect(publisher.retransmitsSent).toBeGreaterThan(0);
    expect(subscriber.invalidPackets).toBe(0);
  });

  it("delivers 10^5 messages with 5% loss with GSO and GRO turned off (plain sendmmsg/recvmmsg)", async () => {
    const count = 100_000;
    const r = await runLoopbackStream(SEED + 1, { count, lossPerMille: 50, driver: { prefer: "auto", gso: false, gro: false }, wallMs: 60_000 });
    expect(r.checker.failures, replay).toEqual([]);
    expect(r.checker.received, replay).toBe(count);
    expect(r.pub.driver.stats().gsoSends).toBe(0);
    expect(r.sub.driver.stats().groReceives).toBe(0);
    expect(protocolCounters(r.publisherEngine).retransmitsSent).toBeGreaterThan(0);
  });

  it("delivers 2x10^4 messages with 5% loss on the node:dgram fallback driver", async () => {
    const count = 20_000;
    const r = await runLoopbackStream(SEED + 2, { count, lossPerMille: 50, driver: { prefer: "dgram" }, wallMs: 60_000 });
    expect(r.pub.driver.kind).toBe("dgram");
    expect(r.checker.failures, replay).toEqual([]);
    expect(r.checker.received, replay).toBe(count);
    expect(protocolCounters(r.subscriberEngine).naksSent).toBeGreaterThan(0);
  });

  it("drops and counts garbage and issue #11's attack frames sent at a live stream while it keeps flowing", async () => {
    // Random garbage at the subscriber (invalid by construction), and the attacks of issue #11
    // from a third-party socket: RTTM requests with echo timestamps outside +-2^53 at the
    // publisher (1), SETUPs with 1 GiB terms joining 64 B before the end, each followed by the
    // DATA frame that fills them (2, 3), NAKs up to the term end and SMs with a huge window at the
    // publisher (4, 7), spoofed DATA and EOS at the subscriber (7). The live-session spoofs carry
    // the live session id only when the channel is source-pinned (SOURCE_PIN_PARAM): without it
    // Aeron's rules accept them from anyone, so they go with another session id.
    const count = 200_000;
    const attacker = dgram.createSocket("udp4");
    const garbage = new Prng(SEED + 3).fork("garbage");
    let garbageSent = 0;
    const attacks = { rttm: 0, setups: 0, setupData: 0, naks: 0, sms: 0, spoofData: 0, spoofEos: 0 };
    let attackRounds = 0;
    const rcvbufErrorsBefore = udpRcvbufErrors();
    const rssBefore = process.memoryUsage.rss();
    let peakRssGrowth = 0;
    const sendGarbage = (port: number): void => {
      for (let k = 0; k < 100 && garbageSent < 2000; k++) {
        const length = garbage.intRange(1, 300);
        const bytes = new Uint8Array(length);
        for (let i = 0; i < length; i++) bytes[i] = garbage.intBelow(256);
        // A frame length that overruns the datagram (or a datagram too short for any header):
        // invalid by construction, whatever the random type field says.
        if (length >= 8) new DataView(bytes.buffer).setInt32(0, length + 1 + garbage.intBelow(1000), true);
        attacker.send(bytes, port, "127.0.0.1");
        garbageSent++;
      }
    };
    // One round of every attack; 16 rounds in all, spread over the stream.
    const sendAttacks = (live: LiveStreamInfo): void => {
      if (attackRounds >= 16 || live.publisherPort === 0) return;
      attackRounds++;
      const session = SOURCE_PINNING ? live.sessionId : live.sessionId ^ 0x5a5a0001;
      for (const halves of UNSAFE_I64_HALVES) {
        attacker.send(attackRttmUnsafeEcho(live.sessionId, STREAM_ID, halves), live.publisherPort, "127.0.0.1");
        attacks.rttm++;
      }
      // Two fresh hostile sessions per round (32 in all): each SETUP used to commit 3 GiB and,
      // once read past, zero a whole 1 GiB term.
      for (let k = 0; k < 2; k++) {
        const [setup, data] = attackBigTermSetup(garbage.nextUint32() | 0, STREAM_ID);
        attacker.send(setup, live.subscriberPort, "127.0.0.1");
        attacker.send(data, live.subscriberPort, "127.0.0.1");
        attacks.setups++;
        attacks.setupData++;
      }
      attacker.send(attackNakToTermEnd(session, STREAM_ID, live.activeTermId, live.termLength), live.publisherPort, "127.0.0.1");
      attacks.naks++;
      attacker.send(attackSpoofedSm(session, STREAM_ID, live.activeTermId, live.termOffset), live.publisherPort, "127.0.0.1");
      attacks.sms++;
      attacker.send(attackSpoofedData(session, STREAM_ID, live.activeTermId, live.termOffset + 4096), live.subscriberPort, "127.0.0.1");
      attacks.spoofData++;
      attacker.send(attackSpoofedEos(session, STREAM_ID, live.activeTermId, live.termOffset), live.subscriberPort, "127.0.0.1");
      attacks.spoofEos++;
    };
    try {
      const r = await runLoopbackStream(SEED + 3, {
        count,
        lossPerMille: 0,
        driver: { prefer: "auto" },
        wallMs: 60_000,
        liveSessionOnly: true,
        channel: (port) => pinnedChannel(`aeron:udp?endpoint=127.0.0.1:${port}|term-length=1m`),
        onProgress: (received, live) => {
          // Memory is checked as the attack goes: the 1 GiB SETUPs used to add 1 GiB of RSS each.
          const growth = process.memoryUsage.rss() - rssBefore;
          peakRssGrowth = Math.max(peakRssGrowth, growth);
          if (growth > 512 * 1024 * 1024) throw new Error(`RSS grew ${(growth / 1048576).toFixed(0)} MiB under attack (bound 512 MiB)`);
          if (received > 1000) sendGarbage(live.subscriberPort);
          if (received > 1000 + attackRounds * 10_000) sendAttacks(live);
        },
      });
      const toSubscriber = attacks.setups + attacks.setupData + attacks.spoofData + attacks.spoofEos;
      const toPublisher = attacks.rttm + attacks.naks + attacks.sms;
      const invalidBeforeEnd = r.subscriberEngine.counters.get(Counter.INVALID_PACKETS);
      // Let the last garbage land and be counted (up to 2 s: the ASan build is slow).
      for (let k = 0; k < 1000 && r.subscriberEngine.counters.get(Counter.INVALID_PACKETS) < garbageSent; k++) {
        r.sub.doWork();
        r.pub.doWork();
        r.drain();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const subscriber = r.subscriberEngine.counters;
      const publisher = r.publisherEngine.counters;
      const kernelDrops = udpRcvbufErrors() - rcvbufErrorsBefore;
      console.log(`garbage ${garbageSent}, attacks ${JSON.stringify(attacks)} in ${attackRounds} rounds (source pinning ` +
        `${SOURCE_PINNING ? "on" : "off"}); peak RSS growth ${(peakRssGrowth / 1048576).toFixed(0)} MiB; kernel drops ${kernelDrops}; ` +
        `foreign messages ${r.foreignMessages}; subscriber ${JSON.stringify(protocolCounters(r.subscriberEngine))}, images created ` +
        `${subscriber.get(Counter.IMAGES_CREATED)}, setups received ${subscriber.get(Counter.SETUPS_RECEIVED)}; publisher rttm received ` +
        `${publisher.get(Counter.RTTM_RECEIVED)}, unknown session frames ${publisher.get(Counter.UNKNOWN_SESSION_FRAMES)}`);
      expect(r.checker.failures, replay).toEqual([]);
      expect(r.checker.received, replay).toBe(count);
      expect(garbageSent).toBe(2000);
      expect(attackRounds).toBe(16);
      // The garbage arrived while the stream was still flowing, not after it.
      expect(invalidBeforeEnd).toBeGreaterThan(0);
      // Every garbage datagram that reached the socket is counted once: none accepted, none twice.
      // UDP may still lose one to a full receive buffer (seen once under ASan); the kernel counts
      // those in Udp RcvbufErrors, so only the drops it reports may be missing. Refused attack
      // frames may be counted as invalid too, so the upper bound allows them.
      const invalid = subscriber.get(Counter.INVALID_PACKETS);
      expect(invalid).toBeLessThanOrEqual(garbageSent + toSubscriber);
      expect(invalid, `kernel dropped ${kernelDrops} UDP datagrams for full buffers`).toBeGreaterThanOrEqual(garbageSent - kernelDrops);
      expect(publisher.get(Counter.INVALID_PACKETS)).toBeLessThanOrEqual(toPublisher);
      // The attack frames were counted where they arrived...
      expect(subscriber.get(Counter.SETUPS_RECEIVED)).toBeGreaterThanOrEqual(attacks.setups - kernelDrops);
      expect(publisher.get(Counter.RTTM_RECEIVED)).toBeGreaterThanOrEqual(attacks.rttm - kernelDrops);
      if (!SOURCE_PINNING) {
        // ...the NAKs and SMs (another session) as frames of an unknown session...
        expect(publisher.get(Counter.UNKNOWN_SESSION_FRAMES)).toBeGreaterThanOrEqual(attacks.naks + attacks.sms - kernelDrops);
      }
      // ...and none was accepted: no image for a 1 GiB hostile session (over any sane budget), no
      // message from one, no data beyond the receiver's window after the spoofed SMs. (Retransmits
      // are no sign: loopback UDP drops under load, see kernelDrops, and real NAKs repair it.)
      expect(subscriber.get(Counter.IMAGES_CREATED)).toBe(1);
      expect(r.foreignMessages).toBe(0);
      expect(subscriber.get(Counter.FLOW_CONTROL_OVER_RUNS)).toBe(0);
      expect(peakRssGrowth).toBeLessThan(512 * 1024 * 1024);
    } finally {
      attacker.close();
    }
  });

  const multicastCount = streamCount(100_000);
  it(`delivers ${multicastCount} messages over UDP multicast on the loopback interface (group join, shared port)`, async () => {
    const count = multicastCount;
    const r = await runLoopbackStream(SEED + 4, {
      count,
      lossPerMille: 20,
      driver: { prefer: "auto" },
      wallMs: streamTimeoutMs(count, 300_000),
      channel: (port) => `aeron:udp?endpoint=239.255.90.1:${port}|interface=127.0.0.1|term-length=1m`,
    });
    expect(r.checker.failures, replay).toEqual([]);
    expect(r.checker.received, replay).toBe(count);
    expect(protocolCounters(r.subscriberEngine).naksSent).toBeGreaterThan(0);
  });
});
