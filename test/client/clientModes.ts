// The two places a client's engine runs, for tests that run the same scenario in both:
// "in-process" (Petrel.launch()) and "worker" (Petrel.launch({ worker })). The worker runs compiled
// JavaScript (Node 20 cannot load TypeScript in a worker thread): compileWorker() builds
// engineWorker.ts and what it imports into a temporary folder once per test file.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Petrel, type PetrelOptions, type WorkerLaunchOptions } from "../../src/client/index.js";

export type Mode = "in-process" | "worker";
export const MODES: readonly Mode[] = ["in-process", "worker"];

const root = join(import.meta.dirname, "..", "..");
let buildDir = "";
let workerUrl: URL | undefined;

/** Compiles the worker (beforeAll); the returned function removes it (afterAll). */
export function compileWorker(): () => void {
  buildDir = mkdtempSync(join(tmpdir(), "petrel-client-worker-"));
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--ignoreConfig", "--outDir", buildDir, "--rootDir", root,
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--strict",
    join(root, "src", "drivers", "worker", "engineWorker.ts")], { encoding: "utf8", cwd: root });
  if (tsc.status !== 0) throw new Error(`compiling the worker failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(buildDir, "package.json"), '{"type":"module"}\n');
  workerUrl = pathToFileURL(join(buildDir, "src", "drivers", "worker", "engineWorker.js"));
  // The compiled copy is outside the package: point it at the package's addon.
  const addon = join(root, "build", "Release", "petrel.node");
  if (process.env["PETREL_NATIVE_ADDON"] === undefined && existsSync(addon)) process.env["PETREL_NATIVE_ADDON"] = addon;
  return () => {
    if (buildDir !== "") rmSync(buildDir, { recursive: true, force: true });
    buildDir = "";
  };
}

/** Launches a client in the given mode (the worker from compileWorker()). */
export function launchIn(mode: Mode, options: PetrelOptions = {}, worker: Omit<WorkerLaunchOptions, "workerUrl"> = {}): Promise<Petrel> {
  if (mode === "in-process") return Petrel.launch(options);
  if (workerUrl === undefined) throw new Error("compileWorker() first (beforeAll)");
  return Petrel.launch({ ...options, worker: { ...worker, workerUrl } });
}
