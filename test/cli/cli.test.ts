// Goal: the compiled `petrel` command (dist/src/cli/petrel.js, what `npm start` and `npx petrel`
// run) works end to end: `petrel demo` exits 0 with a summary that has a trace hash, the same seed
// gives the same trace hash (and another seed another), --pcap writes a pcap, and bad arguments
// exit 2 with a message that says what is wrong and what is allowed. Schedules in runScenario's
// format apply to the named scenarios, and --replay runs runScenario itself: the same result and
// trace hash as in-process. The experiment scenarios (fc-min, ..., cubic, bbr) print their figures
// and checks with the same trace hash as the experiment run in-process, and exit 1 when a check fails.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScenario, type Schedule } from "../../src/sim/scenario.js";
import { runBottleneck, runNakImplosion } from "../../src/cli/transportExperiments.js";

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

  it("applies a schedule in runScenario's format (the fuzz test's), with its no-op crash", () => {
    const schedule: Schedule = [
      { atNs: 500_000_000, action: { kind: "loss", sub: 0, loss: { numerator: 10, denominator: 100 } } },
      { atNs: 600_000_000, action: { kind: "duplicate", sub: 0, on: true } },
      { atNs: 1_000_000_000, action: { kind: "crash", sub: 0 } },
      { atNs: 1_100_000_000, action: { kind: "crash", sub: 0 } },
      { atNs: 1_300_000_000, action: { kind: "restart", sub: 0 } },
      { atNs: 1_500_000_000, action: { kind: "partition", sub: 0, direction: "fromSubscriber" } },
      { atNs: 1_700_000_000, action: { kind: "heal", sub: 0 } },
      { atNs: 1_800_000_000, action: { kind: "loss", sub: 0, loss: { numerator: 0, denominator: 1 } } },
    ];
    const file = join(dir, "scenario-schedule.json");
    writeFileSync(file, JSON.stringify({ schedule }));
    const plain = petrel("sim", "demo", "--duration", "4s");
    const faulted = petrel("sim", "demo", "--duration", "4s", "--schedule", file);
    expect(faulted.status, faulted.stdout + faulted.stderr).toBe(0);
    expect(faulted.stdout).toMatch(/invariants\s+all hold/);
    expect(faulted.stdout).toMatch(/2 join\(s\)/);
    expect(traceHash(faulted.stdout)).not.toBe(traceHash(plain.stdout));
  });

  it("keeps the stream going across a publisher restart (a new session, numbered on)", () => {
    const file = join(dir, "pub-restart.json");
    writeFileSync(file, JSON.stringify([{ at: "1s", kind: "crash", host: "pub" }, { at: "1500ms", kind: "restart", host: "pub" }]));
    const r = petrel("sim", "demo", "--duration", "4s", "--schedule", file);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 join\(s\)/);
  });

  it("--replay runs runScenario: a passing schedule exits 0 with the in-process trace hash, inline or from a file", () => {
    const seed = 20261124;
    const schedule: Schedule = [
      { atNs: 100_000_000, action: { kind: "loss", sub: 0, loss: { numerator: 20, denominator: 100 } } },
      { atNs: 300_000_000, action: { kind: "crash", sub: 0 } },
      { atNs: 900_000_000, action: { kind: "restart", sub: 0 } },
    ];
    const options = { messages: 120, termLengthBytes: 65536 };
    const expected = runScenario(seed, schedule, options);
    expect(expected.ok).toBe(true);
    const json = JSON.stringify({ seed, schedule, options });
    const inline = petrel("sim", "--replay", json);
    expect(inline.status, inline.stdout + inline.stderr).toBe(0);
    expect(inline.stdout).toMatch(/^ok \| /m);
    expect(inline.stdout).toContain(`trace ${expected.traceHash},`);
    const file = join(dir, "replay.json");
    writeFileSync(file, json);
    const fromFile = petrel("sim", "--replay", file);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toContain(`trace ${expected.traceHash},`);
  });

  it("--replay exits 1 with the violation when the run fails (runScenario's never-NAK engine)", () => {
    const json = JSON.stringify({
      seed: 24,
      schedule: [{ atNs: 0, action: { kind: "loss", sub: 0, loss: { numerator: 2, denominator: 100 } } }],
      options: { messages: 150, brokenEngine: "neverNak" },
    });
    const r = petrel("sim", "--replay", json);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^liveness violation at \d+ ns/m);
  });

  it("lists the experiment scenarios", () => {
    const list = petrel("sim", "--list");
    expect(list.status).toBe(0);
    const names = list.stdout.split("\n").filter((l) => l !== "").map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(expect.arrayContaining(["fc-min", "fc-max", "fc-tagged", "nak-implosion", "cubic", "cubic-2flows", "cubic-2flows-tcp", "bbr"]));
  });

  // 10 s: a CUBIC receiver that sends a status message on every window change (Aeron's trackRebuild)
  // gives its window to the sender at once, overshoots the queue at startup and recovers after K
  // (about 1.7 s); utilisation is measured from 4 s.
  it("cubic prints utilisation and queueing delay, exits 0, with the in-process trace hash", () => {
    const r = petrel("sim", "cubic", "--seed", "2", "--duration", "10s");
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/petrel sim cubic: seed 2, 10\.000 s simulated/);
    expect(r.stdout).toMatch(/utilisation\s+\d+\.\d% of 100 Mbit\/s/);
    expect(r.stdout).toMatch(/queueing\s+delay mean \d+\.\d+ ms, p99 \d+\.\d+ ms/);
    expect(r.stdout).toMatch(/checks\s+all hold/);
    const expected = runBottleneck(2, { cc: "cubic", flows: 1, durationNs: 10e9, warmupNs: 4e9, secondFlowStartNs: 1e9 });
    expect(traceHash(r.stdout)).toBe(expected.traceHash);
  });

  it("nak-implosion prints NAKs per gap and exits 0, with the in-process trace hash", () => {
    const r = petrel("sim", "nak-implosion", "--seed", "21");
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/naks\s+\d+\.\d\d NAKs per gap \(\d+\.\d% of 50 receivers\)/);
    expect(r.stdout).toMatch(/checks\s+all hold/);
    expect(traceHash(r.stdout)).toBe(runNakImplosion(21).traceHash);
  });

  it("cubic-2flows-tcp prints the flows and Jain's index, and all checks hold", () => {
    const r = petrel("sim", "cubic-2flows-tcp", "--seed", "1", "--duration", "2s");
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/flows\s+flow 0 [\d.]+ Mbit\/s \([+-][\d.]+% of the fair share\), flow 1/);
    expect(r.stdout).toMatch(/fairness\s+Jain's index 0\.\d{3}/);
    traceHash(r.stdout);
  });

  it("exits 1 and names the failed check when an experiment's check fails (cubic, 2 s: still in its startup)", () => {
    const r = petrel("sim", "cubic", "--seed", "2", "--duration", "2s");
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/checks\s+FAILED/);
    expect(r.stdout).toMatch(/FAIL utilisation ≥ 80% after startup/);
    traceHash(r.stdout);
  });

  it.each([
    [["sim", "nosuch"], /unknown scenario 'nosuch'; known scenarios: demo, lossy, partition, crash, fc-min, .*bbr/],
    [["sim", "fc-min", "--duration", "3s"], /the experiment 'fc-min' has a fixed timeline/],
    [["sim", "cubic", "--duration", "1s"], /--duration '1s' is too short for the experiment 'cubic'/],
    [["sim", "bbr", "--pcap", "x.pcap"], /--pcap go\(es\) with the two-host scenarios/],
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
    [["sim", "lossy", "--replay", "[]"], /--replay goes with 'petrel sim' alone/],
    [["sim", "--replay", "[]", "--pcap", "x.pcap"], /--replay goes with 'petrel sim' alone .* --pcap/],
    [["sim", "--replay", '{"seed": 1, "options": {"bogus": 1}}'], /--replay: unknown option "bogus"/],
    [["sim", "--replay", '{"seed": 1, "options": {"messages": 0}}'], /--replay: messages must be an integer/],
    [["sim", "--replay", '{"seed": 1, "schedule": [{"atNs": 0, "action": {"kind": "crash", "sub": 1}}]}'], /--replay: schedule\[0\]\.action\.sub/],
    [["sim", "--replay", "{nope"], /--replay is not JSON/],
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

  it("rejects a runScenario-format schedule entry that is invalid or after the end of the run", () => {
    const late = join(dir, "late.json");
    writeFileSync(late, JSON.stringify([{ atNs: 5_000_000_000, action: { kind: "heal", sub: 0 } }]));
    const r = petrel("sim", "demo", "--duration", "2s", "--schedule", late);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/entry 0: atNs 5000000000 is not before the end of the run/);
    const bad = join(dir, "bad-kind.json");
    writeFileSync(bad, JSON.stringify([{ atNs: 0, action: { kind: "explode", sub: 0 } }]));
    const b = petrel("sim", "demo", "--duration", "2s", "--schedule", bad);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/schedule\[0\]\.action\.kind explode is not a fault/);
  });
});
