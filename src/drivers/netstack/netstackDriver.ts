// Petrel's user-space netstack as a Driver: the engine's datagrams become Ethernet/IPv4/UDP frames
// that Petrel builds itself (src/net/ethernetIpv4Udp.ts), resolved with its own ARP (arp.ts), and
// received frames are checked layer by layer and handed to the endpoint that owns the destination
// port (portTable.ts). Frames move through an abstract FramePort: AF_PACKET rings live, an Ethernet
// segment in the simulator. Pure: no node: import, no clock of its own (clockNs is injected).
//
// Sending: transmitBatch builds one frame per datagram into its frame batch and hands the batch to
// the port in one call. A datagram whose next hop has no ARP entry yet is dropped and counted
// (drops.txArpUnresolved) and an ARP request goes out: Petrel's NAKs redeliver it once ARP
// resolves, so no queue of pending datagrams is needed. Datagrams to our own address (and to
// multicast groups we joined) are also looped back, as the kernel does for sockets.
// Receiving: pollBatch first runs ARP's timers, then reads one frame batch; every frame that is
// not a well-formed IPv4/UDP datagram for us (or an ARP packet) is dropped and counted by reason.
// Cost per datagram: one payload copy each way (the only allocation is the subarray view that
// TypedArray.set takes, which V8 keeps in the young generation).
import type { EndpointInfo } from "../../core/engine/engine.js";
import { TransmitBatch } from "../../core/transmitBatch.js";
import {
  ETHERNET_HEADER_LENGTH,
  ETHERNET_IPV4_UDP_HEADER_LENGTH,
  ETHERTYPE_IPV4,
  ETHERTYPE_VLAN,
  IPV4_MIN_HEADER_LENGTH,
  PacketStatus,
  UDP_HEADER_LENGTH,
  UdpChecksumStatus,
  UdpPacketInfo,
  parseEthernetIpv4Udp,
  verifyIpv4HeaderChecksum,
  verifyUdpChecksum,
  writeEthernetIpv4UdpHeaders,
} from "../../net/ethernetIpv4Udp.js";
import type { Driver, DriverKind, DriverOptions, DriverStats, OpenedEndpoint } from "../driver.js";
import { DriverError } from "../driverError.js";
import { ReceiveBatch } from "../receiveBatch.js";
import { checkFits } from "../slots.js";
import { ARP_OP_REPLY, ARP_OP_REQUEST, ArpPacketInfo, ArpResolver, ETHERTYPE_ARP, parseArp, writeArpFrame, type ArpConfig } from "./arp.js";
import { FRAME_FLAG_CHECKSUM_NOT_READY, FRAME_FLAG_CHECKSUM_VALID, FrameBatch, type FramePort } from "./framePort.js";
import { BROADCAST_MAC, ZERO_MAC, copyMac, isBroadcastMac, isGroupMac, isMulticastIp, macEquals, writeMulticastMac } from "./mac.js";
import { PortInUseError, PortTable } from "./portTable.js";

/** Why a frame or a datagram was dropped; index into NetstackCounters.drops. */
export const NetstackDrop = {
  FRAME_TRUNCATED: 0,
  FRAME_NOT_FOR_US: 1,
  FRAME_OWN: 2,
  ETHERTYPE_UNSUPPORTED: 3,
  ARP_MALFORMED: 4,
  IP_BAD_VERSION: 5,
  IP_BAD_HEADER_LENGTH: 6,
  IP_BAD_TOTAL_LENGTH: 7,
  IP_BAD_CHECKSUM: 8,
  IP_FRAGMENT: 9,
  IP_NOT_UDP: 10,
  IP_NOT_FOR_US: 11,
  UDP_BAD_LENGTH: 12,
  UDP_BAD_CHECKSUM: 13,
  UDP_NO_ENDPOINT: 14,
  RECEIVE_SLOT_TOO_SMALL: 15,
  TX_ARP_UNRESOLVED: 16,
  TX_TOO_BIG: 17,
  TX_UNKNOWN_ENDPOINT: 18,
  /** An ARP frame found no free slot in the frame batch (the ring is backed up); ARP retries. */
  CONTROL_QUEUE_FULL: 19,
  LOOPBACK_QUEUE_FULL: 20,
} as const;
export type NetstackDrop = (typeof NetstackDrop)[keyof typeof NetstackDrop];
export const NETSTACK_DROP_NAMES: readonly string[] = [
  "frameTruncated", "frameNotForUs", "frameOwn", "ethertypeUnsupported", "arpMalformed",
  "ipBadVersion", "ipBadHeaderLength", "ipBadTotalLength", "ipBadChecksum", "ipFragment", "ipNotUdp", "ipNotForUs",
  "udpBadLength", "udpBadChecksum", "udpNoEndpoint", "receiveSlotTooSmall",
  "txArpUnresolved", "txTooBig", "txUnknownEndpoint", "controlQueueFull", "loopbackQueueFull",
];

