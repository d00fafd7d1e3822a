// NAK amplification (issue #11, attack 4), shared by test/hostile/attack4.nak.test.ts and
// `npm run bench hostile`: a third party NAKs a live unicast publication (AttackPair) at a fixed
// rate in virtual time, and the publisher's retransmitted bytes are compared with the attack's
// bytes. Patterns:
//  - fixed: the same offset, asking to the term end, every time (inside the resend window);
//  - behind: an offset below the resend window (Aeron's bottomResendWindow), to the term end;
//  - alternating: two offsets far enough apart that neither NAK overlaps the other's range.
// The publisher has streamed 1.5 terms first (so the resend window is full of data) and then
// stays put while the attack runs, so the window does not move under it.
import { Counter } from "../../src/core/engine/counters.js";
import { AttackPair } from "./attackPair.js";
import { attackNakToTermEnd } from "./hostileFrames.js";

/** A NAK datagram: 28 bytes of UDP payload (56 on the wire with IPv4 and UDP headers). */
export const NAK_BYTES = 28;
export const WIRE_OVERHEAD_BYTES = 28;

export type NakPattern = "fixed" | "behind" | "alternating";
export const NAK_PATTERNS: readonly NakPattern[] = ["fixed", "behind", "alternating"];

export interface AmplificationResult {
  readonly pattern: NakPattern;
  readonly naks: number;
  readonly attackBytes: number;
  readonly retransmittedBytes: number;
  readonly retransmits: number;
  readonly outsideWindow: number;
  /** retransmitted bytes / attack bytes (UDP payload). */
  readonly factor: number;
  readonly termLength: number;
  readonly senderPosition: number;
  /** The (term id, offset) pairs the pattern NAKs, in turn. */
  readonly targets: ReadonlyArray<readonly [number, number]>;
}

/** A pair with `termLength` terms that has sent 1.5 terms of 1 KiB messages and stopped there. */
export function primedPair(termLength: number, params = ""): AttackPair {
  const pair = new AttackPair({ params: `term-length=${termLength}${params === "" ? "" : `|${params}`}` });
  pair.stream(termLength + termLength / 2);
  return pair;
}

/** Frames of the primed stream: 1 KiB messages, 1056 bytes with the header, from each term's start. */
const FRAME_BYTES = 1056;

/** The (term id, term offset) of the frame at or just below `position`. */
function frameAt(pair: AttackPair, position: number): [number, number] {
  const network = pair.network;
  const termLength = network.termLength;
  const termId = (network.initialTermId + Math.floor(position / termLength)) | 0;
  const offset = position & (termLength - 1);
  return [termId, offset - (offset % FRAME_BYTES)];
}

/** Where a pattern NAKs on a primed pair: (term id, term offset) targets, used in turn. */
export function patternTargets(pair: AttackPair, pattern: NakPattern): Array<[number, number]> {
  const termLength = pair.network.termLength;
  const position = pair.network.senderPosition;
  switch (pattern) {
    case "fixed":
      // A quarter of a term behind the sender: inside the resend window.
      return [frameAt(pair, position - termLength / 4)];
    case "behind":
      // A little more than termLength/2 + maxMessageLength behind the sender: below the window.
      return [frameAt(pair, position - termLength / 2 - termLength / 8 - 64 * FRAME_BYTES)];
    case "alternating":
      // Half a term and a quarter of a term behind the sender: both in the window, and further
      // apart than any one resend (termLength / 4 > the unicast cap), so neither overlaps the other.
      return [frameAt(pair, position - termLength / 2), frameAt(pair, position - termLength / 4)];
  }
}

/**
 * Sends `naks` NAKs (to the term end) from the attacker, one every `intervalNs`, letting the pair run
 * 1 turn between them, and returns what the publisher retransmitted meanwhile.
 */
export function runNakAttack(pair: AttackPair, pattern: NakPattern, naks: number, intervalNs: number): AmplificationResult {
  const network = pair.network;
  const termLength = network.termLength;
  const targets = patternTargets(pair, pattern);
  const datagrams = targets.map(([termId, offset]) => attackNakToTermEnd(network.sessionId, network.streamId, termId, termLength, offset));
  const retransmittedBefore = pair.retransmittedBytes;
  const retransmitsBefore = pair.publisherCounter(Counter.RETRANSMITS_SENT);
  const outsideBefore = pair.publisherCounter(Counter.RETRANSMITS_OUTSIDE_WINDOW);
  for (let i = 0; i < naks; i++) {
    pair.toPublisher(datagrams[i % datagrams.length]!);
    pair.turn(intervalNs);
  }
  const retransmittedBytes = pair.retransmittedBytes - retransmittedBefore;
  const attackBytes = naks * NAK_BYTES;
  return {
    pattern,
    naks,
    attackBytes,
    retransmittedBytes,
    retransmits: pair.publisherCounter(Counter.RETRANSMITS_SENT) - retransmitsBefore,
    outsideWindow: pair.publisherCounter(Counter.RETRANSMITS_OUTSIDE_WINDOW) - outsideBefore,
    factor: retransmittedBytes / attackBytes,
    termLength,
    senderPosition: network.senderPosition,
    targets,
  };
}
