// The AF_PACKET driver: Petrel's user-space netstack (src/drivers/netstack: Ethernet/IPv4/UDP
// headers, ARP, its own port table) over an AF_PACKET socket with PACKET_MMAP rings
// (native/src/afpacket.cc) bound to one interface. Each transmitBatch is one call into C++ that
// copies the batch's frames into the TX ring and flushes them with one sendto; each pollBatch is
// one call that copies what the RX ring holds into the frame batch.
//
// Needs root or CAP_NET_RAW: without it, createAfPacketDriver throws a DriverError with code EPERM
// (syscall "socket(AF_PACKET)"). The interface should not carry the same IPv4 address in the kernel
// (the kernel would answer ARP for it too, and send ICMP port-unreachable for Petrel's ports):
// Petrel owns the address it is given.
//
// Gotchas:
// - TPACKET_V3 hands a block to user space when it is full or when blockTimeoutMs passes: a lone
//   frame (an ARP reply, a NAK at low rate) can wait up to that long. Default 1 ms (the minimum).
// - veth and many NICs leave the UDP checksum of locally sent frames unfinished
//   (TP_STATUS_CSUMNOTREADY); the netstack accepts such a frame only when the ring says so.
// - Datagrams to an address ARP has not resolved are dropped and counted; NAKs recover them.
import { DriverError, isSyscallErrorShape, nativeCount, type SyscallErrorShape } from "./driverError.js";
import type { DriverKind } from "./driver.js";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "./nativeAddon.js";
import { FrameBatch, type FramePort, type FramePortStats } from "./netstack/framePort.js";
import { formatMac } from "../net/ethernetIpv4Udp.js";
import { NetstackDriver, type NetstackOptions } from "./netstack/netstackDriver.js";
import { monotonicClockNs } from "./runtime.js";

export interface AfPacketStats extends FramePortStats {
  readonly truncated: number;
  readonly outgoingSkipped: number;
  readonly kernelPackets: number;
  readonly kernelDrops: number;
  readonly kernelFreezes: number;
}

interface NativeAfPacketOpen {
  readonly ifindex: number;
  readonly mac: number[];
  readonly mtu: number;
  readonly qdiscBypass: boolean;
  readonly ignoreOutgoing: boolean;
  readonly txFrames: number;
  readonly rxBlocks: number;
}

interface NativeAfPacketPort {
  open(name: string, blockSize: number, blockCount: number, blockTimeoutMs: number, txFrameSize: number, txFrameCount: number,
    qdiscBypass: boolean, fanoutGroup: number, fanoutMode: number, allMulticast: boolean): NativeAfPacketOpen | SyscallErrorShape;
  /** Frames consumed, or EFAULT when a transmit frame array was detached (nothing was read). */
  send(start: number, end: number): number | SyscallErrorShape;
  /** Frames received, or EFAULT when a receive frame array was detached (nothing was written). */
  receive(): number | SyscallErrorShape;
  stats(): AfPacketStats;
  lastError(): SyscallErrorShape | null;
  close(): void;
}

type NativeAfPacketPortConstructor = new (
  txBytes: Uint8Array, txLengths: Int32Array, txFlags: Uint8Array, txTimestamps: Float64Array, txCapacity: number, txSlotLength: number,
  rxBytes: Uint8Array, rxLengths: Int32Array, rxFlags: Uint8Array, rxTimestamps: Float64Array, rxCapacity: number, rxSlotLength: number,
) => NativeAfPacketPort;

/** PACKET_FANOUT modes (linux/if_packet.h). */
export const FanoutMode = { HASH: 0, LB: 1, CPU: 2, ROLLOVER: 3, RND: 4, QM: 5 } as const;

export interface AfPacketPortOptions {
  /** The interface to bind (e.g. "eth0", a veth end). */
  readonly interfaceName: string;
  /** RX ring: blocks of blockSize bytes (power of two, multiple of the page; default 64 KiB) x blockCount (default 64). */
  readonly blockSize?: number;
  readonly blockCount?: number;
  /** How long the kernel waits before handing over a partly filled block (ms, default 1). */
  readonly blockTimeoutMs?: number;
  /** TX ring: frames of txFrameSize bytes (power of two, default 2048) x txFrameCount (default 1024). */
  readonly txFrameSize?: number;
  readonly txFrameCount?: number;
  /** PACKET_QDISC_BYPASS (default true). */
  readonly qdiscBypass?: boolean;
  /** PACKET_FANOUT group id (1..65535; default 0 = no fanout) and mode (default HASH). */
  readonly fanoutGroup?: number;
  readonly fanoutMode?: number;
  /** Receive every multicast frame (PACKET_MR_ALLMULTI; default true). */
  readonly allMulticast?: boolean;
}