export interface NetstackOptions extends DriverOptions {
  /** Our IPv4 address (u32) on the port's interface, and the subnet's prefix length (default 24). */
  readonly ip: number;
  readonly prefixLength?: number;
  /** Next hop for destinations outside the subnet (0: none; such datagrams are then ARPed directly). */
  readonly gatewayIp?: number;
  /** A fixed MAC for the gateway (clouds, where ARP for the gateway is answered by the fabric or not at all). */
  readonly gatewayMac?: Uint8Array;
  /** Fixed neighbours: [ip, mac] pairs that never expire. */
  readonly staticNeighbors?: ReadonlyArray<readonly [number, Uint8Array]>;
  /** Monotonic local time in nanoseconds (the simulator passes its host clock). */
  readonly clockNs: () => number;
  /** Compute UDP checksums on send (optional on IPv4; default true). */
  readonly udpChecksum?: boolean;
  /** Accept received UDP datagrams whose checksum is absent (0). Default true (RFC 768 allows it). */
  readonly acceptAbsentUdpChecksum?: boolean;
  readonly arp?: Partial<ArpConfig>;
  /** Ephemeral ports (defaults 49152..65535, starting at the first). */
  readonly ephemeralFirst?: number;
  readonly ephemeralLast?: number;
  readonly ephemeralStart?: number;
  readonly kind?: DriverKind;
  /** Bytes per frame slot (default 2048): the largest frame; the MTU is capped to fit it. */
  readonly frameSlotLength?: number;
}

export interface NetstackCounters {
  readonly drops: Record<string, number>;
  readonly arp: Readonly<ArpResolver["counters"]>;
  readonly arpRequestsSent: number;
  readonly arpRepliesSent: number;
  readonly framesBuilt: number;
  readonly framesParsed: number;
  readonly loopedBack: number;
}

interface EndpointEntry {
  readonly port: number;
  readonly group: number;
  readonly ttl: number;
}

const DEFAULT_TTL_UNICAST = 64;
const DEFAULT_TTL_MULTICAST = 1;

export class NetstackDriver implements Driver {
  readonly kind: DriverKind;
  readonly needsEventLoop = false;
  readonly transmit: TransmitBatch;
  readonly receive: ReceiveBatch;
  readonly ip: number;
  readonly netmask: number;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly arp: ArpResolver;
  readonly ports: PortTable;
  readonly framePort: FramePort;
  private readonly clockNs: () => number;
  private readonly subnetBroadcast: number;
  private readonly gatewayIp: number;
  private readonly gatewayMac: Uint8Array | undefined;
  private readonly udpChecksum: boolean;
  private readonly acceptAbsent: boolean;
  private readonly txFrames: FrameBatch;
  private readonly rxFrames: FrameBatch;
  private readonly loopback: FrameBatch;
  private readonly endpoints = new Map<number, EndpointEntry>();
  private readonly info = new UdpPacketInfo();
  private readonly arpInfo = new ArpPacketInfo();
  private readonly drops = new Float64Array(NETSTACK_DROP_NAMES.length);
  private identification = 0;
  private datagramsSent = 0;
  private datagramsReceived = 0;
  private sendCalls = 0;
  private arpRequestsSent = 0;
  private arpRepliesSent = 0;
  private framesBuilt = 0;
  private framesParsed = 0;
  private loopedBack = 0;
  private lastFailure: DriverError | undefined;
  private disposed = false;

