// One side of `npm run bench afpacket` and `npm run bench dpdk`, run in a network namespace: a
// driver-level sender (batches of 64 datagrams through transmitBatch, flat out for the duration) or
// receiver (pollBatch, counting), on the AF_PACKET driver (Petrel's netstack on PACKET_MMAP rings),
// the DPDK driver (the netstack on a DPDK port: net_af_packet or net_af_xdp over the interface) or
// the native sockets driver. No Petrel protocol in "send"/"receive": this measures the drivers, as
// the C reference figures do. Roles "publish"/"subscribe" run a Petrel stream of fixed-size
// messages over the same drivers (engine + runtime agent) and count messages per second.
// Prints one JSON line when ready and one with its result; the driver is disposed of on every way
// out (DPDK: rte_eal_cleanup).
import { Engine } from "../src/core/engine/engine.js";
import type { EndpointInfo } from "../src/core/engine/engine.js";
import { ADMIN_ACTION } from "../src/core/engine/networkPublication.js";
import { createAfPacketDriver } from "../src/drivers/afPacketDriver.js";
import type { Driver } from "../src/drivers/driver.js";
import { createDpdkDriver, dpdkVdevEal, dpdkVdevPort, type DpdkVirtualPmd } from "../src/drivers/dpdkDriver.js";
import type { NetstackDriver } from "../src/drivers/netstack/netstackDriver.js";
import { EngineRuntime } from "../src/drivers/runtime.js";
import { createSocketsDriver } from "../src/drivers/socketsDriver.js";
import { Prng } from "../src/sim/prng.js";

interface Args {
  readonly role: "send" | "receive" | "publish" | "subscribe";
  readonly driver: "af_packet" | "dpdk" | "sockets";
  readonly pmd?: DpdkVirtualPmd;
  readonly prefix?: string;
  readonly iface: string;
  readonly ip: string;
  readonly peerIp: string;
  readonly port: number;
  readonly size: number;
  readonly durationMs: number;
}

