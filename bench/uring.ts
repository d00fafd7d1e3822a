// `npm run bench uring [--duration=S] [--runs=N] [--drivers=sockets,io_uring,...]`: Petrel on the
// io_uring driver against Petrel on the native sockets driver, side by side in one run, as ratios. Two processes on UDP loopback (the
// sockets benchmark's own peer program, bench/socketsPeer.ts, with PETREL_DRIVER choosing the driver),
// a publisher streaming fixed-size messages and a subscriber counting them over a measured window;
// median of N runs of S seconds (defaults 3 x 5 s) per size and driver, runs interleaved (run r of
// every driver back to back), and the median of the per-run ratios (each io_uring run over the
// sockets run next to it: the figure that survives a machine shared with other work). Drivers:
//   sockets         sendmmsg/recvmmsg with UDP GSO/GRO (the default driver)
//   io_uring        one SENDMSG per GSO run (UDP_SEGMENT) + multishot recvmsg with UDP_GRO over a
//                   buffer ring of 64 KiB buffers, DEFER_TASKRUN
//   io_uring-sqpoll the same with an SQPOLL ring (sq_thread_idle 10 ms)
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const peerPath = join(dirname(fileURLToPath(import.meta.url)), "socketsPeer.js");
let nextPort = 45000 + Math.floor(Math.random() * 1000) * 4;

const DRIVERS: Record<string, Record<string, string>> = {
  "sockets": { PETREL_DRIVER: "native" },
  "io_uring": { PETREL_DRIVER: "io_uring" },
  "io_uring-sqpoll": { PETREL_DRIVER: "io_uring", PETREL_URING_SQPOLL: "1", PETREL_URING_SQ_IDLE_MS: "10" },
};

class Peer {
  readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(args: Record<string, unknown>, env: Record<string, string>) {
    this.child = spawn(process.execPath, [peerPath, JSON.stringify(args)], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  async next(): Promise<Record<string, unknown>> {
    const line = await this.lines.next();
    if (line.done === true) throw new Error("benchmark peer exited early");
    const value = JSON.parse(line.value) as Record<string, unknown>;
    if (value["error"] !== undefined) throw new Error(`benchmark peer failed: ${String(value["error"])}`);
    return value;
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin!.end("stop\n");
    await new Promise((resolve) => this.child.once("exit", resolve));
  }
}

async function throughput(env: Record<string, string>, size: number, durationMs: number): Promise<number> {
  const common = { port: nextPort++, port2: 0, size, warmupMs: Math.min(1000, durationMs / 5), durationMs, roundTrips: 0, warmupRoundTrips: 0 };
  const receiver = new Peer({ ...common, role: "petrel-sub" }, env);
  await receiver.next();
  const sender = new Peer({ ...common, role: "petrel-pub" }, env);
  await sender.next();
  const result = await receiver.next();
  await sender.stop();
  await receiver.stop();
  return result["messagesPerSecond"] as number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function runUringBench(argv: ReadonlyArray<string> = process.argv.slice(2)): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const a = argv.find((x) => x.startsWith(`--${name}=`));
    const n = a === undefined ? fallback : Number(a.slice(name.length + 3));
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name} must be a positive number`);
    return n;
  };
  const durationMs = arg("duration", 5) * 1000;
  const runs = arg("runs", 3);
  const sizes = (process.env["PETREL_BENCH_SIZES"] ?? "32,1400").split(",").map(Number);
  const chosen = argv.find((x) => x.startsWith("--drivers="))?.slice("--drivers=".length).split(",");
  const names = chosen ?? Object.keys(DRIVERS);
  if (names[0] !== "sockets" || names.some((n) => DRIVERS[n] === undefined)) {
    throw new RangeError(`--drivers must start with sockets and name drivers from ${Object.keys(DRIVERS).join(", ")}`);
  }
  console.log(`uring: Petrel publisher -> subscriber, 2 processes on UDP loopback, messages/s received; median of ${runs} x ${durationMs / 1000} s, drivers interleaved`);
  console.log(`size   ${names.map((n) => n.padStart(16)).join("")}   ${names.slice(1).map((n) => `${n}/sockets`.padStart(24)).join("")}`);
  for (const size of sizes) {
    const results: Record<string, number[]> = {};
    for (const name of names) results[name] = [];
    for (let r = 0; r < runs; r++) {
      for (const name of names) results[name]!.push(await throughput(DRIVERS[name]!, size, durationMs));
    }
    const medians = names.map((n) => median(results[n]!));
    const base = medians[0]!;
    console.log(`${String(size).padEnd(6)} ${medians.map((m) => fmt(m).padStart(16)).join("")}   ${medians.slice(1).map((m) => `${fmt(m / base, 2)}x`.padStart(24)).join("")}`);
    console.log(`       runs: ${names.map((n) => `${n} ${results[n]!.map((x) => fmt(x)).join("/")}`).join("; ")}`);
    const ratios = names.slice(1).map((n) => results[n]!.map((x, r) => x / results["sockets"]![r]!));
    console.log(`       per-run ratios: ${names.slice(1).map((n, i) => `${n}/sockets ${ratios[i]!.map((x) => fmt(x, 2)).join("/")} ` +
      `(median ${fmt(median(ratios[i]!), 2)}x)`).join("; ")}`);
  }
}
