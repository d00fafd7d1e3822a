// `npm run bench sockets [--duration=S] [--runs=N] [--round-trips=N] [--idle=spin|park] [--only=throughput|rtt]`: Petrel over the native
// sockets driver between two processes on UDP loopback, against plain node:dgram doing the same
// work, side by side:
//  (a) throughput, publisher process -> subscriber process, 32 B / 500 B / 1400 B messages:
//      messages/s and MB/s of payload received, median of N runs of S seconds (defaults 3 x 10 s);
//  (b) ping-pong round-trip time, 32 B, 10^5 round trips: p50/p90/p99/p99.9/max, with both
//      processes busy-spinning, and with both parking in poll(2) when idle; medians over N runs
//      taken in turn, and the same with the runtime's transmitFirst off (the duty cycle before it:
//      an offer waited behind the next cycle's receive calls);
//  (c) the node:dgram program (one message per datagram) for both, and Petrel's ratio to it.
// Both processes busy-spin (Petrel) or run their event loops flat out (node:dgram), one per core.
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface Options {
  /** Throughput processes: busy-spin, or spin then park in poll(2) when idle. */
  park: boolean;
  durationMs: number;
  warmupMs: number;
  runs: number;
  roundTrips: number;
  /** Which part to run (default both). */
  only: "throughput" | "rtt" | undefined;
}

