// Simulated endpoints: an IPv4 address as an unsigned 32-bit number and a UDP port, the same
// representation src/core uses (src/core/address.ts), so no string or object is built per datagram.
// The simulator interns one SimAddress object per bound endpoint and per multicast group, and hands
// those same objects to every handleDatagram call: comparing two of them is comparing two numbers
// (or, for interned ones, two references).
import { formatEndpoint } from "../core/address.js";

export interface SimAddress {
  /** IPv4 address, a.b.c.d = a<<24|b<<16|c<<8|d, as an unsigned 32-bit number. */
  readonly ip: number;
  /** UDP port, 0..65535. */
  readonly port: number;
}

/** A single number naming (ip, port): ip * 65536 + port, exact below 2^48. */
export function addressKey(ip: number, port: number): number {
  return (ip >>> 0) * 65536 + (port & 0xffff);
}

export function sameAddress(a: SimAddress, b: SimAddress): boolean {
  return a.ip === b.ip && a.port === b.port;
}

export function formatAddress(address: SimAddress): string {
  return formatEndpoint(address.ip, address.port);
}

/** A frozen SimAddress; the simulator makes one per endpoint and reuses it. */
export function simAddress(ip: number, port: number): SimAddress {
  if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff) throw new RangeError(`ip must be a u32, got ${ip}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be in 0..65535, got ${port}`);
  return Object.freeze({ ip, port });
}

export { formatIpv4, ipv4, isMulticastIpv4, parseIpv4 } from "../core/address.js";
