// Goal: the packed package works in a fresh project as a user would use it. `npm pack` builds the
// tarball; it is installed into a temporary project (unpacked into node_modules/petrel, as npm
// does, with its dependencies linked from this repository's node_modules, so the test needs no
// registry); an example that imports every entry point (petrel, petrel/core, petrel/sim,
// petrel/drivers, petrel/effect) is type-checked under --strict with moduleResolution node16 and
// bundler (skipLibCheck off, so Petrel's own declarations are checked; lib dom because Effect's
// declarations name CryptoKey and Storage), then compiled and run: a simulated stream and a
// publish/subscribe over UDP loopback. The README's ts examples are type-checked there as well.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prebuildTag } from "../../src/drivers/nativeAddon.js";

const repo = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "petrel-pack-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const example = `
import { Petrel, NOT_CONNECTED, BACK_PRESSURED, BindError, type Message, type DrainReport } from "petrel";
import { Engine, TransmitBatch, Counter } from "petrel/core";
import { Simulation, attachEngine } from "petrel/sim";
import { createSocketsDriver, tryLoadNativeAddon, NativeAddonUnavailableError, type Driver } from "petrel/drivers";
import { petrelNodeLayer } from "petrel/effect";

function simulated(): number {
  const sim = new Simulation({ seed: 7, defaultLink: { latencyNs: 100_000 } });
  const channel = "aeron:udp?endpoint=10.0.0.2:40123|term-length=64k";
  let received = 0;
  sim.host("pub", (host) => {
    const node = attachEngine(host);
    const publication = node.engine.addPublication(channel, 10);
    const message = new TextEncoder().encode("hello");
    let sent = 0;
    node.onTick((nowNs) => {
      while (sent < 100 && publication.offer(message) > 0) sent++;
      if (sent < 100) node.wakeAt(nowNs + 1_000_000);
    });
  }, { ip: "10.0.0.1" });
  sim.host("sub", (host) => {
    const node = attachEngine(host);
    const subscription = node.engine.addSubscription(channel, 10);
    node.onTick(() => void subscription.poll(() => received++, 10));
  }, { ip: "10.0.0.2" });
  sim.runUntil(() => received === 100, 10e9);
  return received;
}

