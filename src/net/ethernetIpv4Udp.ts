// Ethernet II + IPv4 + UDP headers, byte level (no I/O), for the pcap tooling, the simulator and
// the user-space netstack. Network headers are big-endian (network order): every multi-byte field
// here is assembled from bytes most significant first. Addresses are u32 numbers with the first
// dotted-quad byte most significant (127.0.0.1 = 0x7f000001).
//
// Parsing fills a caller-owned UdpPacketInfo and returns a status code, so a parse allocates
// nothing. IPv4 options are skipped by IHL. Fragments (MF set or a non-zero fragment offset) are
// reported as unsupported: Aeron keeps datagrams within the MTU, and reassembly is the kernel's job
// on socket drivers; the raw drivers' netstack drops them and counts.
//
// Checksums: loopback captures on Linux carry UDP checksums that were never finished. The kernel
// offloads the checksum (CHECKSUM_PARTIAL) and the device that would finish it is the loopback, so
// the field holds only the folded, uncomplemented sum of the pseudo-header. verifyUdpChecksum
// tells this case (PARTIAL) apart from a true checksum (VALID), an absent one (0, ABSENT; legal
// for UDP over IPv4) and a wrong one (INVALID). Every packet in the reference captures (test/fixtures) is PARTIAL.

export const ETHERNET_HEADER_LENGTH = 14;
export const ETHERNET_VLAN_TAG_LENGTH = 4;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_VLAN = 0x8100;
export const LINUX_SLL_HEADER_LENGTH = 16;
export const LINUX_SLL2_HEADER_LENGTH = 20;
/** DLT_NULL and DLT_LOOP: a 4-byte address family (BSD loopback). */
export const LOOPBACK_HEADER_LENGTH = 4;
export const IPV4_MIN_HEADER_LENGTH = 20;
export const IPV4_MAX_TOTAL_LENGTH = 65535;
export const UDP_HEADER_LENGTH = 8;
export const IP_PROTOCOL_UDP = 17;
/** Ethernet + IPv4 without options + UDP. */
export const ETHERNET_IPV4_UDP_HEADER_LENGTH = ETHERNET_HEADER_LENGTH + IPV4_MIN_HEADER_LENGTH + UDP_HEADER_LENGTH;
/** IPv4 flag: don't fragment (in the flags/fragment-offset field). */
export const IPV4_DONT_FRAGMENT = 0x4000;
/** IPv4 flag: more fragments. */
export const IPV4_MORE_FRAGMENTS = 0x2000;
const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LOOP = 108;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;
/** AF_INET as BSD loopback headers carry it (the same value on every system). */
const AF_INET = 2;

/** The pcap link types parseLinkIpv4Udp reads, by number, with their names. */
export const SUPPORTED_LINK_TYPES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, "NULL (BSD loopback)"],
  [LINKTYPE_ETHERNET, "Ethernet"],
  [LINKTYPE_RAW, "raw IP"],
  [LINKTYPE_LOOP, "LOOP (OpenBSD loopback)"],
  [LINKTYPE_LINUX_SLL, "Linux SLL"],
  [LINKTYPE_LINUX_SLL2, "Linux SLL2"],
]);

/** Result of a parse. */
export const PacketStatus = {
  OK: 0,
  TRUNCATED: 1,
  NOT_IPV4: 2,
  BAD_IP_VERSION: 3,
  BAD_IP_HEADER_LENGTH: 4,
  BAD_IP_TOTAL_LENGTH: 5,
  FRAGMENT_UNSUPPORTED: 6,
  NOT_UDP: 7,
  BAD_UDP_LENGTH: 8,
  UNSUPPORTED_LINK_TYPE: 9,
} as const;
export type PacketStatus = (typeof PacketStatus)[keyof typeof PacketStatus];
export const PACKET_STATUS_NAMES: readonly string[] = [
  "ok",
  "truncated",
  "not IPv4",
  "bad IP version",
  "bad IP header length",
  "bad IP total length",
  "fragment (unsupported)",
  "not UDP",
  "bad UDP length",
  "unsupported link type",
];

