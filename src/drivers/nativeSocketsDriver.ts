// The native sockets driver (native/src/sockets.cc) behind the Driver interface: non-blocking UDP
// sockets, sendmmsg/recvmmsg over the batches' own memory, UDP GSO and GRO where the kernel has
// them. Each transmitBatch/pollBatch is exactly one call into C++.
import type { EndpointInfo } from "../core/engine/engine.js";
import { TransmitBatch } from "../core/transmitBatch.js";
import type { Driver, DriverOptions, DriverStats, OpenedEndpoint } from "./driver.js";
import { DriverError, isSyscallErrorShape, nativeCount } from "./driverError.js";
import type { NativeAddon, NativeSocketsDriver as NativeHandle } from "./nativeAddon.js";
import { ReceiveBatch } from "./receiveBatch.js";
import { DEFAULT_RECEIVE_SLOT_BYTES, DEFAULT_TRANSMIT_SLOT_BYTES, fitSocketSlots } from "./slots.js";

export class NativeSocketsDriver implements Driver {
  readonly kind = "native-sockets" as const;
  readonly needsEventLoop = false;
  readonly receive: ReceiveBatch;
  /** Whether this kernel accepts UDP_SEGMENT / UDP_GRO, and whether they are in use. */
  readonly gso: boolean;
  readonly gro: boolean;
  private readonly handle: NativeHandle;
  private readonly fixedSlots: boolean;
  private tx: TransmitBatch;
  private disposed = false;

  constructor(addon: NativeAddon, options: DriverOptions = {}) {
    this.tx = new TransmitBatch(options.transmitCapacity ?? 256, options.transmitSlotLength ?? DEFAULT_TRANSMIT_SLOT_BYTES);
    this.receive = new ReceiveBatch(options.receiveCapacity ?? 256, options.receiveSlotLength ?? DEFAULT_RECEIVE_SLOT_BYTES);
    this.fixedSlots = options.fixedSlots === true;
    const probe = addon.probeUdpOffload();
    this.gso = (options.gso ?? true) && probe.gso;
    this.gro = (options.gro ?? true) && probe.gro;
    const tx = this.transmit;
    const rx = this.receive;
    this.handle = new addon.SocketsDriver(
      tx.bytes, tx.lengths, tx.destinationIps, tx.destinationPorts, tx.endpointIds, tx.capacity, tx.slotLength,
      rx.bytes, rx.lengths, rx.sourceIps, rx.sourcePorts, rx.endpointIds, rx.capacity, rx.slotLength,
      this.gso, this.gro);
  }

  /** The transmit batch; fitMtu may replace it with one of longer slots. */
  get transmit(): TransmitBatch {
    return this.tx;
  }

  fitMtu(channel: string, mtuBytes: number, role: "send" | "receive"): void {
    const batch = fitSocketSlots(channel, mtuBytes, role, this.tx, this.receive, this.fixedSlots);
    if (batch === this.tx) return;
    this.handle.setTransmit(batch.bytes, batch.lengths, batch.destinationIps, batch.destinationPorts, batch.endpointIds,
      batch.capacity, batch.slotLength);
    this.tx = batch;
  }

  open(endpoint: EndpointInfo): OpenedEndpoint {
    this.checkLive();
    const result = this.handle.open(endpoint.id, endpoint.bindIp, endpoint.bindPort, endpoint.socketRcvbufBytes,
      endpoint.socketSndbufBytes, endpoint.ttl, endpoint.multicastGroupIp, endpoint.interfaceIp);
    if (isSyscallErrorShape(result)) throw DriverError.fromSyscall(result, endpoint.id);
    return {
      id: endpoint.id,
      role: endpoint.role,
      localIp: result.ip,
      localPort: result.port,
      rcvbufBytes: result.rcvbufBytes,
      sndbufBytes: result.sndbufBytes,
      gro: result.gro,
    };
  }

  close(endpointId: number): void {
    if (!this.disposed) this.handle.close(endpointId);
  }

  transmitBatch(batch: TransmitBatch, start = 0): number {
    if (batch !== this.tx) throw new RangeError("transmitBatch: pass this driver's own transmit batch");
    if (start >= batch.count) return 0;
    return nativeCount(this.handle.send(start, batch.count));
  }

  pollBatch(batch: ReceiveBatch): number {
    if (batch !== this.receive) throw new RangeError("pollBatch: pass this driver's own receive batch");
    batch.count = 0;
    const count = nativeCount(this.handle.receive());
    batch.count = count;
    return count;
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  stats(): DriverStats {
    return this.handle.stats();
  }

  lastError(): DriverError | undefined {
    const error = this.handle.lastError();
    return error === null ? undefined : DriverError.fromSyscall(error);
  }

  waitForReceive(timeoutMs: number): boolean {
    return this.handle.wait(timeoutMs);
  }

  /** See Driver.armWake; throws DriverError when the waker cannot start (epoll, eventfd, thread). */
  armWake(callback: () => void): "armed" | "ready" {
    const result = this.handle.armWake(callback);
    if (typeof result === "boolean") return result ? "armed" : "ready";
    throw DriverError.fromSyscall(result);
  }

  disarmWake(): void {
    this.handle.disarmWake();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.handle.closeAll();
  }

  private checkLive(): void {
    if (this.disposed) throw new DriverError("EBADF", 9, "open", "the driver was disposed");
  }
}
