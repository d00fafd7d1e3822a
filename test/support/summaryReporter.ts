// Prints one plain closing line, `N passed, N failed, N skipped`, which CI reads as the
// test summary (vitest's own closing line is not a format CI recognises).
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const testModule of testModules) {
      // A module that failed to load (a syntax error, a throwing import) has no tests; count it
      // as a failure so that a broken file can never look like a green run.
      if (testModule.state() === "failed" && [...testModule.children.allTests()].length === 0) {
        failed += 1;
      }
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed += 1;
        else if (state === "failed") failed += 1;
        else skipped += 1;
      }
    }
    failed += unhandledErrors.length;
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
