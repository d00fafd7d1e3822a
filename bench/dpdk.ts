// `npm run bench dpdk [--duration=S] [--runs=N]`: the DPDK driver (Petrel's netstack on a DPDK
// port) on both virtual PMDs it runs on without a NIC, net_af_packet and net_af_xdp (AF_XDP, copy
// mode), against the AF_PACKET driver and the native sockets driver, all on the same veth pair
// between two network namespaces this benchmark creates and deletes. Sockets runs get kernel
// addresses on the pair; raw-frame runs (AF_PACKET, DPDK) get them flushed (Petrel owns the
// addresses there). Two figures per driver and payload (32 B and 1400 B), medians of N runs, the
// drivers interleaved run by run so that machine noise hits them alike:
//  - driver level: datagrams per second delivered, a sender process blasting 64-datagram batches
//    through transmitBatch into a receiver process's pollBatch (no protocol);
//  - messages per second: a Petrel stream (engine + runtime agent, one publication, one
//    subscription) of fixed-size messages over each driver.
// Ratios are against the sockets driver, measured in this one run. Needs root.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const peerPath = join(dirname(fileURLToPath(import.meta.url)), "linkPeer.js");

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name} must be a positive number`);
  return n;
}

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr}`);
}

class Peer {
  readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(ns: string, args: Record<string, unknown>) {
    this.child = spawn("ip", ["netns", "exec", ns, process.execPath, peerPath, JSON.stringify(args)], { stdio: ["pipe", "pipe", "inherit"] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  async next(): Promise<Record<string, unknown>> {
    const line = await this.lines.next();
    if (line.done === true) throw new Error("bench peer exited without output");
    const value = JSON.parse(line.value) as Record<string, unknown>;
    if (typeof value["error"] === "string") throw new Error(`bench peer failed: ${value["error"]}`);
    return value;
  }
  exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.child.once("exit", () => resolve()));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const DRIVERS = [
  { name: "sockets", driver: "sockets", label: "sockets (sendmmsg/recvmmsg)" },
  { name: "af_packet", driver: "af_packet", label: "af_packet (TX ring / V3 RX ring)" },
  { name: "dpdk af_packet", driver: "dpdk", pmd: "net_af_packet", label: "dpdk net_af_packet" },
  { name: "dpdk af_xdp", driver: "dpdk", pmd: "net_af_xdp", label: "dpdk net_af_xdp (copy)" },
] as const;

export async function runDpdkBench(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("dpdk bench: needs root (network namespaces, DPDK on veth); skipped");
    return;
  }
  const durationMs = option("duration", 2) * 1000;
  const runs = option("runs", 3);
  const tag = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, "0");
  const nsA = `petrel-b${tag}-a`;
  const nsB = `petrel-b${tag}-b`;
  const octet = 1 + (parseInt(tag.slice(0, 2), 16) % 250);
  const pair = { a: `da${tag}`, b: `db${tag}`, ipA: `10.219.${octet}.1`, ipB: `10.219.${octet}.2` };
  let prefixes = 0;
  const addresses = (on: boolean): void => {
    for (const [ns, dev, address] of [[nsA, pair.a, pair.ipA], [nsB, pair.b, pair.ipB]] as const) {
      if (on) ip("-n", ns, "addr", "replace", `${address}/24`, "dev", dev);
      else ip("-n", ns, "addr", "flush", "dev", dev);
      spawnSync("ip", ["-n", ns, "neigh", "flush", "dev", dev]);
    }
  };
  ip("netns", "add", nsA);
  ip("netns", "add", nsB);
  try {
    ip("link", "add", pair.a, "netns", nsA, "type", "veth", "peer", "name", pair.b, "netns", nsB);
    for (const [ns, dev] of [[nsA, pair.a], [nsB, pair.b]] as const) {
      ip("-n", ns, "link", "set", "lo", "up");
      spawnSync("ip", ["netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
      ip("-n", ns, "link", "set", dev, "up");
    }
    console.log(`one veth pair between two namespaces; ${runs} runs of ${durationMs / 1000} s per figure, drivers interleaved; ` +
      "sender and receiver one process each; driver level: batches of 64 datagrams, GSO/GRO off; messages: a Petrel stream, term-length=4m");
    const results: Record<string, Record<number, { datagrams: number[]; messages: number[] }>> = {};
    let port = 43000;
    for (const size of [32, 1400]) {
      for (let run = 0; run < runs; run++) {
        for (const d of DRIVERS) {
          addresses(d.driver === "sockets");
          const entry = ((results[d.name] ??= {})[size] ??= { datagrams: [], messages: [] });
          for (const mode of ["datagrams", "messages"] as const) {
            port++;
            const common = { driver: d.driver, ...("pmd" in d ? { pmd: d.pmd } : {}), port, size, durationMs };
            const [receiveRole, sendRole] = mode === "datagrams" ? ["receive", "send"] : ["subscribe", "publish"];
            const receiver = new Peer(nsB, { ...common, role: receiveRole, iface: pair.b, ip: pair.ipB, peerIp: pair.ipA, prefix: `petrel-b${tag}-${prefixes++}` });
            await receiver.next();
            const sender = new Peer(nsA, { ...common, role: sendRole, iface: pair.a, ip: pair.ipA, peerIp: pair.ipB, prefix: `petrel-b${tag}-${prefixes++}` });
            if (mode === "messages") await sender.next(); // "publish" says ready first; "send" only reports
            await sender.next();
            const received = await receiver.next();
            await Promise.all([sender.exited(), receiver.exited()]);
            entry[mode].push(received["perSecond"] as number);
          }
        }
      }
    }
    for (const mode of ["datagrams", "messages"] as const) {
      console.log(`\n${mode === "datagrams" ? "driver level: datagrams/s delivered" : "Petrel stream: messages/s delivered"} (median of ${runs}; ratio to sockets)`);
      console.log(`| payload | ${DRIVERS.map((d) => d.label).join(" | ")} |`);
      console.log(`|---|${DRIVERS.map(() => "---").join("|")}|`);
      for (const size of [32, 1400]) {
        const base = median(results["sockets"]![size]![mode]);
        const cells = DRIVERS.map((d) => {
          const m = median(results[d.name]![size]![mode]);
          return d.name === "sockets" ? `${(m / 1e6).toFixed(3)} M/s` : `${(m / 1e6).toFixed(3)} M/s (${(m / base).toFixed(2)}x)`;
        });
        console.log(`| ${size} B | ${cells.join(" | ")} |`);
      }
    }
  } finally {
    spawnSync("ip", ["netns", "del", nsA]);
    spawnSync("ip", ["netns", "del", nsB]);
    if (existsSync("/var/run/dpdk")) {
      for (const entry of readdirSync("/var/run/dpdk")) if (entry.startsWith(`petrel-b${tag}`)) rmSync(join("/var/run/dpdk", entry), { recursive: true, force: true });
    }
  }
}
