// Goal: issue #11's hostile-traffic property. An engine pair carries a live reference stream while
// generated and mutated datagrams hit both engines (every frame type with edge values, several
// frames per datagram, truncations, bit flips, field substitutions and replays of real
// datagrams, the attacks), from third-party addresses and from the real peer's own
// address. Whatever arrives, no handle*/poll* call throws, the live stream arrives exactly once,
// in order and intact, RSS stays within RSS_BOUND_BYTES of the start and heapUsed after a GC
// within HEAP_BOUND_BYTES. Frames the live session would take as its own are sent only where
// they cannot be accepted (see spoofsLiveSession in hostileFrames.ts): from third parties once
// source pinning exists (SOURCE_PIN_PARAM), never from the real peer's address.
//
// Count: 10^6 hostile datagrams in every run of the suite (the floor per CI run), in 100
// fast-check runs of 10^4 datagrams each (a fresh pair and generator per run), from a fixed base
// seed so that CI is reproducible. 10^6 is the default, not only under PETREL_FULL_COUNTS: it took
// 9 to 28 s here (35k to 110k datagrams/s inside vitest, on 2 cores shared with other work; `npm
// run bench fuzz` measures about 100k/s), cheap enough for every `npm test`.
// PETREL_HOSTILE_DATAGRAMS overrides the total (e.g. 100000 for a quick local run),
// PETREL_HOSTILE_BASE_SEED the base seed. A failure prints the run's seed and
// the command that replays exactly that run: PETREL_HOSTILE_SEED=<seed> npx vitest run test/hostile/fuzz.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { heapUsedAfterGc, runHostileCase, summarize, type HostileRunResult } from "./hostilePair.js";
import { SOURCE_PINNING } from "./hostileFrames.js";

const PER_RUN = 10_000;
const TOTAL = Number(process.env["PETREL_HOSTILE_DATAGRAMS"] ?? 1_000_000);
const BASE_SEED = Number(process.env["PETREL_HOSTILE_BASE_SEED"] ?? 20261204);
const REPLAY_SEED = process.env["PETREL_HOSTILE_SEED"];
/** Diagnostic switches (hostilePair.ts) that change the traffic: a replay needs them too. */
const DIAGNOSTICS = ["PETREL_HOSTILE_EXCLUDE", "PETREL_HOSTILE_ASSUME_PINNED"]
  .filter((name) => process.env[name] !== undefined)
  .map((name) => `${name}=${process.env[name]} `)
  .join("");
const replayCommand = (seed: number) => `${DIAGNOSTICS}PETREL_HOSTILE_SEED=${seed} npx vitest run test/hostile/fuzz.test.ts`;

/** Heap is checked (full GC) after every run whose index is a multiple of this, and after the last. */
const HEAP_CHECK_EVERY = 10;

function report(result: HostileRunResult): string {
  return `${result.failure ?? "ok"}\n${summarize(result)}\nreplay: ${replayCommand(result.seed)}`;
}

if (REPLAY_SEED === undefined) describe("hostile traffic against a live stream (engine pair)", () => {
  it(`${TOTAL} generated and mutated datagrams: no throw, the live stream exactly once, in order, intact, memory bounded` +
    ` (source pinning ${SOURCE_PINNING ? "on" : "not available: live-session spoofs defused"})`, () => {
    const runs = Math.max(1, Math.ceil(TOTAL / PER_RUN));
    const baselineRssBytes = process.memoryUsage.rss();
    const baselineHeapBytes = heapUsedAfterGc();
    const started = performance.now();
    let hostile = 0;
    let live = 0;
    let index = 0;
    let firstFailure: HostileRunResult | undefined;
    let peakRssGrowthBytes = 0;
    let peakHeapGrowthBytes = 0;
    const details = fc.check(
      fc.property(fc.noShrink(fc.integer({ min: 0, max: 0x7fffffff })), (seed) => {
        const checkHeap = index % HEAP_CHECK_EVERY === HEAP_CHECK_EVERY - 1 || index === runs - 1;
        index++;
        const result = runHostileCase({ seed, datagrams: PER_RUN, baselineRssBytes, ...(checkHeap ? { baselineHeapBytes } : {}) });
        hostile += result.hostileSent;
        live += result.liveReceived;
        peakRssGrowthBytes = Math.max(peakRssGrowthBytes, result.peakRssGrowthBytes);
        peakHeapGrowthBytes = Math.max(peakHeapGrowthBytes, result.heapGrowthBytes ?? 0);
        if (result.failure !== undefined) firstFailure ??= result;
        return result.failure === undefined;
      }),
      // Shrinking a seed means nothing here (noShrink); the run's seed is the reproduction.
      { seed: BASE_SEED, numRuns: runs, endOnFailure: true },
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`hostile fuzz: ${details.numRuns} runs (base seed ${BASE_SEED}), ${hostile} hostile datagrams in ${seconds.toFixed(1)} s ` +
      `(${Math.round(hostile / seconds)} datagrams/s), ${live} live messages delivered; peak RSS growth ` +
      `${(peakRssGrowthBytes / 1048576).toFixed(0)} MiB, peak heapUsed growth after GC ${(peakHeapGrowthBytes / 1048576).toFixed(1)} MiB`);
    if (firstFailure !== undefined) {
      const text = `hostile fuzz failed (fast-check base seed ${BASE_SEED}, run ${details.numRuns}):\n${report(firstFailure)}`;
      console.log(text);
      expect.fail(text);
    }
    expect(details.failed, String(details.errorInstance ?? "")).toBe(false);
    expect(hostile).toBeGreaterThanOrEqual(TOTAL);
  }, 600_000);
});

if (REPLAY_SEED !== undefined) describe("replay of one hostile run (PETREL_HOSTILE_SEED)", () => {
  it(`replays seed ${REPLAY_SEED}`, () => {
    const result = runHostileCase({ seed: Number(REPLAY_SEED), datagrams: PER_RUN, baselineRssBytes: process.memoryUsage.rss(),
      baselineHeapBytes: heapUsedAfterGc() });
    console.log(report(result));
    expect(result.failure, report(result)).toBeUndefined();
  }, 600_000);
});
