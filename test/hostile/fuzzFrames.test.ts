// Goal: the hostile-traffic suite's own tools do what the suite relies on. The attack builders
// make datagrams the walker accepts whole (an attack rejected as malformed would prove nothing),
// with exactly the fields the issue describes; the generator is deterministic for a seed, reaches
// every frame type (also ones Aeron does not define) and every kind of input; and the live-session
// rule holds: whatever the generator or mutator made, once defused nothing in it can be taken by
// the live session, while frames of other sessions are left alone.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkDatagram } from "../../src/core/protocol/datagramWalker.js";
import { viewOf } from "../../src/core/protocol/frameFlyweight.js";
import { Prng } from "../../src/sim/prng.js";
import {
  attackBigTermSetup,
  attackNakToTermEnd,
  attackRttmUnsafeEcho,
  attackSpoofedData,
  attackSpoofedEos,
  attackSpoofedSm,
  CaptureRing,
  defuseLiveSession,
  HostileGenerator,
  HostileKind,
  knownAttackOf,
  spoofsLiveSession,
  Target,
  UNSAFE_I64_HALVES,
  type LiveContext,
} from "./hostileFrames.js";

const SESSION = 0x1234567;
const STREAM = 1001;

function accepted(bytes: Uint8Array): number {
  return checkDatagram(viewOf(bytes), 0, bytes.length);
}

function live(): LiveContext {
  return { sessionId: SESSION, streamId: STREAM, initialTermId: 100, termLength: 65536, activeTermId: 103, termOffset: 4096 };
}

describe("attack builders", () => {
  it("make datagrams the walker accepts, with the issue's fields", () => {
    for (const halves of UNSAFE_I64_HALVES) {
      const rttm = attackRttmUnsafeEcho(SESSION, STREAM, halves);
      expect(accepted(rttm)).toBe(1);
      const view = viewOf(rttm);
      expect(view.getUint8(5)).toBe(0x80);
      // Outside +-2^53: the high half alone says so.
      const hi = view.getInt32(20, true);
      expect(hi >= 0x200000 || hi < -0x200000).toBe(true);
      expect(knownAttackOf(view, 0, rttm.length)).toBe(1);
    }
    const [setup, data] = attackBigTermSetup(SESSION, STREAM);
    expect(accepted(setup)).toBe(1);
    expect(accepted(data)).toBe(1);
    const setupView = viewOf(setup);
    expect(setupView.getInt32(28, true)).toBe(1 << 30);
    expect(setupView.getInt32(8, true)).toBe((1 << 30) - 64);
    expect(viewOf(data).getInt32(8, true)).toBe((1 << 30) - 64);
    expect(viewOf(data).getInt32(0, true)).toBe(64);
    expect(knownAttackOf(setupView, 0, setup.length)).toBe(2);
    const nak = attackNakToTermEnd(SESSION, STREAM, 103, 65536, 4096);
    expect(accepted(nak)).toBe(1);
    expect(viewOf(nak).getInt32(24, true)).toBe(65536 - 4096);
    const sm = attackSpoofedSm(SESSION, STREAM, 103, 4096);
    expect(accepted(sm)).toBe(1);
    expect(viewOf(sm).getInt32(24, true)).toBe(0x7fffffff);
    expect(accepted(attackSpoofedData(SESSION, STREAM, 103, 4096))).toBe(1);
    const eos = attackSpoofedEos(SESSION, STREAM, 103, 4096);
    expect(accepted(eos)).toBe(1);
    expect(viewOf(eos).getUint8(5) & 0x20).toBe(0x20);
  });

  it("live-session spoofs are recognised for the engine that would take them, and defused", () => {
    const data = attackSpoofedData(SESSION, STREAM, 103, 4096);
    const eos = attackSpoofedEos(SESSION, STREAM, 103, 4096);
    const sm = attackSpoofedSm(SESSION, STREAM, 103, 4096);
    expect(spoofsLiveSession(viewOf(data), 0, data.length, Target.SUBSCRIBER, SESSION, STREAM)).toBe(true);
    expect(spoofsLiveSession(viewOf(eos), 0, eos.length, Target.SUBSCRIBER, SESSION, STREAM)).toBe(true);
    expect(spoofsLiveSession(viewOf(sm), 0, sm.length, Target.PUBLISHER, SESSION, STREAM)).toBe(true);
    // DATA at a publisher and an SM at a subscriber are ignored there: no spoof.
    expect(spoofsLiveSession(viewOf(data), 0, data.length, Target.PUBLISHER, SESSION, STREAM)).toBe(false);
    expect(spoofsLiveSession(viewOf(sm), 0, sm.length, Target.SUBSCRIBER, SESSION, STREAM)).toBe(false);
    // Another session, or another stream, is no spoof.
    expect(spoofsLiveSession(viewOf(data), 0, data.length, Target.SUBSCRIBER, SESSION + 1, STREAM)).toBe(false);
    expect(spoofsLiveSession(viewOf(data), 0, data.length, Target.SUBSCRIBER, SESSION, STREAM + 1)).toBe(false);
    expect(defuseLiveSession(viewOf(data), 0, data.length, Target.SUBSCRIBER, SESSION, STREAM)).toBe(1);
    expect(spoofsLiveSession(viewOf(data), 0, data.length, Target.SUBSCRIBER, SESSION, STREAM)).toBe(false);
  });
});

