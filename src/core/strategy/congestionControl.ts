// Receiver-side congestion control (PROTOCOL.md section 8): the strategy decides the receiver
// window that goes into each status message, from losses seen while rebuilding the stream and
// from RTT measurements (RTTM exchanges). Modelled on Aeron's CongestionControl interface; each
// implementation is its own file beside this one:
//   - staticWindowCongestionControl.ts  (default): a fixed window;
//   - cubicCongestionControl.ts         (`cc=cubic`): CUBIC over a window counted in MTUs;
//   - delayBasedCongestionControl.ts    (`cc=bbr`): BBR-style, the window sized to the modelled
//     bandwidth-delay product (delivery rate from onTrackRebuild's positions, min RTT from RTTM).
export {
  CONGESTION_OUTCOME_MAX_WINDOW_BYTES,
  congestionOutcomeForceSm,
  congestionOutcomeWindowBytes,
  INITIAL_WINDOW_LENGTH_DEFAULT_BYTES,
  maxReceiverWindowBytes,
  packCongestionOutcome,
} from "./congestionOutcome.js";
import { INITIAL_WINDOW_LENGTH_DEFAULT_BYTES } from "./congestionOutcome.js";
import { CubicCongestionControl } from "./cubicCongestionControl.js";
import { DelayBasedCongestionControl } from "./delayBasedCongestionControl.js";
import { StaticWindowCongestionControl } from "./staticWindowCongestionControl.js";

export interface CongestionControl {
  /**
   * True when the receiver should send an RTT measurement request now. A pure query; the caller
   * reports the request it sends with onRttMeasurementSent.
   */
  shouldMeasureRtt(nowNs: number): boolean;

  /** An RTT measurement request (RTTM without REPLY) was sent at nowNs. */
  onRttMeasurementSent(nowNs: number): void;

  /** An RTTM reply arrived: rttNs = now − echoTimestamp − receptionDelta. */
  onRttMeasurement(nowNs: number, rttNs: number): void;

  /**
   * Called after each rebuild step of the image (all arguments are stream positions, lossOccurred
   * true when the step found a gap). Returns a packed outcome: the receiver window in bytes and
   * whether a status message should be sent at once; read it with congestionOutcomeWindowBytes and
   * congestionOutcomeForceSm (packing keeps the hot path free of allocation).
   */
  onTrackRebuild(
    nowNs: number,
    newConsumptionPosition: number,
    lastSmPosition: number,
    hwmPosition: number,
    startingRebuildPosition: number,
    endingRebuildPosition: number,
    lossOccurred: boolean,
  ): number;

  /** The window for the image's first status message. */
  initialWindowLength(): number;

  /** The current window in bytes (what the next SM carries). */
  receiverWindowLength(): number;

  /** When shouldMeasureRtt next turns true, or NO_DEADLINE_NS when it never will by time alone. */
  nextDeadlineNs(): number;
}

/** `cc=` values Petrel knows. */
export type CongestionControlKind = "static" | "cubic" | "bbr";

export interface CongestionControlOptions {
  /** The sender's MTU from SETUP. */
  readonly mtu: number;
  readonly termLength: number;
  /** `rcv-wnd` when given, else 128 KiB. */
  readonly initialWindowBytes?: number;
  /** CUBIC: the RTT assumed before the first measurement (default 100 µs). */
  readonly initialRttNs?: number;
  /** CUBIC: TCP-friendly mode (default off, as Aeron). */
  readonly tcpMode?: boolean;
}

/** Builds the congestion control for an image. Setup time only. */
export function createCongestionControl(
  kind: CongestionControlKind | undefined,
  nowNs: number,
  options: CongestionControlOptions,
): CongestionControl {
  const initialWindowBytes = options.initialWindowBytes ?? INITIAL_WINDOW_LENGTH_DEFAULT_BYTES;
  switch (kind ?? "static") {
    case "static":
      return new StaticWindowCongestionControl(options.termLength, initialWindowBytes);
    case "cubic":
      return new CubicCongestionControl(nowNs, {
        mtu: options.mtu,
        termLength: options.termLength,
        initialWindowBytes,
        ...(options.initialRttNs === undefined ? {} : { initialRttNs: options.initialRttNs }),
        ...(options.tcpMode === undefined ? {} : { tcpMode: options.tcpMode }),
      });
    case "bbr":
      return new DelayBasedCongestionControl(nowNs, {
        mtu: options.mtu,
        termLength: options.termLength,
        initialWindowBytes,
        ...(options.initialRttNs === undefined ? {} : { initialRttNs: options.initialRttNs }),
      });
  }
}
