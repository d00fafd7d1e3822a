// The io_uring driver (native/src/uring.cc) behind the Driver interface: the same UDP sockets and
// batch ABI as the sockets driver, moved through one io_uring per driver. Sends are SENDMSG (or
// SENDMSG_ZC) submissions, one per GSO run, one enter per batch (none with SQPOLL while the poller
// is awake);
// receives are multishot recvmsg over a provided-buffer ring, or re-armed single-shot recvmsg where
// multishot is missing (or forceSingleShotRecv asks). Each transmitBatch/pollBatch is one call into
// C++. features() says what the kernel offered and what the driver fell back to.
//
// GSO/GRO as in the sockets driver: one SENDMSG per GSO run (equal-size datagrams to one destination,
// the last may be shorter; full+tail pairs as two runs) with a UDP_SEGMENT cmsg, and UDP_GRO on every
// socket with the gso_size cmsg read from each multishot completion, the coalesced payload split
// back into one slot per datagram. GRO needs 64 KiB provided buffers, so the default ring is 256 of
// them (16.0 MiB mapped; resident only as far as receives touch it).
//
// Gotchas: the ring is single-issuer (IORING_SETUP_SINGLE_ISSUER): use a driver only from the thread
// that created it.
import type { EndpointInfo } from "../core/engine/engine.js";
import { TransmitBatch } from "../core/transmitBatch.js";
import type { Driver, DriverOptions, DriverStats, OpenedEndpoint } from "./driver.js";
import { DriverError, isSyscallErrorShape, nativeCount } from "./driverError.js";
import { NativeAddonUnavailableError, tryLoadNativeAddon, type NativeAddon } from "./nativeAddon.js";
import { uringConstructor, type NativeUringHandle, type NativeUringStats, type UringFeatures } from "./nativeUring.js";
import { ReceiveBatch } from "./receiveBatch.js";
import { DEFAULT_RECEIVE_SLOT_BYTES, DEFAULT_TRANSMIT_SLOT_BYTES, fitSocketSlots } from "./slots.js";

export type { UringFeatures } from "./nativeUring.js";

export interface UringDriverOptions extends DriverOptions {
  /** Submission queue entries: a power of two in 8..4096 (default 512: a 256-slot batch and re-arms). */
  readonly sqEntries?: number;
  /** Completion queue entries: a power of two in sqEntries..65536 (default 4096). */
  readonly cqEntries?: number;
  /** A kernel thread polls the SQ (IORING_SETUP_SQPOLL): sends need no system call while it is awake. */
  readonly sqpoll?: boolean;
  /** How long the SQPOLL thread spins without work before it sleeps (default 1000 ms; 0..60000). */
  readonly sqThreadIdleMs?: number;
  /** Zero-copy sends (SENDMSG_ZC). On loopback and veth the kernel copies anyway and it is slower. */
  readonly sendZc?: boolean;
  /** Never use multishot recvmsg: single-shot requests re-armed per buffer (the old-kernel path). */
  readonly forceSingleShotRecv?: boolean;
  /**
   * Receive buffers (provided-buffer ring entries): a power of two in 16..32768. Default 256 with GRO
   * (each buffer 64 KiB + headers), 1024 without (each a receive slot + headers).
   */
  readonly bufferCount?: number;
  /** UDP_SEGMENT (GSO) sends where the socket accepts them (default true). */
  readonly gso?: boolean;
  /** UDP_GRO receives on multishot recvmsg (default true; off in the single-shot fallback). */
  readonly gro?: boolean;
}

export type UringStats = DriverStats & Omit<NativeUringStats, keyof DriverStats>;

/** io_uring cannot be used here: the addon is missing or was built without liburing (code ENOTSUP). */
export class UringUnavailableError extends DriverError {
  constructor(detail: string) {
    super("ENOTSUP", 95, "io_uring(build)", detail);
  }
}

export class UringDriver implements Driver {
  readonly kind = "io_uring" as const;
  readonly needsEventLoop = false;
  readonly receive: ReceiveBatch;
  private readonly handle: NativeUringHandle;
  private readonly fixedSlots: boolean;
  private tx: TransmitBatch;
  private readonly found: UringFeatures;
  private disposed = false;

