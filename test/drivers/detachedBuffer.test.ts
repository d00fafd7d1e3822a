// Goal: the native addon never reads or writes memory it no longer owns (issue #11, attack 5). A
// native driver takes its batches' typed arrays once and uses them in place; the application can
// still detach (transfer) any of their ArrayBuffers, and once the new owner is collected the memory
// is freed. Before the fix the next receive let recvmmsg write into the freed memory (ASan:
// heap-use-after-free in SocketsDriver::Receive). Here every array of both batches is detached in
// turn, at each point the addon would use it (a send with slots filled, a receive with datagrams
// waiting in the socket, in GRO staging, in io_uring's completion queue, in the AF_PACKET rings),
// the detached memory is collected, and the call must throw a typed DriverError (code EFAULT, naming
// the batch and the array), keep throwing, leave lastError() saying so, and crash nothing. The other
// direction keeps working. CI runs this file under AddressSanitizer (.ci/run), where any touch of
// the freed memory is a report and a failed run.
import { spawnSync } from "node:child_process";
import v8 from "node:v8";
import vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { ipv4 } from "../../src/core/address.js";
import type { EndpointInfo } from "../../src/core/engine/engine.js";
import type { TransmitBatch } from "../../src/core/transmitBatch.js";
import { AfPacketFramePort } from "../../src/drivers/afPacketDriver.js";
import type { Driver } from "../../src/drivers/driver.js";
import { DriverError } from "../../src/drivers/driverError.js";
import { NativeAddonUnavailableError, tryLoadNativeAddon } from "../../src/drivers/nativeAddon.js";
import { NativeSocketsDriver } from "../../src/drivers/nativeSocketsDriver.js";
import { uringConstructor } from "../../src/drivers/nativeUring.js";
import { FrameBatch } from "../../src/drivers/netstack/framePort.js";
import { createUringDriver } from "../../src/drivers/uringDriver.js";

const LOCALHOST = ipv4(127, 0, 0, 1);
const addon = tryLoadNativeAddon();
const native = !(addon instanceof NativeAddonUnavailableError);
const required = process.env["PETREL_REQUIRE_NATIVE"] === "1" || process.env["CI"] === "true";
const uring = native && uringConstructor(addon) !== undefined;
const root = process.getuid?.() === 0 && spawnSync("ip", ["-V"], { stdio: "ignore" }).status === 0;
if (!native && !required) console.warn("detached-buffer tests SKIPPED: the native addon is missing");
if (native && !uring && !required) console.warn("detached-buffer io_uring tests SKIPPED: the addon was built without liburing");
if (native && !root && !required) console.warn("detached-buffer AF_PACKET tests SKIPPED: they need root and iproute2 (CI runs them)");

// A real collection, so that the detached memory is freed before the addon is called again: global
// gc when node runs with --expose-gc, otherwise the flag set now and gc taken from a new context.
v8.setFlagsFromString("--expose-gc");
const gc = (globalThis as { gc?: () => void }).gc ?? (vm.runInNewContext("gc") as () => void);

async function collect(): Promise<void> {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

/** Transfers the view's ArrayBuffer away and drops the new owner: its memory is freed at the next GC. */
function detach(view: ArrayBufferView): void {
  const buffer = view.buffer as ArrayBuffer;
  structuredClone(buffer, { transfer: [buffer] });
  expect(buffer.byteLength, "the buffer is detached").toBe(0);
}

function endpoint(id: number, role: "send" | "receive"): EndpointInfo {
  return { id, role, channel: "aeron:udp?endpoint=127.0.0.1:0", bindIp: LOCALHOST, bindPort: 0, socketRcvbufBytes: 1 << 20,
    socketSndbufBytes: 0, ttl: 0, multicastGroupIp: 0, interfaceIp: 0 };
}

function fill(batch: TransmitBatch, endpointId: number, port: number, count: number, length: number): void {
  batch.clear();
  for (let k = 0; k < count; k++) {
    const slot = batch.claim(endpointId, LOCALHOST, port);
    batch.bytes.fill(slot + 1, batch.slotOffset(slot), batch.slotOffset(slot) + length);
    batch.commit(slot, length);
  }
}

function expectDetachedError(call: () => unknown, batch: string, array: string): void {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error, "the call must throw").toBeInstanceOf(DriverError);
  const driverError = error as DriverError;
  expect(driverError.code).toBe("EFAULT");
  expect(driverError.errno).toBe(14);
  expect(driverError.message).toContain(`the ${batch} batch's ${array} array was detached`);
}

