// Finds where a stream stalled: its receiver's position stayed flat for longer than a threshold
// while the sender had data the receiver did not (the publisher's or sender's position ahead of
// the receiver's). A stall starts at the later of the receiver's last advance and the moment the
// sender got ahead of it, and ends when the receiver advances again (or at the end of the input:
// then it is ongoing). Samples arrive in time order from one input; the detector sees them at full
// resolution, before the report's grid downsamples anything.
//
// What was happening is kept with each stall: NAKs, retransmits and drops counted from the start
// of the flat stretch to its end, and the faults applied from one threshold before the start to the
// end (plus the last one before that, which may still be in effect: a partition set long ago).
import type { CountName, ReportFault } from "./reportSeries.js";

export interface Stall {
  readonly streamKey: string;
  readonly startNs: number;
  readonly endNs: number;
  readonly durationNs: number;
  /** True when the receiver had not advanced again by the end of the input. */
  readonly ongoing: boolean;
  /** The receiver's position during the stall, and the sender's furthest position then. */
  readonly receiverPosition: number;
  readonly senderPosition: number;
  /** Null when the input cannot know them (ReportSeries.absent). */
  readonly naks: number | null;
  readonly retransmits: number | null;
  readonly drops: number | null;
  /** Faults near the stall, formatted with their times. */
  readonly faults: ReadonlyArray<string>;
}

interface OpenStall {
  readonly startNs: number;
  readonly receiverPosition: number;
  senderPosition: number;
}

/** At most this many stalls are kept per stream; the rest are counted. */
export const MAX_STALLS_PER_STREAM = 1000;

export class StallDetector {
  private receiverPosition: number | null = null;
  private senderPosition = -1;
  private lastAdvanceNs = 0;
  private aheadSinceNs: number | null = null;
  private open: OpenStall | null = null;
  /** Events since the receiver last advanced: the current flat stretch. */
  private readonly flat = { naks: 0, retransmits: 0, drops: 0 };
  private readonly closed: Array<Omit<Stall, "faults"> & { naks: number; retransmits: number; drops: number }> = [];
  /** Stalls found beyond MAX_STALLS_PER_STREAM. */
  dropped = 0;

  constructor(
    readonly streamKey: string,
    readonly thresholdNs: number,
  ) {}

  onReceiverPosition(timeNs: number, position: number): void {
    // Only an advance counts: a lower position (another receiver's SM on a multicast stream) neither
    // ends a stall nor starts one. A restarted receiver joins at the sender's position, above.
    if (this.receiverPosition === null || position > this.receiverPosition) {
      if (this.open !== null) this.close(timeNs, false);
      this.receiverPosition = position;
      this.lastAdvanceNs = timeNs;
      this.aheadSinceNs = null;
      this.flat.naks = 0;
      this.flat.retransmits = 0;
      this.flat.drops = 0;
    }
    this.checkAhead(timeNs);
  }

  onSenderPosition(timeNs: number, position: number): void {
    if (position > this.senderPosition) this.senderPosition = position;
    if (this.open !== null && position > this.open.senderPosition) this.open.senderPosition = position;
    this.checkAhead(timeNs);
  }

  onCount(name: CountName, n: number): void {
    if (name === "naks") this.flat.naks += n;
    else if (name === "retransmits") this.flat.retransmits += n;
    else if (name === "drops") this.flat.drops += n;
  }

  /** Time has reached `timeNs`: a flat stretch longer than the threshold becomes a stall. */
  onTime(timeNs: number): void {
    if (this.open !== null || this.aheadSinceNs === null || this.receiverPosition === null) return;
    const startNs = Math.max(this.lastAdvanceNs, this.aheadSinceNs);
    if (timeNs - startNs > this.thresholdNs) {
      this.open = { startNs, receiverPosition: this.receiverPosition, senderPosition: this.senderPosition };
    }
  }

  /** The stalls, the open one closed at `endNs`, each with the faults near it. */
  finish(endNs: number, faults: ReadonlyArray<ReportFault>): Array<Stall & { naks: number; retransmits: number; drops: number }> {
    if (this.open !== null) this.close(endNs, true);
    return this.closed.map((s) => ({ ...s, faults: faultsNear(s.startNs - this.thresholdNs, s.endNs, faults) }));
  }

  private checkAhead(timeNs: number): void {
    if (this.receiverPosition === null) return;
    if (this.senderPosition > this.receiverPosition) {
      if (this.aheadSinceNs === null) this.aheadSinceNs = timeNs;
    } else if (this.open === null) {
      this.aheadSinceNs = null;
    }
  }

  private close(endNs: number, ongoing: boolean): void {
    const open = this.open;
    if (open === null) return;
    this.open = null;
    if (this.closed.length >= MAX_STALLS_PER_STREAM) {
      this.dropped++;
      return;
    }
    this.closed.push({
      streamKey: this.streamKey,
      startNs: open.startNs,
      endNs,
      durationNs: endNs - open.startNs,
      ongoing,
      receiverPosition: open.receiverPosition,
      senderPosition: open.senderPosition,
      naks: this.flat.naks,
      retransmits: this.flat.retransmits,
      drops: this.flat.drops,
    });
  }
}

/** Faults in [fromNs, toNs], and the last one before fromNs (it may still be in effect). */
function faultsNear(fromNs: number, toNs: number, faults: ReadonlyArray<ReportFault>): string[] {
  const out: string[] = [];
  let before: ReportFault | null = null;
  for (const f of faults) {
    if (f.timeNs < fromNs) before = f;
    else if (f.timeNs <= toNs) out.push(`${f.label} at ${formatTimeNs(f.timeNs)}`);
  }
  if (before !== null) out.unshift(`${before.label} at ${formatTimeNs(before.timeNs)} (earlier)`);
  return out;
}

/** "1.234567 s": times in the report's tables, to the microsecond. */
export function formatTimeNs(ns: number): string {
  return `${(ns / 1e9).toFixed(6)} s`;
}
