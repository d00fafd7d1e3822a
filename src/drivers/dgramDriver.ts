// The pure-JavaScript fallback driver on node:dgram, for machines without the native addon. Same
// interface, same batches; far slower (one system call and one Buffer per datagram, and datagrams
// arrive only while the event loop turns), but it runs anywhere Node does.
//
// node:dgram binds asynchronously: open() returns at once (localPort is the requested port, or 0
// until an ephemeral bind completes; see ready()), and a bind failure surfaces through ready() and
// lastError() as a DriverError with Node's code and syscall.
import * as dgram from "node:dgram";
import { formatIpv4, parseIpv4 } from "../core/address.js";
import type { EndpointInfo } from "../core/engine/engine.js";
import { TransmitBatch } from "../core/transmitBatch.js";
import { DEFAULT_RECEIVE_SLOT_BYTES, DEFAULT_TRANSMIT_SLOT_BYTES, fitSocketSlots } from "./slots.js";
import type { Driver, DriverOptions, DriverStats, OpenedEndpoint } from "./driver.js";
import { DriverError } from "./driverError.js";
import { ReceiveBatch } from "./receiveBatch.js";

/** Received datagrams held between event-loop turns and pollBatch; beyond this they are dropped. */
const RECEIVE_QUEUE_MAX = 65_536;

interface Pending {
  bytes: Buffer;
  ip: number;
  port: number;
  endpointId: number;
}

export class DgramDriver implements Driver {
  readonly kind = "dgram" as const;
  readonly needsEventLoop = true;
  readonly receive: ReceiveBatch;
  private tx: TransmitBatch;
  private readonly fixedSlots: boolean;
  private readonly sockets = new Map<number, dgram.Socket>();
  private readonly binding: Promise<void>[] = [];
  private readonly bindings = new Map<number, Promise<void>>();
  private readonly queue: Pending[] = [];
  private queueHead = 0;
  private readonly ipText = new Map<number, string>();
  private error: DriverError | undefined;
  private counts = { datagramsSent: 0, datagramsReceived: 0, sendCalls: 0, receiveCalls: 0, dropped: 0, truncated: 0, errors: 0 };

  constructor(options: DriverOptions = {}) {
    this.tx = new TransmitBatch(options.transmitCapacity ?? 256, options.transmitSlotLength ?? DEFAULT_TRANSMIT_SLOT_BYTES);
    this.receive = new ReceiveBatch(options.receiveCapacity ?? 256, options.receiveSlotLength ?? DEFAULT_RECEIVE_SLOT_BYTES);
    this.fixedSlots = options.fixedSlots === true;
  }

  /** The transmit batch; fitMtu may replace it with one of longer slots. */
  get transmit(): TransmitBatch {
    return this.tx;
  }

  fitMtu(channel: string, mtuBytes: number, role: "send" | "receive"): void {
    this.tx = fitSocketSlots(channel, mtuBytes, role, this.tx, this.receive, this.fixedSlots);
  }