/** Where a UDP datagram's headers and payload lie in a packet; filled by the parse functions. */
export class UdpPacketInfo {
  /** Bytes of link-layer header (Ethernet 14, or 18 with a VLAN tag; SLL 16; SLL2 20; NULL/LOOP 4; raw IP 0). */
  linkHeaderLength = 0;
  etherType = 0;
  ipOffset = 0;
  ipHeaderLength = 0;
  ipTotalLength = 0;
  ipIdentification = 0;
  /** The 16-bit flags and fragment offset field. */
  ipFlagsAndFragmentOffset = 0;
  ipTtl = 0;
  ipChecksum = 0;
  sourceAddress = 0;
  destinationAddress = 0;
  udpOffset = 0;
  sourcePort = 0;
  destinationPort = 0;
  /** UDP length field: header plus payload. */
  udpLength = 0;
  udpChecksum = 0;
  payloadOffset = 0;
  payloadLength = 0;
}

function readU16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>>
    0
  );
}

function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/**
 * Parses a packet of the given pcap link type: Ethernet, raw IP, Linux SLL (v1, the `any` device's
 * older header) and SLL2 (v2, 20 bytes, protocol first), and BSD loopback: NULL (the address family
 * in the capturing host's byte order, so either order is read) and LOOP (network order). A packet
 * that is not IPv4 is NOT_IPV4; a link type not in SUPPORTED_LINK_TYPES is UNSUPPORTED_LINK_TYPE.
 */
export function parseLinkIpv4Udp(
  linkType: number,
  bytes: Uint8Array,
  offset: number,
  length: number,
  out: UdpPacketInfo,
): PacketStatus {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return parseEthernetIpv4Udp(bytes, offset, length, out);
    case LINKTYPE_RAW:
      out.linkHeaderLength = 0;
      out.etherType = ETHERTYPE_IPV4;
      return parseIpv4Udp(bytes, offset, length, out);
    case LINKTYPE_LINUX_SLL:
      return parseAfterLinkHeader(bytes, offset, length, LINUX_SLL_HEADER_LENGTH, LINUX_SLL_HEADER_LENGTH - 2, out);
    case LINKTYPE_LINUX_SLL2:
      return parseAfterLinkHeader(bytes, offset, length, LINUX_SLL2_HEADER_LENGTH, 0, out);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (length < LOOPBACK_HEADER_LENGTH) return PacketStatus.TRUNCATED;
      const family = readU32(bytes, offset);
      const inet = linkType === LINKTYPE_LOOP ? family === AF_INET : family === AF_INET || family === AF_INET * 0x1000000;
      out.linkHeaderLength = LOOPBACK_HEADER_LENGTH;
      out.etherType = inet ? ETHERTYPE_IPV4 : 0;
      if (!inet) return PacketStatus.NOT_IPV4;
      return parseIpv4Udp(bytes, offset + LOOPBACK_HEADER_LENGTH, length - LOOPBACK_HEADER_LENGTH, out);
    }
    default:
      return PacketStatus.UNSUPPORTED_LINK_TYPE;
  }
}

/** A link header of `headerLength` bytes whose EtherType is at `protocolAt`, then IPv4 and UDP. */
function parseAfterLinkHeader(bytes: Uint8Array, offset: number, length: number, headerLength: number, protocolAt: number,
  out: UdpPacketInfo): PacketStatus {
  if (offset < 0 || length < 0 || offset + length > bytes.length) return PacketStatus.TRUNCATED;
  if (length < headerLength) return PacketStatus.TRUNCATED;
  const protocol = readU16(bytes, offset + protocolAt);
  out.linkHeaderLength = headerLength;
  out.etherType = protocol;
  if (protocol !== ETHERTYPE_IPV4) return PacketStatus.NOT_IPV4;
  return parseIpv4Udp(bytes, offset + headerLength, length - headerLength, out);
}

