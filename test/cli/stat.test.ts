// Goal: `petrel stat` shows every live Petrel client on the host (issue #15 item 6). Two live
// processes, a publisher and a subscriber over UDP loopback, publish their statistics into a
// directory; the CLI reads them and shows both: their pids, the system counters, the streams'
// position counters under Aeron's names (pub-pos, snd-pos on one side; rcv-hwm, rcv-pos, sub-pos
// on the other) with positions that move, and rates from the second view on. A client's file goes
// when it closes; a file whose process died is skipped. Bad arguments exit 2 with the usage.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeUdpPort } from "../drivers/streamSupport.js";

const root = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "petrel-stat-"));
const statDir = join(work, "stat");
const children: ChildProcess[] = [];
let compiled = "";

beforeAll(() => {
  // The peer and the CLI, compiled with what they import (as test/drivers/netnsSupport.ts does).
  compiled = join(work, "out");
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--ignoreConfig", "--outDir", compiled, "--rootDir", root,
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--strict",
    join(root, "test", "cli", "statPeer.ts"), join(root, "src", "cli", "petrel.ts")], { encoding: "utf8", cwd: root });
  if (tsc.status !== 0) throw new Error(`compiling failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(compiled, "package.json"), '{"type":"module"}\n');
}, 120_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

const addon = join(root, "build", "Release", "petrel.node");
const env = { ...process.env, ...(existsSync(addon) ? { PETREL_NATIVE_ADDON: addon } : {}) };

function startPeer(role: "pub" | "sub", port: number): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, [join(compiled, "test", "cli", "statPeer.js"), JSON.stringify({ role, port, dir: statDir })],
    { stdio: ["pipe", "pipe", "inherit"], env });
  children.push(child);
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

function stat(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(compiled, "src", "cli", "petrel.js"), "stat", ...args], { encoding: "utf8", env, timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface JsonView {
  readonly processes: Array<{ snapshot: { pid: number; counters: Array<{ typeId: number; label: string; value: number }> }; rates: Record<string, number> }>;
}

describe("petrel stat", () => {
  it("shows two live processes' counters, stream positions and rates, and forgets them when they go", async () => {
    const port = await freeUdpPort();
    const sub = startPeer("sub", port);
    expect(JSON.parse((await sub.lines.next()).value as string)).toMatchObject({ ready: "sub" });
    const pub = startPeer("pub", port);
    expect(JSON.parse((await pub.lines.next()).value as string)).toMatchObject({ ready: "pub" });
    // Wait until the stream flows (the subscriber counts thousands of messages).
    expect(JSON.parse((await sub.lines.next()).value as string)).toMatchObject({ count: 1000 });

    const text = stat("--once", "--dir", statDir);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain("2 processes");
    expect(text.stdout).toContain(`pid ${pub.child.pid} statPeer.js`);
    expect(text.stdout).toContain(`pid ${sub.child.pid} statPeer.js`);
    expect(text.stdout).toMatch(/Status Messages sent/);
    expect(text.stdout).toMatch(/pub-pos \(sampled\): /);

    const json = stat("--json", "--count", "2", "--interval", "300", "--dir", statDir);
    expect(json.status, json.stderr).toBe(0);
    const [first, second] = json.stdout.trim().split("\n").map((line) => JSON.parse(line) as JsonView);
    const byPid = (view: JsonView, pid: number | undefined) => view.processes.find((p) => p.snapshot.pid === pid)!;
    const labels = (view: JsonView, pid: number | undefined) => byPid(view, pid).snapshot.counters.filter((c) => c.typeId !== 0).map((c) => c.label.split(":")[0]);
    expect(labels(second!, pub.child.pid)).toEqual(expect.arrayContaining(["pub-pos (sampled)", "pub-lmt", "snd-pos", "snd-lmt"]));
    expect(labels(second!, sub.child.pid)).toEqual(expect.arrayContaining(["rcv-hwm", "rcv-pos", "sub-pos"]));
    const position = (view: JsonView, pid: number | undefined, name: string) =>
      byPid(view, pid).snapshot.counters.find((c) => c.label.startsWith(name))!.value;
    expect(position(second!, sub.child.pid, "rcv-pos")).toBeGreaterThan(position(first!, sub.child.pid, "rcv-pos"));
    expect(position(second!, pub.child.pid, "snd-pos")).toBeGreaterThan(0);
    expect(byPid(first!, pub.child.pid).rates).toEqual({});
    expect(byPid(second!, pub.child.pid).rates["sent B/s"]).toBeGreaterThan(0);
    expect(byPid(second!, sub.child.pid).rates["received B/s"]).toBeGreaterThan(0);

    // The publisher closes: its file goes. The subscriber is killed: its file stays, and is skipped.
    pub.child.stdin!.end();
    await new Promise((resolve) => pub.child.once("exit", resolve));
    sub.child.kill("SIGKILL");
    await new Promise((resolve) => sub.child.once("exit", resolve));
    const after = stat("--once", "--dir", statDir);
    expect(after.status).toBe(0);
    expect(after.stdout).toContain("0 processes");
  }, 60_000);

  it("refuses bad arguments with the usage and exit code 2", () => {
    const bad = stat("--interval", "abc");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--interval must be an integer");
    expect(bad.stderr).toContain("usage: petrel stat");
    expect(stat("--frobnicate").status).toBe(2);
  }, 30_000);
});
