// Goal: the sockets driver carries a reliable stream across a real link between two network
// namespaces: a veth pair that this test creates (and deletes in afterAll, even on failure), the
// subscriber in one namespace and the publisher in the other, each its own process. With 5% of
// received datagrams dropped by a seeded filter, 10^5 mixed-size messages arrive complete and in
// order and the counters show NAKs and retransmits. Addresses (10.x) live only inside the test's own
// namespaces. Needs root and iproute2: skipped with a message otherwise, but a failure under CI=true.
import { streamCount, streamTimeoutMs } from "./streamSupport.js";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const ci = process.env["CI"] === "true";
const SEED = Number(process.env["PETREL_SEED"] ?? 20261124);

function can(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  if (spawnSync("ip", ["-V"], { stdio: "ignore" }).status !== 0) return "iproute2 (ip) not installed";
  return undefined;
}
const missing = can();
if (missing !== undefined && !ci) console.warn(`netns driver test SKIPPED: ${missing} (it needs root and iproute2; CI runs it)`);

const tag = randomBytes(3).toString("hex");
const nsSub = `petrel-${tag}-s`;
const nsPub = `petrel-${tag}-p`;
const octet = 1 + (parseInt(tag.slice(0, 2), 16) % 250);
const subIp = `10.213.${octet}.1`;
const pubIp = `10.213.${octet}.2`;
const peerDir = join(root, "build", `netns-peer-${tag}`);
let created = false;

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr}`);
}

const children: ChildProcess[] = [];

beforeAll(() => {
  if (missing !== undefined) return;
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--ignoreConfig", "--outDir", peerDir, "--rootDir", root,
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--strict",
    join(root, "test", "drivers", "netnsPeer.ts")], { encoding: "utf8", cwd: root });
  if (tsc.status !== 0) throw new Error(`compiling the peer failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(peerDir, "package.json"), '{"type":"module"}\n');
  created = true;
  ip("netns", "add", nsSub);
  ip("netns", "add", nsPub);
  ip("link", "add", `ps${tag}`, "netns", nsSub, "type", "veth", "peer", "name", `pp${tag}`, "netns", nsPub);
  ip("-n", nsSub, "addr", "add", `${subIp}/24`, "dev", `ps${tag}`);
  ip("-n", nsPub, "addr", "add", `${pubIp}/24`, "dev", `pp${tag}`);
  for (const [ns, dev] of [[nsSub, `ps${tag}`], [nsPub, `pp${tag}`]] as const) {
    ip("-n", ns, "link", "set", "lo", "up");
    ip("-n", ns, "link", "set", dev, "up");
  }
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  if (!created) return;
  // Deleting a namespace deletes the veth end inside it, and with it the pair.
  spawnSync("ip", ["netns", "del", nsSub]);
  spawnSync("ip", ["netns", "del", nsPub]);
  spawnSync("rm", ["-rf", peerDir]);
});

interface Peer {
  readonly child: ChildProcess;
  readonly lines: AsyncIterator<string>;
}

function startPeer(ns: string, args: Record<string, unknown>): Peer {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, join(peerDir, "test", "drivers", "netnsPeer.js"), JSON.stringify(args)], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, PETREL_NATIVE_ADDON: process.env["PETREL_NATIVE_ADDON"] ?? join(root, "build", "Release", "petrel.node") },
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, lines };
}

async function nextJson(peer: Peer): Promise<Record<string, unknown>> {
  const line = await peer.lines.next();
  if (line.done === true) throw new Error("peer exited without output");
  const value = JSON.parse(line.value) as Record<string, unknown>;
  if (typeof value["error"] === "string") throw new Error(`peer failed: ${value["error"]}`);
  return value;
}

describe("sockets driver across a veth pair between two network namespaces", () => {
  const count = streamCount(100_000);
  it.skipIf(missing !== undefined && !ci)(`delivers ${count} mixed-size messages with 5% loss, subscriber and publisher in separate namespaces`, async () => {
    expect(missing, "CI=true: this test must run (root and iproute2 are required)").toBeUndefined();
    const common = { ip: subIp, port: 40123, count, seed: SEED, lossPerMille: 50, timeoutMs: streamTimeoutMs(count, 300_000) };
    const subscriber = startPeer(nsSub, { ...common, role: "subscriber" });
    expect((await nextJson(subscriber))["ready"]).toBe(true);
    const publisher = startPeer(nsPub, { ...common, role: "publisher" });
    expect((await nextJson(publisher))["kind"]).toBe("native-sockets");
    const result = await nextJson(subscriber);
    publisher.child.stdin!.end("stop\n");
    const pub = await nextJson(publisher);
    console.log(`veth ${nsPub} -> ${nsSub}: subscriber ${JSON.stringify(result)}; publisher ${JSON.stringify(pub)}`);
    expect(result["failures"], `replay: PETREL_SEED=${SEED}`).toEqual([]);
    expect(result["received"]).toBe(count);
    const subCounters = result["counters"] as Record<string, number>;
    const pubCounters = pub["counters"] as Record<string, number>;
    expect(subCounters["naksSent"]).toBeGreaterThan(0);
    expect(pubCounters["naksReceived"]).toBeGreaterThan(0);
    expect(pubCounters["retransmitsSent"]).toBeGreaterThan(0);
    expect(subCounters["invalidPackets"]).toBe(0);
  });
});
