// Goal: the README's examples are programs that work, not prose. Every ```ts block of README.md is
// extracted (its first line names it: `// subscriber.ts: ...`), its `petrel` imports are pointed at
// this repository's sources, and it runs: the subscriber and the publisher together over UDP
// loopback (the subscriber must print that it received all 10,000 messages and the publisher that
// its close drained), the simulation to its end. The publisher and subscriber must stay within 25
// lines each, the README must start with the client, and its links must stay inside the repository.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { freeUdpPort } from "../drivers/streamSupport.js";

const repo = join(import.meta.dirname, "..", "..");
const readme = readFileSync(join(repo, "README.md"), "utf8");
const outDir = join(import.meta.dirname, ".generated");
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

interface Example {
  readonly name: string;
  readonly code: string;
  readonly lines: number;
}

function examples(): Map<string, Example> {
  const found = new Map<string, Example>();
  for (const match of readme.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const code = match[1]!;
    const name = /^\/\/ ([\w.-]+\.ts):/.exec(code)?.[1];
    if (name === undefined) throw new Error(`a ts block of README.md does not start with '// <name>.ts:'\n${code}`);
    found.set(name, { name, code, lines: code.trimEnd().split("\n").length });
  }
  return found;
}

const entryPoints: Record<string, string> = {
  petrel: "src/index.ts",
  "petrel/core": "src/core/index.ts",
  "petrel/sim": "src/sim/index.ts",
  "petrel/drivers": "src/drivers/index.ts",
  "petrel/effect": "src/effect/index.ts",
};

/** Writes the example with its imports pointed at the sources (and its port replaced); returns the file. */
function materialize(example: Example, port: number): string {
  mkdirSync(outDir, { recursive: true });
  const code = example.code
    .replace(/from "(petrel(?:\/\w+)?)"/g, (_, name: string) => `from ${JSON.stringify(join(repo, entryPoints[name]!))}`)
    .replaceAll("40123", String(port));
  const file = join(outDir, example.name);
  writeFileSync(file, code);
  return file;
}

describe("README.md", () => {
  it("starts with the client: the first section is the publisher and subscriber", () => {
    const firstSection = /^## (.*)$/m.exec(readme)?.[1];
    expect(firstSection).toBe("Publish and subscribe");
    const names = [...examples().keys()];
    expect(names.slice(0, 2)).toEqual(["subscriber.ts", "publisher.ts"]);
    expect(names).toContain("simulation.ts");
    for (const name of ["subscriber.ts", "publisher.ts"]) expect(examples().get(name)!.lines).toBeLessThanOrEqual(25);
  });

  it("keeps the quick start two commands, and every link inside the repository", () => {
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toContain("npm test ");
    for (const file of ["README.md", "docs/ENGINE.md", "docs/DRIVERS.md"]) {
      const text = readFileSync(join(repo, file), "utf8");
      for (const match of text.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) {
        const target = match[1]!;
        if (/^https?:/.test(target)) continue;
        expect(target.startsWith(".."), `${file} links outside the repository: ${target}`).toBe(false);
        expect(existsSync(join(repo, file, "..", target)), `${file} links to a missing file: ${target}`).toBe(true);
      }
    }
  });

  it("runs the subscriber and publisher over UDP loopback: 10,000 messages received, close drained", async () => {
    const port = await freeUdpPort();
    const all = examples();
    const logged: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logged.push(args.join(" ")));
    try {
      const subscriber = import(materialize(all.get("subscriber.ts")!, port));
      const publisher = import(materialize(all.get("publisher.ts")!, port));
      await Promise.all([subscriber, publisher]);
    } finally {
      log.mockRestore();
    }
    expect(logged).toContain("received 10000 messages");
    expect(logged).toContain("sent 10000 messages, drained: true");
    expect(logged).toContain("10000: message 10000");
  }, 60_000);

  it("runs the simulation example to the end", async () => {
    const logged: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logged.push(args.join(" ")));
    try {
      await import(materialize(examples().get("simulation.ts")!, 40123));
    } finally {
      log.mockRestore();
    }
    expect(logged.join("\n")).toMatch(/^received 100 \(all\), trace \w+/);
  });
});