/** Parses Ethernet II (with at most one 802.1Q tag), then IPv4, then UDP. */
export function parseEthernetIpv4Udp(bytes: Uint8Array, offset: number, length: number, out: UdpPacketInfo): PacketStatus {
  if (offset < 0 || length < 0 || offset + length > bytes.length) return PacketStatus.TRUNCATED;
  if (length < ETHERNET_HEADER_LENGTH) return PacketStatus.TRUNCATED;
  let linkLength = ETHERNET_HEADER_LENGTH;
  let etherType = readU16(bytes, offset + 12);
  if (etherType === ETHERTYPE_VLAN) {
    if (length < ETHERNET_HEADER_LENGTH + ETHERNET_VLAN_TAG_LENGTH) return PacketStatus.TRUNCATED;
    linkLength += ETHERNET_VLAN_TAG_LENGTH;
    etherType = readU16(bytes, offset + 16);
  }
  out.linkHeaderLength = linkLength;
  out.etherType = etherType;
  if (etherType !== ETHERTYPE_IPV4) return PacketStatus.NOT_IPV4;
  return parseIpv4Udp(bytes, offset + linkLength, length - linkLength, out);
}

/**
 * Parses IPv4 then UDP starting at `offset`. Bytes after the IPv4 total length (Ethernet padding
 * of short frames) are ignored.
 */
export function parseIpv4Udp(bytes: Uint8Array, offset: number, length: number, out: UdpPacketInfo): PacketStatus {
  if (offset < 0 || length < 0 || offset + length > bytes.length) return PacketStatus.TRUNCATED;
  if (length < IPV4_MIN_HEADER_LENGTH) return PacketStatus.TRUNCATED;
  const versionAndIhl = bytes[offset] ?? 0;
  if (versionAndIhl >>> 4 !== 4) return PacketStatus.BAD_IP_VERSION;
  const ipHeaderLength = (versionAndIhl & 0x0f) * 4;
  if (ipHeaderLength < IPV4_MIN_HEADER_LENGTH) return PacketStatus.BAD_IP_HEADER_LENGTH;
  if (ipHeaderLength > length) return PacketStatus.TRUNCATED;
  const totalLength = readU16(bytes, offset + 2);
  if (totalLength < ipHeaderLength) return PacketStatus.BAD_IP_TOTAL_LENGTH;
  if (totalLength > length) return PacketStatus.TRUNCATED;
  out.ipOffset = offset;
  out.ipHeaderLength = ipHeaderLength;
  out.ipTotalLength = totalLength;
  out.ipIdentification = readU16(bytes, offset + 4);
  const flagsAndFragment = readU16(bytes, offset + 6);
  out.ipFlagsAndFragmentOffset = flagsAndFragment;
  out.ipTtl = bytes[offset + 8] ?? 0;
  out.ipChecksum = readU16(bytes, offset + 10);
  out.sourceAddress = readU32(bytes, offset + 12);
  out.destinationAddress = readU32(bytes, offset + 16);
  if ((flagsAndFragment & IPV4_MORE_FRAGMENTS) !== 0 || (flagsAndFragment & IPV4_FRAGMENT_OFFSET_MASK) !== 0) {
    return PacketStatus.FRAGMENT_UNSUPPORTED;
  }
  if ((bytes[offset + 9] ?? 0) !== IP_PROTOCOL_UDP) return PacketStatus.NOT_UDP;
  const udpOffset = offset + ipHeaderLength;
  const udpAvailable = totalLength - ipHeaderLength;
  if (udpAvailable < UDP_HEADER_LENGTH) return PacketStatus.TRUNCATED;
  const udpLength = readU16(bytes, udpOffset + 4);
  if (udpLength < UDP_HEADER_LENGTH || udpLength > udpAvailable) return PacketStatus.BAD_UDP_LENGTH;
  out.udpOffset = udpOffset;
  out.sourcePort = readU16(bytes, udpOffset);
  out.destinationPort = readU16(bytes, udpOffset + 2);
  out.udpLength = udpLength;
  out.udpChecksum = readU16(bytes, udpOffset + 6);
  out.payloadOffset = udpOffset + UDP_HEADER_LENGTH;
  out.payloadLength = udpLength - UDP_HEADER_LENGTH;
  return PacketStatus.OK;
}

