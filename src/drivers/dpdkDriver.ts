// The DPDK driver: Petrel's user-space netstack (src/drivers/netstack: Ethernet/IPv4/UDP headers,
// ARP, its own port table) over one DPDK ethdev port (native/src/dpdk.cc): one RX/TX queue pair, a
// pktmbuf pool sized from the frame batches, one rte_eth_tx_burst per transmitBatch and one
// rte_eth_rx_burst per pollBatch. The port is a physical NIC bound to a poll-mode driver, or, on
// machines without one (tests, CI), a virtual device over a kernel interface: net_af_packet
// (PACKET_MMAP rings) or net_af_xdp (an AF_XDP socket, copy mode on veth).
//
// The EAL is initialised once per process, by the first DPDK port, from `eal` (DPDK's command-line
// arguments); it is cleaned up (rte_eal_cleanup) when the last port of the process is disposed, and
// DPDK cannot initialise it again in that process. Needs root (or the capabilities DPDK asks for).
//
// Gotchas:
// - Give each process its own EAL runtime: a unique `--file-prefix` (dpdkVdevEal: petrel-<pid>,
//   with --no-shconf so nothing but an empty directory is left, and the port removes that).
// - A virtual device over a veth sees what the kernel's veth delivers: with GSO or checksum offload
//   on at the kernel end, frames arrive as GSO super-frames or with partial UDP checksums, which the
//   netstack drops. Turn them off on the kernel end (`ethtool -K <dev> tx off gso off`), as the
//   tests do, or let the kernel end be a real wire.
// - The interface must not carry Petrel's IPv4 address in the kernel (the kernel would answer ARP
//   for it too): Petrel owns the address it is given.
import { DriverError, isSyscallErrorShape, nativeCount, type SyscallErrorShape } from "./driverError.js";
import type { DriverKind } from "./driver.js";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "./nativeAddon.js";
import { FrameBatch, type FramePort, type FramePortStats } from "./netstack/framePort.js";
import { writeMulticastMac } from "./netstack/mac.js";
import { NetstackDriver, type NetstackOptions } from "./netstack/netstackDriver.js";
import { monotonicClockNs } from "./runtime.js";

export interface DpdkStats extends FramePortStats {
  readonly noMbufs: number;
  readonly truncated: number;
  readonly checksumOffloaded: number;
  readonly portPackets: number;
  readonly portMissed: number;
  readonly portRxErrors: number;
  readonly portTxErrors: number;
  readonly portNoMbufs: number;
}

export interface DpdkOffloads {
  readonly txIpv4Checksum: boolean;
  readonly txUdpChecksum: boolean;
  readonly rxChecksum: boolean;
  readonly txMultiSegment: boolean;
  readonly rxScatter: boolean;
}

interface NativeDpdkOpen {
  readonly portId: number;
  readonly name: string;
  readonly driver: string;
  readonly mac: number[];
  readonly mtu: number;
  readonly maxRxFrame: number;
  readonly rxDescriptors: number;
  readonly txDescriptors: number;
  readonly poolSize: number;
  readonly dataRoom: number;
  readonly offloads: DpdkOffloads;
  readonly multicast: string;
}

interface NativeDpdkPort {
  open(eal: string[], port: string | number, rxDescriptors: number, txDescriptors: number, allMulticast: boolean,
    restoreAffinity: boolean): NativeDpdkOpen | SyscallErrorShape;
  send(start: number, end: number): number | SyscallErrorShape;
  receive(): number | SyscallErrorShape;
  setMulticast(macs: Uint8Array): string | SyscallErrorShape;
  stats(): DpdkStats;
  lastError(): SyscallErrorShape | null;
  close(): void;
}

type NativeDpdkPortConstructor = new (
  txBytes: Uint8Array, txLengths: Int32Array, txFlags: Uint8Array, txTimestamps: Float64Array, txCapacity: number, txSlotLength: number,
  rxBytes: Uint8Array, rxLengths: Int32Array, rxFlags: Uint8Array, rxTimestamps: Float64Array, rxCapacity: number, rxSlotLength: number,
) => NativeDpdkPort;

