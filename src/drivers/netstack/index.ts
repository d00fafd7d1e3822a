// Petrel's user-space netstack (pure: no node: import; the simulator runs it): Ethernet/IPv4/UDP
// frames built and parsed by src/net, ARP, a UDP port table, and a Driver over any FramePort.
export * from "./arp.js";
export * from "./framePort.js";
export * from "./mac.js";
export * from "./portTable.js";
export * from "./netstackDriver.js";
