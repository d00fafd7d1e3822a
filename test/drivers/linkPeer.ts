// One side of a link test (afpacket.test.ts, dpdk.test.ts), run as its own process (`ip netns exec
// NS node ...`): a publisher or a subscriber on a raw-frame driver (Petrel's netstack on a veth end
// that has no kernel address: AF_PACKET, or DPDK over net_af_packet / net_af_xdp) or on the native
// sockets driver, on the runtime agent, optionally with seeded loss on receive. It prints one JSON
// line when ready and one with its results; the publisher runs until it reads "stop" (or times
// out). With `pcap`, the raw side records its frames (PcapFramePort) to that file. The driver is
// disposed of on every way out (for DPDK: rte_eal_cleanup), failures included.
import { Engine } from "../../src/core/engine/engine.js";
import { AfPacketFramePort, createAfPacketDriver } from "../../src/drivers/afPacketDriver.js";
import type { Driver } from "../../src/drivers/driver.js";
import { dpdkVdevEal, dpdkVdevPort, type DpdkFramePort, type DpdkVirtualPmd } from "../../src/drivers/dpdkDriver.js";
import type { NetstackDriver } from "../../src/drivers/netstack/netstackDriver.js";
import { NetstackDriver as Netstack } from "../../src/drivers/netstack/netstackDriver.js";
import { PcapFramePort } from "../../src/drivers/pcapTap.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { EngineRuntime, monotonicClockNs } from "../../src/drivers/runtime.js";
import { Prng } from "../../src/sim/prng.js";
import { interopLengths } from "../interop/aeronPeer.js";
import { messageLengths, offerSome, protocolCounters, SeededDropFilter, STREAM_ID, StreamChecker } from "./streamSupport.js";

interface PeerArgs {
  readonly role: "publisher" | "subscriber";
  readonly driver: "af_packet" | "dpdk" | "sockets";
  /** The channel's endpoint (the subscriber's address, or a multicast group) and port. */
  readonly endpoint: string;
  readonly port: number;
  /** Multicast: the interface address for the channel (`interface=`). */
  readonly interfaceIp?: string;
  /** Raw drivers: the interface, and Petrel's own address on it. */
  readonly iface?: string;
  readonly ip?: string;
  /** DPDK: the virtual PMD over `iface` (default net_af_packet), and extra EAL arguments. */
  readonly pmd?: DpdkVirtualPmd;
  readonly eal?: string[];
  readonly pcap?: string;
  readonly count: number;
  readonly maxLength: number;
  readonly seed: number;
  readonly timeoutMs: number;
  /** "interop": message lengths by the Aeron interop clients' rule (test/interop/clients), for an Aeron peer. */
  readonly lengths?: "interop";
  /** The stream id (default streamSupport's STREAM_ID). */
  readonly streamId?: number;
  /** Receive-side loss injected by the runtime's filter, per mille (default 0). */
  readonly lossPerMille?: number;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

let driver: Driver | undefined;

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as PeerArgs;
  const channel = `aeron:udp?endpoint=${args.endpoint}:${args.port}|term-length=1m${args.interfaceIp === undefined ? "" : `|interface=${args.interfaceIp}`}`;
  const engine = new Engine({ random: new Prng(args.seed).fork(args.role) });
  let netstack: NetstackDriver | undefined;
  let tap: PcapFramePort | undefined;
  let dpdk: DpdkFramePort | undefined;
  const pcap = args.pcap;
  if (args.driver === "af_packet") {
    if (pcap !== undefined) {
      netstack = new Netstack((tx, rx) => (tap = new PcapFramePort(new AfPacketFramePort(tx, rx, { interfaceName: args.iface! }), { path: pcap })), {
        ip: ipv4(args.ip!), clockNs: monotonicClockNs, kind: "af_packet",
      });
    } else {
      netstack = createAfPacketDriver({ interfaceName: args.iface!, ip: args.ip! });
    }
    driver = netstack;
  } else if (args.driver === "dpdk") {
    const pmd = args.pmd ?? "net_af_packet";
    // Through the same selection function an application uses.
    netstack = createSocketsDriver({
      driver: "dpdk",
      dpdk: {
        eal: args.eal ?? dpdkVdevEal(pmd, args.iface!), port: dpdkVdevPort(pmd), ip: args.ip!, prefixLength: 24,
        wrapPort: (port) => {
          dpdk = port;
          return pcap === undefined ? port : (tap = new PcapFramePort(port, { path: pcap }));
        },
      },
    }) as NetstackDriver;
    driver = netstack;
  } else {
    driver = createSocketsDriver({ prefer: "native" });
  }
  const loss = args.lossPerMille ?? 0;
  const filter = new SeededDropFilter(args.seed + (args.role === "publisher" ? 1 : 2), loss, 1000);
  const runtime = new EngineRuntime(engine, driver, loss > 0 ? { receiveFilter: filter } : {});
  const lengths = args.lengths === "interop" ? interopLengths(args.count, args.maxLength) : messageLengths(args.seed, args.count, args.maxLength);
  const streamId = args.streamId ?? STREAM_ID;
  const started = performance.now();
  const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  let stop = false;
  process.stdin.on("data", (data) => {
    if (String(data).includes("stop")) stop = true;
  });
  process.stdin.on("end", () => {
    stop = true;
  });
  const extra = (): Record<string, unknown> => ({
    driver: driver!.stats(),
    dropped: filter.dropped,
    ...(netstack === undefined ? {} : { netstack: netstack.netstackCounters(), mac: Array.from(netstack.mac), mtu: netstack.mtu }),
    ...(tap === undefined ? {} : { pcapRecords: tap.records }),
    ...(dpdk === undefined ? {} : { dpdk: { pmd: dpdk.pmd, name: dpdk.name, multicast: dpdk.multicastMode, offloads: dpdk.offloads, stats: dpdk.stats() } }),
  });