  /**
   * `port` is a FramePort, or a function that makes one from the driver's own transmit and receive
   * frame batches (a native port keeps their memory for its life, as a native driver does a batch's).
   */
  constructor(port: FramePort | ((transmitFrames: FrameBatch, receiveFrames: FrameBatch) => FramePort), options: NetstackOptions) {
    this.kind = options.kind ?? "netstack";
    this.clockNs = options.clockNs;
    this.ip = options.ip >>> 0;
    const prefix = options.prefixLength ?? 24;
    if (!(Number.isInteger(prefix) && prefix >= 0 && prefix <= 32)) throw new RangeError(`prefixLength ${prefix} outside 0..32`);
    this.netmask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    this.subnetBroadcast = (this.ip | (~this.netmask >>> 0)) >>> 0;
    this.gatewayIp = (options.gatewayIp ?? 0) >>> 0;
    this.gatewayMac = options.gatewayMac;
    if (this.gatewayMac !== undefined && this.gatewayMac.length !== 6) throw new RangeError("gatewayMac must be 6 bytes");
    this.acceptAbsent = options.acceptAbsentUdpChecksum ?? true;
    this.transmit = new TransmitBatch(options.transmitCapacity ?? 256, options.transmitSlotLength ?? 2048);
    this.receive = new ReceiveBatch(options.receiveCapacity ?? 256, options.receiveSlotLength ?? 2048);
    const frameSlot = options.frameSlotLength ?? 2048;
    this.txFrames = new FrameBatch(this.transmit.capacity, frameSlot);
    this.rxFrames = new FrameBatch(this.receive.capacity, frameSlot);
    this.loopback = new FrameBatch(this.receive.capacity, frameSlot);
    this.framePort = typeof port === "function" ? port(this.txFrames, this.rxFrames) : port;
    // A device that completes checksums (DPDK TX offload) gets frames with UDP checksum 0 to fill.
    this.udpChecksum = (options.udpChecksum ?? true) && this.framePort.txChecksumOffload !== true;
    this.mac = this.framePort.mac;
    if (this.mac.length !== 6) throw new RangeError("the frame port's MAC must be 6 bytes");
    // A jumbo interface with ordinary frame slots: Petrel keeps its datagrams within the slots.
    this.mtu = Math.min(this.framePort.mtu, frameSlot - ETHERNET_HEADER_LENGTH - 4);
    this.arp = new ArpResolver(options.arp ?? {});
    for (const [neighborIp, neighborMac] of options.staticNeighbors ?? []) this.arp.addStatic(neighborIp, neighborMac);
    if (this.gatewayIp !== 0 && this.gatewayMac !== undefined) this.arp.addStatic(this.gatewayIp, this.gatewayMac);
    this.ports = new PortTable(options.ephemeralFirst ?? 49152, options.ephemeralLast ?? 65535, options.ephemeralStart ?? options.ephemeralFirst ?? 49152);
  }

  // ------------------------------------------------------------------------------- Driver

  /**
   * The netstack sends whole IPv4 datagrams within the link MTU (it neither fragments nor
   * reassembles) and its slots do not grow: a channel whose mtu needs more fails at add time.
   */
  fitMtu(channel: string, mtuBytes: number, role: "send" | "receive"): void {
    const link = this.mtu - IPV4_MIN_HEADER_LENGTH - UDP_HEADER_LENGTH;
    const slots = role === "send" ? this.transmit.slotLength : this.receive.slotLength;
    checkFits(channel, mtuBytes, role, Math.min(link, slots), link < slots
      ? `the ${this.kind} driver carries whole IPv4 datagrams within the link MTU ${this.mtu} (no fragmentation)`
      : `the ${this.kind} driver's slots do not grow: raise ${role === "send" ? "transmitSlotLength" : "receiveSlotLength"}`);
  }

