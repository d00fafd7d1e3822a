// The driver contract: what moves datagrams between an Engine and a network. See docs/DRIVERS.md.
//
// A driver is created with the two batches it serves (a TransmitBatch the engine fills and a
// ReceiveBatch the driver fills) and keeps them for its life: a native driver takes their memory
// once and reads and writes it in place, so one crossing from JavaScript serves a whole batch.
// Everything per datagram is typed arrays; nothing on the per-batch path allocates or throws.
// Cold-path failures (opening an endpoint) throw DriverError; hot-path failures (a datagram the
// kernel refused) are counted in stats() and kept in lastError().
import type { EndpointInfo } from "../core/engine/engine.js";
import type { TransmitBatch } from "../core/transmitBatch.js";
import type { DriverError } from "./driverError.js";
import type { ReceiveBatch } from "./receiveBatch.js";

/** A socket (or a netstack port) the driver opened for an engine endpoint. */
export interface OpenedEndpoint {
  readonly id: number;
  readonly role: "send" | "receive";
  /** The bound local address (u32) and port (the ephemeral port the kernel chose when bindPort was 0). */
  readonly localIp: number;
  readonly localPort: number;
  /** Socket buffer sizes as the kernel reports them (-1 when unknown). */
  readonly rcvbufBytes: number;
  readonly sndbufBytes: number;
  /** Whether coalesced receive (UDP GRO) is on for this endpoint. */
  readonly gro: boolean;
}

export interface DriverStats {
  readonly datagramsSent: number;
  readonly datagramsReceived: number;
  /** Calls into the kernel (sendmmsg/recvmmsg, or one per datagram for node:dgram). */
  readonly sendCalls: number;
  readonly receiveCalls: number;
  /** GSO sends (one call carrying many datagrams) and GRO receives (one read carrying many). */
  readonly gsoSends: number;
  readonly groReceives: number;
  /** Sends that stopped because the socket buffer was full (the rest stayed for the next call). */
  readonly wouldBlock: number;
  /** Datagrams dropped after a hard send error, or because the receive queue overflowed. */
  readonly dropped: number;
  /** Received datagrams longer than a receive slot (dropped; the latest is in lastError(), EMSGSIZE). */
  readonly truncated: number;
  readonly errors: number;
  readonly sockets: number;
}

export type DriverKind = "native-sockets" | "dgram" | "af_packet" | "netstack" | "io_uring" | "dpdk";

export interface Driver {
  readonly kind: DriverKind;
  readonly transmit: TransmitBatch;
  readonly receive: ReceiveBatch;
  /**
   * True when datagrams arrive only while Node's event loop turns (node:dgram): a runtime on such a
   * driver must yield to the loop regularly instead of spinning.
   */
  readonly needsEventLoop: boolean;
  /** Opens the socket for an engine endpoint (bind, buffer sizes, TTL). Throws DriverError. */
  open(endpoint: EndpointInfo): OpenedEndpoint;
  /** Closes an endpoint's socket; unknown ids are ignored. */
  close(endpointId: number): void;
  /**
   * Sends slots [start, batch.count) of `batch` (the driver's own transmit batch). Returns how many
   * slots were consumed from `start`: sent, or dropped after a hard error (counted). Fewer than
   * asked means the socket buffer is full: call again later with start advanced by the result.
   */
  transmitBatch(batch: TransmitBatch, start?: number): number;
  /** Fills `batch` (the driver's own receive batch) from slot 0; sets and returns batch.count. */
  pollBatch(batch: ReceiveBatch): number;
  /** Resolves when every endpoint opened so far is bound (node:dgram binds asynchronously). */
  ready(): Promise<void>;
  stats(): DriverStats;
  /** The most recent hot-path failure (send, receive, asynchronous bind), or undefined. */
  lastError(): DriverError | undefined;
  /**
   * Blocks the thread until a datagram can be read or `timeoutMs` (0..1000) passes; true when one
   * can. Only drivers that can block in the kernel have it (the native one: poll(2)); it stops the
   * event loop while it waits, so it suits a thread or process that runs nothing but the agent.
   */
  waitForReceive?(timeoutMs: number): boolean;
  /**
   * Asks to be told, without blocking the thread, when a datagram can be read: "armed" means
   * `callback` runs once, from the event loop, when one can (a helper thread watches the sockets);
   * "ready" means one can already (run a duty cycle instead of waiting). disarmWake() cancels; a
   * callback already on its way may still run, and is to be taken as a spurious wake. Only the
   * native sockets driver has it: an idle client then costs no CPU and no timer.
   */
  armWake?(callback: () => void): "armed" | "ready";
  disarmWake?(): void;
  /**
   * Makes the driver able to carry a channel's datagrams of up to `mtuBytes` ("send": a
   * publication's mtu; "receive": an mtu the subscription's channel names). Grows the transmit slots
   * where it can (then `transmit` is a new batch that holds the slots still to send: read it again);
   * otherwise throws SlotTooSmallError naming the channel, the mtu and the slot length. EngineRuntime
   * calls it when a publication or subscription is added (Engine.setTransportCheck). Drivers without
   * it are checked against their slot lengths, which do not grow.
   */
  fitMtu?(channel: string, mtuBytes: number, role: "send" | "receive"): void;
  /** Closes every socket. The driver cannot be used afterwards. */
  dispose(): void;
}

export interface DriverOptions {
  /**
   * Slots and slot size of the two batches. Defaults: 256 slots each way; transmit slots of 2048
   * bytes that grow to a publication's mtu, receive slots of 65504 bytes (Aeron's largest mtu: a
   * publisher's SETUP chooses the mtu, so any frame must fit). See docs/DRIVERS.md.
   */
  readonly transmitCapacity?: number;
  readonly transmitSlotLength?: number;
  readonly receiveCapacity?: number;
  readonly receiveSlotLength?: number;
  /**
   * Never grow the transmit slots (default false): adding a publication whose mtu exceeds
   * transmitSlotLength then fails at once with SlotTooSmallError.
   */
  readonly fixedSlots?: boolean;
  /** Use UDP GSO / UDP GRO where the kernel has them (default true). */
  readonly gso?: boolean;
  readonly gro?: boolean;
}
