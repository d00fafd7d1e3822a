// Goal: issue #11, attack 4. A third party NAKing a live unicast publication (16 MiB terms, NAKs
// asking to the term end at 10,000/s) gets no more retransmission than Aeron's rules allow:
//  - one resend per NAK at most, of at most min(length, termLength - offset, cap, what was sent)
//    bytes, cap = min(initial receiver window, termLength / 2) x 16 for unicast (2 MiB here);
//  - nothing for a range that starts below the resend window (senderPosition - termLength / 2 -
//    maxMessageLength), counted in RETRANSMITS_OUTSIDE_WINDOW;
//  - one retransmit action for unicast: a repeat of the same NAK is coalesced for the linger
//    (10 ms), so a fixed-offset flood costs one capped resend per linger.
// The bounds are computed from those rules and the attack's bytes (28 B per NAK datagram), for
// three patterns (fixed, behind the window, alternating) and, as a property, for any NAK
// sequence (fast-check; the seed prints itself, PETREL_SEED replays it). The stream stays intact.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { DEFAULT_ENGINE_CONFIG } from "../../src/core/config/engineConfig.js";
import { maxRetransmitLengthOf } from "../../src/core/engine/networkPublication.js";
import { StaticDelayGenerator } from "../../src/core/strategy/feedbackDelay.js";
import { NakOutcome, RetransmitHandler, bottomResendWindow } from "../../src/core/strategy/retransmitHandler.js";
import { testSeed } from "../strategy/support/seed.js";
import type { AttackPair } from "./attackPair.js";
import { attackNakToTermEnd, writeRawNak } from "./hostileFrames.js";
import { NAK_BYTES, patternTargets, primedPair, runNakAttack } from "./nakAmplification.js";

const seed = testSeed("attack4.nak");
const TERM_LENGTH = 16 * 1024 * 1024;
const NAKS = 2_000;
const INTERVAL_NS = 100_000; // 10,000 NAKs/s
const LINGER_NS = DEFAULT_ENGINE_CONFIG.retransmitUnicastLingerNs;
const CAP = maxRetransmitLengthOf(TERM_LENGTH, DEFAULT_ENGINE_CONFIG.initialReceiverWindowBytes, "unicast");

/** What Aeron's rules let one NAK cost on this pair (the sender stays put during the attack). */
function allowance(pair: AttackPair, termId: number, termOffset: number, length: number): number {
  const network = pair.network;
  const termLength = network.termLength;
  if (termOffset < 0 || termOffset > termLength - 32 || length <= 0) return 0;
  const position = ((termId - network.initialTermId) | 0) * termLength + termOffset;
  const sender = network.senderPosition;
  if (position >= sender || position < bottomResendWindow(sender, termLength)) return 0;
  return Math.min(length, termLength - termOffset, CAP, sender - position);
}

