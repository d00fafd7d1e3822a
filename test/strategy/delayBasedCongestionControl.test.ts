// Goal: the delay-based (BBR-style) congestion control, alone with time as an argument: it starts
// at 10 MTUs, measures RTT at once, grows the window in STARTUP while the delivery rate grows, stops
// when the rate stops growing (DRAIN, then PROBE_BW), and in PROBE_BW sizes the window to
// gain × 1.5 × bandwidth × min RTT, cycling 1.25, 0.75, 1 × 6; the min RTT ignores queue-inflated
// samples; loss does not shrink the window; the window stays within [4 MTUs, receiver window].
import { describe, expect, it } from "vitest";
import {
  BBR_CWND_GAIN,
  BbrPhase,
  congestionOutcomeWindowBytes,
  createCongestionControl,
  DelayBasedCongestionControl,
} from "../../src/core/strategy/index.js";

const MTU = 1408;
const RTT_NS = 2_000_000;

function make(windowBytes = 512 * 1024): DelayBasedCongestionControl {
  return new DelayBasedCongestionControl(0, { mtu: MTU, termLength: 1 << 20, initialWindowBytes: windowBytes });
}

/**
 * Drives the controller as a path of `bytesPerNs` capacity would: every 100 µs the image rebuilds
 * min(capacity, window / RTT) × 100 µs bytes. Returns the window after `durationNs`.
 */
function drive(cc: DelayBasedCongestionControl, fromNs: number, durationNs: number, bytesPerNs: number, loss = false): number {
  let position = 0;
  let window = cc.receiverWindowLength();
  for (let t = fromNs + 100_000; t <= fromNs + durationNs; t += 100_000) {
    const rate = Math.min(bytesPerNs, window / RTT_NS);
    const next = position + Math.floor(rate * 100_000);
    window = congestionOutcomeWindowBytes(cc.onTrackRebuild(t, next, 0, next, position, next, loss));
    position = next;
  }
  return window;
}

describe("DelayBasedCongestionControl", () => {
  it("starts at 10 MTUs and wants an RTT measurement at once", () => {
    const cc = make();
    expect(cc.initialWindowLength()).toBe(10 * MTU);
    expect(cc.shouldMeasureRtt(0)).toBe(true);
    cc.onRttMeasurementSent(0);
    expect(cc.shouldMeasureRtt(1)).toBe(false);
    cc.onRttMeasurement(RTT_NS, RTT_NS);
    expect(cc.minRtt()).toBe(RTT_NS);
    expect(cc.nextDeadlineNs()).toBe(RTT_NS + 2 * RTT_NS);
  });

  it("grows in STARTUP, finds the pipe full, and settles in PROBE_BW at about 1.5 × BDP", () => {
    const cc = make();
    cc.onRttMeasurement(0, RTT_NS);
    const capacity = 12_500_000 / 1e9; // 100 Mbit/s in bytes per ns
    const bdp = capacity * RTT_NS; // 25 000 bytes
    drive(cc, 0, 200_000_000, capacity);
    expect(cc.phase).toBe(BbrPhase.PROBE_BW);
    expect(cc.bandwidthBytesPerSecond()).toBeGreaterThan(12_500_000 * 0.95);
    expect(cc.bandwidthBytesPerSecond()).toBeLessThanOrEqual(12_500_000 * 1.01);
    // Over one whole cycle the window takes the values 1.25, 0.75 and 1 × 1.5 × BDP.
    const seen = new Set<number>();
    for (let i = 0; i < 8; i++) seen.add(Math.round(drive(cc, 200_000_000 + i * RTT_NS, RTT_NS, capacity) / (BBR_CWND_GAIN * bdp) * 100) / 100);
    expect([...seen].every((g) => g >= 0.7 && g <= 1.3)).toBe(true);
    expect(seen.size).toBeGreaterThanOrEqual(2);
  });

  it("keeps the smallest RTT: queue-inflated samples do not raise it, a smaller one lowers it", () => {
    const cc = make();
    cc.onRttMeasurement(0, RTT_NS);
    cc.onRttMeasurement(1_000_000, 3 * RTT_NS);
    expect(cc.minRtt()).toBe(RTT_NS);
    cc.onRttMeasurement(2_000_000, RTT_NS / 2);
    expect(cc.minRtt()).toBe(RTT_NS / 2);
    // After 10 s without a new minimum, the next sample replaces it.
    cc.onRttMeasurement(2_000_000 + 10_000_000_001, 3 * RTT_NS);
    expect(cc.minRtt()).toBe(3 * RTT_NS);
  });

  it("does not shrink on loss (loss is counted, not a signal)", () => {
    const cc = make();
    cc.onRttMeasurement(0, RTT_NS);
    const capacity = 12_500_000 / 1e9;
    const before = drive(cc, 0, 200_000_000, capacity);
    const after = drive(cc, 200_000_000, RTT_NS / 2, capacity, true);
    expect(cc.lossCount).toBeGreaterThan(0);
    expect(after).toBeGreaterThanOrEqual(Math.floor(before * 0.75) - 1);
  });

  it("stays within [4 MTUs, the receiver window]", () => {
    const small = new DelayBasedCongestionControl(0, { mtu: MTU, termLength: 1 << 16, initialWindowBytes: 128 * 1024 });
    small.onRttMeasurement(0, RTT_NS);
    expect(drive(small, 0, 100_000_000, 1)).toBeLessThanOrEqual(32 * 1024); // 1 GB/s: capped at termLength / 2
    const slow = make();
    slow.onRttMeasurement(0, RTT_NS);
    expect(drive(slow, 0, 500_000_000, 0.0001)).toBeGreaterThanOrEqual(4 * MTU); // 100 kB/s: floor
  });

  it("is what createCongestionControl builds for cc=bbr", () => {
    const cc = createCongestionControl("bbr", 0, { mtu: MTU, termLength: 1 << 20 });
    expect(cc).toBeInstanceOf(DelayBasedCongestionControl);
    expect(cc.initialWindowLength()).toBe(10 * MTU);
  });
});
