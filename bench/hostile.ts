// NAK amplification (issue #11, attack 4): retransmitted bytes per attack byte when a third party
// NAKs a live unicast publication with 16 MiB terms, 10,000 NAKs/s (one per 100 us of virtual
// time) for 0.5 s, each asking to the term end. Patterns (test/hostile/nakAmplification.ts):
// fixed offset in the resend window, an offset behind the window, two alternating offsets.
// Attack bytes are the NAK datagrams' UDP payload (28 B); the factor per wire byte (56 B with the
// IPv4 and UDP headers, as the issue counted) is half of it. Deterministic (virtual time, seeded
// engines): one run per pattern, a fresh primed pair each.
import { performance } from "node:perf_hooks";
import { NAK_BYTES, NAK_PATTERNS, WIRE_OVERHEAD_BYTES, primedPair, runNakAttack } from "../test/hostile/nakAmplification.js";

const TERM_LENGTH = 16 * 1024 * 1024;
const NAKS = 5_000;
const INTERVAL_NS = 100_000;

export async function runHostileBench(): Promise<void> {
  console.log(`hostile: NAK amplification, unicast, term-length 16m, ${NAKS} NAKs at ${1e9 / INTERVAL_NS} NAKs/s ` +
    `(${(NAKS * INTERVAL_NS) / 1e9} s virtual), each to the term end, from a third party`);
  for (const pattern of NAK_PATTERNS) {
    const pair = primedPair(TERM_LENGTH);
    const started = performance.now();
    const r = runNakAttack(pair, pattern, NAKS, INTERVAL_NS);
    const seconds = (performance.now() - started) / 1000;
    const perWire = r.retransmittedBytes / (r.naks * (NAK_BYTES + WIRE_OVERHEAD_BYTES));
    const rate = r.retransmittedBytes / ((NAKS * INTERVAL_NS) / 1e9);
    console.log(`${pattern.padEnd(12)} amplification ${r.factor.toFixed(0).padStart(7)}x per NAK byte (${perWire.toFixed(0)}x per wire byte); ` +
      `${r.retransmits} retransmits, ${(r.retransmittedBytes / 1048576).toFixed(1)} MiB retransmitted ` +
      `(${(rate / 1e9).toFixed(2)} GB/s) for ${(r.attackBytes / 1024).toFixed(0)} KiB of NAKs; ${r.outsideWindow} outside the window; ` +
      `${seconds.toFixed(1)} s`);
  }
}
