// Goal: the compiled `petrel` command (dist/src/cli/petrel.js, what `npm start` and `npx petrel`
// run) works end to end: `petrel demo` exits 0 with a summary that has a trace hash, the same seed
// gives the same trace hash (and another seed another), --pcap writes a pcap, and bad arguments
// exit 2 with a message that says what is wrong and what is allowed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "petrel.js");
const dir = mkdtempSync(join(tmpdir(), "petrel-cli-"));

function petrel(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function traceHash(stdout: string): string {
  const match = /trace hash\s+([0-9a-f]{16})/.exec(stdout);
  if (match === null) throw new Error(`no trace hash in:\n${stdout}`);
  return match[1]!;
}

beforeAll(() => {
  const started = Date.now();
  // The build may report type errors in files other than the CLI's while they are being written;
  // tsc still emits, so the check is that the CLI was (re)built now.
  const build = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    encoding: "utf8",
  });
  if (!existsSync(cli) || statSync(cli).mtimeMs < started - 1000) {
    throw new Error(`building the CLI failed:\n${build.stdout}${build.stderr}`);
  }
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("petrel CLI", () => {
  it("demo exits 0 and prints the summary with invariants and a trace hash", () => {
    const r = petrel("demo");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/petrel sim demo: seed 1, 10 s simulated/);
    expect(r.stdout).toMatch(/messages\s+[\d,]+ delivered of [\d,]+ offered/);
    expect(r.stdout).toMatch(/[\d,]+ NAKs, [\d,]+ retransmits/);
    expect(r.stdout).toMatch(/simulated in [\d.]+ s wall .* events\/s/);
    expect(r.stdout).toMatch(/invariants\s+all hold/);
    traceHash(r.stdout);
    // stderr is not a TTY here and the run is short: no progress bar escape codes.
    expect(r.stderr).not.toContain("\r");
  });

  it("gives the same trace hash for the same seed and another for another seed", () => {
    const a = petrel("sim", "lossy", "--seed", "5", "--duration", "4s");
    const b = petrel("sim", "lossy", "--seed", "5", "--duration", "4s");
    const c = petrel("sim", "lossy", "--seed", "6", "--duration", "4s");
    for (const r of [a, b, c]) expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(traceHash(a.stdout)).toBe(traceHash(b.stdout));
    expect(traceHash(a.stdout)).not.toBe(traceHash(c.stdout));
  });

  it("runs every listed scenario with its invariants holding, and writes a pcap", () => {
    const list = petrel("sim", "--list");
    expect(list.status).toBe(0);
    const names = list.stdout.split("\n").filter((l) => l !== "").map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(expect.arrayContaining(["demo", "lossy", "partition", "crash"]));
    for (const name of ["partition", "crash"]) {
      const pcap = join(dir, `${name}.pcap`);
      const r = petrel("sim", name, "--seed", "3", "--duration", "4s", "--pcap", pcap);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/invariants\s+all hold/);
      expect(r.stdout).toContain(`pcap         ${pcap}`);
      const bytes = readFileSync(pcap);
      expect(bytes.readUInt32LE(0)).toBe(0xa1b23c4d);
      expect(bytes.length).toBeGreaterThan(1000);
    }
  });

  it("applies a fault schedule file", () => {
    const schedule = join(dir, "schedule.json");
    writeFileSync(schedule, JSON.stringify([{ at: "1s", kind: "partition", a: "pub", b: "sub" }, { at: "1500ms", kind: "heal", a: "pub", b: "sub" }]));
    const plain = petrel("sim", "demo", "--duration", "3s");
    const faulted = petrel("sim", "demo", "--duration", "3s", "--schedule", schedule);
    expect(faulted.status, faulted.stdout + faulted.stderr).toBe(0);
    expect(traceHash(faulted.stdout)).not.toBe(traceHash(plain.stdout));
  });

  it.each([
    [["sim", "nosuch"], /unknown scenario 'nosuch'; known scenarios: demo, lossy, partition, crash/],
    [["sim", "--seed", "-3"], /Option '--seed' argument is ambiguous/],
    [["sim", "--seed=-3"], /--seed '-3' must be a non-negative decimal integer/],
    [["sim", "--seed", "abc"], /--seed 'abc' must be a non-negative decimal integer/],
    [["sim", "--seed", "99999999999999999999"], /--seed .* is too large/],
    [["sim", "--duration", "ten"], /--duration 'ten' must be a non-negative integer duration with an optional unit ns, us, ms or s/],
    [["sim", "--duration", "0s"], /--duration '0s' must be more than zero/],
    [["sim", "--duration", "2h"], /--duration '2h'/],
    [["sim", "--bogus"], /Unknown option '--bogus'/],
    [["frobnicate"], /unknown command 'frobnicate' \(commands: demo, sim, help\)/],
    [["sim", "--pcap-mode", "all"], /--pcap-mode 'all' must be sent or delivered/],
    [["sim", "--schedule", "/nonexistent/x.json"], /--schedule '\/nonexistent\/x.json': cannot read it/],
  ])("rejects %j with exit 2 and a reason", (args, message) => {
    const r = petrel(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("usage:");
  });

  it("rejects a schedule that restarts a host that is up", () => {
    const schedule = join(dir, "bad.json");
    writeFileSync(schedule, JSON.stringify([{ at: "1s", kind: "restart", host: "sub" }]));
    const r = petrel("sim", "demo", "--duration", "2s", "--schedule", schedule);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/sub is not down/);
  });
});