/** Polls until `want` datagrams were received (or 3 s passed); returns the count. */
async function receive(d: Driver, want: number): Promise<number> {
  let got = 0;
  const deadline = performance.now() + 3000;
  while (got < want && performance.now() < deadline) {
    const n = d.pollBatch(d.receive);
    for (let i = 0; i < n; i++) expect(d.receive.bytes[d.receive.slotOffset(i)]).toBeGreaterThan(0);
    got += n;
    if (n === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return got;
}

// The batch arrays in the native order (BatchView::held), with the name the addon reports.
const TRANSMIT_ARRAYS = [["bytes", "bytes"], ["lengths", "lengths"], ["destinationIps", "ips"], ["destinationPorts", "ports"],
  ["endpointIds", "endpointIds"]] as const;
const RECEIVE_ARRAYS = [["bytes", "bytes"], ["lengths", "lengths"], ["sourceIps", "ips"], ["sourcePorts", "ports"],
  ["endpointIds", "endpointIds"]] as const;

interface Backend {
  readonly name: string;
  readonly available: boolean;
  readonly sendCall: string;
  readonly receiveCall: string;
  make(): Driver;
}

const backends: Backend[] = [
  { name: "native sockets, GSO/GRO", available: native, sendCall: "sendmmsg", receiveCall: "recvmmsg",
    make: () => new NativeSocketsDriver(addon as Exclude<typeof addon, NativeAddonUnavailableError>, { receiveCapacity: 4, gso: true, gro: true }) },
  { name: "native sockets, plain", available: native, sendCall: "sendmmsg", receiveCall: "recvmmsg",
    make: () => new NativeSocketsDriver(addon as Exclude<typeof addon, NativeAddonUnavailableError>, { receiveCapacity: 4, gso: false, gro: false }) },
  { name: "io_uring", available: uring, sendCall: "sendmsg", receiveCall: "recvmsg", make: () => createUringDriver({ receiveCapacity: 4 }) },
];

const drivers: Array<{ dispose(): void }> = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.dispose();
});