export interface DpdkPortOptions {
  /**
   * EAL arguments (DPDK's command line, without the program name), e.g. the test default from
   * `dpdkVdevEal("net_af_packet", "veth0")`: --file-prefix=petrel-PID --no-shconf --no-huge --no-pci -m 512 -l 0
   * --no-telemetry --vdev=net_af_packet0,iface=veth0. Used by the first port of the process only.
   */
  readonly eal: readonly string[];
  /** The port: its DPDK name (e.g. "net_af_packet0", a PCI address) or its port id. */
  readonly port: string | number;
  /** Descriptors per ring (adjusted to what the device allows; defaults 1024 RX, 1024 TX). */
  readonly rxDescriptors?: number;
  readonly txDescriptors?: number;
  /** Ask for all-multicast mode (default true); otherwise, or where the PMD lacks it, a MAC filter or promiscuous mode. */
  readonly allMulticast?: boolean;
  /** Give the calling thread its CPU affinity back after rte_eal_init pinned it to the main lcore (default true). */
  readonly restoreAffinity?: boolean;
}

/** The poll-mode drivers Petrel's tests run DPDK on (virtual devices over a kernel interface). */
export type DpdkVirtualPmd = "net_af_packet" | "net_af_xdp";

/**
 * EAL arguments for a virtual device over a kernel interface, without hugepages or PCI, one lcore,
 * no telemetry, and a runtime of its own: `--file-prefix` (default petrel-<pid>) with
 * `--no-shconf` (no shared files, no multi-process IPC: the port removes the empty
 * /var/run/dpdk/<prefix> after rte_eal_cleanup). `--in-memory` would leave no directory at all, but
 * DPDK 22.11 refuses it with --no-huge (which implies legacy memory). `extra` is appended.
 */
export function dpdkVdevEal(pmd: DpdkVirtualPmd, iface: string, extra: readonly string[] = [], filePrefix = `petrel-${process.pid}`): string[] {
  // net_af_packet: a receive ring of 4096 frames (the PMD's default, 512, fills in ~2 ms at line
  // rate: one lost scheduler slice of a busy machine and the kernel drops); 2048-byte frames.
  // net_af_xdp: one queue; copy mode is what veth gives (zero-copy is EOPNOTSUPP there).
  const device = pmd === "net_af_packet" ? `net_af_packet0,iface=${iface},qdisc_bypass=1,framesz=2048,framecnt=4096`
    : `net_af_xdp0,iface=${iface},start_queue=0,queue_count=1`;
  return [`--file-prefix=${filePrefix}`, "--no-shconf", "--no-huge", "--no-pci", "-m", "512", "-l", "0", "--no-telemetry", "--log-level=5", `--vdev=${device}`, ...extra];
}

/** The port name dpdkVdevEal gives its device. */
export function dpdkVdevPort(pmd: DpdkVirtualPmd): string {
  return `${pmd}0`;
}

/** One DPDK ethdev port as the netstack's FramePort. */
export class DpdkFramePort implements FramePort {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly portId: number;
  readonly name: string;
  /** The PMD's name (e.g. "net_af_packet", "net_af_xdp", "net_ixgbe"). */
  readonly pmd: string;
  readonly offloads: DpdkOffloads;
  readonly txChecksumOffload: boolean;
  /** How multicast reaches the port: "allmulticast", "mac-filter", "promiscuous" or "none". */
  multicastMode: string;
  readonly opened: Readonly<NativeDpdkOpen>;
  private readonly handle: NativeDpdkPort;
  private readonly tx: FrameBatch;
  private readonly rx: FrameBatch;
  private closed = false;

