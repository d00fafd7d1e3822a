// Pcap taps for drivers: write what a driver sent and received to a classic pcap file (Ethernet
// link type, nanosecond timestamps) that Wireshark and tshark read as Aeron.
//  - PcapTapDriver wraps any Driver: every datagram it sends (slots the driver consumed) and
//    receives (slots it filled) is recorded with Ethernet/IPv4/UDP headers synthesized from the
//    addresses (local address and port from the opened endpoints; MACs 02:00:a:b:c:d from the IPv4
//    address, as the simulator's tap does), UDP checksums included.
//  - PcapFramePort wraps a netstack FramePort: the real frames, ARP included, exactly as they
//    crossed the ring.
// Records are kept in memory (bounded by maxBytes; beyond it they are counted, not written) and
// written to the file by save() or dispose(). Timestamps come from the clock the tap is given.
import { writeFileSync } from "node:fs";
import type { EndpointInfo } from "../core/engine/engine.js";
import type { TransmitBatch } from "../core/transmitBatch.js";
import { ETHERNET_IPV4_UDP_HEADER_LENGTH, writeEthernetIpv4UdpHeaders } from "../net/ethernetIpv4Udp.js";
import { GrowableByteSink, LINKTYPE_ETHERNET, PcapWriter } from "../net/pcap.js";
import type { Driver, DriverStats, OpenedEndpoint } from "./driver.js";
import type { DriverError } from "./driverError.js";
import { isMulticastIp, macForSimIp, writeMulticastMac } from "./netstack/mac.js";
import type { FrameBatch, FramePort, FramePortStats } from "./netstack/framePort.js";
import type { ReceiveBatch } from "./receiveBatch.js";
import { fitDriverMtu } from "./slots.js";
import { monotonicClockNs } from "./runtime.js";

export interface PcapTapOptions {
  /** The file written by save() and dispose(). */
  readonly path: string;
  /** Timestamps (default: monotonic nanoseconds since the tap was made, plus the wall clock at that moment). */
  readonly clockNs?: () => number;
  /** Bytes of pcap kept at most (default 256 MiB); records beyond are counted in `recordsSkipped`. */
  readonly maxBytes?: number;
}

class PcapRecorder {
  readonly writer: PcapWriter;
  readonly path: string;
  readonly maxBytes: number;
  readonly clockNs: () => number;
  recordsSkipped = 0;

  constructor(options: PcapTapOptions) {
    this.path = options.path;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    if (options.clockNs !== undefined) {
      this.clockNs = options.clockNs;
    } else {
      const wallAtStartNs = Date.now() * 1e6;
      const monotonicAtStartNs = monotonicClockNs();
      this.clockNs = () => wallAtStartNs + (monotonicClockNs() - monotonicAtStartNs);
    }
    this.writer = new PcapWriter(new GrowableByteSink(1 << 20), { linkType: LINKTYPE_ETHERNET, nanosecond: true });
  }

  record(nowNs: number, bytes: Uint8Array, offset: number, length: number): void {
    if (this.writer.sink.length + length + 16 > this.maxBytes) {
      this.recordsSkipped++;
      return;
    }
    this.writer.writeRecordAtNs(Math.max(0, Math.floor(nowNs)), bytes, offset, length);
  }

  save(): void {
    writeFileSync(this.path, this.writer.sink.bytes());
  }
}

/** A Driver that records every datagram the wrapped driver moves. */
export class PcapTapDriver implements Driver {
  readonly kind: Driver["kind"];
  readonly needsEventLoop: boolean;
  readonly receive: ReceiveBatch;
  private readonly recorder: PcapRecorder;
  private readonly local = new Map<number, OpenedEndpoint>();
  private readonly frame = new Uint8Array(ETHERNET_IPV4_UDP_HEADER_LENGTH + 65536);
  private readonly sourceMac = new Uint8Array(6);
  private readonly destinationMac = new Uint8Array(6);
  private identification = 0;

  constructor(readonly inner: Driver, options: PcapTapOptions) {
    this.kind = inner.kind;
    this.needsEventLoop = inner.needsEventLoop;
    this.receive = inner.receive;
    this.recorder = new PcapRecorder(options);
  }

  /** The wrapped driver's transmit batch (fitMtu may replace it). */
  get transmit(): TransmitBatch {
    return this.inner.transmit;
  }

  fitMtu(channel: string, mtuBytes: number, role: "send" | "receive"): void {
    fitDriverMtu(this.inner, channel, mtuBytes, role);
  }

  get records(): number {
    return this.recorder.writer.records;
  }

  get recordsSkipped(): number {
    return this.recorder.recordsSkipped;
  }

