// Addresses as a channel URI writes them: `endpoint` and `control` are host:port, `interface` is
// ip[:port][/prefix]. Hosts are IPv4 dotted quads or host names; a host name is kept exactly as
// written for a resolver outside the core to look up. IPv6 is refused with a clear message until
// the transport supports it. Cold path only.

import { ChannelUriError } from "../errors.js";

export type HostKind = "ipv4" | "name";

/** A host and a UDP port, as `endpoint` and `control` give them. */
export interface SocketAddress {
  /** A canonical dotted quad (no leading zeros) when `hostKind` is 'ipv4', else the name as written. */
  readonly host: string;
  readonly hostKind: HostKind;
  /** 0 .. 65535; 0 asks the operating system for an ephemeral port. */
  readonly port: number;
}

/** The local interface to bind or to send multicast from: `ip[:port][/prefixLength]`. */
export interface InterfaceAddress {
  /** A canonical IPv4 dotted quad. */
  readonly address: string;
  readonly port?: number;
  /** 0 .. 32: match any local interface in this subnet. */
  readonly prefixLength?: number;
}

/** Where a multicast stream's frames go (PROTOCOL.md section 9). */
export interface MulticastAddresses {
  /** The group: data, setup and heartbeats are sent here (the endpoint itself). */
  readonly data: SocketAddress;
  /** The group address with its last byte + 1, same port: SMs and NAKs are sent here. */
  readonly control: SocketAddress;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;
const DOTTED_NUMBERS = /^[0-9.]+$/;
const HOST_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})$/;
const PORT = /^[0-9]{1,5}$/;
const HOST_NAME_LENGTH_MAX = 253;

/**
 * Parses a canonical IPv4 dotted quad into an unsigned 32-bit number, or returns undefined.
 * Leading zeros are refused because some resolvers read '010' as octal.
 */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Formats an unsigned 32-bit number as a dotted quad. */
export function formatIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`formatIpv4: ${value} is not an unsigned 32-bit integer`);
  }
  return `${Math.floor(value / 0x100_0000)}.${Math.floor(value / 0x1_0000) % 256}.${Math.floor(value / 0x100) % 256}.${value % 256}`;
}

/** True for an address in 224.0.0.0/4, the IPv4 multicast range. */
export function isIpv4Multicast(value: number): boolean {
  return Math.floor(value / 0x1000_0000) === 0xe;
}

function parsePort(parameter: string, whole: string, text: string): number {
  if (!PORT.test(text)) {
    throw new ChannelUriError(parameter, whole, `port '${text}' must be a decimal integer between 0 and 65535`);
  }
  const port = Number(text);
  if (port > 65535) {
    throw new ChannelUriError(parameter, whole, `port ${port} must be between 0 and 65535`);
  }
  return port;
}

function refuseIpv6(parameter: string, text: string): void {
  if (text.startsWith("[")) {
    throw new ChannelUriError(parameter, text, "IPv6 addresses are not supported yet; use an IPv4 address or a host name");
  }
  if (text.split(":").length > 2) {
    throw new ChannelUriError(parameter, text, "has more than one ':' (IPv6 addresses are not supported yet; use an IPv4 address or a host name)");
  }
}

/** Parses a host that must be an IPv4 dotted quad or a plausible host name. */
function parseHost(parameter: string, whole: string, host: string): { host: string; hostKind: HostKind } {
  if (host.length === 0) {
    throw new ChannelUriError(parameter, whole, "the host before ':' is empty");
  }
  if (parseIpv4(host) !== undefined) return { host, hostKind: "ipv4" };
  // Something made only of digits and dots was meant as an IPv4 address; calling it a name would
  // hand a typo like 10.0.0.256 to a resolver.
  if (DOTTED_NUMBERS.test(host)) {
    throw new ChannelUriError(parameter, whole, `'${host}' is not a valid IPv4 address (four decimal octets 0..255, no leading zeros)`);
  }
  const labels = host.split(".");
  if (host.length > HOST_NAME_LENGTH_MAX || !labels.every((label) => HOST_LABEL.test(label))) {
    throw new ChannelUriError(parameter, whole, `'${host}' is neither an IPv4 address nor a valid host name`);
  }
  return { host, hostKind: "name" };
}

/** Parses `host:port` for `endpoint` and `control`. */
export function parseSocketAddress(parameter: string, text: string): SocketAddress {
  refuseIpv6(parameter, text);
  const colon = text.indexOf(":");
  if (colon < 0) {
    throw new ChannelUriError(parameter, text, "must be host:port (e.g. 192.168.0.1:40456 or localhost:40456)");
  }
  const { host, hostKind } = parseHost(parameter, text, text.slice(0, colon));
  const port = parsePort(parameter, text, text.slice(colon + 1));
  return Object.freeze({ host, hostKind, port });
}

export function formatSocketAddress(address: SocketAddress): string {
  return `${address.host}:${address.port}`;
}

/** Parses `ip[:port][/prefixLength]` for `interface`. */
export function parseInterfaceAddress(parameter: string, text: string): InterfaceAddress {
  refuseIpv6(parameter, text);
  const slash = text.indexOf("/");
  const hostPort = slash < 0 ? text : text.slice(0, slash);
  let prefixLength: number | undefined;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^[0-9]{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
      throw new ChannelUriError(parameter, text, `subnet prefix '${prefixText}' must be a decimal integer between 0 and 32`);
    }
    prefixLength = Number(prefixText);
  }
  const colon = hostPort.indexOf(":");
  const address = colon < 0 ? hostPort : hostPort.slice(0, colon);
  if (parseIpv4(address) === undefined) {
    throw new ChannelUriError(parameter, text, `'${address}' must be an IPv4 address (four decimal octets 0..255, no leading zeros), written ip[:port][/prefix]`);
  }
  const port = colon < 0 ? undefined : parsePort(parameter, text, hostPort.slice(colon + 1));
  return Object.freeze({
    address,
    ...(port === undefined ? {} : { port }),
    ...(prefixLength === undefined ? {} : { prefixLength }),
  });
}

export function formatInterfaceAddress(address: InterfaceAddress): string {
  const port = address.port === undefined ? "" : `:${address.port}`;
  const prefix = address.prefixLength === undefined ? "" : `/${address.prefixLength}`;
  return `${address.address}${port}${prefix}`;
}

/**
 * The multicast addresses for an endpoint, or undefined when it is not an IPv4 multicast group
 * (a host name cannot be judged here: its resolver decides). Like Aeron, the group's last byte must
 * be odd so that the control address (last byte + 1) is the even address beside it; Petrel also
 * refuses x.x.x.255, whose control address Aeron would wrap round to x.x.x.0.
 */
export function multicastAddressesOf(parameter: string, endpoint: SocketAddress): MulticastAddresses | undefined {
  if (endpoint.hostKind !== "ipv4") return undefined;
  const group = parseIpv4(endpoint.host);
  if (group === undefined || !isIpv4Multicast(group)) return undefined;
  const lastByte = group % 256;
  const whole = formatSocketAddress(endpoint);
  if (lastByte % 2 === 0) {
    throw new ChannelUriError(parameter, whole, "a multicast group address must end in an odd byte (its control address is that byte + 1)");
  }
  if (lastByte === 255) {
    throw new ChannelUriError(parameter, whole, "a multicast group address must not end in 255: its control address (last byte + 1) would overflow");
  }
  const control = Object.freeze({ host: formatIpv4(group + 1), hostKind: "ipv4" as const, port: endpoint.port });
  return Object.freeze({ data: endpoint, control });
}
