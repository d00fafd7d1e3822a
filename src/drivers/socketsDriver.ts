// Chooses the sockets driver: the native one (sendmmsg/recvmmsg, GSO/GRO) when the addon loads,
// otherwise the node:dgram fallback, with a warning that says why and how to get the native one.
// PETREL_REQUIRE_NATIVE=1 (as CI sets) turns the fallback into an error; PETREL_DRIVER=dgram forces
// the fallback (for tests and comparisons). driver: "io_uring" (or PETREL_DRIVER=io_uring) selects the
// io_uring driver instead (uringDriver.ts): no fallback there, a DriverError says why it cannot run.
// driver: "af_packet" and driver: "dpdk" select the raw-frame drivers (Petrel's netstack over
// PACKET_MMAP rings or a DPDK port), with their own options.
import type { Driver, DriverOptions } from "./driver.js";
import { DgramDriver } from "./dgramDriver.js";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "./nativeAddon.js";
import { NativeSocketsDriver } from "./nativeSocketsDriver.js";
import { createUringDriver, uringOptionsFromEnv, type UringDriverOptions } from "./uringDriver.js";
import { createAfPacketDriver, type AfPacketDriverOptions } from "./afPacketDriver.js";
import { createDpdkDriver, type DpdkDriverOptions } from "./dpdkDriver.js";

export interface SocketsDriverOptions extends DriverOptions {
  /** "auto" (default): native when available; "native": native or throw; "dgram": the fallback. */
  readonly prefer?: "auto" | "native" | "dgram";
  /** Where the fallback warning goes (default console.warn); called at most once per process. */
  readonly warn?: (message: string) => void;
  /** "sockets" (default): sendmmsg/recvmmsg or node:dgram; "io_uring": the io_uring driver or throw. */
  readonly driver?: "sockets" | "io_uring" | "af_packet" | "dpdk";
  /** io_uring settings (ring sizes, sqpoll, sendZc...), used with driver: "io_uring". */
  readonly uring?: UringDriverOptions;
  /** AF_PACKET settings (interface, Petrel's own address, rings), required with driver: "af_packet". */
  readonly afPacket?: AfPacketDriverOptions;
  /** DPDK settings (EAL arguments, port, Petrel's own address), required with driver: "dpdk". */
  readonly dpdk?: DpdkDriverOptions;
}

let warned = false;

export function createSocketsDriver(options: SocketsDriverOptions = {}): Driver {
  const forced = process.env["PETREL_DRIVER"];
  if (options.driver === "io_uring" || (options.driver === undefined && options.prefer !== "dgram" && forced === "io_uring")) {
    return createUringDriver({ ...options, ...(options.uring ?? uringOptionsFromEnv()) });
  }
  if (options.driver === "af_packet") {
    if (options.afPacket === undefined) throw new RangeError('driver: "af_packet" needs afPacket: { interfaceName, ip }');
    return createAfPacketDriver({ ...options, ...options.afPacket });
  }
  if (options.driver === "dpdk") {
    if (options.dpdk === undefined) throw new RangeError('driver: "dpdk" needs dpdk: { eal, port, ip, prefixLength?, gateway? }');
    return createDpdkDriver({ ...options, ...options.dpdk });
  }
  const prefer = options.prefer ?? (forced === "dgram" || forced === "native" ? forced : "auto");
  if (prefer === "dgram") return new DgramDriver(options);
  const addon = tryLoadNativeAddon();
  if (!(addon instanceof NativeAddonUnavailableError)) return new NativeSocketsDriver(addon, options);
  if (prefer === "native" || process.env["PETREL_REQUIRE_NATIVE"] === "1") throw addon;
  if (!warned) {
    warned = true;
    (options.warn ?? console.warn)(`petrel: WARNING: using the node:dgram fallback driver (much slower). ${addon.message}`);
  }
  return new DgramDriver(options);
}
