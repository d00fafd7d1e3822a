// Aeron's interface search (`interface=192.168.1.0/24`: the local interface whose IPv4 address is
// in that subnet) on this host's interfaces, for Engine's resolveInterface option. Petrel.launch
// passes it; give it to an Engine you build yourself.
import { networkInterfaces } from "node:os";
import { parseIpv4 } from "../core/address.js";

/** The first local IPv4 address within subnet/prefixLength (interfaces in os order), or -1. */
export function resolveLocalInterface(subnet: number, prefixLength: number): number {
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family !== "IPv4") continue;
      const ip = parseIpv4(address.address);
      if (ip >= 0 && ((ip & mask) >>> 0) === ((subnet & mask) >>> 0)) return ip;
    }
  }
  return -1;
}