export function parseOptions(argv: ReadonlyArray<string>): Options {
  const value = (name: string, fallback: number): number => {
    const arg = argv.find((a) => a.startsWith(`--${name}=`));
    if (arg === undefined) return fallback;
    const n = Number(arg.slice(name.length + 3));
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name} must be a positive number`);
    return n;
  };
  const durationS = value("duration", 10);
  const idle = argv.find((a) => a.startsWith("--idle="))?.slice(7) ?? "spin";
  if (idle !== "spin" && idle !== "park") throw new RangeError("--idle must be spin or park");
  const only = argv.find((a) => a.startsWith("--only="))?.slice(7);
  if (only !== undefined && only !== "throughput" && only !== "rtt") throw new RangeError("--only must be throughput or rtt");
  return { park: idle === "park", durationMs: durationS * 1000, warmupMs: Math.min(1000, durationS * 200), runs: value("runs", 3), roundTrips: value("round-trips", 100_000), only };
}

const peerPath = join(dirname(fileURLToPath(import.meta.url)), "socketsPeer.js");
let nextPort = 41000 + Math.floor(Math.random() * 1000) * 4;

class Peer {
  readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(args: Record<string, unknown>) {
    this.child = spawn(process.execPath, [peerPath, JSON.stringify(args)], { stdio: ["pipe", "pipe", "inherit"] });
    // A peer that finished on its own has closed its stdin: telling it to stop is then a no-op.
    this.child.stdin!.on("error", () => undefined);
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
    if (this.child.exitCode === null) this.child.stdin!.end("stop\n");
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once("exit", resolve));
  }
}

export async function throughputRun(kind: "petrel" | "dgram", size: number, o: Options, park = false, mtu = 0): Promise<{ mps: number; mbps: number }> {
  const port = nextPort++;
  const common = { mtu, park, port, port2: 0, size, warmupMs: o.warmupMs, durationMs: o.durationMs, roundTrips: 0, warmupRoundTrips: 0 };
  const receiver = new Peer({ ...common, role: kind === "petrel" ? "petrel-sub" : "dgram-recv" });
  await receiver.next();
  const sender = new Peer({ ...common, role: kind === "petrel" ? "petrel-pub" : "dgram-send" });
  await sender.next();
  const result = await receiver.next();
  await sender.stop();
  if (process.env["PETREL_BENCH_DEBUG"] === "1" && kind === "petrel") {
    console.log(JSON.stringify(await sender.next()), JSON.stringify(await receiver.next()));
  }
  await receiver.stop();
  return { mps: result["messagesPerSecond"] as number, mbps: result["megabytesPerSecond"] as number };
}

export async function pingPong(kind: "petrel" | "dgram", o: Options, park = false, transmitFirst = true): Promise<Record<string, number>> {
  const port = nextPort++;
  const port2 = nextPort++;
  const common = { park, transmitFirst, port, port2, size: 32, warmupMs: 0, durationMs: 0, roundTrips: o.roundTrips, warmupRoundTrips: Math.min(10_000, o.roundTrips / 10) };
  const pong = new Peer({ ...common, role: `${kind}-pong` });
  await pong.next();
  const ping = new Peer({ ...common, role: `${kind}-ping` });
  await ping.next();
  const result = (await ping.next()) as Record<string, number>;
  if (process.env["PETREL_BENCH_DEBUG"] === "1") console.log(JSON.stringify(result));
  await ping.stop();
  await pong.stop();
  return result;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function runSocketsBench(argv: ReadonlyArray<string> = process.argv.slice(2)): Promise<void> {
  const o = parseOptions(argv);
  console.log(`sockets: 2 processes on UDP loopback; throughput = median of ${o.runs} runs x ${o.durationMs / 1000} s ` +
    `(after ${o.warmupMs} ms warm-up); ping-pong ${fmt(o.roundTrips)} round trips of 32 B`);
  if (o.only !== "rtt") await throughputPart(o);
  if (o.only !== "throughput") await rttPart(o);
}

async function throughputPart(o: Options): Promise<void> {
  console.log(`\n(a) throughput, received by the subscriber process (petrel idle: ${o.park ? "spin, then park in poll(2)" : "busy-spin"})`);
  console.log("size    petrel msgs/s   petrel MB/s   node:dgram msgs/s   node:dgram MB/s   ratio (msgs)");
  const sizes = (process.env["PETREL_BENCH_SIZES"] ?? "32,500,1400").split(",").map(Number);
  for (const size of sizes) {
    const petrel: Array<{ mps: number; mbps: number }> = [];
    const plain: Array<{ mps: number; mbps: number }> = [];
    for (let r = 0; r < o.runs; r++) {
      petrel.push(await throughputRun("petrel", size, o, o.park));
      plain.push(await throughputRun("dgram", size, o));
    }
    const pm = median(petrel.map((x) => x.mps));
    const pb = median(petrel.map((x) => x.mbps));
    const dm = median(plain.map((x) => x.mps));
    const db = median(plain.map((x) => x.mbps));
    console.log(`${String(size).padEnd(6)}  ${fmt(pm).padStart(13)}   ${fmt(pb, 1).padStart(11)}   ${fmt(dm).padStart(17)}   ${fmt(db, 1).padStart(15)}   ${fmt(pm / dm, 2).padStart(11)}x`);
    console.log(`        runs: petrel ${petrel.map((x) => fmt(x.mps)).join(", ")}; node:dgram ${plain.map((x) => fmt(x.mps)).join(", ")}`);
    if (size === 1400) {
      // A 1400 B message does not fit Aeron's default MTU (1408 B, 1376 B of payload): it goes as two
      // datagrams (1408 + 56 B) that alternate in size, so GSO groups only pairs. Loopback takes a
      // larger MTU, as would a jumbo-frame network: the same messages with mtu=8k.
      const jumbo: Array<{ mps: number; mbps: number }> = [];
      for (let r = 0; r < o.runs; r++) jumbo.push(await throughputRun("petrel", size, o, o.park, 8192));
      const jm = median(jumbo.map((x) => x.mps));
      const jb = median(jumbo.map((x) => x.mbps));
      console.log(`1400 mtu=8k ${fmt(jm).padStart(8)}   ${fmt(jb, 1).padStart(11)}   ${fmt(dm).padStart(17)}   ${fmt(db, 1).padStart(15)}   ${fmt(jm / dm, 2).padStart(11)}x`);
      console.log(`        runs: petrel ${jumbo.map((x) => fmt(x.mps)).join(", ")}`);
    }
  }
}

async function rttPart(o: Options): Promise<void> {
  console.log(`\n(b) ping-pong RTT, 32 B, microseconds: median of ${o.runs} runs of each variant, taken in turn`);
  console.log("(spin: both processes busy-spin; park: spin 50 idle cycles, then block in poll(2) until a datagram;");
  console.log(" transmit last: the runtime's transmitFirst off, an offer waits behind the next cycle's receive calls)");
  console.log("                           p50      p90      p99    p99.9      max   round trips/s");
  const variants = [
    ["petrel spin", "petrel", false, true], ["petrel park", "petrel", true, true],
    ["petrel spin, transmit last", "petrel", false, false], ["petrel park, transmit last", "petrel", true, false],
    ["node:dgram", "dgram", false, true],
  ] as const;
  const results: Array<Array<Record<string, number>>> = variants.map(() => []);
  for (let r = 0; r < o.runs; r++) {
    for (let v = 0; v < variants.length; v++) {
      const [, kind, park, transmitFirst] = variants[v]!;
      results[v]!.push(await pingPong(kind, o, park, transmitFirst));
    }
  }
  for (let v = 0; v < variants.length; v++) {
    const runs = results[v]!;
    const m = (key: string): number => median(runs.map((r) => r[key] ?? 0));
    const rate = median(runs.map((r) => (r["count"] ?? 0) / (r["seconds"] ?? 1)));
    console.log(`${variants[v]![0].padEnd(25)} ${[m("p50"), m("p90"), m("p99"), m("p999"), m("max")].map((x) => fmt(x, 1).padStart(8)).join(" ")}   ${fmt(rate).padStart(10)}`);
    if (o.runs > 1) console.log(`${"".padEnd(25)} p50 runs: ${runs.map((r) => fmt(r["p50"] ?? 0, 1)).join(", ")}`);
  }
  const p50 = (v: number): number => median(results[v]!.map((r) => r["p50"] ?? 0));
  console.log(`transmit first / transmit last, p50: spin ${fmt(p50(0) / p50(2), 2)}x, park ${fmt(p50(1) / p50(3), 2)}x; petrel spin / node:dgram ${fmt(p50(0) / p50(4), 2)}x`);
}
