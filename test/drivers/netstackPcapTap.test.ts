// Goal: the pcap taps write files that read back as what crossed the driver: PcapTapDriver (any
// driver; here the netstack) records each datagram sent and received once, as Ethernet/IPv4/UDP
// with the real addresses and ports, valid IPv4 and UDP checksums and increasing timestamps from
// the clock it is given; PcapFramePort records the netstack's real frames, ARP included.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { EndpointInfo } from "../../src/core/engine/engine.js";
import { FrameBatch, type FramePort, type FramePortStats } from "../../src/drivers/netstack/framePort.js";
import { NetstackDriver } from "../../src/drivers/netstack/netstackDriver.js";
import { PcapFramePort, PcapTapDriver } from "../../src/drivers/pcapTap.js";
import {
  PacketStatus, UdpChecksumStatus, UdpPacketInfo, parseEthernetIpv4Udp, verifyIpv4HeaderChecksum, verifyUdpChecksum,
} from "../../src/net/ethernetIpv4Udp.js";
import { openPcapFile } from "../../src/net/pcapFile.js";

const dir = mkdtempSync(join(tmpdir(), "petrel-pcap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class LoopPort implements FramePort {
  readonly mtu = 1500;
  readonly inbox = new FrameBatch(64, 2048);
  peer!: LoopPort;
  constructor(readonly mac: Uint8Array) {}
  sendFrames(batch: FrameBatch, start: number): number {
    for (let i = start; i < batch.count; i++) {
      const inbox = this.peer.inbox;
      inbox.bytes.set(batch.bytes.subarray(batch.slotOffset(i), batch.slotOffset(i) + batch.lengths[i]!), inbox.slotOffset(inbox.count));
      inbox.lengths[inbox.count++] = batch.lengths[i]!;
    }
    return batch.count - start;
  }
  receiveFrames(batch: FrameBatch): number {
    const n = this.inbox.count;
    for (let i = 0; i < n; i++) {
      batch.bytes.set(this.inbox.bytes.subarray(this.inbox.slotOffset(i), this.inbox.slotOffset(i) + this.inbox.lengths[i]!), batch.slotOffset(i));
      batch.lengths[i] = this.inbox.lengths[i]!;
      batch.flags[i] = 0;
    }
    this.inbox.count = 0;
    batch.count = n;
    return n;
  }
  stats(): FramePortStats {
    return { framesSent: 0, framesReceived: 0, sendCalls: 0, receiveCalls: 0, wouldBlock: 0, dropped: 0, errors: 0 };
  }
  lastError(): undefined {
    return undefined;
  }
  dispose(): void {}
}

function endpoint(id: number, bindPort: number): EndpointInfo {
  return { id, role: "send", channel: "t", bindIp: 0, bindPort, socketRcvbufBytes: 0, socketSndbufBytes: 0, ttl: 0, multicastGroupIp: 0, interfaceIp: 0 };
}

describe("pcap taps", () => {
  it("PcapTapDriver and PcapFramePort record what crossed, readable and checksum-valid", () => {
    let now = 1_000_000_000;
    const clockNs = () => (now += 1000);
    const portA = new LoopPort(new Uint8Array([2, 0, 0, 0, 0, 1]));
    const portB = new LoopPort(new Uint8Array([2, 0, 0, 0, 0, 2]));
    portA.peer = portB;
    portB.peer = portA;
    let framesA: PcapFramePort | undefined;
    const a = new PcapTapDriver(new NetstackDriver((_tx, _rx) => (framesA = new PcapFramePort(portA, { path: join(dir, "frames.pcap"), clockNs })),
      { ip: 0x0a000001, clockNs }), { path: join(dir, "datagrams.pcap"), clockNs });
    const b = new NetstackDriver(portB, { ip: 0x0a000002, clockNs });
    const from = a.open(endpoint(1, 0)).localPort;
    b.open(endpoint(2, 40123));
    b.open(endpoint(3, 0));
    a.open(endpoint(4, 40124));
    for (let k = 0; k < 4; k++) {
      const tx = a.transmit;
      tx.clear();
      const slot = tx.claim(1, 0x0a000002, 40123);
      tx.bytes.set([k, k, k], tx.slotOffset(slot));
      tx.commit(slot, 3);
      a.transmitBatch(tx, 0);
      b.pollBatch(b.receive);
      a.pollBatch(a.receive);
    }
    // One datagram back, received through the tap.
    const tx = b.transmit;
    tx.clear();
    const slot = tx.claim(3, 0x0a000001, 40124);
    tx.bytes.set([9], tx.slotOffset(slot));
    tx.commit(slot, 1);
    b.transmitBatch(tx, 0);
    expect(a.pollBatch(a.receive)).toBe(1);
    a.dispose();

    // The first datagram was dropped while ARP resolved: the driver consumed it, so the tap has it too.
    const reader = openPcapFile(join(dir, "datagrams.pcap"));
    const info = new UdpPacketInfo();
    const seen: string[] = [];
    let last = 0;
    while (reader.next()) {
      expect(parseEthernetIpv4Udp(reader.bytes, reader.packetOffset, reader.capturedLength, info)).toBe(PacketStatus.OK);
      expect(verifyIpv4HeaderChecksum(reader.bytes, info.ipOffset, info.ipHeaderLength)).toBe(true);
      expect(verifyUdpChecksum(reader.bytes, info)).toBe(UdpChecksumStatus.VALID);
      const t = reader.seconds * 1e9 + reader.nanoseconds;
      expect(t).toBeGreaterThan(last);
      last = t;
      seen.push(`${info.sourceAddress.toString(16)}:${info.sourcePort}>${info.destinationAddress.toString(16)}:${info.destinationPort}/${info.payloadLength}`);
    }
    expect(seen).toEqual([
      ...Array(4).fill(`a000001:${from}>a000002:40123/3`),
      `a000002:${49152}>a000001:40124/1`,
    ]);

    const frames = openPcapFile(join(dir, "frames.pcap"));
    const types: string[] = [];
    while (frames.next()) {
      const type = (frames.bytes[frames.packetOffset + 12]! << 8) | frames.bytes[frames.packetOffset + 13]!;
      types.push(type === 0x0806 ? "arp" : type === 0x0800 ? "ip" : type.toString(16));
    }
    // Sent: ARP request, 3 datagrams; received: ARP reply, 1 datagram.
    expect(types.filter((t) => t === "arp")).toHaveLength(2);
    expect(types.filter((t) => t === "ip")).toHaveLength(4);
    expect(framesA?.records).toBe(6);
  });
});
