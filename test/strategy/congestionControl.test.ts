// Goal: the receiver-side congestion control strategies produce the windows PROTOCOL.md section 8
// and the cubic reference capture show. Static: min(rcv-wnd or 128 KiB, termLength / 2), never
// forcing an SM. CUBIC with mtu 1408 and the defaults: the first window is 14080 (10 MTUs) and it
// climbs to 130944 (93 MTUs, the receiver window cap) and no further, as in
// aeron-unicast-cubic-rttm.pcap; a loss shrinks it by β (and forces an SM) and it regrows to the
// old maximum after K seconds; updates happen at most once per RTT (not 1 ns early); RTT
// measurements are due when the last one is 4 × RTT old. The packed outcome round-trips.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  congestionOutcomeForceSm,
  congestionOutcomeWindowBytes,
  createCongestionControl,
  packCongestionOutcome,
} from "../../src/core/strategy/congestionControl.js";
import { CUBIC_BETA, CUBIC_C, CubicCongestionControl } from "../../src/core/strategy/cubicCongestionControl.js";
import { StaticWindowCongestionControl } from "../../src/core/strategy/staticWindowCongestionControl.js";
import { NO_DEADLINE_NS } from "../../src/core/strategy/timers.js";
import { testSeed } from "./support/seed.js";

const seed = testSeed("congestionControl");

const MTU = 1408;
const TERM_LENGTH = 16 * 1024 * 1024;
const RTT_NS = 100_000;

function cubic(nowNs = 0, tcpMode = false): CubicCongestionControl {
  return new CubicCongestionControl(nowNs, { mtu: MTU, termLength: TERM_LENGTH, initialWindowBytes: 128 * 1024, tcpMode });
}

/** One rebuild step without loss; returns the window in bytes. */
function step(cc: CubicCongestionControl, nowNs: number): number {
  return congestionOutcomeWindowBytes(cc.onTrackRebuild(nowNs, 0, 0, 0, 0, 0, false));
}

describe("packed congestion outcome", () => {
  test.prop([fc.integer({ min: 0, max: 0x4000_0000 }), fc.boolean()], { seed, numRuns: 200 })(
    "window and force-SM flag round-trip",
    (windowBytes, forceSm) => {
      const outcome = packCongestionOutcome(windowBytes, forceSm);
      expect(congestionOutcomeWindowBytes(outcome)).toBe(windowBytes);
      expect(congestionOutcomeForceSm(outcome)).toBe(forceSm);
    },
  );
});

describe("StaticWindowCongestionControl", () => {
  it("uses min(rcv-wnd or 128 KiB, termLength / 2) and never forces an SM", () => {
    const cc = new StaticWindowCongestionControl(TERM_LENGTH, 128 * 1024);
    expect(cc.initialWindowLength()).toBe(131072);
    const outcome = cc.onTrackRebuild(1, 0, 0, 0, 0, 0, true);
    expect(congestionOutcomeWindowBytes(outcome)).toBe(131072);
    expect(congestionOutcomeForceSm(outcome)).toBe(false);
    expect(cc.shouldMeasureRtt(0)).toBe(false);
    expect(cc.nextDeadlineNs()).toBe(NO_DEADLINE_NS);
    expect(new StaticWindowCongestionControl(64 * 1024, 128 * 1024).receiverWindowLength()).toBe(32 * 1024);
    expect(new StaticWindowCongestionControl(TERM_LENGTH, 4096).receiverWindowLength()).toBe(4096);
  });

  it("is the factory's default", () => {
    expect(createCongestionControl(undefined, 0, { mtu: MTU, termLength: TERM_LENGTH })).toBeInstanceOf(StaticWindowCongestionControl);
    expect(createCongestionControl("cubic", 0, { mtu: MTU, termLength: TERM_LENGTH })).toBeInstanceOf(CubicCongestionControl);
  });
});

