// CUBIC congestion control for the receiver window (`cc=cubic`, PROTOCOL.md section 8), after
// Aeron's CubicCongestionControl. The window is counted in MTUs (cwnd) and the SM carries
// cwnd × mtu bytes.
//
//   start:    maxCwnd = floor(min(rcv-wnd or 128 KiB, termLength / 2) / mtu);
//             cwnd = min(INITCWND = 10, maxCwnd); wMax = maxCwnd; K = cbrt(wMax·β/C); the
//             "last loss" is the start, so the first updates sit in CUBIC's concave region
//             and climb towards maxCwnd.
//   loss:     wMax = cwnd; K = cbrt(wMax·β/C); cwnd = max(1, floor(cwnd·(1 − β))); force an SM;
//             at most once per RTT (later losses within an RTT are the same congestion event).
//   no loss:  at most once per RTT (and only while cwnd < maxCwnd),
//             cwnd = min(maxCwnd, wMax + trunc(C·(t − K)^3)), t = seconds since the last loss;
//             in TCP-friendly mode, while cwnd < wMax, cwnd = max(cwnd, trunc(wMax(1−β) + 3β/(2−β)·t/RTT)).
//   RTT:      measured by RTTM; a new measurement is due when the last is 4 × RTT old (initial RTT
//             100 µs); if a request gets no reply, another is due after the measurement timeout.
//
// With mtu 1408 and the 128 KiB default: maxCwnd = 93, the first SM window is 10 × 1408 = 14080
// and the window climbs to 93 × 1408 = 130944, the endpoints of the cubic reference capture.
// The increment is truncated toward zero (Aeron's (int) cast), so the window reaches maxCwnd once
// |C·(t − K)^3| < 1. Note the shape this gives at start: the first update (one RTT in) jumps from
// 10 MTUs to about wMax(1 − β) ≈ 75 MTUs, then climbs one MTU at a time, flattening towards
// maxCwnd. The capture shows exactly that: 14080, then 107008 (76 MTUs), then +1408 steps to
// 130944 at 2.2 s; every step lands where this model puts it, with the model's clock started
// about 41 ms before the capture's first SM (test/strategy/congestionControl.test.ts replays it).
import { assert, assertTimeNs } from "./assert.js";
import type { CongestionControl } from "./congestionControl.js";
import { maxReceiverWindowBytes, packCongestionOutcome } from "./congestionOutcome.js";

export const CUBIC_INITCWND = 10;
export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.2;
/** RTT assumed before the first measurement: 100 µs, as Aeron. */
export const CUBIC_INITIAL_RTT_DEFAULT_NS = 100_000;
/** A new RTT measurement is due when the last one is this many RTTs old. */
export const CUBIC_RTT_MEASUREMENT_RTT_MULTIPLE = 4;
/** An unanswered RTT request is given up (and another sent) after this long: 10 ms. */
export const CUBIC_RTT_MEASUREMENT_TIMEOUT_DEFAULT_NS = 10_000_000;

const NS_PER_SECOND = 1_000_000_000;

export interface CubicCongestionControlOptions {
  readonly mtu: number;
  readonly termLength: number;
  /** `rcv-wnd`, else 128 KiB. */
  readonly initialWindowBytes: number;
  readonly initialRttNs?: number;
  readonly tcpMode?: boolean;
  readonly rttMeasurementTimeoutNs?: number;
}

export class CubicCongestionControl implements CongestionControl {
  readonly mtu: number;
  readonly maxCwnd: number;
  readonly tcpMode: boolean;
  private readonly rttMeasurementTimeoutNs: number;

  private cwnd: number;
  private wMax: number;
  private k: number;
  private lastLossNs: number;
  private lastUpdateNs: number;
  private rttNs: number;
  private lastRttNs: number;
  private rttOutstanding = false;
  private lastRttSentNs = 0;

  /** Losses reported through onTrackRebuild. */
  lossCount = 0;
  /** Losses within an RTT of the last reduction, counted but not acted on (same congestion event). */
  lossesIgnoredCount = 0;
  /** RTT measurements received. */
  rttMeasurementCount = 0;

