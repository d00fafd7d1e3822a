// `npx tsx bench/uringDriverLevel.ts [rounds] [size]`: the io_uring and sockets drivers alone (no
// engine), one process: a sender fills its transmit batch with `size`-byte datagrams to one
// destination and transmits, a receiver of the same kind polls, alternately, for 300 ms per round;
// rounds alternate the drivers and the median per-round ratio is printed (datagrams/s received).
// A check of the packet path itself, less sensitive than the two-process bench to a shared machine.
import { ipv4 } from "../src/core/address.js";
import type { EndpointInfo } from "../src/core/engine/engine.js";
import type { Driver } from "../src/drivers/driver.js";
import { createSocketsDriver } from "../src/drivers/socketsDriver.js";

const LOCALHOST = ipv4(127, 0, 0, 1);
const rounds = Number(process.argv[2] ?? 9);
const size = Number(process.argv[3] ?? 1408);
const ep = (id: number, role: "send" | "receive"): EndpointInfo => ({ id, role, channel: "aeron:udp?endpoint=127.0.0.1:0", bindIp: LOCALHOST,
  bindPort: 0, socketRcvbufBytes: 4 << 20, socketSndbufBytes: 4 << 20, ttl: 0, multicastGroupIp: 0, interfaceIp: 0 });

function round(kind: "sockets" | "io_uring"): number {
  const a: Driver = createSocketsDriver({ driver: kind, prefer: "native" });
  const b: Driver = createSocketsDriver({ driver: kind, prefer: "native" });
  a.open(ep(1, "send"));
  const to = b.open(ep(2, "receive"));
  let received = 0;
  const start = performance.now();
  while (performance.now() - start < 300) {
    const tx = a.transmit;
    tx.clear();
    while (tx.count < tx.capacity) tx.commit(tx.claim(1, LOCALHOST, to.localPort), size);
    let sent = 0;
    for (let spins = 0; sent < tx.count && spins < 64; spins++) {
      sent += a.transmitBatch(tx, sent);
      received += b.pollBatch(b.receive);
    }
    for (let k = 0; k < 4; k++) received += b.pollBatch(b.receive);
  }
  const rate = received / ((performance.now() - start) / 1000);
  a.dispose();
  b.dispose();
  return rate;
}

const ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const s = round("sockets");
  const u = round("io_uring");
  ratios.push(u / s);
  console.log(`round ${r}: sockets ${(s / 1e6).toFixed(3)} M/s, io_uring ${(u / 1e6).toFixed(3)} M/s, ratio ${(u / s).toFixed(2)}`);
}
const sorted = [...ratios].sort((x, y) => x - y);
console.log(`${size} B datagrams: median io_uring/sockets ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}x over ${rounds} rounds`);