describe("CubicCongestionControl", () => {
  it("starts at 10 MTUs = 14080 bytes with maxCwnd 93 (130944 bytes)", () => {
    const cc = cubic();
    expect(cc.initialWindowLength()).toBe(14080);
    expect(cc.receiverWindowLength()).toBe(14080);
    expect(cc.maxCwnd).toBe(93);
    expect(cc.maxCwnd * MTU).toBe(130944);
  });

  it("updates at most once per RTT: not 1 ns before, exactly at the RTT", () => {
    const cc = cubic(1_000);
    expect(step(cc, 1_000 + RTT_NS - 1)).toBe(14080);
    const grown = step(cc, 1_000 + RTT_NS);
    expect(grown).toBeGreaterThan(14080);
    // First update in the concave region: wMax + trunc(C(t − K)^3) with wMax = 93, t ≈ 0.
    const k = Math.cbrt((93 * CUBIC_BETA) / CUBIC_C);
    expect(grown).toBe((93 + Math.trunc(CUBIC_C * (RTT_NS / 1e9 - k) ** 3)) * MTU);
    // The next update waits another RTT.
    expect(step(cc, 1_000 + 2 * RTT_NS - 1)).toBe(grown);
  });

  it("climbs from 14080 to 130944 and is capped there (the capture's endpoints)", () => {
    const cc = cubic(0);
    const windows: number[] = [cc.initialWindowLength()];
    let previous = cc.initialWindowLength();
    let violations = 0;
    // Rebuild steps every 50 µs for 3 s, as a steady stream would drive them.
    for (let nowNs = 50_000; nowNs <= 3_000_000_000; nowNs += 50_000) {
      const windowBytes = step(cc, nowNs);
      // No loss: never shrinks, never above the cap, always whole MTUs.
      if (windowBytes < previous || windowBytes > 130944 || windowBytes % MTU !== 0) violations++;
      if (windowBytes !== previous) windows.push(windowBytes);
      previous = windowBytes;
    }
    expect(violations).toBe(0);
    expect(windows[0]).toBe(14080);
    expect(windows[windows.length - 1]).toBe(130944);
    // The cap is reached once |C(t − K)^3| < 1: t > K − cbrt(1/C) ≈ 2.24 s.
    const capAtNs = Math.round((Math.cbrt((93 * CUBIC_BETA) / CUBIC_C) - Math.cbrt(1 / CUBIC_C)) * 1e9);
    const late = cubic(0);
    step(late, capAtNs - 1_000_000);
    expect(late.receiverWindowLength()).toBe(129536);
    step(late, capAtNs + 1_000_000);
    expect(late.receiverWindowLength()).toBe(130944);
  });

  it("reproduces the window sequence of the status messages in aeron-unicast-cubic-rttm.pcap", () => {
    // Distinct receiverWindow values of the capture's SMs, with their time after the first SM (s).
    // Aeron's CUBIC clock starts when the image is created, about 41 ms before that first SM
    // (every step of the capture sits 38-41 ms before the model's; the SM interval explains the
    // spread), so the model is read 42 ms after each capture time.
    const capture: ReadonlyArray<readonly [number, number]> = [
      [0.0, 14080], [0.001122, 107008], [0.066402, 108416], [0.136711, 109824], [0.208373, 111232],
      [0.285245, 112640], [0.364444, 114048], [0.447364, 115456], [0.539076, 116864], [0.630838, 118272],
      [0.732154, 119680], [0.840579, 121088], [0.95909, 122496], [1.091026, 123904], [1.234289, 125312],
      [1.403083, 126720], [1.597767, 128128], [1.845074, 129536], [2.198291, 130944],
    ];
    const offsetNs = 42_000_000;
    const cc = cubic(0);
    expect(cc.initialWindowLength()).toBe(14080);
    for (const [seconds, windowBytes] of capture.slice(1)) {
      expect(step(cc, Math.round(seconds * 1e9) + offsetNs), `at ${seconds} s`).toBe(windowBytes);
    }
  });

  it("shrinks by β on loss, forces an SM, and regrows to the old maximum after K", () => {
    const cc = cubic(0);
    for (let nowNs = 100_000; nowNs <= 3_000_000_000; nowNs += 100_000) step(cc, nowNs);
    expect(cc.congestionWindow()).toBe(93);

    const lossNs = 3_000_000_000;
    const outcome = cc.onTrackRebuild(lossNs, 0, 0, 0, 0, 0, true);
    expect(congestionOutcomeForceSm(outcome)).toBe(true);
    expect(cc.congestionWindow()).toBe(Math.floor(93 * (1 - CUBIC_BETA))); // 74
    expect(congestionOutcomeWindowBytes(outcome)).toBe(74 * MTU);
    expect(cc.lossCount).toBe(1);

    // Just after the loss the cubic sits near wMax(1 − β); it regrows through the concave region.
    const k = Math.cbrt((93 * CUBIC_BETA) / CUBIC_C);
    let previous = 74;
    for (let nowNs = lossNs + RTT_NS; nowNs <= lossNs + k * 1e9 + 1e6; nowNs += RTT_NS) {
      step(cc, Math.round(nowNs));
      expect(cc.congestionWindow()).toBeGreaterThanOrEqual(previous);
      previous = cc.congestionWindow();
    }
    expect(cc.congestionWindow()).toBe(93);
  });

  it("shrinks repeatedly under repeated loss but never below 1 MTU", () => {
    const cc = cubic(0);
    for (let i = 1; i <= 30; i++) {
      const outcome = cc.onTrackRebuild(i * RTT_NS, 0, 0, 0, 0, 0, true);
      expect(congestionOutcomeWindowBytes(outcome)).toBeGreaterThanOrEqual(MTU);
    }
    expect(cc.congestionWindow()).toBe(1);
  });

  it("reduces once per congestion event: losses within an RTT of the last reduction are ignored", () => {
    const cc = cubic(0);
    cc.onTrackRebuild(1_000_000, 0, 0, 0, 0, 0, true);
    const after = cc.congestionWindow();
    cc.onTrackRebuild(1_000_000 + RTT_NS - 1, 0, 0, 0, 0, 0, true);
    expect(cc.congestionWindow()).toBe(after);
    expect(cc.lossesIgnoredCount).toBe(1);
    cc.onTrackRebuild(1_000_000 + RTT_NS, 0, 0, 0, 0, 0, true);
    expect(cc.congestionWindow()).toBe(Math.max(1, Math.floor(after * (1 - CUBIC_BETA))));
  });

  it("TCP-friendly mode regrows at least as fast as plain CUBIC after a loss", () => {
    const plain = cubic(0);
    const friendly = cubic(0, true);
    for (const cc of [plain, friendly]) cc.onTrackRebuild(0, 0, 0, 0, 0, 0, true);
    let faster = false;
    for (let nowNs = RTT_NS; nowNs <= 50_000_000; nowNs += RTT_NS) {
      step(plain, nowNs);
      step(friendly, nowNs);
      expect(friendly.congestionWindow()).toBeGreaterThanOrEqual(plain.congestionWindow());
      if (friendly.congestionWindow() > plain.congestionWindow()) faster = true;
    }
    expect(faster).toBe(true);
  });

  it("measures RTT at once, then when the last measurement is 4 × RTT old", () => {
    const cc = cubic(1_000);
    expect(cc.shouldMeasureRtt(1_000)).toBe(true);
    cc.onRttMeasurementSent(1_000);
    expect(cc.shouldMeasureRtt(1_001)).toBe(false);

    const rtt = 250_000;
    const replyNs = 1_000 + rtt;
    cc.onRttMeasurement(replyNs, rtt);
    expect(cc.currentRttNs()).toBe(rtt);
    expect(cc.nextDeadlineNs()).toBe(replyNs + 4 * rtt);
    expect(cc.shouldMeasureRtt(replyNs + 4 * rtt - 1)).toBe(false);
    expect(cc.shouldMeasureRtt(replyNs + 4 * rtt)).toBe(true);
    expect(cc.shouldMeasureRtt(replyNs + 4 * rtt + 1)).toBe(true);
  });

  it("sends another request when a reply is lost (after the measurement timeout)", () => {
    const cc = cubic(0);
    cc.onRttMeasurementSent(0);
    expect(cc.shouldMeasureRtt(10_000_000 - 1)).toBe(false);
    expect(cc.shouldMeasureRtt(10_000_000)).toBe(true);
  });

  it("uses the measured RTT as the update interval", () => {
    const cc = cubic(0);
    const rtt = 1_000_000;
    cc.onRttMeasurement(0, rtt);
    expect(step(cc, rtt - 1)).toBe(14080);
    expect(step(cc, rtt)).toBeGreaterThan(14080);
  });

  test.prop(
    [fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000_000 }), fc.boolean()), { maxLength: 300 }), fc.integer({ min: 64, max: 9000 })],
    { seed, numRuns: 200 },
  )("the window stays within [1 MTU, maxCwnd MTUs] and a multiple of the MTU", (steps, mtuBase) => {
    const mtu = mtuBase - (mtuBase % 32) + 32;
    const cc = new CubicCongestionControl(0, { mtu, termLength: TERM_LENGTH, initialWindowBytes: 128 * 1024 });
    let nowNs = 0;
    for (const [advanceNs, loss] of steps) {
      nowNs += advanceNs;
      const windowBytes = congestionOutcomeWindowBytes(cc.onTrackRebuild(nowNs, 0, 0, 0, 0, 0, loss));
      expect(windowBytes % mtu).toBe(0);
      expect(windowBytes).toBeGreaterThanOrEqual(mtu);
      expect(windowBytes).toBeLessThanOrEqual(cc.maxCwnd * mtu);
    }
  });
});