describe("attack 4: NAK amplification (unicast, 16 MiB terms, 10k NAKs/s from a third party)", () => {
  it("the cap is Aeron's: 16 x min(128 KiB, termLength / 2) for unicast, 4 x for max flow control", () => {
    expect(CAP).toBe(2 * 1024 * 1024);
    expect(maxRetransmitLengthOf(TERM_LENGTH, 128 * 1024, "max")).toBe(512 * 1024);
    expect(maxRetransmitLengthOf(64 * 1024, 128 * 1024, "unicast")).toBe(16 * 32 * 1024);
    expect(bottomResendWindow(100 << 20, TERM_LENGTH)).toBe((100 << 20) - (8 << 20) - (2 << 20));
  });

  let pair: AttackPair;
  beforeAll(() => {
    pair = primedPair(TERM_LENGTH);
  });

  it("fixed offset: one capped resend per linger, whatever the NAK rate", () => {
    const [[termId, termOffset]] = patternTargets(pair, "fixed") as [[number, number]];
    const r = runNakAttack(pair, "fixed", NAKS, INTERVAL_NS);
    const perResend = allowance(pair, termId, termOffset, TERM_LENGTH - termOffset);
    expect(perResend).toBe(CAP);
    const bound = (1 + Math.ceil((NAKS * INTERVAL_NS) / LINGER_NS)) * perResend;
    console.log(`attack 4 fixed: ${r.retransmittedBytes} B retransmitted for ${r.attackBytes} B of NAKs: ${r.factor.toFixed(0)}x ` +
      `(bound from Aeron's rules ${(bound / r.attackBytes).toFixed(0)}x)`);
    expect(r.retransmittedBytes).toBeGreaterThan(0);
    expect(r.retransmittedBytes).toBeLessThanOrEqual(bound);
  });

  it("behind the resend window: nothing retransmitted, every NAK counted", () => {
    const r = runNakAttack(pair, "behind", NAKS, INTERVAL_NS);
    expect(r.retransmittedBytes).toBe(0);
    expect(r.outsideWindow).toBe(NAKS);
  });

  it("alternating offsets: at most one capped resend per NAK (Aeron reuses the unicast action)", () => {
    const naks = 200; // each may cost 2 MiB of copying: fewer than the other patterns
    const r = runNakAttack(pair, "alternating", naks, INTERVAL_NS);
    const bound = r.targets.reduce((sum, [termId, offset], i) => sum + Math.ceil((naks - i) / 2) * allowance(pair, termId, offset, TERM_LENGTH - offset), 0);
    console.log(`attack 4 alternating: ${r.factor.toFixed(0)}x (bound from Aeron's rules ${(bound / r.attackBytes).toFixed(0)}x, ` +
      `the per-NAK maximum ${(CAP / NAK_BYTES).toFixed(0)}x)`);
    expect(r.retransmittedBytes).toBeLessThanOrEqual(bound);
    expect(r.factor).toBeLessThanOrEqual(CAP / NAK_BYTES);
  });

  it("property: no NAK sequence makes retransmitted bytes exceed the sum of Aeron's per-NAK allowances", () => {
    const network = pair.network;
    const activeTermId = (network.initialTermId + Math.floor(network.senderPosition / TERM_LENGTH)) | 0;
    const nak = fc.record({
      termId: fc.oneof(fc.constantFrom(activeTermId, (activeTermId - 1) | 0, (activeTermId + 1) | 0, network.initialTermId),
        fc.integer({ min: -0x80000000, max: 0x7fffffff })),
      termOffset: fc.oneof(fc.integer({ min: 0, max: Math.floor(TERM_LENGTH / 1056) - 1 }).map((f) => f * 1056), fc.integer({ min: -64, max: TERM_LENGTH + 64 })),
      length: fc.oneof(fc.constant(TERM_LENGTH), fc.integer({ min: -8, max: 0x7fffffff }), fc.integer({ min: 1, max: 1 << 22 })),
      stepNs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 * LINGER_NS })),
    });
    const view = new DataView(new ArrayBuffer(28));
    const bytes = new Uint8Array(view.buffer);
    fc.assert(
      fc.property(fc.array(nak, { minLength: 1, maxLength: 40 }), (naks) => {
        const before = pair.retransmittedBytes;
        let bound = 0;
        for (const n of naks) {
          writeRawNak(view, 0, 0, network.sessionId, network.streamId, n.termId, n.termOffset, n.length);
          bound += allowance(pair, n.termId, n.termOffset, n.length);
          pair.toPublisher(bytes);
          pair.turn(n.stepNs + 1);
        }
        expect(pair.retransmittedBytes - before).toBeLessThanOrEqual(bound);
        expect(pair.retransmittedBytes - before).toBeLessThanOrEqual(naks.length * CAP);
      }),
      { seed, numRuns: 150 },
    );
  });

  it("the live stream is intact after the attacks", () => {
    const before = pair.received;
    pair.stream(1 << 20);
    expect(pair.received).toBeGreaterThan(before);
    expect(pair.corrupt).toBe(0);
    expect(pair.foreign).toBe(0);
  });

  it("a pinned publication (source-pin=true) retransmits nothing for a third party's NAKs", () => {
    const pinned = primedPair(1 << 20, "source-pin=true");
    const [[termId, offset]] = patternTargets(pinned, "fixed") as [[number, number]];
    const datagram = attackNakToTermEnd(pinned.network.sessionId, pinned.network.streamId, termId, 1 << 20, offset);
    for (let i = 0; i < 100; i++) {
      pinned.toPublisher(datagram);
      pinned.turn(INTERVAL_NS);
    }
    expect(pinned.retransmittedBytes).toBe(0);
    expect(pinned.publisherCounter(Counter.PINNED_CONTROL_MISMATCHES)).toBe(100);
  });
});

describe("attack 4: the retransmit handler's unicast rules", () => {
  class Sender {
    readonly resends: Array<[number, number, number]> = [];
    resend(termId: number, termOffset: number, length: number): void {
      this.resends.push([termId, termOffset, length]);
    }
  }
  const options = (groupSemantics: boolean) => ({
    initialTermId: 0,
    delayGenerator: new StaticDelayGenerator(0, 0),
    lingerGenerator: new StaticDelayGenerator(LINGER_NS, 0),
    maxActions: 16,
    groupSemantics,
    maxRetransmitLength: 4096,
  });

  it("unicast has one action: overlapping NAKs coalesce, any other NAK reuses it at once", () => {
    const sender = new Sender();
    const rh = new RetransmitHandler(sender, options(false));
    expect(rh.maxActions).toBe(1);
    expect(rh.onNak(0, 0, 0, 65536, 65536, 65536)).toBe(NakOutcome.Resent);
    expect(rh.onNak(1, 0, 1024, 64, 65536, 65536)).toBe(NakOutcome.Coalesced);
    expect(rh.onNak(2, 0, 8192, 64, 65536, 65536)).toBe(NakOutcome.Resent);
    expect(rh.activeActionCount()).toBe(1);
    // The length is capped: 4096 here.
    expect(sender.resends).toEqual([[0, 0, 4096], [0, 8192, 64]]);
    rh.processTimeouts(2 + LINGER_NS);
    expect(rh.activeActionCount()).toBe(0);
  });

  it("group semantics (multicast, MDC) keep max-resend actions and count overflow", () => {
    const sender = new Sender();
    const rh = new RetransmitHandler(sender, options(true));
    for (let i = 0; i < 16; i++) expect(rh.onNak(0, 0, i * 4096, 64, 65536, 65536)).toBe(NakOutcome.Resent);
    expect(rh.onNak(0, 0, 15 * 4096 + 32, 64, 65536, 65536)).toBe(NakOutcome.Coalesced);
    expect(rh.activeActionCount()).toBe(16);
    expect(rh.onNak(0, 0, 60000 & ~31, 64, 65536, 65536)).toBe(NakOutcome.Overflow);
  });
});
