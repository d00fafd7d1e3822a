// `npm run bench aeron [--duration=S] [--runs=N] [--round-trips=N] [--aeron-bin=DIR]
//                      [--aeron-threading=shared|sharednetwork|dedicated] [--aeron-idle=yield|spin|backoff|noop]
//                      [--aeron-drivers=1|2] [--sizes=32,500,1400]`
// Petrel against the real Aeron C media driver (1.48, built from ../shared/aeron), side by side in
// one run, over UDP loopback, with the same stream parameters (16 MiB terms, 2 MiB receiver window,
// 4 MiB socket buffers):
//  (a) throughput: Petrel's two processes (bench/socketsPeer.ts, busy-spinning, native sockets
//      driver) against Aeron's streaming_publisher -> rate_subscriber through aeronmd, each a median
//      of N runs of S seconds, runs interleaved so that load on a shared machine hits both alike;
//  (b) ping-pong RTT, 32 B: Petrel's ping/pong processes against Aeron's cping/cpong.
// Aeron runs one media driver per side by default (two "hosts" on one machine, as Petrel's two
// processes are), in the threading mode asked for; SHARED with the yield idle strategy by default,
// which is what a 2-core machine can hold (DEDICATED is three busy threads per driver).
// The Aeron binaries: --aeron-bin, else $PETREL_AERON_BIN, else .aeron-peer/build/binaries in the
// checkout, else they are built there from ../shared/aeron/build.sh (1-2 min, offline).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, median, parseOptions, pingPong, throughputRun, type Options } from "./sockets.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const STREAM_PARAMS = "term-length=16m|rcv-wnd=2m|so-rcvbuf=4m|so-sndbuf=4m";
let nextPort = 47000 + Math.floor(Math.random() * 1000) * 4;

interface AeronOptions {
  bin: string;
  threading: string;
  idle: string;
  drivers: 1 | 2;
  sizes: number[];
}

function option(argv: ReadonlyArray<string>, name: string): string | undefined {
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** Finds Aeron's binaries, or builds them from ../shared/aeron; throws a clear error when neither can be done. */
export function findAeronBinaries(argv: ReadonlyArray<string>): string {
  const usable = (dir: string): boolean => ["aeronmd", "streaming_publisher", "rate_subscriber", "cping", "cpong"].every((b) => existsSync(join(dir, b)));
  const given = option(argv, "aeron-bin") ?? process.env["PETREL_AERON_BIN"];
  if (given !== undefined && given !== "") {
    if (!usable(given)) throw new Error(`${given} lacks aeronmd, streaming_publisher, rate_subscriber, cping or cpong (build them with ../shared/aeron/build.sh OUT; the binaries are in OUT/build/binaries)`);
    return given;
  }
  const local = join(repoRoot, ".aeron-peer", "build", "binaries");
  if (usable(local)) return local;
  const script = resolve(repoRoot, "..", "shared", "aeron", "build.sh");
  if (!existsSync(script)) throw new Error(`no Aeron binaries: pass --aeron-bin=DIR or set PETREL_AERON_BIN (neither ${local} nor ${script} exists)`);
  console.log(`building Aeron's C media driver and samples with ${script} into .aeron-peer (1-2 min, offline) ...`);
  const built = spawnSync("bash", [script, join(repoRoot, ".aeron-peer")], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (built.status !== 0 || !usable(local)) throw new Error(`building Aeron failed (exit ${String(built.status)}); see the output above`);
  return local;
}

function parseAeronOptions(argv: ReadonlyArray<string>): AeronOptions {
  const threading = (option(argv, "aeron-threading") ?? "shared").toUpperCase();
  if (!["SHARED", "SHAREDNETWORK", "DEDICATED"].includes(threading)) throw new RangeError("--aeron-threading must be shared, sharednetwork or dedicated");
  const idle = option(argv, "aeron-idle") ?? "yield";
  if (!["yield", "spin", "backoff", "noop"].includes(idle)) throw new RangeError("--aeron-idle must be yield, spin, backoff or noop");
  const drivers = Number(option(argv, "aeron-drivers") ?? "2");
  if (drivers !== 1 && drivers !== 2) throw new RangeError("--aeron-drivers must be 1 or 2");
  const sizes = (option(argv, "sizes") ?? "32,500,1400").split(",").map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 1 || s > 65_536)) throw new RangeError("--sizes must be comma-separated message lengths in 1..65536");
  return { bin: findAeronBinaries(argv), threading, idle, drivers, sizes };
}

