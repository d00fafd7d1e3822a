// Loads Petrel's optional native addon: the prebuilt one the package carries
// (prebuilds/<platform>-<arch>-<libc>/petrel.node), else the one built from native/ by
// scripts/build-native.mjs (build/Release). The drivers that need it ask for it through
// loadNativeAddon(); everything else works without it.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

export interface NativeBuildInfo {
  readonly napiVersion: number;
  readonly compiler: string;
  readonly asan: boolean;
}

/** What the native sockets driver returns instead of throwing when a system call fails. */
export interface NativeSyscallError {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  readonly message: string;
  readonly endpointId?: number;
}

export interface NativeOpenResult {
  readonly port: number;
  readonly ip: number;
  readonly gro: boolean;
  readonly gso: boolean;
  readonly rcvbufBytes: number;
  readonly sndbufBytes: number;
}

export interface NativeSocketsStats {
  readonly datagramsSent: number;
  readonly datagramsReceived: number;
  readonly sendCalls: number;
  readonly receiveCalls: number;
  readonly gsoSends: number;
  readonly groReceives: number;
  /** Full-datagram/tail pair runs sent as two GSO runs. */
  readonly pairRuns: number;
  readonly wouldBlock: number;
  readonly dropped: number;
  readonly truncated: number;
  readonly errors: number;
  readonly sockets: number;
}

/** native/src/sockets.cc: one instance serves one transmit and one receive batch. */
export interface NativeSocketsDriver {
  open(endpointId: number, bindIp: number, bindPort: number, rcvbufBytes: number, sndbufBytes: number, ttl: number,
    multicastGroupIp: number, interfaceIp: number): NativeOpenResult | NativeSyscallError;
  close(endpointId: number): boolean;
  closeAll(): void;
  /** Slots consumed, or EFAULT when a transmit batch array was detached (nothing was read). */
  send(start: number, end: number): number | NativeSyscallError;
  /** Datagrams received, or EFAULT when a receive batch array was detached (nothing was written). */
  receive(): number | NativeSyscallError;
  /** Serve a new transmit batch (grown slots) from now on. */
  setTransmit(bytes: Uint8Array, lengths: Int32Array, ips: Uint32Array, ports: Uint16Array, endpointIds: Int32Array,
    capacity: number, slotLength: number): void;
  stats(): NativeSocketsStats;
  lastError(): NativeSyscallError | null;
  wait(timeoutMs: number): boolean;
  /** true: armed, `callback` runs once (from the event loop) when a socket is readable; false: data is already staged. */
  armWake(callback: () => void): boolean | NativeSyscallError;
  /** Disarms; returns the number of wakes so far. */
  disarmWake(): number;
}

export type NativeSocketsDriverConstructor = new (
  txBytes: Uint8Array, txLengths: Int32Array, txIps: Uint32Array, txPorts: Uint16Array, txEndpointIds: Int32Array,
  txCapacity: number, txSlotLength: number,
  rxBytes: Uint8Array, rxLengths: Int32Array, rxIps: Uint32Array, rxPorts: Uint16Array, rxEndpointIds: Int32Array,
  rxCapacity: number, rxSlotLength: number,
  useGso: boolean, useGro: boolean,
) => NativeSocketsDriver;

export interface NativeAddon {
  buildInfo(): NativeBuildInfo;
  byteSum(bytes: Uint8Array): number;
  readonly SocketsDriver: NativeSocketsDriverConstructor;
  probeUdpOffload(): { readonly gso: boolean; readonly gro: boolean };
}

export class NativeAddonUnavailableError extends Error {
  override readonly name = "NativeAddonUnavailableError";
  constructor(readonly searched: ReadonlyArray<string>, readonly causeMessage: string) {
    super(`Petrel's native addon is not available (${causeMessage}); looked in: ${searched.join(", ")}. ` +
      `Install cmake and g++ (Debian: apt-get install cmake g++), then run \`${rebuildCommand()}\`.`);
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

/** In a user's project (Petrel under node_modules) the build is redone by npm; in a checkout, by our script. */
function rebuildCommand(): string {
  return packageRoot().split(sep).includes("node_modules") ? "npm rebuild petrel" : "npm run build:native";
}

/** The prebuilt's folder name for this process, as scripts/build-native.mjs writes it. */
export function prebuildTag(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return `${process.platform}-${process.arch}-${report?.header?.glibcVersionRuntime === undefined ? "musl" : "glibc"}`;
}

let cached: NativeAddon | NativeAddonUnavailableError | undefined;

/** Returns the addon, or a typed error saying why it cannot be loaded (never throws). */
export function tryLoadNativeAddon(): NativeAddon | NativeAddonUnavailableError {
  if (cached !== undefined) return cached;
  const root = packageRoot();
  const candidates = [
    process.env["PETREL_NATIVE_ADDON"],
    join(root, "prebuilds", prebuildTag(), "petrel.node"),
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
