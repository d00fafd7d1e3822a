// Goal: the io_uring driver carries a reliable stream across a real link between two network
// namespaces, as the sockets driver does in netns.test.ts: a veth pair created here (and deleted in
// afterAll, even on failure), the subscriber in one namespace and the publisher in the other, each its
// own process running test/drivers/netnsPeer.ts with PETREL_DRIVER=io_uring (the selection function
// picks the io_uring driver; PETREL_URING_SQPOLL=1 adds SQPOLL). With 5% of received datagrams
// dropped by a seeded filter, mixed-size messages arrive complete and in order and the counters show
// NAKs and retransmits: 10^5 without SQPOLL, 5x10^4 with it (an SQ thread per process beside two busy
// processes on two cores is slow, see uring.test.ts). Needs root, iproute2 and an addon built with
// liburing: skipped with a message otherwise, but a failure under CI=true.
import { streamCount, streamTimeoutMs } from "./streamSupport.js";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "../../src/drivers/nativeAddon.js";
import { uringConstructor } from "../../src/drivers/nativeUring.js";

const root = join(import.meta.dirname, "..", "..");
const ci = process.env["CI"] === "true";
const SEED = Number(process.env["PETREL_SEED"] ?? 20261124);

function can(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  const addon = tryLoadNativeAddon();
  if (addon instanceof NativeAddonUnavailableError || uringConstructor(addon) === undefined) return "the native addon lacks io_uring (built without liburing?)";
  if (spawnSync("ip", ["-V"], { stdio: "ignore" }).status !== 0) return "iproute2 (ip) not installed";
  return undefined;
}
const missing = can();
if (missing !== undefined && !ci) console.warn(`io_uring netns test SKIPPED: ${missing} (it needs root and iproute2; CI runs it)`);

const tag = randomBytes(3).toString("hex");
const nsSub = `petrel-${tag}-s`;
const nsPub = `petrel-${tag}-p`;
const octet = 1 + (parseInt(tag.slice(0, 2), 16) % 250);
const subIp = `10.213.${octet}.1`;
const pubIp = `10.213.${octet}.2`;
const peerDir = join(root, "build", `uring-netns-peer-${tag}`);
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

function startPeer(ns: string, args: Record<string, unknown>, env: Record<string, string>): Peer {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, join(peerDir, "test", "drivers", "netnsPeer.js"), JSON.stringify(args)], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...env, PETREL_NATIVE_ADDON: process.env["PETREL_NATIVE_ADDON"] ?? join(root, "build", "Release", "petrel.node") },
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

describe("io_uring driver across a veth pair between two network namespaces", () => {
  const cases = [
    { name: "multishot recvmsg + DEFER_TASKRUN", env: { PETREL_DRIVER: "io_uring" }, port: 40125, count: streamCount(100_000) },
    { name: "SQPOLL", env: { PETREL_DRIVER: "io_uring", PETREL_URING_SQPOLL: "1", PETREL_URING_SQ_IDLE_MS: "10" }, port: 40127, count: streamCount(30_000) },
  ];
  for (const c of cases) {
    it.skipIf(missing !== undefined && !ci)(`delivers ${c.count} mixed-size messages with 5% loss, publisher and subscriber in separate namespaces (${c.name})`, async () => {
      expect(missing, "CI=true: this test must run (root, iproute2 and liburing are required)").toBeUndefined();
      const common = { ip: subIp, port: c.port, count: c.count, seed: SEED, lossPerMille: 50, timeoutMs: streamTimeoutMs(c.count, 500_000, 90_000) };
      const subscriber = startPeer(nsSub, { ...common, role: "subscriber" }, c.env);
      const ready = await nextJson(subscriber);
      expect(ready["ready"]).toBe(true);
      expect(ready["kind"]).toBe("io_uring");
      const publisher = startPeer(nsPub, { ...common, role: "publisher" }, c.env);
      expect((await nextJson(publisher))["kind"]).toBe("io_uring");
      const result = await nextJson(subscriber);
      publisher.child.stdin!.end("stop\n");
      const pub = await nextJson(publisher);
      console.log(`io_uring (${c.name}) veth ${nsPub} -> ${nsSub}: subscriber ${JSON.stringify(result)}; publisher ${JSON.stringify(pub)}`);
      expect(result["failures"], `replay: PETREL_SEED=${SEED}`).toEqual([]);
      expect(result["received"]).toBe(c.count);
      const subCounters = result["counters"] as Record<string, number>;
      const pubCounters = pub["counters"] as Record<string, number>;
      expect(subCounters["naksSent"]).toBeGreaterThan(0);
      expect(pubCounters["naksReceived"]).toBeGreaterThan(0);
      expect(pubCounters["retransmitsSent"]).toBeGreaterThan(0);
      expect(subCounters["invalidPackets"]).toBe(0);
    });
  }
});
