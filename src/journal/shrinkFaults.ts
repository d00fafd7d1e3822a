// Shrinking a set of added faults that breaks an invariant (`petrel replay --shrink`): greedy
// one-at-a-time removal (delta debugging's last phase): a fault is left out for good when the run
// without it still fails. The result is 1-minimal: leaving out any one of its faults makes the run
// pass. Each try is one whole faulted replay, so a set of n faults costs at most n(n+1)/2 replays
// (n when faults are removed from the front; typically close to n).
import type { FaultSpec } from "./frameFilter.js";

export interface ShrinkProgress {
  readonly tries: number;
  readonly remaining: number;
  readonly index: number;
}

/**
 * `fails(faults)` runs the replay with those faults and says whether an invariant broke.
 * Returns the smallest set found (1-minimal), in the given order, or undefined when the whole set
 * does not fail.
 */
export function shrinkFaults(faults: ReadonlyArray<FaultSpec>, fails: (faults: ReadonlyArray<FaultSpec>) => boolean,
  onProgress?: (progress: ShrinkProgress) => void): { faults: FaultSpec[]; tries: number } | undefined {
  let tries = 1;
  if (!fails(faults)) return undefined;
  let current = [...faults];
  // Bounded: each pass either removes a fault (at most n passes do) or ends the loop.
  for (let changed = true; changed && current.length > 0;) {
    changed = false;
    for (let i = 0; i < current.length; i++) {
      const without = current.filter((_, k) => k !== i);
      tries++;
      onProgress?.({ tries, remaining: current.length, index: i });
      if (fails(without)) {
        current = without;
        i--;
        changed = true;
      }
    }
  }
  return { faults: current, tries };
}

/** A fault set as a schedule file `--schedule` reads back. */
export interface ReplaySchedule {
  readonly format: "petrel-replay-faults";
  readonly faults: ReadonlyArray<{ readonly drop?: string; readonly delay?: string }>;
}
