// The real Aeron as a test peer: the C media driver (aeronmd) and two small C clients built against
// libaeron (test/interop/clients) that publish or check a stream by the content rule below.
// PETREL_AERON_BIN names the directory of Aeron's binaries as ../shared/aeron/build.sh builds them
// (OUT/build/binaries); the headers and the static client library are found beside it
// (OUT/src/aeron-client/src/main/c, OUT/build/lib/libaeron_static.a). When it is unset the interop
// suite is skipped with a printed reason; CI sets it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const AERON_BIN = process.env["PETREL_AERON_BIN"];

/** Why the interop suite cannot run here, or undefined when it can. */
export function interopSkipReason(): string | undefined {
  if (AERON_BIN === undefined || AERON_BIN === "") {
    return "PETREL_AERON_BIN is not set (build the peer with ../shared/aeron/build.sh OUT and set PETREL_AERON_BIN=OUT/build/binaries)";
  }
  if (!existsSync(join(AERON_BIN, "aeronmd"))) return `PETREL_AERON_BIN=${AERON_BIN} holds no aeronmd`;
  return undefined;
}

/** Message `index`'s length under the interop content rule (interop_common.h has the C twin). */
export function interopMessageLength(index: number, maxLength: number): number {
  const mixed = Math.imul(index, 0x9e3779b1) >>> 0;
  return 4 + ((mixed >>> 7) % (maxLength - 4 + 1));
}

export function interopLengths(count: number, maxLength: number): Int32Array {
  const lengths = new Int32Array(count);
  for (let i = 0; i < count; i++) lengths[i] = interopMessageLength(i, maxLength);
  return lengths;
}

/** Compiles the C clients into a temporary directory; throws with the compiler's output on failure. */
/**
 * Compiles C clients (test/interop/clients/<name>.c) against libaeron into a temporary folder:
 * interop_pub and interop_sub always, plus `extra`. `paths` names every one built.
 */
export function buildClients(extra: ReadonlyArray<string> = []): { pub: string; sub: string; dir: string; paths: Record<string, string> } {
  const bin = AERON_BIN!;
  const out = resolve(bin, "..", "..");
  const include = join(out, "src", "aeron-client", "src", "main", "c");
  const library = join(out, "build", "lib", "libaeron_static.a");
  if (!existsSync(library)) throw new Error(`no ${library}: build the peer with ../shared/aeron/build.sh`);
  const dir = mkdtempSync(join(tmpdir(), "petrel-interop-"));
  const sources = join(import.meta.dirname, "clients");
  const paths: Record<string, string> = {};
  for (const name of ["interop_pub", "interop_sub", ...extra]) {
    const result = spawnSync("cc", ["-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11", `-I${include}`, "-o", join(dir, name),
      join(sources, `${name}.c`), library, "-lpthread", "-ldl", "-lm", "-lrt", "-luuid"], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`cc ${name}.c failed (${result.status}): ${result.stderr}${result.error?.message ?? ""}`);
    paths[name] = join(dir, name);
  }
  return { pub: paths["interop_pub"]!, sub: paths["interop_sub"]!, dir, paths };
}

/** A running aeronmd in its own Aeron directory. */
export class MediaDriver {
  readonly aeronDir: string;
  private readonly process: ChildProcess;
  private output = "";
  private exited = false;

  /** `netns`: run the driver inside that network namespace (`ip netns exec`, which execs it: the pid is aeronmd's). */
  constructor(extraEnv: Record<string, string> = {}, netns?: string) {
    this.aeronDir = mkdtempSync(join(tmpdir(), "petrel-aeronmd-"));
    const command = join(AERON_BIN!, "aeronmd");
    this.process = spawn(netns === undefined ? command : "ip", netns === undefined ? [] : ["netns", "exec", netns, command], {
      env: {
        ...process.env,
        AERON_DIR: this.aeronDir,
        AERON_DIR_DELETE_ON_START: "1",
        AERON_DIR_DELETE_ON_SHUTDOWN: "1",
        // One thread that backs off when idle: the machines running this have 2 cores, and the Petrel
        // side busy-spins on the same machine.
        AERON_THREADING_MODE: "SHARED",
        AERON_SHARED_IDLE_STRATEGY: "backoff",
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.process.stdout!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.process.stderr!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.process.on("exit", () => (this.exited = true));
  }

  /** Resolves once the driver's CnC file exists (the driver is up). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const started = Date.now();
    while (!existsSync(join(this.aeronDir, "cnc.dat"))) {
      if (this.exited) throw new Error(`aeronmd exited: ${this.output}`);
      if (Date.now() - started > timeoutMs) throw new Error(`aeronmd not ready after ${timeoutMs} ms: ${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise((r) => this.process.once("exit", r));
      this.process.kill("SIGINT");
      const timer = setTimeout(() => this.process.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.aeronDir, { recursive: true, force: true });
  }
}

/** A C client run to completion; `done` resolves with its exit code and output. */
export class Client {
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  private stdout = "";
  private stderr = "";
  private exitedFlag = false;

  /** `netns`: run the client inside that network namespace (beside a MediaDriver started there). */
  constructor(path: string, args: string[], netns?: string) {
    const child = netns === undefined ? spawn(path, args, { stdio: ["ignore", "pipe", "pipe"] })
      : spawn("ip", ["netns", "exec", netns, path, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.done = new Promise((resolveDone) => {
      child.on("exit", (code) => {
        this.exitedFlag = true;
        resolveDone({ code, stdout: this.stdout, stderr: this.stderr });
      });
      child.on("error", (error) => {
        this.exitedFlag = true;
        resolveDone({ code: -1, stdout: this.stdout, stderr: `${this.stderr}${error.message}` });
      });
    });
  }

  get exited(): boolean {
    return this.exitedFlag;
  }

  get output(): string {
    return this.stdout;
  }
}
