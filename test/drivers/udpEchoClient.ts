// The kernel side of dpdk.test.ts's driver-level checks: a plain UDP socket (node:dgram) in its own
// namespace that sends `count` numbered datagrams, one at a time, to the DPDK echo peer (unicast to
// its address, or to a multicast group it joined) and waits for each to come back intact (unicast:
// from the peer; multicast: to the group `replyPort` this socket joined). A datagram not back within
// 200 ms is sent again (the first ones may meet an empty ARP cache), at most 20 times. Prints one
// JSON line: {echoed, retries, mismatches}.
import * as dgram from "node:dgram";

interface ClientArgs {
  readonly target: string;
  readonly port: number;
  readonly count: number;
  /** Multicast: the group the echoes come back to, on replyPort, joined on interfaceIp. */
  readonly group?: string;
  readonly replyPort?: number;
  readonly interfaceIp: string;
}

const args = JSON.parse(process.argv[2] ?? "{}") as ClientArgs;
const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
const multicast = args.group !== undefined;
await new Promise<void>((resolve, reject) => {
  socket.once("error", reject);
  socket.bind(multicast ? args.replyPort! : 0, multicast ? args.group! : args.interfaceIp, resolve);
});
if (multicast) {
  socket.addMembership(args.group!, args.interfaceIp);
  socket.setMulticastInterface(args.interfaceIp);
  socket.setMulticastLoopback(false);
}
let waiting: ((message: Buffer) => void) | undefined;
socket.on("message", (message) => waiting?.(message));

function payload(index: number): Buffer {
  const length = 8 + (index % 1200);
  const out = Buffer.alloc(length);
  out.writeUInt32LE(index, 0);
  for (let i = 4; i < length; i++) out[i] = (index * 7 + i) & 255;
  return out;
}

let echoed = 0;
let retries = 0;
const mismatches: string[] = [];
for (let index = 0; index < args.count && mismatches.length === 0; index++) {
  const expected = payload(index);
  let ok = false;
  for (let attempt = 0; attempt < 20 && !ok; attempt++) {
    if (attempt > 0) retries++;
    const got = new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 200);
      waiting = (message) => {
        if (message.length >= 4 && message.readUInt32LE(0) !== index) return; // a late echo of an earlier try
        clearTimeout(timer);
        resolve(message);
      };
    });
    socket.send(expected, args.port, args.target);
    const message = await got;
    if (message === undefined) continue;
    if (!message.equals(expected)) mismatches.push(`datagram ${index} came back changed (${message.length} bytes)`);
    ok = true;
  }
  if (!ok) mismatches.push(`datagram ${index} never came back`);
  else echoed++;
}
process.stdout.write(`${JSON.stringify({ echoed, retries, mismatches })}\n`);
socket.close();