/** One interface's AF_PACKET socket and rings, as the netstack's FramePort. */
export class AfPacketFramePort implements FramePort {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly ifindex: number;
  readonly qdiscBypass: boolean;
  readonly interfaceName: string;
  private readonly handle: NativeAfPacketPort;
  private readonly tx: FrameBatch;
  private readonly rx: FrameBatch;
  private closed = false;

  /** Opens the socket and maps the rings. Throws DriverError (EPERM without CAP_NET_RAW, ENODEV for an unknown interface). */
  constructor(tx: FrameBatch, rx: FrameBatch, options: AfPacketPortOptions) {
    const addon = tryLoadNativeAddon();
    if (addon instanceof NativeAddonUnavailableError) throw addon;
    const Port = (addon as unknown as { AfPacketPort?: NativeAfPacketPortConstructor }).AfPacketPort;
    if (Port === undefined) throw new DriverError("ENOSYS", 38, "AfPacketPort", "the native addon was built without the AF_PACKET port");
    this.tx = tx;
    this.rx = rx;
    this.handle = new Port(tx.bytes, tx.lengths, tx.flags, tx.timestampsNs, tx.capacity, tx.slotLength,
      rx.bytes, rx.lengths, rx.flags, rx.timestampsNs, rx.capacity, rx.slotLength);
    const opened = this.handle.open(options.interfaceName, options.blockSize ?? 64 * 1024, options.blockCount ?? 64,
      options.blockTimeoutMs ?? 1, options.txFrameSize ?? 2048, options.txFrameCount ?? 1024, options.qdiscBypass ?? true,
      options.fanoutGroup ?? 0, options.fanoutMode ?? FanoutMode.HASH, options.allMulticast ?? true);
    if (isSyscallErrorShape(opened)) {
      const error = DriverError.fromSyscall(opened);
      if (error.code === "EPERM" || error.code === "EACCES") {
        throw new DriverError(error.code, error.errno, error.syscall,
          `${opened.message}: AF_PACKET needs root or CAP_NET_RAW (run as root, or setcap cap_net_raw+ep on node)`);
      }
      throw error;
    }
    this.interfaceName = options.interfaceName;
    this.mac = Uint8Array.from(opened.mac);
    this.mtu = opened.mtu;
    this.ifindex = opened.ifindex;
    this.qdiscBypass = opened.qdiscBypass;
  }

  /** The interface's MAC as text. */
  get macText(): string {
    return formatMac(this.mac, 0);
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

  stats(): AfPacketStats {
    return this.handle.stats();
  }

  lastError(): SyscallErrorShape | undefined {
    return this.handle.lastError() ?? undefined;
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }
}

export interface AfPacketDriverOptions extends Omit<NetstackOptions, "clockNs" | "ip" | "kind">, AfPacketPortOptions {
  /** Petrel's IPv4 address on the interface (dotted quad or u32). */
  readonly ip: string | number;
  /** Default: monotonicClockNs. */
  readonly clockNs?: () => number;
}

function parseIp(ip: string | number): number {
  if (typeof ip === "number") return ip >>> 0;
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new RangeError(`not an IPv4 address: ${ip}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** The AF_PACKET driver: a NetstackDriver over an AfPacketFramePort. Throws DriverError (EPERM without CAP_NET_RAW). */
export function createAfPacketDriver(options: AfPacketDriverOptions): NetstackDriver {
  // The frame batches are the netstack's own; the port is given them first so the native side can hold on to their memory.
  return new NetstackDriver((tx, rx) => new AfPacketFramePort(tx, rx, options), {
    ...options,
    ip: parseIp(options.ip),
    clockNs: options.clockNs ?? monotonicClockNs,
    kind: "af_packet" satisfies DriverKind,
  });
}
