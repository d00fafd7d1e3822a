// Loads Petrel's optional native addon (native/, built by cmake-js into build/Release). The
// drivers that need it ask for it through loadNativeAddon(); everything else works without it.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface NativeBuildInfo {
  readonly napiVersion: number;
  readonly compiler: string;
  readonly asan: boolean;
}

export interface NativeAddon {
  buildInfo(): NativeBuildInfo;
  byteSum(bytes: Uint8Array): number;
}

export class NativeAddonUnavailableError extends Error {
  override readonly name = "NativeAddonUnavailableError";
  constructor(readonly searched: ReadonlyArray<string>, readonly causeMessage: string) {
    super(`Petrel's native addon is not available (${causeMessage}); looked in: ${searched.join(", ")}. ` +
      "Install cmake and g++, then run `npm run build:native`.");
  }
}

/** Walks up from this file to the package root (the folder holding native/CMakeLists.txt). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "native", "CMakeLists.txt"))) return dir;
    dir = dirname(dir);
  }
  return dir;
}

let cached: NativeAddon | NativeAddonUnavailableError | undefined;

/** Returns the addon, or a typed error saying why it cannot be loaded (never throws). */
export function tryLoadNativeAddon(): NativeAddon | NativeAddonUnavailableError {
  if (cached !== undefined) return cached;
  const root = packageRoot();
  const candidates = [
    process.env["PETREL_NATIVE_ADDON"],
    join(root, "build", "Release", "petrel.node"),
    join(root, "build", "Debug", "petrel.node"),
  ].filter((p): p is string => p !== undefined && p !== "");
  const require = createRequire(import.meta.url);
  let lastError = "no candidate file exists";
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    try {
      cached = require(file) as NativeAddon;
      return cached;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
  }
  cached = new NativeAddonUnavailableError(candidates, lastError);
  return cached;
}

/** Returns the addon or throws NativeAddonUnavailableError. */
export function loadNativeAddon(): NativeAddon {
  const addon = tryLoadNativeAddon();
  if (addon instanceof NativeAddonUnavailableError) throw addon;
  return addon;
}
