#!/usr/bin/env node
// Builds Petrel's native addon with cmake-js. The addon is optional: the pure TypeScript parts
// (core, simulator, node:dgram fallback) work without it. Where cmake or a C++ compiler is missing
// this script prints a clear warning and exits 0, so `npm ci` still succeeds; with --required or
// PETREL_REQUIRE_NATIVE=1 (as CI sets) a failed build is an error. PETREL_ASAN=1 builds with
// AddressSanitizer into build-asan/. The DPDK frame port is built where pkg-config finds libdpdk and
// left out (with a message) otherwise; PETREL_REQUIRE_DPDK=1 (as CI sets) makes its absence an error.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const required = process.argv.includes("--required") || process.env.PETREL_REQUIRE_NATIVE === "1";
const asan = process.env.PETREL_ASAN === "1";
const requireDpdk = process.env.PETREL_REQUIRE_DPDK === "1";

function warnOrFail(message) {
  if (required) {
    console.error(`petrel: native addon build failed: ${message}`);
    process.exit(1);
  }
  console.warn(`petrel: WARNING: native addon not built (${message}).`);
  console.warn("petrel: the core, the simulator and the node:dgram fallback driver still work;");
  console.warn("petrel: install cmake and g++, then run `npm run build:native` for the native drivers.");
  process.exit(0);
}

function have(command) {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
}

if (process.env.PETREL_SKIP_NATIVE === "1" && !required) warnOrFail("PETREL_SKIP_NATIVE=1");
if (!have("cmake")) warnOrFail("cmake not found on PATH");
if (!have("g++") && !have("c++")) warnOrFail("no C++ compiler (g++) found on PATH");

let cmakeJs;
try {
  cmakeJs = createRequire(import.meta.url).resolve("cmake-js/bin/cmake-js");
} catch {
  warnOrFail("the cmake-js package is not installed");
}
const addonApi = createRequire(import.meta.url)("node-addon-api");
const includeDir = String(addonApi.include_dir ?? addonApi.include).replace(/"/g, "");
if (!existsSync(includeDir)) warnOrFail(`node-addon-api headers not found at ${includeDir}`);

const args = [cmakeJs, "compile", "--directory", join(root, "native"), "--out", join(root, asan ? "build-asan" : "build"),
  `--CDNODE_ADDON_API_DIR=${includeDir}`];
if (asan) args.push("--CDPETREL_ASAN=ON", "--debug");
if (requireDpdk) args.push("--CDPETREL_REQUIRE_DPDK=ON");
const dpdk = spawnSync("pkg-config", ["--modversion", "libdpdk"], { encoding: "utf8" });
const dpdkVersion = dpdk.status === 0 ? dpdk.stdout.trim() : undefined;
if (dpdkVersion === undefined) {
  if (requireDpdk) warnOrFail("PETREL_REQUIRE_DPDK=1 but pkg-config finds no libdpdk (apt-get install dpdk libdpdk-dev pkg-config)");
  console.warn("petrel: libdpdk not found by pkg-config: the DPDK driver is left out (install dpdk and libdpdk-dev for it).");
}
const result = spawnSync(process.execPath, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
if (result.status !== 0) warnOrFail(`cmake-js exited with status ${result.status}`);
console.log(`petrel: native addon built${asan ? " with AddressSanitizer" : ""}${dpdkVersion === undefined ? " without DPDK" : `, DPDK ${dpdkVersion} frame port included`}.`);
