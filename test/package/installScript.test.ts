// Goal: the package's install script (scripts/build-native.mjs) does what a user's `npm install`
// needs, as the package is laid out under a project's node_modules:
// - a prebuilt addon that loads is used and nothing is compiled (no cmake or compiler needed);
// - with no prebuilt and no cmake, it warns, names the exact command to run from the user's own
//   project (`npm rebuild petrel`), and exits 0 so the install succeeds;
// - a prebuilt that does not load (wrong ABI, corrupt) is not trusted: the script says so and builds
//   or warns instead.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prebuildTag } from "../../src/drivers/nativeAddon.js";

const repo = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "petrel-install-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const built = join(repo, "build", "Release", "petrel.node");

/** Lays the package out as npm installs it: <project>/node_modules/petrel with the script. */
function installedPackage(name: string, prebuilt: "working" | "corrupt" | "none"): string {
  const root = join(work, name, "node_modules", "petrel");
  mkdirSync(join(root, "scripts"), { recursive: true });
  cpSync(join(repo, "scripts", "build-native.mjs"), join(root, "scripts", "build-native.mjs"));
  cpSync(join(repo, "native"), join(root, "native"), { recursive: true });
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "petrel", type: "module" }));
  for (const dependency of ["node-api-headers", "node-addon-api"]) {
    symlinkSync(join(repo, "node_modules", dependency), join(work, name, "node_modules", dependency), "dir");
  }
  const target = join(root, "prebuilds", prebuildTag());
  if (prebuilt !== "none") mkdirSync(target, { recursive: true });
  if (prebuilt === "working") cpSync(built, join(target, "petrel.node"));
  if (prebuilt === "corrupt") writeFileSync(join(target, "petrel.node"), "not an ELF file");
  return root;
}

/** A PATH holding node alone: a host with no cmake and no compiler. */
function bareBin(): string {
  const bin = join(work, "bin");
  if (!existsSync(bin)) {
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
  }
  return bin;
}

/** Runs the install script as npm would, with no PETREL_* settings, on a host with no cmake or compiler. */
function install(root: string): { code: number | null; output: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PETREL_")));
  env["PATH"] = bareBin();
  const result = spawnSync(process.execPath, [join(root, "scripts", "build-native.mjs")], { cwd: root, env, encoding: "utf8" });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("the install script, as npm runs it in a user's project", () => {
  it.runIf(existsSync(built))("uses a prebuilt addon that loads, without cmake or a compiler", () => {
    const root = installedPackage("prebuilt", "working");
    const { code, output } = install(root);
    expect(output).toContain(`using the prebuilt native addon (${prebuildTag()})`);
    expect(code).toBe(0);
    expect(existsSync(join(root, "build"))).toBe(false);
  });

  it("without a prebuilt or cmake: warns with the command to run from the user's project, and exits 0", () => {
    const root = installedPackage("bare", "none");
    const { code, output } = install(root);
    expect(output).toContain("cmake not found on PATH");
    expect(output).toContain("`npm rebuild petrel` in your project");
    expect(code).toBe(0);
  });

  it("does not trust a prebuilt that fails to load", () => {
    const root = installedPackage("corrupt", "corrupt");
    const { code, output } = install(root);
    expect(output).toContain("does not load");
    expect(output).toContain("cmake not found on PATH");
    expect(code).toBe(0);
  });
});
