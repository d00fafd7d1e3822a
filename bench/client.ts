// `npm run bench client`: what the client's idle strategy costs and how fast it wakes. Two
// processes, each a Petrel client (bench/clientPeer.ts echoes): round trips of a 32 B message over
// UDP loopback, each after a pause that lets both sides go idle (so every round trip includes two
// wake-ups), for idle "spin" (never parks: the reference) and "adaptive" (the default: sleeps on the
// addon's socket waker). Also the CPU an idle client burns over 2 s. Medians of 3 runs per mode;
// the ratio is adaptive to spin, measured in this one run.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { Petrel, type ClientIdleStrategy } from "../src/client/index.js";
import { freeUdpPort } from "../test/drivers/streamSupport.js";

const RUNS = 3;
const WARMUP = 200;
const ROUND_TRIPS = 1000;
const PAUSE_MS = 2;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

interface RunResult {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly idleCpu: number;
}

async function run(idle: ClientIdleStrategy): Promise<RunResult> {
  const pingPort = await freeUdpPort();
  const pongPort = await freeUdpPort();
  const peerPath = join(dirname(fileURLToPath(import.meta.url)), "clientPeer.js");
  const child = spawn(process.execPath, [peerPath, JSON.stringify({ idle, pingPort, pongPort })], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve) => lines.once("line", () => resolve()));
  const petrel = await Petrel.launch({ idle });
  try {
    const pongs = await petrel.addSubscription(`aeron:udp?endpoint=127.0.0.1:${pongPort}`, 2);
    const pings = await petrel.addPublication(`aeron:udp?endpoint=127.0.0.1:${pingPort}`, 1);
    const replies = pongs[Symbol.asyncIterator]();
    const message = new Uint8Array(32);
    const rtts: number[] = [];
    for (let i = 0; i < WARMUP + ROUND_TRIPS; i++) {
      if (i >= WARMUP) await sleep(PAUSE_MS);
      const started = performance.now();
      while (pings.offer(message) < 0) await new Promise((resolve) => setImmediate(resolve));
      await replies.next();
      if (i >= WARMUP) rtts.push((performance.now() - started) * 1000);
    }
    const before = process.cpuUsage();
    const wall = performance.now();
    await sleep(2000);
    const used = process.cpuUsage(before);
    const idleCpu = (used.user + used.system) / 1000 / (performance.now() - wall);
    return { p50Us: percentile(rtts, 0.5), p99Us: percentile(rtts, 0.99), idleCpu };
  } finally {
    await petrel.close({ timeoutMs: 200 });
    child.stdin!.end();
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

export async function runClientBench(): Promise<void> {
  console.log(`${ROUND_TRIPS} round trips of 32 B per run after ${WARMUP} warm-up, a ${PAUSE_MS} ms pause before each; ${RUNS} runs per mode, alternating`);
  const results: Record<string, RunResult[]> = { spin: [], adaptive: [] };
  for (let r = 0; r < RUNS; r++) {
    for (const idle of ["spin", "adaptive"] as const) {
      const result = await run(idle);
      results[idle]!.push(result);
      console.log(`run ${r + 1} ${idle}: RTT p50 ${result.p50Us.toFixed(1)} µs, p99 ${result.p99Us.toFixed(1)} µs, idle CPU ${(result.idleCpu * 100).toFixed(1)}%`);
    }
  }
  console.log("\n| idle | RTT p50 | RTT p99 | idle CPU (one client) |\n|---|---|---|---|");
  for (const idle of ["spin", "adaptive"]) {
    const rs = results[idle]!;
    console.log(`| ${idle} | ${median(rs.map((x) => x.p50Us)).toFixed(1)} µs | ${median(rs.map((x) => x.p99Us)).toFixed(1)} µs | ${(median(rs.map((x) => x.idleCpu)) * 100).toFixed(1)}% |`);
  }
  const ratio = median(results["adaptive"]!.map((x) => x.p50Us)) / median(results["spin"]!.map((x) => x.p50Us));
  console.log(`adaptive / spin, RTT p50: ${ratio.toFixed(2)}×`);
}