  open(endpoint: EndpointInfo): OpenedEndpoint {
    if (this.sockets.has(endpoint.id)) throw new DriverError("EEXIST", 17, "open", "endpoint already open", endpoint.id);
    const multicast = endpoint.multicastGroupIp !== 0;
    const socket = dgram.createSocket({
      type: "udp4",
      reuseAddr: multicast,
      ...(endpoint.socketRcvbufBytes > 0 ? { recvBufferSize: endpoint.socketRcvbufBytes } : {}),
      ...(endpoint.socketSndbufBytes > 0 ? { sendBufferSize: endpoint.socketSndbufBytes } : {}),
    });
    const id = endpoint.id;
    let local = { ip: endpoint.bindIp, port: endpoint.bindPort };
    socket.on("message", (bytes, rinfo) => {
      this.counts.receiveCalls++;
      if (this.queue.length - this.queueHead >= RECEIVE_QUEUE_MAX) {
        this.counts.dropped++;
        return;
      }
      this.queue.push({ bytes, ip: parseIpv4(rinfo.address), port: rinfo.port, endpointId: id });
    });
    const bound = new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        const typed = DriverError.fromNode(error, "bind", id);
        this.error = typed;
        this.counts.errors++;
        this.sockets.delete(id);
        socket.close();
        reject(typed);
      };
      socket.once("error", onError);
      socket.bind({ port: endpoint.bindPort, address: formatIpv4(multicast ? endpoint.multicastGroupIp : endpoint.bindIp), exclusive: !multicast }, () => {
        socket.off("error", onError);
        socket.on("error", (error) => {
          this.error = DriverError.fromNode(error, "send", id);
          this.counts.errors++;
        });
        const address = socket.address();
        local = { ip: parseIpv4(address.address), port: address.port };
        if (endpoint.ttl > 0) socket.setTTL(endpoint.ttl);
        if (endpoint.ttl > 0) socket.setMulticastTTL(endpoint.ttl);
        if (endpoint.interfaceIp !== 0) socket.setMulticastInterface(formatIpv4(endpoint.interfaceIp));
        if (multicast) {
          socket.addMembership(formatIpv4(endpoint.multicastGroupIp),
            endpoint.interfaceIp !== 0 ? formatIpv4(endpoint.interfaceIp) : undefined);
        }
        opened.localPort = local.port;
        resolve();
      });
    });
    // Handled here so that a failed bind nobody awaits is not an unhandled rejection (which ends
    // the process); ready() and bound() still reject with it.
    bound.catch(() => undefined);
    this.binding.push(bound);
    this.bindings.set(id, bound);
    this.sockets.set(id, socket);
    const opened = {
      id,
      role: endpoint.role,
      localIp: local.ip,
      localPort: local.port,
      rcvbufBytes: -1,
      sndbufBytes: -1,
      gro: false,
    };
    return opened;
  }

  close(endpointId: number): void {
    this.bindings.delete(endpointId);
    const socket = this.sockets.get(endpointId);
    if (socket === undefined) return;
    this.sockets.delete(endpointId);
    socket.close();
  }

  transmitBatch(batch: TransmitBatch, start = 0): number {
    if (batch !== this.tx) throw new RangeError("transmitBatch: pass this driver's own transmit batch");
    for (let i = start; i < batch.count; i++) {
      const socket = this.sockets.get(batch.endpointIds[i]!);
      if (socket === undefined) {
        this.counts.dropped++;
        continue;
      }
      const offset = batch.slotOffset(i);
      // node:dgram keeps the buffer until the send completes: the slot is reused at once, so copy.
      const copy = Buffer.from(batch.bytes.subarray(offset, offset + batch.lengths[i]!));
      socket.send(copy, batch.destinationPorts[i]!, this.addressText(batch.destinationIps[i]!));
      this.counts.sendCalls++;
      this.counts.datagramsSent++;
    }
    return batch.count - start;
  }

  pollBatch(batch: ReceiveBatch): number {
    if (batch !== this.receive) throw new RangeError("pollBatch: pass this driver's own receive batch");
    let count = 0;
    const queue = this.queue;
    while (this.queueHead < queue.length && count < batch.capacity) {
      const item = queue[this.queueHead]!;
      queue[this.queueHead++] = undefined as unknown as Pending;
      if (item.bytes.length > batch.slotLength) {
        // Counted and kept as lastError, naming the endpoint: never silent.
        this.counts.truncated++;
        this.counts.errors++;
        this.error = new DriverError("EMSGSIZE", 90, "recv", `a datagram of ${item.bytes.length} bytes from ${formatIpv4(item.ip)}:${item.port} ` +
          `does not fit a receive slot of ${batch.slotLength} bytes: dropped (truncated)`, item.endpointId);
        continue;
      }
      batch.bytes.set(item.bytes, count * batch.slotLength);
      batch.lengths[count] = item.bytes.length;
      batch.sourceIps[count] = item.ip;
      batch.sourcePorts[count] = item.port;
      batch.endpointIds[count] = item.endpointId;
      count++;
      this.counts.datagramsReceived++;
    }
    if (this.queueHead === queue.length) {
      queue.length = 0;
      this.queueHead = 0;
    }
    batch.count = count;
    return count;
  }

  async ready(): Promise<void> {
    await Promise.all(this.binding);
  }

  /**
   * Resolves when one endpoint's socket is bound, or rejects with its DriverError (bind, or the
   * multicast join): unlike ready(), another endpoint's failure does not reject it.
   */
  bound(endpointId: number): Promise<void> {
    return this.bindings.get(endpointId) ?? Promise.reject(new DriverError("ENOENT", 2, "open", "no such endpoint", endpointId));
  }

  stats(): DriverStats {
    return { ...this.counts, gsoSends: 0, groReceives: 0, wouldBlock: 0, sockets: this.sockets.size };
  }

  lastError(): DriverError | undefined {
    return this.error;
  }

  dispose(): void {
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  private addressText(ip: number): string {
    let text = this.ipText.get(ip);
    if (text === undefined) {
      text = formatIpv4(ip);
      this.ipText.set(ip, text);
    }
    return text;
  }
}
