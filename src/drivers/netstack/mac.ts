// MAC addresses as 6 bytes at an offset (no objects per frame): comparison, copying, the
// Ethernet broadcast address and the IPv4 multicast mapping of RFC 1112 (01:00:5e followed by the
// low 23 bits of the group address). Pure: no I/O, usable by the simulator.

export const MAC_LENGTH = 6;
export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC: Uint8Array = new Uint8Array(6);

/** True when the 6 bytes at a[ao] equal those at b[bo]. */
export function macEquals(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  return a[ao] === b[bo] && a[ao + 1] === b[bo + 1] && a[ao + 2] === b[bo + 2] &&
    a[ao + 3] === b[bo + 3] && a[ao + 4] === b[bo + 4] && a[ao + 5] === b[bo + 5];
}

export function copyMac(from: Uint8Array, fromOffset: number, to: Uint8Array, toOffset: number): void {
  for (let i = 0; i < MAC_LENGTH; i++) to[toOffset + i] = from[fromOffset + i] ?? 0;
}

/** The group bit (least significant bit of the first octet): broadcast and multicast MACs. */
export function isGroupMac(bytes: Uint8Array, offset: number): boolean {
  return ((bytes[offset] ?? 0) & 1) === 1;
}

export function isBroadcastMac(bytes: Uint8Array, offset: number): boolean {
  return macEquals(bytes, offset, BROADCAST_MAC, 0);
}

/** Writes the Ethernet address of IPv4 multicast group `groupIp`: 01:00:5e + its low 23 bits. */
export function writeMulticastMac(groupIp: number, out: Uint8Array, offset: number): void {
  out[offset] = 0x01;
  out[offset + 1] = 0x00;
  out[offset + 2] = 0x5e;
  out[offset + 3] = (groupIp >>> 16) & 0x7f;
  out[offset + 4] = (groupIp >>> 8) & 0xff;
  out[offset + 5] = groupIp & 0xff;
}

/** 224.0.0.0/4. */
export function isMulticastIp(ip: number): boolean {
  return ip >>> 28 === 0xe;
}

/** Parses "aa:bb:cc:dd:ee:ff" (or with dashes); throws RangeError on anything else. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`not a MAC address: ${text}`);
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/** The simulator's MAC for a host address a.b.c.d: 02:00:a:b:c:d (locally administered, as src/sim/pcapTap.ts). */
export function macForSimIp(ip: number): Uint8Array {
  return new Uint8Array([0x02, 0x00, (ip >>> 24) & 0xff, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff]);
}
