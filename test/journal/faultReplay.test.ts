// Goal: a recorded run replayed with added faults (`petrel replay --drop/--delay/--schedule/--shrink`)
// is the recording up to the first changed input and a live run after it, and the invariant
// checker's verdict is right.
// - One lossless two-process run (test/journal/journalPeer.ts, as journal.test.ts runs it) records
//   the subscriber's journal; everything below replays that journal (the publisher is a script).
// - No fault that picks anything: bit-exact, verdict ok.
// - Delaying three DATA datagrams by 1 ms (short: the scripted publisher does not slow down for a stalled receiver, so a long stall overruns its window) reorders them: the subscriber NAKs the gaps (more NAKs
//   than the recording), the late datagrams fill them, and the stream stays exactly-once, in order
//   and complete.
// - Dropping every second DATA datagram: the scripted publisher cannot repair it: a liveness
//   violation, exit 1 from the CLI.
// - Shrinking four harmless delays and that drop returns the drop alone, as a schedule file that
//   --schedule reads back; the shrunk set is 1-minimal.
// - to=subscriber on the subscriber's journal picks what dir=rx picks; to=publisher nothing. A
//   simulator schedule file (loss 1/2 from 0) drops about half of what the subscriber received, the
//   same datagrams every run (exit 1), with a note that the to=publisher half cannot act from this
//   journal, and --shrink keeps only the other half; duplicate and crash are refused (exit 2).
// - Filters: parse/format round-trip (fast-check, to= and rate= included); bad input is a clear error (exit 2).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replayJournal } from "../../src/journal/replay.js";
import { formatFrameFilter, parseDelay, parseDuration, parseFrameFilter, FrameFilterError, type FaultSpec, type FrameFilterSpec } from "../../src/journal/frameFilter.js";
import { shrinkFaults } from "../../src/journal/shrinkFaults.js";
import { freeUdpPort } from "../drivers/streamSupport.js";
import type { JournalPeerArgs } from "./journalPeer.js";

const root = join(import.meta.dirname, "..", "..");
const addonPath = process.env["PETREL_NATIVE_ADDON"] ?? join(root, "build", "Release", "petrel.node");
const dir = mkdtempSync(join(tmpdir(), "petrel-fault-replay-"));
const COUNT = 600;
const subscriberJournal = join(dir, "subscriber.pjournal");
let out = "";

function startPeer(script: string, args: JournalPeerArgs): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, [script, JSON.stringify(args)], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, PETREL_NATIVE_ADDON: addonPath, PETREL_REQUIRE_NATIVE: "1" },
  });
  child.stdin!.on("error", () => undefined);
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

async function nextLine(peer: { lines: AsyncIterator<string> }): Promise<Record<string, unknown>> {
  const line = await peer.lines.next();
  if (line.done === true) throw new Error("journal peer exited early");
  const value = JSON.parse(line.value) as Record<string, unknown>;
  if (value["error"] !== undefined) throw new Error(`journal peer failed: ${String(value["error"])}`);
  return value;
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(out, "src", "cli", "petrel.js"), "replay", ...args], { encoding: "utf8" });
}

