// A delay-based, BBR-style congestion control for the receiver window (`cc=bbr`). Where CUBIC
// waits for the bottleneck queue to overflow and backs off on loss, this one models the path —
// bottleneck bandwidth and minimum RTT — and sizes the window to the bandwidth-delay product, so
// the queue at the bottleneck stays short. It lives on the receiver, like every Aeron congestion
// control: its window goes into the status messages, and the sender (through flow control) can
// have at most that much beyond the receiver's position.
//
// The model, from what a receiver can see:
//   - bottleneck bandwidth: the delivery rate, bytes the image rebuilt (endingRebuildPosition −
//     startingRebuildPosition of every onTrackRebuild) per round, a round being one min RTT; the
//     estimate is the maximum of the last BBR_BANDWIDTH_FILTER_ROUNDS rounds' rates.
//   - min RTT: the smallest RTTM measurement of the last BBR_MIN_RTT_WINDOW_NS; when that many ns
//     pass without a new minimum the next measurement replaces it (BBR's ProbeRTT phase is not
//     modelled: the drain phase of every probing cycle empties the queue, so measurements near the
//     propagation RTT keep arriving).
//   - BDP = bandwidth × min RTT; window = phase gain × BBR_CWND_GAIN × BDP, between
//     BBR_MIN_WINDOW_MTUS MTUs and min(rcv-wnd or 128 KiB, termLength / 2).
// BBR_CWND_GAIN (4/3 + a little) is not BBR's 2: a window that is enough for the pipe must also
//   cover the receiver's SM lag (an SM goes out when the subscriber passed the last SM position by
//   a quarter of the window, so the sender's limit trails by up to window / 4).
// Phases (BBR v1's state machine, driven by the window instead of a pacing rate):
//   STARTUP:  gain 2/ln 2 ≈ 2.885 per round (the window roughly triples per RTT) until the
//             bandwidth estimate grew by less than 25% for 3 rounds in a row (the pipe is full);
//   DRAIN:    gain 1/2.885 for one round, which empties the queue STARTUP built;
//   PROBE_BW: a cycle of 8 rounds with gains 1.25 (probe for more bandwidth), 0.75 (drain what
//             the probe queued), then 1 six times.
// Loss is not a signal (BBR v1): onTrackRebuild's lossOccurred only counts.
//
// Time is an argument everywhere; nothing here reads a clock or draws randomness (the cycle
// starts at its first phase, not at a random one, so two flows started together probe together).
import { assert, assertTimeNs } from "./assert.js";
import type { CongestionControl } from "./congestionControl.js";
import { maxReceiverWindowBytes, packCongestionOutcome } from "./congestionOutcome.js";

/** Window before the first measurements, in MTUs (as CUBIC's INITCWND). */
export const BBR_INITIAL_WINDOW_MTUS = 10;
/** The window never goes below this many MTUs. */
export const BBR_MIN_WINDOW_MTUS = 4;
/** STARTUP's gain: 2/ln(2). */
export const BBR_HIGH_GAIN = 2.885;
/** The window's multiple of the BDP at gain 1 (covers the receiver's SM lag, see above). */
export const BBR_CWND_GAIN = 1.5;
/** PROBE_BW's gain cycle, one round per entry. */
export const BBR_PROBE_GAINS: ReadonlyArray<number> = [1.25, 0.75, 1, 1, 1, 1, 1, 1];
/** Bandwidth estimate: the max of this many rounds' delivery rates. */
export const BBR_BANDWIDTH_FILTER_ROUNDS = 10;
/** Min RTT samples older than this are forgotten. */
export const BBR_MIN_RTT_WINDOW_NS = 10_000_000_000;
/** A round is at least this long (a sub-µs RTT would make every call a round). */
export const BBR_MIN_ROUND_NS = 100_000;
/** RTT assumed before the first measurement. */
export const BBR_INITIAL_RTT_DEFAULT_NS = 100_000;
/** An unanswered RTT request is given up (and another sent) after this long. */
export const BBR_RTT_MEASUREMENT_TIMEOUT_NS = 10_000_000;
/** STARTUP ends after this many rounds of bandwidth growth below 25%. */
export const BBR_FULL_PIPE_ROUNDS = 3;