  constructor(nowNs: number, options: CubicCongestionControlOptions) {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    assert(Number.isInteger(options.mtu), "mtu must be an integer");
    assert(options.mtu > 32, "mtu must exceed the data header");
    const initialRttNs = options.initialRttNs ?? CUBIC_INITIAL_RTT_DEFAULT_NS;
    assert(Number.isSafeInteger(initialRttNs), "initial RTT must be an integer number of ns");
    assert(initialRttNs > 0, "initial RTT must be positive");
    const timeoutNs = options.rttMeasurementTimeoutNs ?? CUBIC_RTT_MEASUREMENT_TIMEOUT_DEFAULT_NS;
    assert(Number.isSafeInteger(timeoutNs), "RTT measurement timeout must be an integer number of ns");
    assert(timeoutNs > 0, "RTT measurement timeout must be positive");

    this.mtu = options.mtu;
    const maxWindowBytes = maxReceiverWindowBytes(options.termLength, options.initialWindowBytes);
    this.maxCwnd = Math.floor(maxWindowBytes / options.mtu);
    assert(this.maxCwnd >= 1, "receiver window smaller than one MTU");
    this.tcpMode = options.tcpMode ?? false;
    this.rttMeasurementTimeoutNs = timeoutNs;

    this.cwnd = CUBIC_INITCWND < this.maxCwnd ? CUBIC_INITCWND : this.maxCwnd;
    this.wMax = this.maxCwnd;
    this.k = Math.cbrt((this.wMax * CUBIC_BETA) / CUBIC_C);
    this.lastLossNs = nowNs;
    this.lastUpdateNs = nowNs;
    this.rttNs = initialRttNs;
    // The first measurement is due at once.
    this.lastRttNs = nowNs - CUBIC_RTT_MEASUREMENT_RTT_MULTIPLE * initialRttNs;
  }

  /** The congestion window in MTUs. */
  congestionWindow(): number {
    return this.cwnd;
  }

  /** The RTT in use (initial, then the latest measurement). */
  currentRttNs(): number {
    return this.rttNs;
  }

  shouldMeasureRtt(nowNs: number): boolean {
    return this.nextDeadlineNs() - nowNs <= 0;
  }

  nextDeadlineNs(): number {
    if (this.rttOutstanding) return this.lastRttSentNs + this.rttMeasurementTimeoutNs;
    return this.lastRttNs + CUBIC_RTT_MEASUREMENT_RTT_MULTIPLE * this.rttNs;
  }

  onRttMeasurementSent(nowNs: number): void {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    this.rttOutstanding = true;
    this.lastRttSentNs = nowNs;
  }

  onRttMeasurement(nowNs: number, rttNs: number): void {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    assert(Number.isSafeInteger(rttNs), "RTT must be an integer number of ns");
    assert(rttNs >= 0, "RTT must not be negative");
    this.rttOutstanding = false;
    this.lastRttNs = nowNs;
    // A zero RTT (same-instant reply in a simulator) would make every call an update and every
    // instant a measurement; 1 ns keeps "at most once per RTT" meaningful.
    this.rttNs = rttNs > 0 ? rttNs : 1;
    this.rttMeasurementCount++;
  }

  onTrackRebuild(
    nowNs: number,
    _newConsumptionPosition: number,
    _lastSmPosition: number,
    _hwmPosition: number,
    _startingRebuildPosition: number,
    _endingRebuildPosition: number,
    lossOccurred: boolean,
  ): number {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    let forceSm = false;
    // One reduction per congestion event: losses found within an RTT of the last reduction belong
    // to the same event (the window that overflowed the queue), as TCP's recovery treats a window
    // of losses. Without this a tail drop, which leaves several gaps (and retransmissions dropped
    // again), cut the window by β per gap, down to one MTU within an RTT (test/sim/congestion*).
    if (lossOccurred && this.lossCount > 0 && nowNs - this.lastLossNs < this.rttNs) {
      this.lossesIgnoredCount++;
    } else if (lossOccurred) {
      this.wMax = this.cwnd;
      this.k = Math.cbrt((this.wMax * CUBIC_BETA) / CUBIC_C);
      const reduced = Math.floor(this.cwnd * (1 - CUBIC_BETA));
      this.cwnd = reduced > 1 ? reduced : 1;
      this.lastLossNs = nowNs;
      this.lossCount++;
      forceSm = true;
    } else if (this.cwnd < this.maxCwnd && this.lastUpdateNs + this.rttNs - nowNs <= 0) {
      const sinceLossSeconds = (nowNs - this.lastLossNs) / NS_PER_SECOND;
      const diffToK = sinceLossSeconds - this.k;
      const increment = Math.trunc(CUBIC_C * diffToK * diffToK * diffToK);
      let cwnd = this.wMax + increment;
      if (this.tcpMode && cwnd < this.wMax) {
        const rttSeconds = this.rttNs / NS_PER_SECOND;
        const wTcp = Math.trunc(
          this.wMax * (1 - CUBIC_BETA) + ((3 * CUBIC_BETA) / (2 - CUBIC_BETA)) * (sinceLossSeconds / rttSeconds),
        );
        if (wTcp > cwnd) cwnd = wTcp;
      }
      if (cwnd > this.maxCwnd) cwnd = this.maxCwnd;
      if (cwnd < 1) cwnd = 1;
      this.cwnd = cwnd;
      this.lastUpdateNs = nowNs;
    }
    assert(this.cwnd >= 1, "cwnd below one MTU");
    assert(this.cwnd <= this.maxCwnd, "cwnd above maxCwnd");
    return packCongestionOutcome(this.cwnd * this.mtu, forceSm);
  }

  initialWindowLength(): number {
    return this.cwnd * this.mtu;
  }

  receiverWindowLength(): number {
    return this.cwnd * this.mtu;
  }
}