  if (args.role === "subscriber") {
    const subscription = engine.addSubscription(channel, streamId);
    runtime.doWork();
    print({ ready: true, kind: driver.kind });
    const checker = new StreamChecker(lengths);
    let cycles = 0;
    let firstAtMs = -1;
    while (checker.received < args.count && checker.failures.length === 0 && !stop) {
      runtime.doWork();
      checker.drain(subscription);
      if (firstAtMs < 0 && checker.received > 0) firstAtMs = performance.now();
      if (++cycles % 256 === 0) {
        if (performance.now() - started > args.timeoutMs) break;
        await yieldToLoop();
      }
    }
    const elapsedMs = performance.now() - (firstAtMs < 0 ? started : firstAtMs);
    // Linger so that the final status messages reach the publisher.
    const lingerEnd = performance.now() + 200;
    while (performance.now() < lingerEnd) {
      runtime.doWork();
      await yieldToLoop();
    }
    print({ received: checker.received, failures: checker.failures, counters: protocolCounters(engine), elapsedMs,
      messagesPerSecond: checker.received / (elapsedMs / 1000), ...extra() });
  } else {
    const publication = engine.addPublication(channel, streamId);
    runtime.doWork();
    print({ ready: true, kind: driver.kind });
    const scratch = new Uint8Array(8192);
    let sent = 0;
    let cycles = 0;
    while (!stop && performance.now() - started < args.timeoutMs) {
      sent = offerSome(publication, lengths, sent, args.count, scratch, 256);
      runtime.doWork();
      if (++cycles % 256 === 0) await yieldToLoop();
    }
    print({ sent, counters: protocolCounters(engine), elapsedMs: performance.now() - started, ...extra() });
  }
  engine.close();
  runtime.doWork();
  await runtime.close();
  driver = undefined;
}

function ipv4(text: string): number {
  const p = text.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    driver?.dispose();
    process.exit(128 + (signal === "SIGTERM" ? 15 : 2));
  });
}

main().then(() => process.exit(0), (error: unknown) => {
  print({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  // The driver goes too (a DPDK port: rte_eal_cleanup), whatever failed.
  try {
    driver?.dispose();
  } catch {
    // Already reported the failure that matters.
  }
  process.exit(1);
});
