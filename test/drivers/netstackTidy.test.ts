// Goal: the netstack stays pure so that the simulator can run it: nothing under
// src/drivers/netstack (nor the simulator's frame-level host) imports a node: module, reads a
// clock, draws randomness, sets a timer or touches process. Time comes in through clockNs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const files = [
  ...readdirSync(join(root, "src", "drivers", "netstack")).filter((f) => f.endsWith(".ts")).map((f) => join(root, "src", "drivers", "netstack", f)),
  join(root, "src", "sim", "ethernetHost.ts"),
];
const banned: ReadonlyArray<[string, RegExp]> = [
  ["imports a node: module", /\bfrom\s+["']node:|\brequire\s*\(/],
  ["reads a clock", /\bDate\s*[.(]|\bnew\s+Date\b|\bperformance\s*\.|\bhrtime\b/],
  ["draws randomness", /\bMath\s*\.\s*random\b/],
  ["sets a timer", /\b(setTimeout|setInterval|setImmediate)\b/],
  ["touches process", /\bprocess\s*[.[]/],
];

describe("tidy: the netstack is pure", () => {
  it("has no node: import, clock, randomness, timer or process", () => {
    expect(files.length).toBeGreaterThan(5);
    const found: string[] = [];
    for (const file of files) {
      const lines = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").split("\n");
      lines.forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, "");
        for (const [rule, pattern] of banned) if (pattern.test(code)) found.push(`${file}:${i + 1}: ${rule}`);
      });
    }
    expect(found).toEqual([]);
  });
});
