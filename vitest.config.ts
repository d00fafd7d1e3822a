import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/support/summaryReporter.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Engine and simulation tests are CPU-bound; two workers fit the 2-core CI machine.
    pool: "forks",
    maxWorkers: 2,
  },
});
