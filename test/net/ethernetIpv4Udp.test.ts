// Goal: Ethernet/IPv4/UDP headers built by Petrel parse back to what was put in and carry valid
// checksums (property test over addresses, ports, TTL and payloads); the parser classifies
// malformed and unsupported packets (fragments, options, VLAN, wrong protocol) without throwing;
// it reads every link type it lists as supported (Ethernet, raw IP, Linux SLL and SLL2, BSD NULL and LOOP);
// and the checksums of every packet in test/fixtures (copies of the reference captures) verify: IPv4 header checksums are valid,
// and UDP checksums are "partial" (loopback checksum offload left the pseudo-header sum in the
// field), which verifyUdpChecksum recognises rather than calling them invalid.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  ETHERNET_IPV4_UDP_HEADER_LENGTH,
  PacketStatus,
  UdpChecksumStatus,
  UdpPacketInfo,
  formatIpv4,
  formatMac,
  ipv4HeaderChecksum,
  parseEthernetIpv4Udp,
  parseIpv4,
  parseLinkIpv4Udp,
  SUPPORTED_LINK_TYPES,
  udpChecksum,
  verifyIpv4HeaderChecksum,
  verifyUdpChecksum,
  writeEthernetIpv4UdpHeaders,
  writeIpv4UdpHeaders,
} from "../../src/net/ethernetIpv4Udp.js";
import { captureFiles, loadCapture } from "../protocol/captureSupport.js";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const port = fc.integer({ min: 0, max: 65535 });

function build(src: number, dst: number, sport: number, dport: number, payload: Uint8Array, ttl: number, id: number, checksum: boolean): Uint8Array {
  const packet = new Uint8Array(ETHERNET_IPV4_UDP_HEADER_LENGTH + payload.length);
  packet.set(payload, ETHERNET_IPV4_UDP_HEADER_LENGTH);
  writeEthernetIpv4UdpHeaders(packet, 0, Uint8Array.of(1, 2, 3, 4, 5, 6), 0, Uint8Array.of(0xa, 0xb, 0xc, 0xd, 0xe, 0xf), 0, src, dst, sport, dport, payload.length, ttl, id, checksum);
  return packet;
}