describe("HostileGenerator", () => {
  it("is deterministic for a seed", () => {
    const draw = (seed: number): string[] => {
      const captures = new CaptureRing(4, 256);
      captures.capture(attackSpoofedData(SESSION, STREAM, 103, 0), 0, 64, Target.SUBSCRIBER);
      const generator = new HostileGenerator(new Prng(seed), live(), captures);
      const out: string[] = [];
      for (let i = 0; i < 200; i++) {
        const length = generator.next(i % 2 === 0 ? Target.SUBSCRIBER : Target.PUBLISHER, i % 3 === 0, false);
        out.push(Buffer.from(generator.scratch.subarray(0, length)).toString("hex"));
      }
      return out;
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it("reaches every frame type and every kind of input", () => {
    const captures = new CaptureRing(8, 2048);
    captures.capture(attackSpoofedData(SESSION, STREAM, 103, 0), 0, 64, Target.SUBSCRIBER);
    captures.capture(attackSpoofedSm(SESSION, STREAM, 103, 0), 0, 36, Target.PUBLISHER);
    const generator = new HostileGenerator(new Prng(11), live(), captures);
    const types = new Set<number>();
    let multiFrame = 0;
    let acceptedCount = 0;
    for (let i = 0; i < 20_000; i++) {
      const length = generator.next(i % 2 === 0 ? Target.SUBSCRIBER : Target.PUBLISHER, false, true);
      if (length >= 8) types.add(generator.view.getUint16(6, true));
      const frames = checkDatagram(generator.view, 0, length);
      if (frames > 0) acceptedCount++;
      if (frames > 1) multiFrame++;
    }
    for (const type of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xffff, 0x7fff]) expect(types.has(type), `type ${type}`).toBe(true);
    for (let kind = 0; kind < 5; kind++) expect(generator.stats.byKind[kind], `kind ${kind}`).toBeGreaterThan(1000);
    // Enough of it is well-formed to reach the engines' logic, not only the walker's checks.
    expect(acceptedCount).toBeGreaterThan(5000);
    expect(multiFrame).toBeGreaterThan(500);
    expect(generator.stats.byKind[HostileKind.ATTACK]).toBeGreaterThan(0);
  });

  it("never lets a live-session frame through from the peer, or from anyone without pinning (except exact replays from the peer)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.boolean(), fc.boolean(), (seed, fromPeer, pinned) => {
        const captures = new CaptureRing(8, 2048);
        captures.capture(attackSpoofedData(SESSION, STREAM, 103, 0), 0, 64, Target.SUBSCRIBER);
        captures.capture(attackSpoofedSm(SESSION, STREAM, 103, 0), 0, 36, Target.PUBLISHER);
        const generator = new HostileGenerator(new Prng(seed), live(), captures);
        for (let i = 0; i < 500; i++) {
          const target = i % 2 === 0 ? Target.SUBSCRIBER : Target.PUBLISHER;
          const length = generator.next(target, fromPeer, pinned);
          const exactReplay = generator.kind === HostileKind.REPLAY && fromPeer;
          if (exactReplay || (pinned && !fromPeer)) continue;
          if (spoofsLiveSession(generator.view, 0, length, target, SESSION, STREAM)) return false;
        }
        return true;
      }),
      { seed: 20261204, numRuns: 50 },
    );
  });
});