  /** Throws DriverError: EINVAL for bad ring sizes, EPERM/ENOSYS when io_uring is forbidden or missing. */
  constructor(addon: NativeAddon, options: UringDriverOptions = {}) {
    const Native = uringConstructor(addon);
    if (Native === undefined) {
      throw new UringUnavailableError("the native addon was built without liburing (install liburing-dev and pkg-config, then `npm run build:native`)");
    }
    this.tx = new TransmitBatch(options.transmitCapacity ?? 256, options.transmitSlotLength ?? DEFAULT_TRANSMIT_SLOT_BYTES);
    this.receive = new ReceiveBatch(options.receiveCapacity ?? 256, options.receiveSlotLength ?? DEFAULT_RECEIVE_SLOT_BYTES);
    this.fixedSlots = options.fixedSlots === true;
    const tx = this.tx;
    const rx = this.receive;
    this.handle = new Native(
      tx.bytes, tx.lengths, tx.destinationIps, tx.destinationPorts, tx.endpointIds, tx.capacity, tx.slotLength,
      rx.bytes, rx.lengths, rx.sourceIps, rx.sourcePorts, rx.endpointIds, rx.capacity, rx.slotLength);
    const gro = options.gro ?? true;
    const result = this.handle.setup(options.sqEntries ?? 512, options.cqEntries ?? 4096, options.sqpoll ?? false,
      options.sqThreadIdleMs ?? 1000, options.sendZc ?? false, options.forceSingleShotRecv ?? false,
      options.bufferCount ?? (gro ? 256 : 1024), options.gso ?? true, gro);
    if (isSyscallErrorShape(result)) throw DriverError.fromSyscall(result);
    this.found = result;
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

  /** What this kernel offered and what the driver uses or fell back to. */
  features(): UringFeatures {
    return this.found;
  }

  open(endpoint: EndpointInfo): OpenedEndpoint {
    if (this.disposed) throw new DriverError("EBADF", 9, "open", "the driver was disposed");
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
    if (start >= batch.count || this.disposed) return 0;
    return nativeCount(this.handle.send(start, batch.count));
  }

  pollBatch(batch: ReceiveBatch): number {
    if (batch !== this.receive) throw new RangeError("pollBatch: pass this driver's own receive batch");
    batch.count = 0;
    const count = this.disposed ? 0 : nativeCount(this.handle.receive());
    batch.count = count;
    return count;
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  stats(): UringStats {
    return this.handle.stats();
  }

  lastError(): DriverError | undefined {
    const error = this.handle.lastError();
    return error === null ? undefined : DriverError.fromSyscall(error);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.handle.closeAll();
  }
}

/** Creates the io_uring driver, or throws DriverError (UringUnavailableError when the addon lacks it). */
export function createUringDriver(options: UringDriverOptions = {}): UringDriver {
  const addon = tryLoadNativeAddon();
  if (addon instanceof NativeAddonUnavailableError) throw new UringUnavailableError(addon.message);
  return new UringDriver(addon, options);
}

/**
 * io_uring settings from the environment, for processes started by benchmarks and tests with
 * PETREL_DRIVER=io_uring: PETREL_URING_SQPOLL=1, PETREL_URING_SQ_IDLE_MS=N, PETREL_URING_SEND_ZC=1,
 * PETREL_URING_SINGLE_SHOT=1, PETREL_URING_GSO=0, PETREL_URING_GRO=0.
 */
export function uringOptionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): UringDriverOptions {
  const idle = env["PETREL_URING_SQ_IDLE_MS"];
  return {
    ...(idle !== undefined && idle !== "" ? { sqThreadIdleMs: Number(idle) } : {}),
    sqpoll: env["PETREL_URING_SQPOLL"] === "1",
    sendZc: env["PETREL_URING_SEND_ZC"] === "1",
    forceSingleShotRecv: env["PETREL_URING_SINGLE_SHOT"] === "1",
    gso: env["PETREL_URING_GSO"] !== "0",
    gro: env["PETREL_URING_GRO"] !== "0",
  };
}