describe("Ethernet + IPv4 + UDP", () => {
  test.prop([u32, u32, port, port, fc.uint8Array({ maxLength: 1500 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 65535 })])(
    "build then parse round-trips, and both checksums verify",
    (src, dst, sport, dport, payload, ttl, id) => {
      const packet = build(src, dst, sport, dport, payload, ttl, id, true);
      const info = new UdpPacketInfo();
      expect(parseEthernetIpv4Udp(packet, 0, packet.length, info)).toBe(PacketStatus.OK);
      expect([info.sourceAddress, info.destinationAddress, info.sourcePort, info.destinationPort, info.ipTtl, info.ipIdentification]).toEqual([src, dst, sport, dport, ttl, id]);
      expect([info.payloadOffset, info.payloadLength, info.udpLength, info.ipTotalLength]).toEqual([42, payload.length, payload.length + 8, payload.length + 28]);
      expect(Buffer.from(packet.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength)).equals(Buffer.from(payload))).toBe(true);
      expect(verifyIpv4HeaderChecksum(packet, info.ipOffset, info.ipHeaderLength)).toBe(true);
      expect(verifyUdpChecksum(packet, info)).toBe(UdpChecksumStatus.VALID);
      expect(formatMac(packet, 0)).toBe("01:02:03:04:05:06");
    },
  );

  test.prop([u32, u32, port, port, fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 0, max: 7 })])(
    "a flipped payload bit makes the UDP checksum invalid; no checksum reads as absent",
    (src, dst, sport, dport, payload, at, bit) => {
      const packet = build(src, dst, sport, dport, payload, 64, 1, true);
      packet[42 + (at % payload.length)]! ^= 1 << bit;
      const info = new UdpPacketInfo();
      parseEthernetIpv4Udp(packet, 0, packet.length, info);
      expect(verifyUdpChecksum(packet, info)).toBe(UdpChecksumStatus.INVALID);
      const none = build(src, dst, sport, dport, payload, 64, 1, false);
      parseEthernetIpv4Udp(none, 0, none.length, info);
      expect(verifyUdpChecksum(none, info)).toBe(UdpChecksumStatus.ABSENT);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 120 }), fc.constantFrom(1, 101, 113, 228)])("never throws on arbitrary bytes", (bytes, linkType) => {
    const info = new UdpPacketInfo();
    const status = parseLinkIpv4Udp(linkType, bytes, 0, bytes.length, info);
    expect(status).toBeGreaterThanOrEqual(0);
    if (status === PacketStatus.OK) expect(info.payloadOffset + info.payloadLength).toBeLessThanOrEqual(bytes.length);
  });

  it("writes a computed UDP checksum of 0 as 0xffff", () => {
    // Search a payload whose checksum field would come out 0.
    const packet = new Uint8Array(28 + 2);
    for (let v = 0; v < 65536; v++) {
      packet[28] = v >>> 8;
      packet[29] = v & 0xff;
      writeIpv4UdpHeaders(packet, 0, 0x0a000001, 0x0a000002, 1000, 2000, 2, 64, 0, false);
      const sum = udpChecksum(packet, 20, 10, 0x0a000001, 0x0a000002);
      if (sum === 0xffff) {
        writeIpv4UdpHeaders(packet, 0, 0x0a000001, 0x0a000002, 1000, 2000, 2, 64, 0, true);
        expect((packet[26]! << 8) | packet[27]!).toBe(0xffff);
        const info = new UdpPacketInfo();
        expect(parseLinkIpv4Udp(101, packet, 0, packet.length, info)).toBe(PacketStatus.OK);
        expect(verifyUdpChecksum(packet, info)).toBe(UdpChecksumStatus.VALID);
        return;
      }
    }
    throw new Error("no payload gives a zero checksum");
  });

  it("skips IPv4 options, reads a VLAN tag and Linux SLL, ignores Ethernet trailer padding", () => {
    const payload = Uint8Array.of(9, 8, 7);
    const plain = build(0x7f000001, 0x7f000002, 40000, 20121, payload, 1, 5, true);
    // Insert 4 bytes of options (NOP x4): IHL 6.
    const ip = plain.subarray(14);
    const withOptions = new Uint8Array(14 + 24 + 8 + 3 + 10);
    withOptions.set(plain.subarray(0, 14));
    withOptions.set(ip.subarray(0, 20), 14);
    withOptions.fill(1, 34, 38);
    withOptions.set(ip.subarray(20), 38);
    withOptions[14] = 0x46;
    withOptions[16] = 0;
    withOptions[17] = 24 + 8 + 3;
    withOptions[24] = 0;
    withOptions[25] = 0;
    const checksum = ipv4HeaderChecksum(withOptions, 14, 24);
    withOptions[24] = checksum >>> 8;
    withOptions[25] = checksum & 0xff;
    const info = new UdpPacketInfo();
    expect(parseEthernetIpv4Udp(withOptions, 0, withOptions.length, info)).toBe(PacketStatus.OK);
    expect([info.ipHeaderLength, info.payloadOffset, info.payloadLength]).toEqual([24, 14 + 24 + 8, 3]);
    expect(verifyIpv4HeaderChecksum(withOptions, 14, 24)).toBe(true);
    expect(verifyUdpChecksum(withOptions, info)).toBe(UdpChecksumStatus.VALID);

    const vlan = new Uint8Array(plain.length + 4);
    vlan.set(plain.subarray(0, 12));
    vlan.set([0x81, 0x00, 0x00, 0x05, 0x08, 0x00], 12);
    vlan.set(plain.subarray(14), 18);
    expect(parseEthernetIpv4Udp(vlan, 0, vlan.length, info)).toBe(PacketStatus.OK);
    expect([info.linkHeaderLength, info.sourcePort]).toEqual([18, 40000]);

    const sll = new Uint8Array(16 + plain.length - 14);
    sll[14] = 0x08;
    sll.set(plain.subarray(14), 16);
    expect(parseLinkIpv4Udp(113, sll, 0, sll.length, info)).toBe(PacketStatus.OK);
    expect(info.destinationPort).toBe(20121);
  });

  it("reads Linux SLL2 and BSD loopback (NULL in either byte order, LOOP in network order)", () => {
    const plain = build(0x7f000001, 0x7f000002, 40000, 20121, Uint8Array.of(9, 8, 7), 1, 5, true);
    const withLink = (header: ArrayLike<number>): Uint8Array => {
      const packet = new Uint8Array(header.length + plain.length - 14);
      packet.set(header);
      packet.set(plain.subarray(14), header.length);
      return packet;
    };
    const info = new UdpPacketInfo();
    const cases: ReadonlyArray<[number, number[], number]> = [
      [276, [0x08, 0x00, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0], 20],
      [0, [2, 0, 0, 0], 4],
      [0, [0, 0, 0, 2], 4],
      [108, [0, 0, 0, 2], 4],
    ];
    for (const [linkType, header, headerLength] of cases) {
      const packet = withLink(header);
      expect(parseLinkIpv4Udp(linkType, packet, 0, packet.length, info)).toBe(PacketStatus.OK);
      expect([info.linkHeaderLength, info.payloadOffset, info.payloadLength, info.destinationPort]).toEqual([headerLength, headerLength + 28, 3, 20121]);
      expect(parseLinkIpv4Udp(linkType, packet, 0, headerLength - 1, info)).toBe(PacketStatus.TRUNCATED);
    }
    // LOOP is network order only; NULL's family 24/28/30 (IPv6 on the BSDs) and SLL2's ARP are not IPv4.
    expect(parseLinkIpv4Udp(108, withLink([2, 0, 0, 0]), 0, plain.length - 10, info)).toBe(PacketStatus.NOT_IPV4);
    expect(parseLinkIpv4Udp(0, withLink([24, 0, 0, 0]), 0, plain.length - 10, info)).toBe(PacketStatus.NOT_IPV4);
    const arp = withLink([0x08, 0x06, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseLinkIpv4Udp(276, arp, 0, arp.length, info)).toBe(PacketStatus.NOT_IPV4);
    expect(parseLinkIpv4Udp(105, plain, 0, plain.length, info)).toBe(PacketStatus.UNSUPPORTED_LINK_TYPE);
    expect([...SUPPORTED_LINK_TYPES.keys()].sort((a, b) => a - b)).toEqual([0, 1, 101, 108, 113, 276]);
  });

  it("classifies what it does not support", () => {
    const info = new UdpPacketInfo();
    const base = build(0x7f000001, 0x7f000002, 1, 2, new Uint8Array(8), 1, 5, true);
    const edit = (f: (b: Uint8Array) => void): Uint8Array => {
      const b = base.slice();
      f(b);
      return b;
    };
    expect(parseEthernetIpv4Udp(edit((b) => (b[20] = 0x20)), 0, base.length, info)).toBe(PacketStatus.FRAGMENT_UNSUPPORTED);
    expect(parseEthernetIpv4Udp(edit((b) => (b[21] = 0x01)), 0, base.length, info)).toBe(PacketStatus.FRAGMENT_UNSUPPORTED);
    expect(parseEthernetIpv4Udp(edit((b) => (b[23] = 6)), 0, base.length, info)).toBe(PacketStatus.NOT_UDP);
    expect(parseEthernetIpv4Udp(edit((b) => (b[12] = 0x86)), 0, base.length, info)).toBe(PacketStatus.NOT_IPV4);
    expect(parseEthernetIpv4Udp(edit((b) => (b[14] = 0x65)), 0, base.length, info)).toBe(PacketStatus.BAD_IP_VERSION);
    expect(parseEthernetIpv4Udp(edit((b) => (b[14] = 0x44)), 0, base.length, info)).toBe(PacketStatus.BAD_IP_HEADER_LENGTH);
    expect(parseEthernetIpv4Udp(edit((b) => (b[17] = 10)), 0, base.length, info)).toBe(PacketStatus.BAD_IP_TOTAL_LENGTH);
    expect(parseEthernetIpv4Udp(edit((b) => (b[39] = 4)), 0, base.length, info)).toBe(PacketStatus.BAD_UDP_LENGTH);
    expect(parseEthernetIpv4Udp(base, 0, 30, info)).toBe(PacketStatus.TRUNCATED);
    expect(parseLinkIpv4Udp(228, base, 0, base.length, info)).toBe(PacketStatus.UNSUPPORTED_LINK_TYPE);
  });

  it("formats and parses dotted quads", () => {
    expect(formatIpv4(0x7f000001)).toBe("127.0.0.1");
    expect(formatIpv4(0xe0000101)).toBe("224.0.1.1");
    expect(parseIpv4("224.0.1.2")).toBe(0xe0000102);
    expect(parseIpv4("255.255.255.255")).toBe(0xffffffff);
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "a.b.c.d", "1..2.3", " 1.2.3.4"]) expect(parseIpv4(bad)).toBe(-1);
  });

  test.prop([u32])("parseIpv4(formatIpv4(a)) === a", (a) => {
    expect(parseIpv4(formatIpv4(a))).toBe(a);
  });

  it("verifies every packet's checksums in the reference captures (UDP: partial, from loopback offload)", () => {
    const info = new UdpPacketInfo();
    for (const file of captureFiles()) {
      const counts = [0, 0, 0, 0];
      for (const d of loadCapture(file)) {
        expect(parseEthernetIpv4Udp(d.packet, 0, d.packet.length, info)).toBe(PacketStatus.OK);
        expect(verifyIpv4HeaderChecksum(d.packet, info.ipOffset, info.ipHeaderLength)).toBe(true);
        const status = verifyUdpChecksum(d.packet, info);
        counts[status] = (counts[status] ?? 0) + 1;
        // Finishing the offloaded checksum gives a valid one.
        if (status === UdpChecksumStatus.PARTIAL) {
          const fixed = d.packet.slice();
          const sum = udpChecksum(fixed, info.udpOffset, info.udpLength, info.sourceAddress, info.destinationAddress);
          fixed[info.udpOffset + 6] = sum >>> 8;
          fixed[info.udpOffset + 7] = sum & 0xff;
          expect(verifyUdpChecksum(fixed, info)).toBe(UdpChecksumStatus.VALID);
        }
      }
      expect(counts[UdpChecksumStatus.INVALID], file).toBe(0);
      expect(counts[UdpChecksumStatus.PARTIAL], file).toBe(loadCapture(file).length);
    }
  });
});