  open(endpoint: EndpointInfo): OpenedEndpoint {
    const opened = this.inner.open(endpoint);
    this.local.set(endpoint.id, opened);
    return opened;
  }

  close(endpointId: number): void {
    this.local.delete(endpointId);
    this.inner.close(endpointId);
  }

  transmitBatch(batch: TransmitBatch, start = 0): number {
    const consumed = this.inner.transmitBatch(batch, start);
    if (consumed > 0) {
      const nowNs = this.recorder.clockNs();
      for (let i = start; i < start + consumed; i++) {
        const local = this.local.get(batch.endpointIds[i]!);
        this.recordDatagram(nowNs, local?.localIp ?? 0, local?.localPort ?? 0, batch.destinationIps[i]!, batch.destinationPorts[i]!,
          batch.bytes, batch.slotOffset(i), batch.lengths[i]!);
      }
    }
    return consumed;
  }

  pollBatch(batch: ReceiveBatch): number {
    const count = this.inner.pollBatch(batch);
    if (count > 0) {
      const nowNs = this.recorder.clockNs();
      for (let i = 0; i < count; i++) {
        const local = this.local.get(batch.endpointIds[i]!);
        this.recordDatagram(nowNs, batch.sourceIps[i]!, batch.sourcePorts[i]!, local?.localIp ?? 0, local?.localPort ?? 0,
          batch.bytes, batch.slotOffset(i), batch.lengths[i]!);
      }
    }
    return count;
  }

  ready(): Promise<void> {
    return this.inner.ready();
  }

  stats(): DriverStats {
    return this.inner.stats();
  }

  lastError(): DriverError | undefined {
    return this.inner.lastError();
  }

  /** Writes the file now (it is also written by dispose()). */
  save(): void {
    this.recorder.save();
  }

  dispose(): void {
    this.inner.dispose();
    this.recorder.save();
  }

  private recordDatagram(nowNs: number, sourceIp: number, sourcePort: number, destinationIp: number, destinationPort: number,
    bytes: Uint8Array, offset: number, length: number): void {
    const frame = this.frame;
    frame.set(bytes.subarray(offset, offset + length), ETHERNET_IPV4_UDP_HEADER_LENGTH);
    this.sourceMac.set(macForSimIp(sourceIp));
    if (isMulticastIp(destinationIp)) writeMulticastMac(destinationIp, this.destinationMac, 0);
    else this.destinationMac.set(macForSimIp(destinationIp));
    writeEthernetIpv4UdpHeaders(frame, 0, this.destinationMac, 0, this.sourceMac, 0, sourceIp, destinationIp, sourcePort, destinationPort,
      length, 64, this.identification, true);
    this.identification = (this.identification + 1) & 0xffff;
    this.recorder.record(nowNs, frame, 0, ETHERNET_IPV4_UDP_HEADER_LENGTH + length);
  }
}

/** A netstack FramePort that records every frame sent and received (ARP included). */
export class PcapFramePort implements FramePort {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly txChecksumOffload: boolean;
  private readonly recorder: PcapRecorder;

  constructor(readonly inner: FramePort, options: PcapTapOptions) {
    this.mac = inner.mac;
    this.mtu = inner.mtu;
    // With TX checksum offload the tap records frames as the netstack built them (UDP checksum 0,
    // legal over IPv4); the device fills it in after the tap, as a NIC does after tcpdump's copy.
    this.txChecksumOffload = inner.txChecksumOffload === true;
    this.recorder = new PcapRecorder(options);
  }

  get records(): number {
    return this.recorder.writer.records;
  }

  sendFrames(batch: FrameBatch, start: number): number {
    const sent = this.inner.sendFrames(batch, start);
    if (sent > 0) {
      const nowNs = this.recorder.clockNs();
      for (let i = start; i < start + sent; i++) this.recorder.record(nowNs, batch.bytes, batch.slotOffset(i), batch.lengths[i]!);
    }
    return sent;
  }

  receiveFrames(batch: FrameBatch): number {
    const count = this.inner.receiveFrames(batch);
    if (count > 0) {
      const nowNs = this.recorder.clockNs();
      for (let i = 0; i < count; i++) this.recorder.record(nowNs, batch.bytes, batch.slotOffset(i), batch.lengths[i]!);
    }
    return count;
  }

  setMulticastGroups(groupIps: readonly number[]): void {
    this.inner.setMulticastGroups?.(groupIps);
  }

  stats(): FramePortStats {
    return this.inner.stats();
  }

  lastError(): ReturnType<FramePort["lastError"]> {
    return this.inner.lastError();
  }

  save(): void {
    this.recorder.save();
  }

  dispose(): void {
    this.inner.dispose();
    this.recorder.save();
  }
}
