// One side of the AF_PACKET namespace test, run as its own process (`ip netns exec NS node ...`):
// a publisher or a subscriber on either the AF_PACKET driver (Petrel's netstack on a veth end that
// has no kernel address) or the native sockets driver, on the runtime agent. It prints one JSON line
// when ready and one with its results; the publisher runs until it reads "stop" (or times out).
// With `pcap`, the AF_PACKET side records its frames (PcapFramePort) to that file.
import { Engine } from "../../src/core/engine/engine.js";
import { createAfPacketDriver } from "../../src/drivers/afPacketDriver.js";
import type { Driver } from "../../src/drivers/driver.js";
import type { NetstackDriver } from "../../src/drivers/netstack/netstackDriver.js";
import { AfPacketFramePort } from "../../src/drivers/afPacketDriver.js";
import { NetstackDriver as Netstack } from "../../src/drivers/netstack/netstackDriver.js";
import { PcapFramePort } from "../../src/drivers/pcapTap.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { EngineRuntime, monotonicClockNs } from "../../src/drivers/runtime.js";
import { Prng } from "../../src/sim/prng.js";
import { messageLengths, offerSome, protocolCounters, STREAM_ID, StreamChecker } from "./streamSupport.js";

interface PeerArgs {
  readonly role: "publisher" | "subscriber";
  readonly driver: "af_packet" | "sockets";
  /** The channel's endpoint (the subscriber's address, or a multicast group) and port. */
  readonly endpoint: string;
  readonly port: number;
  /** Multicast: the interface address for the channel (`interface=`). */
  readonly interfaceIp?: string;
  /** AF_PACKET: the interface, and Petrel's own address on it. */
  readonly iface?: string;
  readonly ip?: string;
  readonly pcap?: string;
  readonly count: number;
  readonly maxLength: number;
  readonly seed: number;
  readonly timeoutMs: number;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as PeerArgs;
  const channel = `aeron:udp?endpoint=${args.endpoint}:${args.port}|term-length=1m${args.interfaceIp === undefined ? "" : `|interface=${args.interfaceIp}`}`;
  const engine = new Engine({ random: new Prng(args.seed).fork(args.role) });
  let driver: Driver;
  let netstack: NetstackDriver | undefined;
  let tap: PcapFramePort | undefined;
  if (args.driver === "af_packet") {
    if (args.pcap !== undefined) {
      const pcap = args.pcap;
      netstack = new Netstack((tx, rx) => (tap = new PcapFramePort(new AfPacketFramePort(tx, rx, { interfaceName: args.iface! }), { path: pcap })), {
        ip: ipv4(args.ip!), clockNs: monotonicClockNs, kind: "af_packet",
      });
    } else {
      netstack = createAfPacketDriver({ interfaceName: args.iface!, ip: args.ip! });
    }
    driver = netstack;
  } else {
    driver = createSocketsDriver({ prefer: "native" });
  }
  const runtime = new EngineRuntime(engine, driver);
  const lengths = messageLengths(args.seed, args.count, args.maxLength);
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
    driver: driver.stats(),
    ...(netstack === undefined ? {} : { netstack: netstack.netstackCounters(), mac: Array.from(netstack.mac), mtu: netstack.mtu }),
    ...(tap === undefined ? {} : { pcapRecords: tap.records }),
  });

  if (args.role === "subscriber") {
    const subscription = engine.addSubscription(channel, STREAM_ID);
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
    const lingerEnd = performance.now() + 200;
    while (performance.now() < lingerEnd) {
      runtime.doWork();
      await yieldToLoop();
    }
    print({ received: checker.received, failures: checker.failures, counters: protocolCounters(engine), elapsedMs,
      messagesPerSecond: checker.received / (elapsedMs / 1000), ...extra() });
  } else {
    const publication = engine.addPublication(channel, STREAM_ID);
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
  process.exit(0);
}

function ipv4(text: string): number {
  const p = text.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

main().catch((error: unknown) => {
  print({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exit(1);
});
