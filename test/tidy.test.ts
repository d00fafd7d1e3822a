// Goal: src/core stays pure. It must never read a clock, draw its own randomness, set a timer,
// touch `process`, or import a `node:` module (ARCHITECTURE.md: the core is sans-IO). This test
// scans every source file under src/core and fails on the first banned construct, naming the
// file, line and rule, so that a violation is caught before review.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const coreRoot = join(import.meta.dirname, "..", "src", "core");

interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
}

const rules: ReadonlyArray<Rule> = [
  { name: "reads a clock (Date)", pattern: /\bDate\s*[.(]|\bnew\s+Date\b/ },
  { name: "reads a clock (performance)", pattern: /\bperformance\s*\./ },
  { name: "reads a clock (hrtime)", pattern: /\bhrtime\b/ },
  { name: "draws randomness (Math.random)", pattern: /\bMath\s*\.\s*random\b/ },
  { name: "draws randomness (crypto)", pattern: /\bcrypto\s*\.\s*(getRandomValues|randomUUID|randomBytes)\b/ },
  { name: "sets a timer", pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/ },
  { name: "touches process", pattern: /\bprocess\s*[.[]/ },
  { name: "imports a node: module", pattern: /\bfrom\s+["']node:|\bimport\s*\(\s*["']node:|\brequire\s*\(/ },
  { name: "imports a Node built-in without node:", pattern: /\bfrom\s+["'](fs|path|os|net|dgram|worker_threads|child_process|timers|perf_hooks|crypto)(\/[^"']*)?["']/ },
  { name: "uses a global I/O object", pattern: /\b(globalThis|fetch|console)\s*[.(]/ },
];

/** Removes comments so that prose about clocks in a comment does not trip a rule. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, " ")).replace(/\/\/[^\n]*/g, "");
}

function listSources(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) files.push(...listSources(path));
    else if (/\.(ts|js|mts|cts)$/.test(entry)) files.push(path);
  }
  return files;
}

export function findViolations(source: string): Array<{ line: number; rule: string }> {
  const found: Array<{ line: number; rule: string }> = [];
  const lines = stripComments(source).split("\n");
  lines.forEach((text, index) => {
    for (const rule of rules) {
      if (rule.pattern.test(text)) found.push({ line: index + 1, rule: rule.name });
    }
  });
  return found;
}

describe("tidy: src/core is sans-IO", () => {
  it("finds source files to check", () => {
    expect(listSources(coreRoot).length).toBeGreaterThan(0);
  });

  it("has no clock, randomness, timer, process or node: import", () => {
    const violations: string[] = [];
    for (const file of listSources(coreRoot)) {
      for (const v of findViolations(readFileSync(file, "utf8"))) {
        violations.push(`${relative(coreRoot, file)}:${v.line}: ${v.rule}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("catches each banned construct (the checker itself can fail)", () => {
    const samples = [
      "const t = Date.now();",
      "const d = new Date();",
      "const t = performance.now();",
      "const r = Math.random();",
      "setTimeout(() => {}, 1);",
      "const e = process.env.X;",
      'import { readFileSync } from "node:fs";',
      'import dgram from "dgram";',
      "const x = require('x');",
      "console.log(1);",
    ];
    for (const sample of samples) expect(findViolations(sample).length, sample).toBeGreaterThan(0);
    expect(findViolations("// Date.now() is banned here\nconst nowNs = 0;")).toEqual([]);
  });
});