export const BbrPhase = { STARTUP: 0, DRAIN: 1, PROBE_BW: 2 } as const;
export type BbrPhase = (typeof BbrPhase)[keyof typeof BbrPhase];

export interface DelayBasedCongestionControlOptions {
  readonly mtu: number;
  readonly termLength: number;
  /** `rcv-wnd`, else 128 KiB. */
  readonly initialWindowBytes: number;
  readonly initialRttNs?: number;
}

export class DelayBasedCongestionControl implements CongestionControl {
  readonly mtu: number;
  readonly maxWindowBytes: number;

  phase: BbrPhase = BbrPhase.STARTUP;
  /** Rounds completed. */
  roundCount = 0;
  /** Losses reported (counted, not acted on). */
  lossCount = 0;
  rttMeasurementCount = 0;

  private windowBytes: number;
  private minRttNs = 0;
  private minRttStampNs = 0;
  private latestRttNs: number;
  private lastRttNs: number;
  private lastRttSentNs = 0;
  private rttOutstanding = false;

  // Delivery rate: bytes rebuilt in the current round, and a ring of the last rounds' rates.
  private roundStartNs: number;
  private roundBytes = 0;
  private readonly rates = new Float64Array(BBR_BANDWIDTH_FILTER_ROUNDS);
  private rateIndex = 0;
  private fullBandwidth = 0;
  private fullBandwidthRounds = 0;
  private cycleIndex = 0;

  constructor(nowNs: number, options: DelayBasedCongestionControlOptions) {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    assert(Number.isInteger(options.mtu), "mtu must be an integer");
    assert(options.mtu > 32, "mtu must exceed the data header");
    const initialRttNs = options.initialRttNs ?? BBR_INITIAL_RTT_DEFAULT_NS;
    assert(Number.isSafeInteger(initialRttNs), "initial RTT must be an integer number of ns");
    assert(initialRttNs > 0, "initial RTT must be positive");
    this.mtu = options.mtu;
    this.maxWindowBytes = maxReceiverWindowBytes(options.termLength, options.initialWindowBytes);
    assert(this.maxWindowBytes >= options.mtu, "receiver window smaller than one MTU");
    this.windowBytes = this.clampWindow(BBR_INITIAL_WINDOW_MTUS * options.mtu);
    this.latestRttNs = initialRttNs;
    // The first measurement is due at once.
    this.lastRttNs = nowNs - 2 * initialRttNs;
    this.roundStartNs = nowNs;
  }

  /** Bottleneck bandwidth estimate in bytes per second (0 before the first round). */
  bandwidthBytesPerSecond(): number {
    let max = 0;
    for (let i = 0; i < this.rates.length; i++) {
      const r = this.rates[i] as number;
      if (r > max) max = r;
    }
    return max * 1e9;
  }

  /** The min RTT in use, or 0 before the first measurement. */
  minRtt(): number {
    return this.minRttNs;
  }

  /** Bandwidth × min RTT in bytes (0 until both are known). */
  bdpBytes(): number {
    return (this.bandwidthBytesPerSecond() * this.minRttNs) / 1e9;
  }

  shouldMeasureRtt(nowNs: number): boolean {
    return this.nextDeadlineNs() - nowNs <= 0;
  }

  nextDeadlineNs(): number {
    if (this.rttOutstanding) return this.lastRttSentNs + BBR_RTT_MEASUREMENT_TIMEOUT_NS;
    // About one measurement per two RTTs: often enough to see the queue empty in a drain round.
    return this.lastRttNs + 2 * this.latestRttNs;
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
    const rtt = rttNs > 0 ? rttNs : 1;
    this.rttOutstanding = false;
    this.lastRttNs = nowNs;
    this.latestRttNs = rtt;
    this.rttMeasurementCount++;
    if (this.minRttNs === 0 || rtt <= this.minRttNs || nowNs - this.minRttStampNs > BBR_MIN_RTT_WINDOW_NS) {
      this.minRttNs = rtt;
      this.minRttStampNs = nowNs;
    }
  }

