// Shared by the tests that run Petrel across real links between network namespaces (netns,
// uringNetns, afpacket, dpdk): what they need from the machine, a "lab" that creates namespaces and
// veth pairs under a random tag and deletes them (and its compiled peers, and any DPDK runtime
// directory of its tag) in cleanup() even after a failure, and peers: a compiled test program run
// as its own process inside a namespace (`ip netns exec NS node peer.js ARGS`) that prints JSON
// lines on stdout and reads "stop" on stdin. Addresses (10.x) live only inside the lab's namespaces.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const root = join(import.meta.dirname, "..", "..");
export const ci = process.env["CI"] === "true";
export const SEED = Number(process.env["PETREL_SEED"] ?? 20261124);
export const addonPath = process.env["PETREL_NATIVE_ADDON"] ?? join(root, "build", "Release", "petrel.node");

/** Why a namespace test cannot run here (undefined: it can): root and iproute2, and optionally more. */
export function netnsMissing(...more: Array<() => string | undefined>): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  if (spawnSync("ip", ["-V"], { stdio: "ignore" }).status !== 0) return "iproute2 (ip) not installed";
  for (const check of more) {
    const reason = check();
    if (reason !== undefined) return reason;
  }
  return undefined;
}

export function addonBuilt(): string | undefined {
  return existsSync(addonPath) ? undefined : "native addon not built (npm run build:native)";
}

export function haveTool(tool: string, versionFlag = "--version"): boolean {
  return spawnSync(tool, [versionFlag], { stdio: "ignore" }).status === 0;
}

/** Runs `ip ...`; throws with its stderr when it fails. */
export function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr}`);
}

/** Runs a command inside a namespace; throws with its stderr when it fails. */
export function inNamespace(ns: string, command: string, ...args: string[]): string {
  const r = spawnSync("ip", ["netns", "exec", ns, command, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} in ${ns} failed: ${r.stderr}`);
  return r.stdout;
}

export interface Peer {
  readonly child: ChildProcess;
  readonly lines: AsyncIterator<string>;
}

/** The next JSON line a peer prints; throws when it reports {error} or exits first. */
export async function nextJson(peer: Peer): Promise<Record<string, unknown>> {
  const line = await peer.lines.next();
  if (line.done === true) throw new Error(`peer exited without output (exit code ${peer.child.exitCode}, signal ${peer.child.signalCode})`);
  const value = JSON.parse(line.value) as Record<string, unknown>;
  if (typeof value["error"] === "string") throw new Error(`peer failed: ${value["error"]}`);
  return value;
}

/** Waits for a peer's process to end (it disposes of its driver first); kills it after `timeoutMs`. */
export async function peerExit(peer: Peer, timeoutMs = 10_000): Promise<number | null> {
  if (peer.child.exitCode !== null || peer.child.signalCode !== null) return peer.child.exitCode;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      peer.child.kill("SIGKILL");
    }, timeoutMs);
    peer.child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * Namespaces and veth pairs under one random tag, created on demand and all deleted by cleanup().
 * `octet` (1..250, from the tag) keeps the 10.x subnets of tests running side by side apart.
 */
export class NetnsLab {
  readonly tag = randomBytes(3).toString("hex");
  readonly octet = 1 + (parseInt(this.tag.slice(0, 2), 16) % 250);
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private peerDir: string | undefined;

  constructor(readonly name: string) {}

  /** Creates namespace petrel-TAG-SUFFIX with its loopback up. */
  namespace(suffix: string): string {
    const ns = `petrel-${this.tag}-${suffix}`;
    ip("netns", "add", ns);
    this.namespaces.push(ns);
    ip("-n", ns, "link", "set", "lo", "up");
    return ns;
  }

  /**
   * A veth pair devA (in nsA) <-> devB (in nsB), both up. `cidrA`/`cidrB` give the kernel an
   * address on that end; an end without one (a raw-frame driver's: Petrel owns its address there)
   * gets IPv6 off, so the kernel sends nothing of its own on it.
   */
  veth(nsA: string, devA: string, cidrA: string | undefined, nsB: string, devB: string, cidrB: string | undefined): void {
    ip("link", "add", devA, "netns", nsA, "type", "veth", "peer", "name", devB, "netns", nsB);
    for (const [ns, dev, cidr] of [[nsA, devA, cidrA], [nsB, devB, cidrB]] as const) {
      if (cidr === undefined) spawnSync("ip", ["netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
      else ip("-n", ns, "addr", "add", cidr, "dev", dev);
      ip("-n", ns, "link", "set", dev, "up");
    }
  }

  /**
   * Turns off the kernel end's transmit offloads (checksum, and with it TSO/GSO): a DPDK virtual
   * device on the other end sees raw frames, with no virtio header to say that a UDP checksum is
   * partial or a frame is a GSO super-frame. Needs ethtool.
   */
  offloadsOff(ns: string, dev: string): void {
    inNamespace(ns, "ethtool", "-K", dev, "tx", "off", "gso", "off", "tso", "off");
  }

  /** Compiles test/drivers/<entry>.ts (and what it imports) into build/<name>-peer-TAG once. */
  compilePeers(...entries: string[]): string {
    const peerDir = join(root, "build", `${this.name}-peer-${this.tag}`);
    const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--ignoreConfig", "--outDir", peerDir, "--rootDir", root,
      "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--strict",
      ...entries.map((entry) => join(root, "test", "drivers", `${entry}.ts`))], { encoding: "utf8", cwd: root });
    this.peerDir = peerDir;
    if (tsc.status !== 0) throw new Error(`compiling the peer failed: ${tsc.stdout}${tsc.stderr}`);
    writeFileSync(join(peerDir, "package.json"), '{"type":"module"}\n');
    return peerDir;
  }

  /** Where a compiled source file lands (path relative to the repository, .ts -> .js). */
  compiled(relative: string): string {
    if (this.peerDir === undefined) throw new Error("compilePeers first");
    return join(this.peerDir, relative.replace(/\.ts$/, ".js"));
  }

  /** Runs compiled test/drivers/<entry>.js in namespace `ns` with JSON `args`. */
  startPeer(ns: string, entry: string, args: Record<string, unknown>, env: Record<string, string> = {}): Peer {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, this.compiled(`test/drivers/${entry}.ts`), JSON.stringify(args)], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, ...env, PETREL_NATIVE_ADDON: addonPath },
    });
    this.children.push(child);
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    return { child, lines };
  }

  /** A DPDK --file-prefix owned by this lab (cleanup removes /var/run/dpdk/<prefix>*). */
  dpdkPrefix(suffix: string): string {
    return `petrel-${this.tag}-${suffix}`;
  }

  /** Kills peers still running, deletes the namespaces (and their veths), the compiled peers and DPDK runtime dirs of this tag. */
  cleanup(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    // Deleting a namespace deletes the veth end inside it, and with it the pair.
    for (const ns of this.namespaces) spawnSync("ip", ["netns", "del", ns]);
    this.namespaces.length = 0;
    if (this.peerDir !== undefined) rmSync(this.peerDir, { recursive: true, force: true });
    const runtime = "/var/run/dpdk";
    if (existsSync(runtime)) {
      for (const entry of readdirSync(runtime)) {
        if (entry.startsWith(`petrel-${this.tag}`)) rmSync(join(runtime, entry), { recursive: true, force: true });
      }
    }
  }
}
