// The built-in 'run the seed twice and compare' check. A scenario builds a Simulation from a seed,
// runs it and returns it; checkDeterminism runs it twice and compares trace hashes and event
// counts. A mismatch means something outside the seed leaked into the run (a real clock, Math.random,
// iteration over a hash of object identities, state shared between runs) and the error names the
// seed so that the failure can be replayed.
import type { Simulation } from "./simulator.js";

export interface DeterminismReport {
  readonly seed: number;
  readonly traceHash: string;
  readonly packetEvents: number;
  readonly eventsProcessed: number;
}

export class NondeterminismError extends Error {
  override readonly name = "NondeterminismError";
}

export function checkDeterminism(seed: number, scenario: (seed: number) => Simulation): DeterminismReport {
  const first = scenario(seed);
  const second = scenario(seed);
  const a = `${first.traceHash()} packets=${first.trace.events} events=${first.counters.eventsProcessed} now=${first.nowNs}`;
  const b = `${second.traceHash()} packets=${second.trace.events} events=${second.counters.eventsProcessed} now=${second.nowNs}`;
  if (a !== b) throw new NondeterminismError(`seed ${seed} is not deterministic: first run ${a}, second run ${b}`);
  return { seed, traceHash: first.traceHash(), packetEvents: first.trace.events, eventsProcessed: first.counters.eventsProcessed };
}
