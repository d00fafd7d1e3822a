// The packed result of CongestionControl.onTrackRebuild and the window arithmetic shared by the
// congestion control strategies. Kept apart from congestionControl.ts so that the strategies can
// import it without an import cycle through the factory.
import { assert } from "./assert.js";

/** Initial receiver window: 128 KiB (the window is min(rcv-wnd or this, termLength / 2)). */
export const INITIAL_WINDOW_LENGTH_DEFAULT_BYTES = 128 * 1024;

/** Largest window a packed outcome holds: 2^30 bytes, above any window (≤ termLength / 2 ≤ 512 MiB). */
export const CONGESTION_OUTCOME_MAX_WINDOW_BYTES = 0x4000_0000;

/** Packs a window and the force-SM flag into one number: window × 2 + flag (an int31). */
export function packCongestionOutcome(windowBytes: number, forceSm: boolean): number {
  assert(Number.isInteger(windowBytes), "window must be an integer number of bytes");
  assert(windowBytes >= 0, "window must not be negative");
  assert(windowBytes <= CONGESTION_OUTCOME_MAX_WINDOW_BYTES, "window too large to pack");
  return windowBytes * 2 + (forceSm ? 1 : 0);
}

export function congestionOutcomeWindowBytes(outcome: number): number {
  return outcome >>> 1;
}

export function congestionOutcomeForceSm(outcome: number): boolean {
  return (outcome & 1) === 1;
}

/** The window both strategies start from: min(rcv-wnd or 128 KiB, termLength / 2). */
export function maxReceiverWindowBytes(termLength: number, initialWindowBytes: number): number {
  assert(termLength > 0 && (termLength & (termLength - 1)) === 0, "term length must be a power of two");
  assert(Number.isInteger(initialWindowBytes), "initial window must be an integer");
  assert(initialWindowBytes > 0, "initial window must be positive");
  const half = termLength / 2;
  return initialWindowBytes < half ? initialWindowBytes : half;
}