  open(endpoint: EndpointInfo): OpenedEndpoint {
    if (this.disposed) throw new DriverError("EBADF", 9, "open", "the driver was disposed", endpoint.id);
    const bindIp = endpoint.bindIp >>> 0;
    if (bindIp !== 0 && bindIp !== this.ip && !isMulticastIp(bindIp)) {
      throw new DriverError("EADDRNOTAVAIL", 99, "bind", `the netstack owns only this address, not ${bindIp >>> 0}`, endpoint.id);
    }
    if (this.endpoints.has(endpoint.id)) throw new DriverError("EISCONN", 106, "open", "endpoint already open", endpoint.id);
    let port: number;
    try {
      port = this.ports.bind(endpoint.bindPort, endpoint.id);
    } catch (error) {
      if (error instanceof PortInUseError) throw new DriverError("EADDRINUSE", 98, "bind", error.message, endpoint.id);
      throw error;
    }
    const group = endpoint.multicastGroupIp >>> 0;
    if (group !== 0) {
      this.ports.joinGroup(group);
      this.framePort.setMulticastGroups?.(this.ports.groupList());
    }
    const ttl = endpoint.ttl > 0 ? endpoint.ttl : group !== 0 ? DEFAULT_TTL_MULTICAST : DEFAULT_TTL_UNICAST;
    this.endpoints.set(endpoint.id, { port, group, ttl });
    return { id: endpoint.id, role: endpoint.role, localIp: this.ip, localPort: port, rcvbufBytes: -1, sndbufBytes: -1, gro: false };
  }

  close(endpointId: number): void {
    const entry = this.endpoints.get(endpointId);
    if (entry === undefined) return;
    this.endpoints.delete(endpointId);
    this.ports.unbind(entry.port);
    if (entry.group !== 0) {
      this.ports.leaveGroup(entry.group);
      this.framePort.setMulticastGroups?.(this.ports.groupList());
    }
  }

  transmitBatch(batch: TransmitBatch, start = 0): number {
    if (batch !== this.transmit) throw new RangeError("transmitBatch: pass this driver's own transmit batch");
    const frames = this.txFrames;
    // Frames built earlier that the port could not take go first, ahead of anything new.
    if (frames.count > 0 && !this.flushFrames()) return 0;
    const nowNs = this.clockNs();
    let i = start;
    for (; i < batch.count && frames.count < frames.capacity; i++) this.buildFrame(nowNs, batch, i);
    this.sendArpRequests();
    this.flushFrames();
    return i - start;
  }