  /** Initialises the EAL (first port of the process) and starts the port. Throws DriverError with the rte_errno name. */
  constructor(tx: FrameBatch, rx: FrameBatch, options: DpdkPortOptions) {
    const addon = tryLoadNativeAddon();
    if (addon instanceof NativeAddonUnavailableError) throw addon;
    const Port = (addon as unknown as { DpdkPort?: NativeDpdkPortConstructor }).DpdkPort;
    if (Port === undefined) {
      throw new DriverError("ENOSYS", 38, "DpdkPort",
        "the native addon was built without DPDK (pkg-config found no libdpdk): install dpdk and libdpdk-dev, then npm run build:native");
    }
    this.tx = tx;
    this.rx = rx;
    this.handle = new Port(tx.bytes, tx.lengths, tx.flags, tx.timestampsNs, tx.capacity, tx.slotLength,
      rx.bytes, rx.lengths, rx.flags, rx.timestampsNs, rx.capacity, rx.slotLength);
    const opened = this.handle.open([...options.eal], options.port, options.rxDescriptors ?? 1024, options.txDescriptors ?? 1024,
      options.allMulticast ?? true, options.restoreAffinity ?? true);
    if (isSyscallErrorShape(opened)) throw DriverError.fromSyscall(opened);
    this.opened = opened;
    this.mac = Uint8Array.from(opened.mac);
    this.mtu = opened.mtu;
    this.portId = opened.portId;
    this.name = opened.name;
    this.pmd = opened.driver;
    this.offloads = opened.offloads;
    this.txChecksumOffload = opened.offloads.txUdpChecksum;
    this.multicastMode = opened.multicast;
  }

  sendFrames(batch: FrameBatch, start: number): number {
    if (batch !== this.tx) throw new RangeError("sendFrames: pass the port's own transmit frame batch");
    if (this.closed || start >= batch.count) return 0;
    return nativeCount(this.handle.send(start, batch.count));
  }

  receiveFrames(batch: FrameBatch): number {
    if (batch !== this.rx) throw new RangeError("receiveFrames: pass the port's own receive frame batch");
    batch.count = 0;
    batch.count = this.closed ? 0 : nativeCount(this.handle.receive());
    return batch.count;
  }

  setMulticastGroups(groupIps: readonly number[]): void {
    if (this.closed) return;
    const macs = new Uint8Array(groupIps.length * 6);
    groupIps.forEach((group, i) => writeMulticastMac(group, macs, i * 6));
    const mode = this.handle.setMulticast(macs);
    if (isSyscallErrorShape(mode)) throw DriverError.fromSyscall(mode);
    this.multicastMode = mode;
  }

  stats(): DpdkStats {
    return this.handle.stats();
  }

  lastError(): SyscallErrorShape | undefined {
    return this.handle.lastError() ?? undefined;
  }

  /** Stops and closes the port; the last port of the process also runs rte_eal_cleanup. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }
}

export interface DpdkDriverOptions extends Omit<NetstackOptions, "clockNs" | "ip" | "kind" | "gatewayIp">, DpdkPortOptions {
  /** Petrel's IPv4 address on the port (dotted quad or u32), its prefix length (default 24) and gateway. */
  readonly ip: string | number;
  readonly gateway?: string | number;
  /** Default: monotonicClockNs. */
  readonly clockNs?: () => number;
  /** Wrap the port before the netstack gets it (a PcapFramePort tap, for instance). */
  readonly wrapPort?: (port: DpdkFramePort) => FramePort;
}

function parseIp(ip: string | number): number {
  if (typeof ip === "number") return ip >>> 0;
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new RangeError(`not an IPv4 address: ${ip}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** The DPDK driver: a NetstackDriver over a DpdkFramePort. Throws DriverError (rte_errno names: EALREADY, ENODEV, EBUSY...). */
export function createDpdkDriver(options: DpdkDriverOptions): NetstackDriver {
  return new NetstackDriver((tx, rx) => {
    const port = new DpdkFramePort(tx, rx, options);
    return options.wrapPort === undefined ? port : options.wrapPort(port);
  }, {
    ...options,
    ip: parseIp(options.ip),
    ...(options.gateway === undefined ? {} : { gatewayIp: parseIp(options.gateway) }),
    clockNs: options.clockNs ?? monotonicClockNs,
    kind: "dpdk" satisfies DriverKind,
  });
}