beforeAll(async () => {
  out = join(dir, "peer");
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--ignoreConfig", "--outDir", out, "--rootDir", root,
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--strict",
    join(root, "test", "journal", "journalPeer.ts"), join(root, "src", "cli", "petrel.ts")],
    { encoding: "utf8", cwd: root });
  if (tsc.status !== 0) throw new Error(`compiling the journal peer failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(out, "package.json"), '{"type":"module"}\n');
  const script = join(out, "test", "journal", "journalPeer.js");
  const port = await freeUdpPort();
  const common = { port, count: COUNT, seed: 77, lossPerMille: 0, timeoutMs: 60_000 };
  const subscriber = startPeer(script, { ...common, role: "subscriber", journal: subscriberJournal });
  await nextLine(subscriber);
  const publisher = startPeer(script, { ...common, role: "publisher", journal: join(dir, "publisher.pjournal") });
  await nextLine(publisher);
  const result = await nextLine(subscriber);
  if (result["received"] !== COUNT) throw new Error(`the recorded run delivered ${String(result["received"])} of ${COUNT}`);
  publisher.child.stdin!.end("stop\n");
  await nextLine(publisher);
  await Promise.all([subscriber, publisher].map((p) => p.child.exitCode === null ? new Promise((resolve) => p.child.once("exit", resolve)) : undefined));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const drop = (text: string): FaultSpec => ({ kind: "drop", filter: parseFrameFilter(text) });
const fails = (faults: ReadonlyArray<FaultSpec>): boolean => {
  const r = replayJournal(subscriberJournal, { faults });
  return !r.ok || r.faulted!.violations.length > 0;
};

describe("replay with added faults", () => {
  it("a fault that picks nothing leaves the replay bit-exact", () => {
    const r = replayJournal(subscriberJournal, { faults: [drop("DATA,t=..0ns,offset=1..2")] });
    expect(r.ok).toBe(true);
    expect(r.faulted!.changed).toBe(false);
    expect(r.faulted!.violations).toEqual([]);
    expect(r.faulted!.recordedFragments).toBeGreaterThanOrEqual(COUNT);
  });

  it("delayed DATA datagrams are NAKed and still delivered exactly once, in order", () => {
    const plain = replayJournal(subscriberJournal);
    const r = replayJournal(subscriberJournal, { faults: [parseDelay("DATA,every=5,count=3:1ms")] });
    expect(r.ok).toBe(true);
    expect(r.faulted!.changed).toBe(true);
    expect(r.faulted!.delayed, "datagrams delayed").toBeGreaterThan(0);
    expect(r.faulted!.delayed).toBeLessThanOrEqual(3);
    expect(r.faulted!.violations, JSON.stringify(r.faulted)).toEqual([]);
    expect(r.faulted!.deliveredFragments).toBeGreaterThanOrEqual(r.faulted!.recordedFragments);
    expect(r.framesOut["NAK"] ?? 0, `NAKs, faulted ${JSON.stringify(r.framesOut)} plain ${JSON.stringify(plain.framesOut)}`).toBeGreaterThan(plain.framesOut["NAK"] ?? 0);
  });

  it("dropping every second DATA datagram is a liveness violation (the scripted publisher does not repair)", () => {
    const r = replayJournal(subscriberJournal, { faults: [drop("DATA,every=2")] });
    expect(r.ok).toBe(true);
    expect(r.faulted!.violations.map((v) => v.kind)).toContain("liveness");
    const run = cli(subscriberJournal, "--drop", "DATA,every=2");
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/VERDICT liveness violation/);
  });

  it("shrinks five faults where one matters to that one, as a schedule --schedule reads back", () => {
    const harmless = [1, 2, 3, 4].map((k) => parseDelay(`DATA,every=${5 + k},count=3:${k * 100}us`));
    const culprit = drop("DATA,every=2");
    const faults = [harmless[0]!, harmless[1]!, culprit, harmless[2]!, harmless[3]!];
    const shrunk = shrinkFaults(faults, fails);
    expect(shrunk!.faults).toEqual([culprit]);
    // 1-minimal: leaving out any one fault makes the run pass.
    for (let i = 0; i < shrunk!.faults.length; i++) expect(fails(shrunk!.faults.filter((_, k) => k !== i))).toBe(false);
    const schedule = join(dir, "shrunk.json");
    const run = cli(subscriberJournal, "--quiet", "--shrink", "--schedule", (writeFileSync(schedule, JSON.stringify({ format: "petrel-replay-faults",
      faults: faults.map((f) => f.kind === "drop" ? { drop: formatFrameFilter(f.filter) } : { delay: `${formatFrameFilter(f.filter)}:${f.delayNs}ns` }) })), schedule));
    expect(run.status).toBe(1);
    const printed = JSON.parse(run.stdout) as { faults: unknown[] };
    expect(printed.faults).toEqual([{ drop: "DATA,every=2" }]);
  });

  it("refuses bad input with a clear error, exit 2", () => {
    expect(cli(subscriberJournal, "--drop", "DATUM").stderr).toMatch(/unknown frame type 'DATUM'/);
    expect(cli(subscriberJournal, "--delay", "DATA:5 parsecs").stderr).toMatch(/bad duration/);
    expect(cli(join(dir, "missing.pjournal"), "--drop", "DATA").stderr).toMatch(/no such journal file/);
    expect(cli(subscriberJournal, "--drop", "SM,dir=tx").stderr).toMatch(/dir=tx needs the peer live.*give both ends' journals/);
    expect(cli(subscriberJournal, "--drop", "DATA").status).toBe(1);
    expect(cli(subscriberJournal, "--drop", "DATA,every=0").status).toBe(2);
    expect(cli(subscriberJournal, join(dir, "missing.pjournal"), "--drop", "DATA").stderr).toMatch(/missing.pjournal: no such journal file/);
    expect(cli("--help").stdout).toMatch(/--drop FILTER[\s\S]*--delay FILTER:DURATION[\s\S]*--schedule FILE[\s\S]*--shrink/);
    expect(cli("--help").stdout).toMatch(/--schedule FILE[\s\S]*the simulator's schedule[\s\S]*FILTER: TYPE.*,to=publisher\|subscriber.*,rate=N\/D/);
    expect(cli(subscriberJournal, "--drop", "DATA,rate=2/1").stderr).toMatch(/bad rate '2\/1'/);
  });
});

describe("to= and the simulator's schedule on one journal (a subscriber's)", () => {
  it("to=subscriber picks what the subscriber received; to=publisher nothing (the journal only sent those)", () => {
    const rx = replayJournal(subscriberJournal, { faults: [drop("DATA,dir=rx,every=2")] });
    const to = replayJournal(subscriberJournal, { faults: [drop("DATA,to=subscriber,every=2")] });
    expect(to.faulted!.dropped).toBe(rx.faulted!.dropped);
    expect(to.faulted!.violations.map((v) => v.kind)).toContain("liveness");
    const none = replayJournal(subscriberJournal, { faults: [drop("ANY,to=publisher")] });
    expect(none.faulted!.changed).toBe(false);
    expect(none.ok).toBe(true);
  });

  it("reads a simulator schedule file: loss from 0 drops to the subscriber at that rate (exit 1), notes the direction it cannot reach, --shrink keeps the fault that matters", () => {
    const file = join(dir, "sim-loss.json");
    writeFileSync(file, JSON.stringify({ schedule: [{ atNs: 0, action: { kind: "loss", sub: 0, loss: { numerator: 1, denominator: 2 } } }] }));
    const run = cli(subscriberJournal, "--schedule", file);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/VERDICT liveness violation/);
    expect(run.stderr).toMatch(/note: 'ANY,to=publisher,t=0ns\.\.,rate=1\/2' acts on datagrams to the publisher, which .* \(the subscriber's journal\) only sent/);
    const dropped = Number(/faults: ([\d,]+) datagrams dropped/.exec(run.stdout)![1]!.replace(/,/g, ""));
    const received = replayJournal(subscriberJournal).counts.datagramsIn;
    expect(dropped / received, `${dropped} of ${received} dropped before the run went live`).toBeGreaterThan(0.3);
    // Deterministic: the same schedule drops the same datagrams.
    expect(cli(subscriberJournal, "--schedule", file).stdout.match(/faults: .*/)![0]).toBe(run.stdout.match(/faults: .*/)![0]);
    const shrunk = cli(subscriberJournal, "--quiet", "--shrink", "--schedule", file);
    expect(shrunk.status).toBe(1);
    expect((JSON.parse(shrunk.stdout) as { faults: unknown[] }).faults).toEqual([{ drop: "ANY,to=subscriber,t=0ns..,rate=1/2" }]);
  });

  it("refuses a simulator schedule with what a replay cannot do (exit 2)", () => {
    const file = join(dir, "sim-duplicate.json");
    writeFileSync(file, JSON.stringify([{ atNs: 0, action: { kind: "reorder", sub: 0, on: true } }, { atNs: 1000, action: { kind: "duplicate", sub: 0, on: true } }]));
    const run = cli(subscriberJournal, "--schedule", file);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/schedule\[1\] \(duplicate at 1000 ns\): duplicate: not supported by replay/);
    writeFileSync(file, JSON.stringify([{ atNs: 0, action: { kind: "crash", sub: 0 } }]));
    expect(cli(subscriberJournal, "--schedule", file).stderr).toMatch(/crash: not supported by replay/);
    expect(cli(subscriberJournal, "--schedule", join(dir, "missing.json")).stderr).toMatch(/missing\.json: no such file/);
  });
});

describe("frame filters", () => {
  const spec: fc.Arbitrary<FrameFilterSpec> = fc.record({
    type: fc.constantFrom("ANY", "DATA", "PAD", "NAK", "SM", "ERR", "SETUP", "RTTM", "RES"),
    dir: fc.constantFrom("rx", "tx"),
    to: fc.constantFrom("publisher", "subscriber"),
    fromNs: fc.nat(10_000_000_000),
    toNs: fc.nat(10_000_000_000),
    offsetFrom: fc.nat(1 << 30),
    offsetTo: fc.nat(1 << 30),
    every: fc.integer({ min: 1, max: 1000 }),
    rate: fc.integer({ min: 1, max: 2 ** 32 }).chain((denominator) => fc.record({ numerator: fc.integer({ min: 0, max: denominator }), denominator: fc.constant(denominator) })),
    count: fc.integer({ min: 1, max: 1000 }),
  }, { requiredKeys: ["type"] }) as fc.Arbitrary<FrameFilterSpec>;

  it("format then parse is the identity", () => {
    fc.assert(fc.property(spec, (s) => {
      expect(parseFrameFilter(formatFrameFilter(s))).toEqual(s);
    }));
  });

  it("durations carry their unit", () => {
    expect(parseDuration("5ms")).toBe(5_000_000);
    expect(parseDuration("1.5s")).toBe(1_500_000_000);
    expect(() => parseDuration("5")).toThrow(FrameFilterError);
    expect(() => parseFrameFilter("DATA,speed=3")).toThrow(/unknown filter key/);
    expect(() => parseFrameFilter("DATA,to=sub")).toThrow(/bad to 'sub': publisher or subscriber/);
    for (const bad of ["3/2", "1/0", "1", "0.5", "1/8589934593", "-1/2"]) expect(() => parseFrameFilter(`DATA,rate=${bad}`)).toThrow(/bad rate/);
  });
});
