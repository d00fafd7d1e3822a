// Goal: the suite passes on a clone in any folder. No test, benchmark or source file may reach
// outside the repository (the reference captures live in test/fixtures), and no link in README or
// docs may point outside it. The optional Aeron peer is the one exception and comes in through an
// environment variable, never a path written here. A violation names the file and line.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

function listFiles(directory: string, pattern: RegExp): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory)) {
    if (entry === "node_modules" || entry === "dist" || entry.startsWith("build") || entry.startsWith(".")) continue;
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) files.push(...listFiles(path, pattern));
    else if (pattern.test(entry)) files.push(path);
  }
  return files;
}

/** A path that climbs out of the repository: "../shared", or join(dirname, "..", "..", "..", ...). */
const escapes = /["'`]\.\.\/shared|["']\.\.["']\s*,\s*["']\.\.["']\s*,\s*["']\.\.["']|["']shared["']\s*,\s*["']captures["']/;

describe("self-contained repository", () => {
  it("has the reference captures in test/fixtures", () => {
    const pcaps = readdirSync(join(root, "test", "fixtures")).filter((name) => name.endsWith(".pcap"));
    expect(pcaps.sort()).toEqual(["aeron-multicast-loss.pcap", "aeron-unicast-cubic-rttm.pcap", "aeron-unicast-loss.pcap"]);
  });

  it("no code reads outside the repository", () => {
    const found: string[] = [];
    for (const dir of ["src", "test", "bench", "scripts"]) {
      for (const file of listFiles(join(root, dir), /\.(ts|mts|js|mjs)$/)) {
        if (file === import.meta.filename) continue;
        readFileSync(file, "utf8").split("\n").forEach((line, index) => {
          if (escapes.test(line)) found.push(`${relative(root, file)}:${index + 1}: ${line.trim()}`);
        });
      }
    }
    expect(found).toEqual([]);
  });

  it("no link in README or docs leaves the repository", () => {
    const found: string[] = [];
    for (const file of [join(root, "README.md"), ...listFiles(join(root, "docs"), /\.md$/)]) {
      readFileSync(file, "utf8").split("\n").forEach((line, index) => {
        for (const match of line.matchAll(/\]\(([^)]+)\)/g)) {
          const target = match[1]!;
          if (target.startsWith("../") && relative(root, join(file, "..", target)).startsWith("..")) {
            found.push(`${relative(root, file)}:${index + 1}: ${target}`);
          }
        }
      });
    }
    expect(found).toEqual([]);
  });
});