  onTrackRebuild(
    nowNs: number,
    _newConsumptionPosition: number,
    _lastSmPosition: number,
    _hwmPosition: number,
    startingRebuildPosition: number,
    endingRebuildPosition: number,
    lossOccurred: boolean,
  ): number {
    assertTimeNs(nowNs, "nowNs must be an integer number of ns");
    if (lossOccurred) this.lossCount++;
    const delivered = endingRebuildPosition - startingRebuildPosition;
    if (delivered > 0) this.roundBytes += delivered;
    const roundNs = this.minRttNs > BBR_MIN_ROUND_NS ? this.minRttNs : BBR_MIN_ROUND_NS;
    const elapsedNs = nowNs - this.roundStartNs;
    let forceSm = false;
    if (elapsedNs >= roundNs) {
      this.onRoundEnd(this.roundBytes / elapsedNs);
      this.roundStartNs = nowNs;
      this.roundBytes = 0;
      const before = this.windowBytes;
      this.windowBytes = this.targetWindow();
      // A grown window is news the sender is waiting for.
      forceSm = this.windowBytes > before;
    }
    assert(this.windowBytes >= this.mtu, "window below one MTU");
    assert(this.windowBytes <= this.maxWindowBytes, "window above the receiver window");
    return packCongestionOutcome(this.windowBytes, forceSm);
  }

  initialWindowLength(): number {
    return this.windowBytes;
  }

  receiverWindowLength(): number {
    return this.windowBytes;
  }

  /** One round is over: record its delivery rate (bytes per ns) and advance the phase. */
  private onRoundEnd(rateBytesPerNs: number): void {
    this.roundCount++;
    this.rates[this.rateIndex] = rateBytesPerNs;
    this.rateIndex = this.rateIndex + 1 === this.rates.length ? 0 : this.rateIndex + 1;
    const bandwidth = this.bandwidthBytesPerSecond();
    switch (this.phase) {
      case BbrPhase.STARTUP:
        if (this.minRttNs === 0) break;
        if (bandwidth >= this.fullBandwidth * 1.25) {
          this.fullBandwidth = bandwidth;
          this.fullBandwidthRounds = 0;
        } else if (++this.fullBandwidthRounds >= BBR_FULL_PIPE_ROUNDS) {
          this.phase = BbrPhase.DRAIN;
        }
        break;
      case BbrPhase.DRAIN:
        this.phase = BbrPhase.PROBE_BW;
        this.cycleIndex = 0;
        break;
      case BbrPhase.PROBE_BW:
        this.cycleIndex = this.cycleIndex + 1 === BBR_PROBE_GAINS.length ? 0 : this.cycleIndex + 1;
        break;
    }
  }

  /** The window the current phase asks for. */
  private targetWindow(): number {
    const bdp = this.bdpBytes();
    if (bdp === 0) return this.windowBytes;
    let gain: number;
    switch (this.phase) {
      case BbrPhase.STARTUP:
        gain = BBR_HIGH_GAIN;
        break;
      case BbrPhase.DRAIN:
        gain = 1 / BBR_HIGH_GAIN;
        break;
      case BbrPhase.PROBE_BW:
        gain = BBR_PROBE_GAINS[this.cycleIndex] as number;
        break;
    }
    let target = gain * BBR_CWND_GAIN * bdp;
    // STARTUP never shrinks the window: an early round may deliver less than the window allows.
    if (this.phase === BbrPhase.STARTUP && target < this.windowBytes) target = this.windowBytes;
    return this.clampWindow(Math.floor(target));
  }

  private clampWindow(bytes: number): number {
    const min = BBR_MIN_WINDOW_MTUS * this.mtu;
    let w = bytes < min ? min : bytes;
    if (w > this.maxWindowBytes) w = this.maxWindowBytes;
    return w;
  }
}
