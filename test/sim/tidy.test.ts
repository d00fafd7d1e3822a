// Goal: the simulator is deterministic by construction: nothing under src/sim reads a real clock,
// draws unseeded randomness, sets a real timer, or touches process. A run must depend on its seed
// alone. (Like test/tidy.test.ts for src/core, but src/sim may use typed arrays, Maps and the core.)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const simRoot = join(import.meta.dirname, "..", "..", "src", "sim");
const banned: ReadonlyArray<[string, RegExp]> = [
  ["reads a clock (Date)", /\bDate\s*[.(]|\bnew\s+Date\b/],
  ["reads a clock (performance/hrtime)", /\bperformance\s*\.|\bhrtime\b/],
  ["draws unseeded randomness", /\bMath\s*\.\s*random\b|\bcrypto\s*\./],
  ["sets a real timer", /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/],
  ["touches process", /\bprocess\s*[.[]/],
  ["imports a node: module", /\bfrom\s+["']node:/],
];

describe("tidy: src/sim is deterministic by construction", () => {
  it("uses no clock, unseeded randomness, timer, process or node: import", () => {
    const violations: string[] = [];
    const files = readdirSync(simRoot).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const lines = readFileSync(join(simRoot, file), "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, " "))
        .split("\n");
      lines.forEach((line, index) => {
        const code = line.replace(/\/\/.*$/, "");
        for (const [rule, pattern] of banned) if (pattern.test(code)) violations.push(`${file}:${index + 1}: ${rule}`);
      });
    }
    expect(violations).toEqual([]);
  });
});
