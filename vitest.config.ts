import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/support/summaryReporter.ts"],
    // PETREL_FULL_COUNTS=1 runs the real-network streams at the issues' 10^6 messages (CI, one pass).
    testTimeout: process.env["PETREL_FULL_COUNTS"] === "1" ? 900_000 : 120_000,
    hookTimeout: 60_000,
    // Engine and simulation tests are CPU-bound; two workers fit the 2-core CI machine.
    pool: "forks",
    maxWorkers: 2,
  },
});
