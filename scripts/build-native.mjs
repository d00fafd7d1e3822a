#!/usr/bin/env node
// Provides Petrel's native addon. The addon is optional: the pure TypeScript parts (core, simulator,
// node:dgram fallback) work without it.
//
// As the package's install script, in this order:
// 1. A prebuilt addon shipped in the package (prebuilds/<platform>-<arch>-<libc>/petrel.node, put
//    there by `npm pack` from the CI build) is used when it loads under this Node: no compiler needed.
// 2. Otherwise the addon is compiled with cmake and g++ (headers from node-api-headers and
//    node-addon-api; no cmake-js, nothing downloaded) into build/Release/petrel.node.
// 3. Otherwise it prints a warning saying exactly what to install and what to run, and exits 0, so
//    the user's `npm install` still succeeds.
// With --required or PETREL_REQUIRE_NATIVE=1 (as CI sets) the prebuilt is skipped and a failed build
// is an error. PETREL_ASAN=1 builds with AddressSanitizer into build-asan/Debug/. The DPDK frame port
// is built where pkg-config finds libdpdk and left out (with a message) otherwise;
// PETREL_REQUIRE_DPDK=1 (as CI sets) makes its absence an error.
// `--prebuild` (npm's prepack) builds the portable addon (liburing and the C++ runtime linked
// statically, no DPDK) into build-prebuild/ and stages it in prebuilds/ for the package.
// PETREL_BUILD_FROM_SOURCE=1 skips the prebuilt (for DPDK, which only a source build includes).
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const required = process.argv.includes("--required") || process.env.PETREL_REQUIRE_NATIVE === "1";
const asan = process.env.PETREL_ASAN === "1";
const requireDpdk = process.env.PETREL_REQUIRE_DPDK === "1";
/** Installed as a dependency of the user's project (rather than in Petrel's own checkout). */
const installed = root.split(sep).includes("node_modules");
const rebuildCommand = installed ? "npm rebuild petrel" : "npm run build:native";

/** The prebuilt's folder for this platform, as src/drivers/nativeAddon.ts looks it up. */
function prebuildTag() {
  const glibc = process.report?.getReport?.().header?.glibcVersionRuntime;
  return `${process.platform}-${process.arch}-${glibc === undefined ? "musl" : "glibc"}`;
}
const prebuilt = join(root, "prebuilds", prebuildTag(), "petrel.node");

function warnOrFail(message) {
  if (prebuild && !required) {
    // A checkout without a compiler can still pack; the package then builds or falls back at install.
    console.warn(`petrel: WARNING: no prebuilt addon for the package (${message}).`);
    process.exit(0);
  }
  if (required) {
    console.error(`petrel: native addon build failed: ${message}`);
    process.exit(1);
  }
  console.warn(`petrel: WARNING: native addon not built (${message}).`);
  console.warn("petrel: the core, the simulator and the node:dgram fallback driver (about 1/30 of the native speed) still work.");
  console.warn(`petrel: for the native drivers, install cmake and g++ (Debian: apt-get install cmake g++), then run \`${rebuildCommand}\`${installed ? " in your project" : ""}.`);
  process.exit(0);
}

function have(command) {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
}

/** Loads the addon in a child process, so a crash or a wrong ABI cannot take this script down. */
function loads(file) {
  const check = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(file)}).buildInfo()`], { stdio: "ignore" });
  return check.status === 0;
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (result.error !== undefined) warnOrFail(`${command}: ${result.error.message}`);
  if (result.status !== 0) warnOrFail(`${command} ${args[0]} exited with status ${result.status}`);
}

const prebuild = process.argv.includes("--prebuild");
const portableAddon = join(root, "build-prebuild", "Release", "petrel.node");

/** After a --prebuild build: checks the portable addon and stages it in prebuilds/ for the package. */
function stagePrebuilt() {
  if (!loads(portableAddon)) {
    console.error(`petrel: --prebuild: ${portableAddon} does not load under ${process.version}`);
    process.exit(1);
  }
  mkdirSync(dirname(prebuilt), { recursive: true });
  copyFileSync(portableAddon, prebuilt);
  console.log(`petrel: portable prebuilt addon for ${prebuildTag()} staged for the package`);
  process.exit(0);
}

if (!prebuild && !required && !asan && process.env.PETREL_BUILD_FROM_SOURCE !== "1" && existsSync(prebuilt)) {
  if (loads(prebuilt)) {
    console.log(`petrel: using the prebuilt native addon (${prebuildTag()}); nothing to compile.`);
    process.exit(0);
  }
  console.warn(`petrel: the prebuilt addon for ${prebuildTag()} does not load under Node ${process.version}; building from source.`);
}

if (process.env.PETREL_SKIP_NATIVE === "1" && !required) warnOrFail("PETREL_SKIP_NATIVE=1");
if (!have("cmake")) warnOrFail("cmake not found on PATH");
if (!have("g++") && !have("c++")) warnOrFail("no C++ compiler (g++) found on PATH");

const require = createRequire(import.meta.url);
/** A header-only dependency's folder, found where npm put it (nested or hoisted). */
function headers(name, subdir, header) {
  let dir;
  try {
    dir = join(dirname(require.resolve(`${name}/package.json`)), subdir);
  } catch {
    warnOrFail(`the ${name} package is not installed`);
  }
  if (!existsSync(join(dir, header))) warnOrFail(`${header} not found in ${dir}`);
  return dir;
}
const nodeApiDir = headers("node-api-headers", "include", "node_api.h");
const addonApiDir = headers("node-addon-api", "", "napi.h");

const dpdk = spawnSync("pkg-config", ["--modversion", "libdpdk"], { encoding: "utf8" });
const dpdkVersion = dpdk.status === 0 ? dpdk.stdout.trim() : undefined;
if (dpdkVersion === undefined && !prebuild) {
  if (requireDpdk) warnOrFail("PETREL_REQUIRE_DPDK=1 but pkg-config finds no libdpdk (apt-get install dpdk libdpdk-dev pkg-config)");
  console.warn("petrel: libdpdk not found by pkg-config: the DPDK driver is left out (install dpdk and libdpdk-dev for it).");
}

const buildType = asan ? "Debug" : "Release";
const out = join(root, prebuild ? "build-prebuild" : asan ? "build-asan" : "build");
const cmakeDir = join(out, "cmake");
const configure = ["-S", join(root, "native"), "-B", cmakeDir, `-DCMAKE_BUILD_TYPE=${buildType}`,
  `-DNODE_API_HEADERS_DIR=${nodeApiDir}`, `-DNODE_ADDON_API_DIR=${addonApiDir}`,
  `-DPETREL_OUTPUT_DIR=${join(out, buildType)}`, `-DPETREL_ASAN=${asan ? "ON" : "OFF"}`, `-DPETREL_REQUIRE_DPDK=${requireDpdk && !prebuild ? "ON" : "OFF"}`,
  `-DPETREL_PORTABLE=${prebuild ? "ON" : "OFF"}`];
if (have("ninja")) configure.push("-G", "Ninja");
run("cmake", configure);
run("cmake", ["--build", cmakeDir, "--parallel"]);
if (prebuild) stagePrebuilt();
console.log(`petrel: native addon built${asan ? " with AddressSanitizer" : ""}${dpdkVersion === undefined ? " without DPDK" : `, DPDK ${dpdkVersion} frame port included`}.`);