async function loopback(port: number): Promise<DrainReport> {
  const channel = \`aeron:udp?endpoint=127.0.0.1:\${port}\`;
  const petrel = await Petrel.launch();
  const subscription = await petrel.addSubscription(channel, 1);
  const publication = await petrel.addPublication(channel, 1);
  const reading = (async () => {
    let count = 0;
    for await (const message of subscription) {
      const m: Message = message;
      if (m.data.length === 5 && ++count === 100) break;
    }
    return count;
  })();
  const hello = new TextEncoder().encode("hello");
  for (let i = 0; i < 100; i++) {
    let result = publication.offer(hello);
    while (result === NOT_CONNECTED || result === BACK_PRESSURED || result < 0) {
      await new Promise((resolve) => setImmediate(resolve));
      result = publication.offer(hello);
    }
  }
  if ((await reading) !== 100) throw new Error("loopback lost messages");
  const report = await publication.close();
  await petrel.close();
  return report;
}

const unused: [typeof Engine, typeof TransmitBatch, typeof createSocketsDriver, typeof petrelNodeLayer, typeof BindError] =
  [Engine, TransmitBatch, createSocketsDriver, petrelNodeLayer, BindError];
const driverKind: Driver["kind"] | undefined = undefined;
void unused;
void driverKind;

const port = Number(process.argv[2]);
const simReceived = simulated();
const report = await loopback(port);
const addon = tryLoadNativeAddon();
console.log(\`ok sim \${simReceived} loopback \${report.outcome} counter \${Counter.NAKS_SENT >= 0}\`);
console.log(\`addon \${addon instanceof NativeAddonUnavailableError ? "absent: " + addon.message : "napi " + addon.buildInfo().napiVersion}\`);
`;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Links a dependency from this repository's node_modules into the project's (the offline install). */
function linkDependency(project: string, name: string): void {
  const target = join(project, "node_modules", name);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(realpathSync(join(repo, "node_modules", name)), target, "dir");
}

describe("npm pack: the package in a fresh strict TypeScript project", () => {
  it("installs, type-checks (node16 and bundler, --strict) and runs an example of every entry point", async () => {
    // npm pack runs `prepare` (tsc into dist/). It runs on a staged copy of the package's sources so
    // that it never rewrites the checkout's dist/ while another test file (the CLI's) builds or
    // reads it in parallel.
    const stage = join(work, "stage");
    for (const entry of ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "tsconfig.json", "src", "native/CMakeLists.txt", "native/src", "scripts"]) {
      cpSync(join(repo, entry), join(stage, entry), { recursive: true });
    }
    // `prepack` builds the portable addon (static liburing and C++ runtime, no DPDK) and the package
    // carries it as the prebuilt; where cmake or a compiler is missing it packs without one.
    // The package ships dist/src only; the benches (which import test helpers) are not built here.
    writeFileSync(join(stage, "tsconfig.build.json"), JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { noEmit: false }, include: ["src"] }));
    symlinkSync(realpathSync(join(repo, "node_modules")), join(stage, "node_modules"), "dir");
    const packJson = run("npm", ["pack", "--silent", "--json", "--pack-destination", work], stage);
    const packed = JSON.parse(packJson.slice(packJson.search(/^\[$/m))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = join(work, packed[0]!.filename);
    const files = packed[0]!.files.map((f) => f.path);
    for (const required of ["LICENSE", "CHANGELOG.md", "README.md", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/effect/index.d.ts"]) {
      expect(files).toContain(required);
    }
    expect(files.some((f) => f.startsWith("test/") || f.startsWith("dist/test/") || f.startsWith("dist/bench/"))).toBe(false);
    // The prebuilt addon rides in the package, and `postpack` removed it from the staged checkout.
    const prebuilt = `prebuilds/${prebuildTag()}/petrel.node`;
    const haveBuild = files.includes(prebuilt);
    if (process.env["PETREL_REQUIRE_NATIVE"] === "1") expect(haveBuild, `${prebuilt} in the package`).toBe(true);
    if (!haveBuild) console.log("pack test: no cmake or compiler here, so the package carries no prebuilt addon (CI builds one)");
    expect(existsSync(join(stage, "prebuilds"))).toBe(false);
    expect(files.some((f) => f.startsWith("build/"))).toBe(false);

    const project = join(work, "app");
    mkdirSync(join(project, "node_modules", "petrel"), { recursive: true });
    run("tar", ["-xzf", tarball, "-C", join(project, "node_modules", "petrel"), "--strip-components=1"], work);
    const manifest = JSON.parse(readFileSync(join(project, "node_modules", "petrel", "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const name of Object.keys(manifest.dependencies)) linkDependency(project, name);
    linkDependency(project, "@types/node");
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", dependencies: { petrel: `file:${tarball}` } }));
    writeFileSync(join(project, "example.ts"), example);
    // The README's examples must type-check as a user's own files too.
    const readmeExamples: string[] = [];
    for (const match of readFileSync(join(repo, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)) {
      const name = /^\/\/ ([\w.-]+\.ts):/.exec(match[1]!)?.[1];
      if (name === undefined) continue;
      writeFileSync(join(project, name), match[1]!);
      readmeExamples.push(name);
    }
    expect(readmeExamples).toContain("publisher.ts");
    const common = { strict: true, target: "es2022", lib: ["es2023", "dom"], types: ["node"], skipLibCheck: false, outDir: "out", exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true };
    writeFileSync(join(project, "tsconfig.node16.json"), JSON.stringify({ compilerOptions: { ...common, module: "node16", moduleResolution: "node16" }, files: ["example.ts", ...readmeExamples] }));
    writeFileSync(join(project, "tsconfig.bundler.json"), JSON.stringify({ compilerOptions: { ...common, module: "esnext", moduleResolution: "bundler", noEmit: true }, files: ["example.ts", ...readmeExamples] }));

    const tsc = join(repo, "node_modules", ".bin", "tsc");
    for (const config of ["tsconfig.bundler.json", "tsconfig.node16.json"]) {
      try {
        run(tsc, ["-p", config], project);
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string };
        throw new Error(`tsc -p ${config} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
      }
    }
    expect(readdirSync(join(project, "out"))).toContain("example.js");
    const port = 40000 + Math.floor(Math.random() * 20000);
    // The example runs as a user's process would: none of the test run's PETREL_* settings (CI's
    // PETREL_REQUIRE_NATIVE would turn the unbuilt addon of this linked install into an error).
    const userEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("PETREL_")));
    const output = run("node", [join(project, "out", "example.js"), String(port)], project, userEnv);
    expect(output).toContain("ok sim 100 loopback acknowledged counter true");
    // The tarball was unpacked without running its install script and without build/: an addon that
    // loads can only be the prebuilt one, found first.
    if (haveBuild) expect(output).toContain("addon napi 8");
    else expect(output).toMatch(/addon absent: .*npm rebuild petrel/);
  }, 120_000);
});