/** A child process whose output is kept; `exited` resolves with its code. */
class Proc {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<number | null>;
  private listeners: Array<() => void> = [];
  constructor(path: string, args: string[], env: Record<string, string> = {}) {
    // stdbuf -oL: the C samples printf to a pipe, which stdio would otherwise buffer until exit.
    this.child = spawn("stdbuf", ["-oL", path, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    const take = (chunk: Buffer): void => {
      this.output += chunk.toString();
      for (const l of this.listeners) l();
    };
    this.child.stdout!.on("data", take);
    this.child.stderr!.on("data", take);
    this.exited = new Promise((r) => this.child.once("exit", (code) => r(code)));
  }
  /** Resolves when the output matches, rejects when the process exits first or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolveWait, reject) => {
      const check = (): void => {
        if (pattern.test(this.output)) {
          clearTimeout(timer);
          this.listeners = this.listeners.filter((l) => l !== check);
          resolveWait();
        }
      };
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}; output:\n${this.output}`)), timeoutMs);
      void this.exited.then((code) => {
        if (!pattern.test(this.output)) {
          clearTimeout(timer);
          reject(new Error(`${String(this.child.spawnfile)} exited (${String(code)}) before ${String(pattern)}; output:\n${this.output}`));
        }
      });
      this.listeners.push(check);
      check();
    });
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGINT");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** aeronmd in a fresh directory, in the threading mode and idle strategy asked for. */
async function startDriver(a: AeronOptions): Promise<{ dir: string; proc: Proc }> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-bench-aeronmd-"));
  const proc = new Proc(join(a.bin, "aeronmd"), [], {
    AERON_DIR: dir,
    AERON_DIR_DELETE_ON_START: "1",
    AERON_DIR_DELETE_ON_SHUTDOWN: "1",
    AERON_THREADING_MODE: a.threading,
    AERON_SHARED_IDLE_STRATEGY: a.idle,
    AERON_SHAREDNETWORK_IDLE_STRATEGY: a.idle,
    AERON_SENDER_IDLE_STRATEGY: a.idle,
    AERON_RECEIVER_IDLE_STRATEGY: a.idle,
    AERON_CONDUCTOR_IDLE_STRATEGY: a.idle,
  });
  const started = Date.now();
  while (!existsSync(join(dir, "cnc.dat"))) {
    if (proc.child.exitCode !== null) throw new Error(`aeronmd exited: ${proc.output}`);
    if (Date.now() - started > 10_000) throw new Error(`aeronmd not ready after 10 s: ${proc.output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 100));
  return { dir, proc };
}

async function withDrivers<T>(a: AeronOptions, body: (pubDir: string, subDir: string) => Promise<T>): Promise<T> {
  const first = await startDriver(a);
  const second = a.drivers === 2 ? await startDriver(a) : first;
  try {
    return await body(first.dir, second.dir);
  } finally {
    for (const d of a.drivers === 2 ? [first, second] : [first]) {
      await d.proc.stop();
      rmSync(d.dir, { recursive: true, force: true });
    }
  }
}

/** rate_subscriber's once-a-second line: "<ms>ms, <r> msgs/sec, <b> bytes/sec, totals <n> messages <mb> MB payloads". */
const RATE_LINE = /^(\d+)ms, [^,]+ msgs\/sec, [^,]+ bytes\/sec, totals (\d+) messages (\d+) MB payloads$/gm;

async function aeronThroughput(a: AeronOptions, size: number, o: Options): Promise<{ mps: number; mbps: number }> {
  return withDrivers(a, async (pubDir, subDir) => {
    const channel = `aeron:udp?endpoint=127.0.0.1:${nextPort++}|${STREAM_PARAMS}`;
    const sub = new Proc(join(a.bin, "rate_subscriber"), ["-p", subDir, "-c", channel, "-s", "1001"]);
    await sub.waitFor(/Subscription channel status/, 10_000);
    const pub = new Proc(join(a.bin, "streaming_publisher"), ["-p", pubDir, "-c", channel, "-s", "1001", "-L", String(size), "-m", "1000000000000"]);
    try {
      await pub.waitFor(/Publication channel status/, 10_000);
      await new Promise((r) => setTimeout(r, o.warmupMs + o.durationMs));
      const lines = [...sub.output.matchAll(RATE_LINE)];
      // Skip the lines covering the warm-up, then take totals over the rest.
      let skippedMs = 0;
      let first = 0;
      while (first < lines.length && skippedMs < o.warmupMs) skippedMs += Number(lines[first++]![1]);
      const measured = lines.slice(first);
      if (measured.length === 0 || first === 0) throw new Error(`rate_subscriber printed too few rate lines (${lines.length}); output:\n${sub.output}`);
      const ms = measured.reduce((s, m) => s + Number(m[1]), 0);
      const messages = Number(measured[measured.length - 1]![2]) - Number(lines[first - 1]![2]);
      return { mps: (messages * 1000) / ms, mbps: (messages * size) / (ms * 1000) };
    } finally {
      await pub.stop();
      await sub.stop();
    }
  });
}

/** Parses hdr_percentiles_print's CLASSIC table (values already in microseconds). */
function parseHdrClassic(output: string): Record<string, number> {
  const rows = [...output.matchAll(/^\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+([\d.]+|inf)\s*$/gm)].map((m) => ({ value: Number(m[1]), percentile: Number(m[2]), count: Number(m[3]) }));
  if (rows.length === 0) throw new Error(`cping printed no percentile table; output:\n${output}`);
  const at = (p: number): number => (rows.find((r) => r.percentile >= p) ?? rows[rows.length - 1]!).value;
  const max = Number(/Max\s*=\s*([\d.]+)/.exec(output)?.[1] ?? rows[rows.length - 1]!.value);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max, count: rows[rows.length - 1]!.count };
}

async function aeronPingPong(a: AeronOptions, o: Options): Promise<Record<string, number>> {
  return withDrivers(a, async (pingDir, pongDir) => {
    const ping = `aeron:udp?endpoint=127.0.0.1:${nextPort++}`;
    const pongChannel = `aeron:udp?endpoint=127.0.0.1:${nextPort++}`;
    const pong = new Proc(join(a.bin, "cpong"), ["-p", pongDir, "-c", ping, "-C", pongChannel]);
    try {
      await pong.waitFor(/Publication channel status/, 10_000);
      const started = Date.now();
      const cping = new Proc(join(a.bin, "cping"), ["-p", pingDir, "-c", ping, "-C", pongChannel, "-L", "32", "-m", String(o.roundTrips), "-w", String(Math.min(10_000, o.roundTrips / 10))]);
      const code = await cping.exited;
      if (code !== 0) throw new Error(`cping exited ${String(code)}; output:\n${cping.output}`);
      const result = parseHdrClassic(cping.output);
      return { ...result, seconds: (Date.now() - started) / 1000 };
    } finally {
      await pong.stop();
    }
  });
}

export async function runAeronBench(argv: ReadonlyArray<string> = process.argv.slice(2)): Promise<void> {
  const o = parseOptions(argv);
  const a = parseAeronOptions(argv);
  console.log(`aeron: Petrel (native sockets driver, busy-spin) vs Aeron C media driver, 2 ${a.drivers === 2 ? "drivers" : "clients of 1 driver"} ` +
    `(AERON_THREADING_MODE=${a.threading}, idle ${a.idle}), UDP loopback, ${STREAM_PARAMS}`);
  console.log(`binaries: ${a.bin}`);
  console.log(`throughput = median of ${o.runs} runs x ${o.durationMs / 1000} s after ${o.warmupMs} ms warm-up, runs interleaved; ping-pong ${fmt(o.roundTrips)} round trips of 32 B`);
  console.log("\n(a) throughput, received by the subscriber");
  console.log("size    petrel msgs/s   petrel MB/s   aeron msgs/s   aeron MB/s   petrel/aeron");
  for (const size of a.sizes) {
    const petrel: Array<{ mps: number; mbps: number }> = [];
    const aeron: Array<{ mps: number; mbps: number }> = [];
    for (let r = 0; r < o.runs; r++) {
      petrel.push(await throughputRun("petrel", size, o, o.park));
      aeron.push(await aeronThroughput(a, size, o));
    }
    const pm = median(petrel.map((x) => x.mps));
    const am = median(aeron.map((x) => x.mps));
    console.log(`${String(size).padEnd(6)}  ${fmt(pm).padStart(13)}   ${fmt(median(petrel.map((x) => x.mbps)), 1).padStart(11)}   ${fmt(am).padStart(12)}   ` +
      `${fmt(median(aeron.map((x) => x.mbps)), 1).padStart(10)}   ${fmt(pm / am, 2).padStart(11)}x`);
    console.log(`        runs: petrel ${petrel.map((x) => fmt(x.mps)).join(", ")}; aeron ${aeron.map((x) => fmt(x.mps)).join(", ")}; ` +
      `per-run ratios ${petrel.map((x, i) => fmt(x.mps / aeron[i]!.mps, 2)).join(", ")}`);
  }
  console.log("\n(b) ping-pong RTT, 32 B, microseconds (both sides busy-spin; Aeron's cping/cpong busy-spin in their clients)");
  console.log("             p50      p90      p99    p99.9      max");
  // Aeron's ping-pong runs its two busy-spinning clients beside the drivers' threads: with fewer cores
  // than that, round trips wait on the scheduler (milliseconds each), so fewer of them are run.
  const aeronThreads = 2 + a.drivers * (a.threading === "DEDICATED" ? 3 : a.threading === "SHAREDNETWORK" ? 2 : 1);
  const oversubscribed = availableParallelism() < aeronThreads;
  const aeronRtt: Options = oversubscribed ? { ...o, roundTrips: Math.min(o.roundTrips, 2_000) } : o;
  if (oversubscribed) {
    console.log(`note: Aeron's ping-pong needs ${aeronThreads} busy threads and this machine has ${availableParallelism()} cores: ` +
      `its figures measure the scheduler, and it runs ${fmt(aeronRtt.roundTrips)} round trips`);
  }
  const rows: Array<[string, Record<string, number>[]]> = [["petrel spin", []], ["aeron", []]];
  for (let r = 0; r < Math.min(o.runs, 3); r++) {
    rows[0]![1].push(await pingPong("petrel", o, false));
    rows[1]![1].push(await aeronPingPong(a, aeronRtt));
  }
  for (const [label, results] of rows) {
    const col = (k: string): string => fmt(median(results.map((x) => x[k] ?? 0)), 1).padStart(8);
    console.log(`${label.padEnd(11)} ${["p50", "p90", "p99", "p999", "max"].map(col).join(" ")}`);
  }
  const p50 = (i: number): number => median(rows[i]![1].map((x) => x["p50"] ?? 0));
  console.log(`p50 ratio petrel/aeron: ${fmt(p50(0) / p50(1), 2)}x (medians of ${rows[0]![1].length} runs each)`);
}