  pollBatch(batch: ReceiveBatch): number {
    if (batch !== this.receive) throw new RangeError("pollBatch: pass this driver's own receive batch");
    const nowNs = this.clockNs();
    this.arp.handleTimeout(nowNs);
    this.sendArpRequests();
    let n = 0;
    const loop = this.loopback;
    if (loop.count > 0) {
      for (let f = 0; f < loop.count; f++) n = this.handleFrame(nowNs, loop, f, n);
      loop.count = 0;
    } else if (!this.disposed) {
      const frames = this.rxFrames;
      const count = this.framePort.receiveFrames(frames);
      for (let f = 0; f < count; f++) n = this.handleFrame(nowNs, frames, f, n);
    }
    this.sendArpRequests();
    if (this.txFrames.count > 0) this.flushFrames();
    batch.count = n;
    this.datagramsReceived += n;
    return n;
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  stats(): DriverStats {
    const p = this.framePort.stats();
    return {
      datagramsSent: this.datagramsSent,
      datagramsReceived: this.datagramsReceived,
      sendCalls: p.sendCalls,
      receiveCalls: p.receiveCalls,
      gsoSends: 0,
      groReceives: 0,
      wouldBlock: p.wouldBlock,
      dropped: p.dropped + this.drops[NetstackDrop.TX_ARP_UNRESOLVED]! + this.drops[NetstackDrop.TX_TOO_BIG]!,
      truncated: this.drops[NetstackDrop.RECEIVE_SLOT_TOO_SMALL]!,
      errors: p.errors,
      sockets: this.endpoints.size,
    };
  }

  /** Drops by reason, ARP's counters and the frames built and parsed (allocates: not for the hot path). */
  netstackCounters(): NetstackCounters {
    const drops: Record<string, number> = {};
    NETSTACK_DROP_NAMES.forEach((name, i) => (drops[name] = this.drops[i]!));
    return {
      drops, arp: { ...this.arp.counters }, arpRequestsSent: this.arpRequestsSent, arpRepliesSent: this.arpRepliesSent,
      framesBuilt: this.framesBuilt, framesParsed: this.framesParsed, loopedBack: this.loopedBack,
    };
  }

  /** One drop counter. */
  dropped(reason: NetstackDrop): number {
    return this.drops[reason]!;
  }

  /**
   * The earliest local time at which pollBatch has work of its own (an ARP retry or expiry, or
   * frames the port could not take yet): a simulated host wakes the driver then.
   */
  nextDeadlineNs(): number {
    if (this.txFrames.count > 0 || this.loopback.count > 0) return this.clockNs();
    return this.arp.pollTimeout();
  }

  lastError(): DriverError | undefined {
    const e = this.framePort.lastError();
    return e === undefined ? this.lastFailure : new DriverError(e.code, e.errno, e.syscall, e.message);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.endpoints.clear();
    this.framePort.dispose();
  }

  // ------------------------------------------------------------------------------- transmit

  private buildFrame(nowNs: number, batch: TransmitBatch, i: number): void {
    const length = batch.lengths[i]!;
    const entry = this.endpoints.get(batch.endpointIds[i]!);
    if (entry === undefined) {
      this.drops[NetstackDrop.TX_UNKNOWN_ENDPOINT]!++;
      this.lastFailure = new DriverError("EBADF", 9, "send", `endpoint ${batch.endpointIds[i]} is not open`, batch.endpointIds[i]!);
      return;
    }
    if (length + IPV4_MIN_HEADER_LENGTH + UDP_HEADER_LENGTH > this.mtu) {
      this.drops[NetstackDrop.TX_TOO_BIG]!++;
      this.lastFailure = new DriverError("EMSGSIZE", 90, "send", `datagram of ${length} bytes exceeds the MTU ${this.mtu}`, batch.endpointIds[i]!);
      return;
    }
    const frames = this.txFrames;
    const destinationIp = batch.destinationIps[i]! >>> 0;
    const slot = frames.count;
    const offset = frames.slotOffset(slot);
    const out = frames.bytes;
    let loopbackToo = false;
    let local = false;
    if (isMulticastIp(destinationIp)) {
      writeMulticastMac(destinationIp, out, offset);
      loopbackToo = this.ports.isMember(destinationIp);
    } else if (destinationIp === 0xffffffff || destinationIp === this.subnetBroadcast) {
      copyMac(BROADCAST_MAC, 0, out, offset);
    } else if (destinationIp === this.ip || destinationIp >>> 24 === 127) {
      copyMac(this.mac, 0, out, offset);
      local = true;
    } else {
      const onLink = ((destinationIp ^ this.ip) & this.netmask) === 0 || this.gatewayIp === 0;
      if (!onLink && this.gatewayMac !== undefined) {
        copyMac(this.gatewayMac, 0, out, offset);
      } else if (!this.arp.lookup(nowNs, onLink ? destinationIp : this.gatewayIp, out, offset)) {
        this.drops[NetstackDrop.TX_ARP_UNRESOLVED]!++;
        return;
      }
    }
    out.set(batch.bytes.subarray(batch.slotOffset(i), batch.slotOffset(i) + length), offset + ETHERNET_IPV4_UDP_HEADER_LENGTH);
    writeEthernetIpv4UdpHeaders(out, offset, out, offset, this.mac, 0, this.ip, local ? this.ip : destinationIp, entry.port,
      batch.destinationPorts[i]!, length, entry.ttl, this.identification, this.udpChecksum);
    this.identification = (this.identification + 1) & 0xffff;
    const frameLength = ETHERNET_IPV4_UDP_HEADER_LENGTH + length;
    this.framesBuilt++;
    this.datagramsSent++;
    if (local || loopbackToo) this.loop(out, offset, frameLength);
    if (local) return;
    frames.lengths[slot] = frameLength;
    frames.flags[slot] = 0;
    frames.count = slot + 1;
  }

  private loop(bytes: Uint8Array, offset: number, length: number): void {
    const loop = this.loopback;
    if (loop.count >= loop.capacity) {
      this.drops[NetstackDrop.LOOPBACK_QUEUE_FULL]!++;
      return;
    }
    const slot = loop.count;
    loop.bytes.set(bytes.subarray(offset, offset + length), loop.slotOffset(slot));
    loop.lengths[slot] = length;
    // Our own frame: its source MAC is ours, which handleFrame would drop as an echo.
    loop.flags[slot] = FRAME_FLAG_CHECKSUM_VALID | LOOPBACK_FLAG;
    loop.count = slot + 1;
    this.loopedBack++;
  }

  /** Hands pending data frames to the port; true when none is left. */
  private flushFrames(): boolean {
    const frames = this.txFrames;
    if (frames.count === 0 || this.disposed) return frames.count === 0;
    const sent = this.framePort.sendFrames(frames, 0);
    this.sendCalls++;
    frames.shift(sent);
    return frames.count === 0;
  }

  private sendArpRequests(): void {
    for (let ip = this.arp.pollRequest(); ip >= 0; ip = this.arp.pollRequest()) {
      if (!this.controlSlotFree()) continue;
      const frames = this.txFrames;
      const slot = frames.count;
      const length = writeArpFrame(frames.bytes, frames.slotOffset(slot), ARP_OP_REQUEST, BROADCAST_MAC, 0, this.mac, 0, this.ip, ZERO_MAC, 0, ip);
      frames.lengths[slot] = length;
      frames.flags[slot] = 0;
      frames.count = slot + 1;
      this.arpRequestsSent++;
    }
  }

  private controlSlotFree(): boolean {
    if (this.txFrames.count < this.txFrames.capacity) return true;
    this.drops[NetstackDrop.CONTROL_QUEUE_FULL]!++;
    return false;
  }

  // ------------------------------------------------------------------------------- receive

  /** Handles frame `f` of `frames`; returns the next free receive slot (n, or n + 1 when a datagram was delivered). */
  private handleFrame(nowNs: number, frames: FrameBatch, f: number, n: number): number {
    const bytes = frames.bytes;
    const offset = frames.slotOffset(f);
    const length = frames.lengths[f]!;
    const flags = frames.flags[f]!;
    this.framesParsed++;
    if (length < ETHERNET_HEADER_LENGTH) return this.drop(NetstackDrop.FRAME_TRUNCATED, n);
    if ((flags & LOOPBACK_FLAG) === 0) {
      if (!macEquals(bytes, offset, this.mac, 0) && !isGroupMac(bytes, offset)) return this.drop(NetstackDrop.FRAME_NOT_FOR_US, n);
      if (macEquals(bytes, offset + 6, this.mac, 0)) return this.drop(NetstackDrop.FRAME_OWN, n);
    }
    const etherType = ((bytes[offset + 12]! << 8) | bytes[offset + 13]!) >>> 0;
    if (etherType === ETHERTYPE_ARP) {
      this.handleArpFrame(nowNs, bytes, offset, length);
      return n;
    }
    if (etherType !== ETHERTYPE_IPV4 && etherType !== ETHERTYPE_VLAN) return this.drop(NetstackDrop.ETHERTYPE_UNSUPPORTED, n);
    const info = this.info;
    const status = parseEthernetIpv4Udp(bytes, offset, length, info);
    if (status !== PacketStatus.OK) return this.drop(dropForStatus(status), n);
    if ((flags & FRAME_FLAG_CHECKSUM_VALID) === 0 && !verifyIpv4HeaderChecksum(bytes, info.ipOffset, info.ipHeaderLength)) {
      return this.drop(NetstackDrop.IP_BAD_CHECKSUM, n);
    }
    const destinationIp = info.destinationAddress >>> 0;
    if (destinationIp !== this.ip && !(isMulticastIp(destinationIp) && this.ports.isMember(destinationIp)) &&
      destinationIp !== 0xffffffff && destinationIp !== this.subnetBroadcast) {
      return this.drop(NetstackDrop.IP_NOT_FOR_US, n);
    }
    if (isMulticastIp(destinationIp) === false && isBroadcastMac(bytes, offset) === false && isGroupMac(bytes, offset)) {
      return this.drop(NetstackDrop.FRAME_NOT_FOR_US, n);
    }
    if ((flags & FRAME_FLAG_CHECKSUM_VALID) === 0) {
      const checksum = verifyUdpChecksum(bytes, info);
      const ok = checksum === UdpChecksumStatus.VALID || (checksum === UdpChecksumStatus.ABSENT && this.acceptAbsent) ||
        (checksum === UdpChecksumStatus.PARTIAL && (flags & FRAME_FLAG_CHECKSUM_NOT_READY) !== 0);
      if (!ok) return this.drop(NetstackDrop.UDP_BAD_CHECKSUM, n);
    }
    const endpointId = this.ports.endpointOf(info.destinationPort);
    if (endpointId < 0) return this.drop(NetstackDrop.UDP_NO_ENDPOINT, n);
    const rx = this.receive;
    if (n >= rx.capacity) return n; // cannot happen: one frame batch is at most one receive batch
    if (info.payloadLength > rx.slotLength) return this.drop(NetstackDrop.RECEIVE_SLOT_TOO_SMALL, n);
    rx.bytes.set(bytes.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength), rx.slotOffset(n));
    rx.lengths[n] = info.payloadLength;
    rx.sourceIps[n] = info.sourceAddress;
    rx.sourcePorts[n] = info.sourcePort;
    rx.endpointIds[n] = endpointId;
    return n + 1;
  }

