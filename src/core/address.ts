// IPv4 addresses travel through the core as unsigned 32-bit numbers (a.b.c.d = a<<24|b<<16|c<<8|d)
// and ports as plain numbers: cheap to compare and free to pass, with no object per datagram.

/** 0.0.0.0, the wildcard address. */
export const ANY_IPV4 = 0;

export function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Parses a dotted quad; returns -1 when `text` is not one. */
export function parseIpv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) return -1;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return -1;
    const octet = Number(part);
    if (octet > 255) return -1;
    value = value * 256 + octet;
  }
  return value >>> 0;
}

export function formatIpv4(ip: number): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

export function formatEndpoint(ip: number, port: number): string {
  return `${formatIpv4(ip)}:${port}`;
}

/** True for 224.0.0.0/4. */
export function isMulticastIpv4(ip: number): boolean {
  return ip >>> 28 === 0xe;
}