describe("a detached batch buffer is a typed error, never a use after free", () => {
  for (const backend of backends) {
    const run = backend.available || required ? it : it.skip;
    for (const [field, name] of TRANSMIT_ARRAYS) {
      run(`${backend.name}: transmit ${field} detached before a send`, async () => {
        const d = backend.make();
        drivers.push(d);
        const rx = d.open(endpoint(1, "receive"));
        d.open(endpoint(2, "send"));
        fill(d.transmit, 2, rx.localPort, 8, 1000);
        expect(d.transmitBatch(d.transmit)).toBe(8);
        // Slots filled again, then their memory taken away before the send.
        fill(d.transmit, 2, rx.localPort, 8, 1000);
        detach(d.transmit[field]);
        await collect();
        expectDetachedError(() => d.transmitBatch(d.transmit), "transmit", name);
        expectDetachedError(() => d.transmitBatch(d.transmit), "transmit", name);
        expect(d.lastError()?.code).toBe("EFAULT");
        expect(d.lastError()?.syscall).toBe(backend.sendCall);
        // Receiving does not touch the transmit batch: the first eight still arrive.
        expect(await receive(d, 8)).toBe(8);
      });
    }
    for (const [field, name] of RECEIVE_ARRAYS) {
      run(`${backend.name}: receive ${field} detached with datagrams waiting`, async () => {
        const d = backend.make();
        drivers.push(d);
        const rx = d.open(endpoint(1, "receive"));
        d.open(endpoint(2, "send"));
        // 40 equal datagrams: one GSO send, one GRO read; the 4-slot batch leaves most of them
        // waiting (staged, queued as completions, or still in the socket) for the next receive.
        fill(d.transmit, 2, rx.localPort, 40, 1000);
        expect(d.transmitBatch(d.transmit)).toBe(40);
        expect(await receive(d, 1)).toBeGreaterThan(0);
        detach(d.receive[field]);
        await collect();
        expectDetachedError(() => d.pollBatch(d.receive), "receive", name);
        expectDetachedError(() => d.pollBatch(d.receive), "receive", name);
        expect(d.receive.count).toBe(0);
        expect(d.lastError()?.code).toBe("EFAULT");
        expect(d.lastError()?.syscall).toBe(backend.receiveCall);
        // Sending does not touch the receive batch.
        fill(d.transmit, 2, rx.localPort, 1, 100);
        expect(d.transmitBatch(d.transmit)).toBe(1);
      });
    }
  }

  // AF_PACKET over a veth pair made (and deleted) here: port A sends raw frames out of one end,
  // port B receives them on the other.
  const runAfPacket = (native && root) || required ? it : it.skip;
  const FRAME_FIELDS = [["bytes", "bytes"], ["lengths", "lengths"], ["flags", "flags"], ["timestampsNs", "timestampsNs"]] as const;
  runAfPacket("AF_PACKET: each frame batch array detached before a send and a receive", async () => {
    const a = `pdt${process.pid % 100000}a`;
    const b = `pdt${process.pid % 100000}b`;
    const ipRun = (...args: string[]): void => {
      const r = spawnSync("ip", args, { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
    };
    ipRun("link", "add", a, "type", "veth", "peer", "name", b);
    try {
      for (const dev of [a, b]) {
        spawnSync("sysctl", ["-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
        ipRun("link", "set", dev, "up");
      }
      const open = (name: string): { port: AfPacketFramePort; tx: FrameBatch; rx: FrameBatch } => {
        const tx = new FrameBatch(8, 2048);
        const rx = new FrameBatch(8, 2048);
        const port = new AfPacketFramePort(tx, rx, { interfaceName: name, blockCount: 4, txFrameCount: 16 });
        drivers.push(port);
        return { port, tx, rx };
      };
      const frame = (tx: FrameBatch): void => {
        // A broadcast frame of a local experimental EtherType (0x88b5): nothing on the host answers it.
        tx.count = 0;
        for (let k = 0; k < 4; k++) {
          const offset = tx.slotOffset(k);
          tx.bytes.fill(0xff, offset, offset + 6);
          tx.bytes.fill(0x02, offset + 6, offset + 12);
          tx.bytes[offset + 12] = 0x88;
          tx.bytes[offset + 13] = 0xb5;
          tx.bytes.fill(k + 1, offset + 14, offset + 64);
          tx.lengths[k] = 64;
          tx.count = k + 1;
        }
      };
      for (const [field, name] of FRAME_FIELDS) {
        const sender = open(a);
        const receiver = open(b);
        frame(sender.tx);
        expect(sender.port.sendFrames(sender.tx, 0)).toBe(4);
        // Take what arrived (a block is handed over after 1 ms), then send more to leave waiting.
        await new Promise((resolve) => setTimeout(resolve, 10));
        receiver.port.receiveFrames(receiver.rx);
        frame(sender.tx);
        expect(sender.port.sendFrames(sender.tx, 0)).toBe(4);
        await new Promise((resolve) => setTimeout(resolve, 10));
        detach(sender.tx[field]);
        detach(receiver.rx[field]);
        await collect();
        expectDetachedError(() => sender.port.sendFrames(sender.tx, 0), "transmit frame", name);
        expectDetachedError(() => receiver.port.receiveFrames(receiver.rx), "receive frame", name);
        expect(receiver.rx.count).toBe(0);
        sender.port.dispose();
        receiver.port.dispose();
      }
    } finally {
      spawnSync("ip", ["link", "del", a]);
    }
  });
});