/** One's-complement partial sum of big-endian 16-bit words (an odd last byte is padded), unfolded. */
export function checksumAdd(bytes: Uint8Array, offset: number, length: number, initial: number): number {
  let sum = initial;
  const end = offset + length;
  let i = offset;
  for (; i + 1 < end; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  if (i < end) sum += (bytes[i] ?? 0) << 8;
  // Fold now and then so the sum stays far below 2^53 for any input size.
  return sum > 0x7fffffff ? foldChecksum(sum) : sum;
}

/** Folds a partial sum to 16 bits (end-around carry), uncomplemented. */
export function foldChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The IPv4 header checksum to store, computed with the checksum field taken as zero. */
export function ipv4HeaderChecksum(bytes: Uint8Array, ipOffset: number, ipHeaderLength: number): number {
  let sum = checksumAdd(bytes, ipOffset, 10, 0);
  sum = checksumAdd(bytes, ipOffset + 12, ipHeaderLength - 12, sum);
  return ~foldChecksum(sum) & 0xffff;
}

/** True when the IPv4 header's checksum field is correct. */
export function verifyIpv4HeaderChecksum(bytes: Uint8Array, ipOffset: number, ipHeaderLength: number): boolean {
  return foldChecksum(checksumAdd(bytes, ipOffset, ipHeaderLength, 0)) === 0xffff;
}

/** Partial sum of the UDP pseudo-header (source, destination, zero, protocol 17, UDP length). */
export function udpPseudoHeaderSum(sourceAddress: number, destinationAddress: number, udpLength: number): number {
  return (
    (sourceAddress >>> 16) +
    (sourceAddress & 0xffff) +
    (destinationAddress >>> 16) +
    (destinationAddress & 0xffff) +
    IP_PROTOCOL_UDP +
    udpLength
  );
}

/**
 * The UDP checksum to store for the datagram at `udpOffset` (header and payload in place; the
 * checksum field is taken as zero). A computed 0 is sent as 0xffff, since 0 means "no checksum".
 */
export function udpChecksum(
  bytes: Uint8Array,
  udpOffset: number,
  udpLength: number,
  sourceAddress: number,
  destinationAddress: number,
): number {
  let sum = udpPseudoHeaderSum(sourceAddress, destinationAddress, udpLength);
  sum = checksumAdd(bytes, udpOffset, 6, sum);
  sum = checksumAdd(bytes, udpOffset + 8, udpLength - 8, sum);
  const checksum = ~foldChecksum(sum) & 0xffff;
  return checksum === 0 ? 0xffff : checksum;
}

export const UdpChecksumStatus = {
  /** The checksum is present and correct. */
  VALID: 0,
  /** The field is 0: the sender computed no checksum (allowed over IPv4). */
  ABSENT: 1,
  /** Checksum offload left unfinished: the field holds the folded pseudo-header sum (loopback). */
  PARTIAL: 2,
  /** Present and wrong. */
  INVALID: 3,
} as const;
export type UdpChecksumStatus = (typeof UdpChecksumStatus)[keyof typeof UdpChecksumStatus];
export const UDP_CHECKSUM_STATUS_NAMES: readonly string[] = ["valid", "absent", "partial (offload)", "invalid"];

/** Classifies the UDP checksum of a parsed packet. */
export function verifyUdpChecksum(bytes: Uint8Array, info: UdpPacketInfo): UdpChecksumStatus {
  const field = info.udpChecksum;
  if (field === 0) return UdpChecksumStatus.ABSENT;
  const pseudo = udpPseudoHeaderSum(info.sourceAddress, info.destinationAddress, info.udpLength);
  const whole = foldChecksum(checksumAdd(bytes, info.udpOffset, info.udpLength, pseudo));
  if (whole === 0xffff) return UdpChecksumStatus.VALID;
  if (field === foldChecksum(pseudo)) return UdpChecksumStatus.PARTIAL;
  return UdpChecksumStatus.INVALID;
}

/**
 * Writes an IPv4 header (no options, DF set, protocol UDP) and a UDP header at `ipOffset`, for a
 * payload of `payloadLength` bytes already placed at ipOffset + 28, with a correct IPv4 header
 * checksum and, when `withUdpChecksum`, a correct UDP checksum (else 0). Returns 28.
 */
export function writeIpv4UdpHeaders(
  bytes: Uint8Array,
  ipOffset: number,
  sourceAddress: number,
  destinationAddress: number,
  sourcePort: number,
  destinationPort: number,
  payloadLength: number,
  ttl: number,
  identification: number,
  withUdpChecksum: boolean,
): number {
  const totalLength = IPV4_MIN_HEADER_LENGTH + UDP_HEADER_LENGTH + payloadLength;
  if (!(payloadLength >= 0 && totalLength <= IPV4_MAX_TOTAL_LENGTH)) {
    throw new RangeError(`UDP payload of ${payloadLength} bytes does not fit in an IPv4 packet`);
  }
  if (ipOffset + totalLength > bytes.length) throw new RangeError("packet does not fit in the buffer");
  bytes[ipOffset] = 0x45;
  bytes[ipOffset + 1] = 0;
  writeU16(bytes, ipOffset + 2, totalLength);
  writeU16(bytes, ipOffset + 4, identification & 0xffff);
  writeU16(bytes, ipOffset + 6, IPV4_DONT_FRAGMENT);
  bytes[ipOffset + 8] = ttl & 0xff;
  bytes[ipOffset + 9] = IP_PROTOCOL_UDP;
  writeU16(bytes, ipOffset + 10, 0);
  writeU32(bytes, ipOffset + 12, sourceAddress);
  writeU32(bytes, ipOffset + 16, destinationAddress);
  writeU16(bytes, ipOffset + 10, ipv4HeaderChecksum(bytes, ipOffset, IPV4_MIN_HEADER_LENGTH));
  const udpOffset = ipOffset + IPV4_MIN_HEADER_LENGTH;
  const udpLength = UDP_HEADER_LENGTH + payloadLength;
  writeU16(bytes, udpOffset, sourcePort);
  writeU16(bytes, udpOffset + 2, destinationPort);
  writeU16(bytes, udpOffset + 4, udpLength);
  writeU16(bytes, udpOffset + 6, 0);
  if (withUdpChecksum) {
    writeU16(bytes, udpOffset + 6, udpChecksum(bytes, udpOffset, udpLength, sourceAddress, destinationAddress));
  }
  return IPV4_MIN_HEADER_LENGTH + UDP_HEADER_LENGTH;
}

/**
 * Writes Ethernet II (destination MAC, source MAC, type IPv4), IPv4 and UDP headers at `offset`
 * for a payload already placed at offset + 42. MACs are read from 6 bytes at the given offsets.
 * Returns 42, the header length.
 */
export function writeEthernetIpv4UdpHeaders(
  bytes: Uint8Array,
  offset: number,
  destinationMac: Uint8Array,
  destinationMacOffset: number,
  sourceMac: Uint8Array,
  sourceMacOffset: number,
  sourceAddress: number,
  destinationAddress: number,
  sourcePort: number,
  destinationPort: number,
  payloadLength: number,
  ttl: number,
  identification: number,
  withUdpChecksum: boolean,
): number {
  if (offset + ETHERNET_HEADER_LENGTH > bytes.length) throw new RangeError("packet does not fit in the buffer");
  for (let i = 0; i < 6; i++) {
    bytes[offset + i] = destinationMac[destinationMacOffset + i] ?? 0;
    bytes[offset + 6 + i] = sourceMac[sourceMacOffset + i] ?? 0;
  }
  writeU16(bytes, offset + 12, ETHERTYPE_IPV4);
  writeIpv4UdpHeaders(
    bytes,
    offset + ETHERNET_HEADER_LENGTH,
    sourceAddress,
    destinationAddress,
    sourcePort,
    destinationPort,
    payloadLength,
    ttl,
    identification,
    withUdpChecksum,
  );
  return ETHERNET_IPV4_UDP_HEADER_LENGTH;
}

/** Dotted-quad text of a u32 address (allocates; for logs and configuration). */
export function formatIpv4(address: number): string {
  const a = address >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Parses a dotted quad ("10.0.0.1") into a u32; returns -1 for anything else. */
export function parseIpv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) return -1;
  let address = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return -1;
    const value = Number(part);
    if (value > 255) return -1;
    address = address * 256 + value;
  }
  return address;
}

/** Colon-separated hex text of 6 MAC bytes at `offset` (allocates). */
export function formatMac(bytes: Uint8Array, offset: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((bytes[offset + i] ?? 0).toString(16).padStart(2, "0"));
  return parts.join(":");
}