function u32(ip: string): number {
  const p = ip.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function endpoint(id: number, port: number): EndpointInfo {
  return { id, role: port === 0 ? "send" : "receive", channel: "bench", bindIp: 0, bindPort: port, socketRcvbufBytes: 4 << 20,
    socketSndbufBytes: 4 << 20, ttl: 0, multicastGroupIp: 0, interfaceIp: 0 };
}

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

let driver: Driver | undefined;

function makeDriver(args: Args): { driver: Driver; netstack: NetstackDriver | undefined } {
  if (args.driver === "af_packet") {
    const netstack = createAfPacketDriver({ interfaceName: args.iface, ip: args.ip, gro: false, gso: false });
    return { driver: netstack, netstack };
  }
  if (args.driver === "dpdk") {
    const pmd = args.pmd ?? "net_af_packet";
    const netstack = createDpdkDriver({ eal: dpdkVdevEal(pmd, args.iface, [], args.prefix), port: dpdkVdevPort(pmd), ip: args.ip });
    return { driver: netstack, netstack };
  }
  return { driver: createSocketsDriver({ prefer: "native", gso: false, gro: false }), netstack: undefined };
}

/** A Petrel stream of `size`-byte messages: the publisher offers flat out, the subscriber counts. */
async function stream(args: Args, driver: Driver): Promise<void> {
  const channel = `aeron:udp?endpoint=${args.role === "subscribe" ? args.ip : args.peerIp}:${args.port}|term-length=4m`;
  const engine = new Engine({ random: new Prng(7).fork(args.role) });
  const runtime = new EngineRuntime(engine, driver);
  const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  if (args.role === "subscribe") {
    const subscription = engine.addSubscription(channel, 1);
    runtime.doWork();
    print({ ready: true });
    let count = 0;
    let firstMs = 0;
    let lastMs = 0;
    const handler = (): void => {
      count++;
    };
    const deadline = performance.now() + args.durationMs + 15_000;
    let cycles = 0;
    while (performance.now() < deadline) {
      runtime.doWork();
      const n = subscription.poll(handler, 4096);
      if (n > 0) {
        const now = performance.now();
        if (firstMs === 0) firstMs = now;
        lastMs = now;
      } else if (count > 0 && performance.now() - lastMs > 1000) {
        break;
      }
      if (++cycles % 1024 === 0) await yieldToLoop();
    }
    const seconds = (lastMs - firstMs) / 1000;
    print({ received: count, seconds, perSecond: seconds > 0 ? count / seconds : 0, stats: driver.stats() });
  } else {
    const publication = engine.addPublication(channel, 1);
    runtime.doWork();
    print({ ready: true });
    const payload = new Uint8Array(args.size).fill(0x5a);
    let sent = 0;
    let cycles = 0;
    const start = performance.now();
    const end = start + args.durationMs;
    while (performance.now() < end) {
      for (let k = 0; k < 256; k++) {
        const result = publication.offer(payload, 0, payload.length);
        if (result === ADMIN_ACTION) continue;
        if (result < 0) break;
        sent++;
      }
      runtime.doWork();
      if (++cycles % 1024 === 0) await yieldToLoop();
    }
    // Let the last messages and their status messages cross before closing.
    const lingerEnd = performance.now() + 1500;
    while (performance.now() < lingerEnd) {
      runtime.doWork();
      await yieldToLoop();
    }
    print({ sent, seconds: (performance.now() - start) / 1000, perSecond: sent / args.durationMs * 1000, stats: driver.stats() });
  }
  engine.close();
  runtime.doWork();
  await runtime.close();
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as Args;
  const made = makeDriver(args);
  driver = made.driver;
  const netstack = made.netstack;
  if (args.role === "publish" || args.role === "subscribe") {
    await stream(args, driver);
    driver.dispose();
    process.exit(0);
  }
  const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  if (args.role === "receive") {
    driver.open(endpoint(1, args.port));
    print({ ready: true });
    const rx = driver.receive;
    let count = 0;
    let firstNs = 0;
    let lastNs = 0;
    const deadline = performance.now() + args.durationMs + 10_000;
    let cycles = 0;
    while (performance.now() < deadline) {
      const n = driver.pollBatch(rx);
      if (n > 0) {
        const now = performance.now();
        if (count === 0) firstNs = now;
        lastNs = now;
        count += n;
      } else if (count > 0 && performance.now() - lastNs > 1000) {
        break;
      }
      if (++cycles % 4096 === 0) await yieldToLoop();
    }
    const seconds = (lastNs - firstNs) / 1000;
    print({ received: count, seconds, perSecond: seconds > 0 ? count / seconds : 0, stats: driver.stats(),
      ...(netstack === undefined ? {} : { drops: netstack.netstackCounters().drops }) });
  } else {
    driver.open(endpoint(1, 0));
    const tx = driver.transmit;
    const payload = new Uint8Array(args.size).fill(0x5a);
    const fill = (): void => {
      tx.clear();
      for (let i = 0; i < 64; i++) {
        const slot = tx.claim(1, u32(args.peerIp), args.port);
        tx.bytes.set(payload, tx.slotOffset(slot));
        tx.commit(slot, payload.length);
      }
    };
    // Warm-up: lets ARP resolve (AF_PACKET) and the receiver start reading.
    const warmEnd = performance.now() + 300;
    while (performance.now() < warmEnd) {
      fill();
      driver.transmitBatch(tx, 0);
      driver.pollBatch(driver.receive);
      await yieldToLoop();
    }
    let sent = 0;
    const start = performance.now();
    const end = start + args.durationMs;
    let cycles = 0;
    fill();
    let at = 0;
    while (performance.now() < end) {
      const consumed = driver.transmitBatch(tx, at);
      at += consumed;
      sent += consumed;
      if (at >= tx.count) at = 0;
      if (++cycles % 64 === 0) driver.pollBatch(driver.receive);
      if (cycles % 4096 === 0) await yieldToLoop();
    }
    const seconds = (performance.now() - start) / 1000;
    print({ sent, seconds, perSecond: sent / seconds, stats: driver.stats() });
  }
  driver.dispose();
  process.exit(0);
}

main().catch((error: unknown) => {
  print({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  driver?.dispose();
  process.exit(1);
});
