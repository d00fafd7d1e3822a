// Goal: worker mode's options are typed, not Record<string, unknown>: an unknown engine option or a
// driver option of the wrong type is a compile error (npm test type-checks this file first, so a
// loosened type fails the suite), and the options a user writes today still type-check.
import { describe, expect, it } from "vitest";
import type { WorkerClientOptions } from "../../src/drivers/index.js";

describe("WorkerClientOptions", () => {
  it("takes EngineConfig overrides and sockets driver options, typed", () => {
    const ok: WorkerClientOptions = { seed: 1, config: { publicationLingerNs: 1_000_000_000 }, driver: { prefer: "dgram", gso: false } };
    // @ts-expect-error: not an EngineConfig option
    const badConfig: WorkerClientOptions = { config: { notAnOption: 1 } };
    // @ts-expect-error: prefer is "auto" | "native" | "dgram"
    const badDriver: WorkerClientOptions = { driver: { prefer: "fast" } };
    // @ts-expect-error: a callback cannot cross to the worker thread
    const badWarn: WorkerClientOptions = { driver: { warn: (message: string) => void message } };
    expect([ok, badConfig, badDriver, badWarn]).toHaveLength(4);
  });
});