  private handleArpFrame(nowNs: number, bytes: Uint8Array, offset: number, length: number): void {
    const a = this.arpInfo;
    if (!parseArp(bytes, offset + ETHERNET_HEADER_LENGTH, length - ETHERNET_HEADER_LENGTH, a)) {
      this.drops[NetstackDrop.ARP_MALFORMED]!++;
      return;
    }
    const answer = this.arp.handleArp(nowNs, a.operation, bytes, a.senderMacOffset, a.senderIp, a.targetIp, this.ip);
    if (!answer || !this.controlSlotFree()) return;
    const frames = this.txFrames;
    const slot = frames.count;
    const frameLength = writeArpFrame(frames.bytes, frames.slotOffset(slot), ARP_OP_REPLY, bytes, a.senderMacOffset,
      this.mac, 0, this.ip, bytes, a.senderMacOffset, a.senderIp);
    frames.lengths[slot] = frameLength;
    frames.flags[slot] = 0;
    frames.count = slot + 1;
    this.arpRepliesSent++;
  }

  private drop(reason: NetstackDrop, n: number): number {
    this.drops[reason]!++;
    return n;
  }
}

/** Marks a frame the netstack looped back to itself (never set by a port). */
const LOOPBACK_FLAG = 0x80;

function dropForStatus(status: PacketStatus): NetstackDrop {
  switch (status) {
    case PacketStatus.TRUNCATED: return NetstackDrop.FRAME_TRUNCATED;
    case PacketStatus.NOT_IPV4: return NetstackDrop.ETHERTYPE_UNSUPPORTED;
    case PacketStatus.BAD_IP_VERSION: return NetstackDrop.IP_BAD_VERSION;
    case PacketStatus.BAD_IP_HEADER_LENGTH: return NetstackDrop.IP_BAD_HEADER_LENGTH;
    case PacketStatus.BAD_IP_TOTAL_LENGTH: return NetstackDrop.IP_BAD_TOTAL_LENGTH;
    case PacketStatus.FRAGMENT_UNSUPPORTED: return NetstackDrop.IP_FRAGMENT;
    case PacketStatus.NOT_UDP: return NetstackDrop.IP_NOT_UDP;
    case PacketStatus.BAD_UDP_LENGTH: return NetstackDrop.UDP_BAD_LENGTH;
    default: return NetstackDrop.FRAME_TRUNCATED;
  }
}
