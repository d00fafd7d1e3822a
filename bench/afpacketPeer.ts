// One side of `npm run bench afpacket`, run in a network namespace: a driver-level sender (batches
// of 64 datagrams through transmitBatch, flat out for the duration) or receiver (pollBatch,
// counting), on the AF_PACKET driver (Petrel's netstack on PACKET_MMAP rings) or the native sockets
// driver. No Petrel protocol: this measures the drivers, as the C reference figures do.
// Prints one JSON line when ready and one with its result.
import type { EndpointInfo } from "../src/core/engine/engine.js";
import { createAfPacketDriver } from "../src/drivers/afPacketDriver.js";
import type { Driver } from "../src/drivers/driver.js";
import type { NetstackDriver } from "../src/drivers/netstack/netstackDriver.js";
import { createSocketsDriver } from "../src/drivers/socketsDriver.js";

interface Args {
  readonly role: "send" | "receive";
  readonly driver: "af_packet" | "sockets";
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

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as Args;
  let netstack: NetstackDriver | undefined;
  const driver: Driver = args.driver === "af_packet"
    ? (netstack = createAfPacketDriver({ interfaceName: args.iface, ip: args.ip, gro: false, gso: false }))
    : createSocketsDriver({ prefer: "native", gso: false, gro: false });
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
  process.exit(1);
});
