// The io_uring part of Petrel's native addon (native/src/uring.cc), typed. The addon carries it only
// when it was built with liburing (CMake's pkg-config found it); `uring` says whether it did.
import type { NativeAddon, NativeOpenResult, NativeSyscallError } from "./nativeAddon.js";

export interface NativeUringStats {
  readonly datagramsSent: number;
  readonly datagramsReceived: number;
  readonly sendCalls: number;
  readonly receiveCalls: number;
  /** SENDMSG submissions that carried a UDP_SEGMENT cmsg (one GSO run each). */
  readonly gsoSends: number;
  /** Multishot completions that carried a UDP_GRO cmsg (a coalesced receive, split into slots). */
  readonly groReceives: number;
  /** Datagrams split out of GRO-coalesced receives. */
  readonly groDatagrams: number;
  /** SENDMSG submissions that completed (each a GSO run or one datagram). */
  readonly messagesSent: number;
  /** Full-size + tail pair runs sent as two GSO runs. */
  readonly pairRuns: number;
  /** Receives dropped because their cmsg did not fit (MSG_CTRUNC): also counted in truncated. */
  readonly controlTruncated: number;
  readonly wouldBlock: number;
  readonly dropped: number;
  readonly truncated: number;
  readonly errors: number;
  readonly sockets: number;
  /** CQEs handled (sends, receives, zero-copy notifications, cancels). */
  readonly completions: number;
  /** Receive requests armed (a multishot recvmsg ends on ENOBUFS and is re-armed by the next poll). */
  readonly receiveArms: number;
  /** Multishot receives that ended because every provided buffer was waiting to be copied out. */
  readonly noBuffers: number;
  readonly zcNotifications: number;
}

/** What the ring setup found on this kernel and what it fell back to. */
export interface UringFeatures {
  /** IORING_SETUP_* flags the ring was created with (names without the prefix). */
  readonly setupFlags: ReadonlyArray<string>;
  /** IORING_FEAT_* bits the kernel reported (names without the prefix). */
  readonly kernelFeatures: ReadonlyArray<string>;
  readonly opcodes: { readonly sendmsg: boolean; readonly recvmsg: boolean; readonly asyncCancel: boolean; readonly sendmsgZc: boolean };
  readonly sqEntries: number;
  readonly cqEntries: number;
  readonly sqpoll: boolean;
  readonly sqThreadIdleMs: number;
  readonly singleIssuer: boolean;
  readonly deferTaskrun: boolean;
  /** Multishot recvmsg in use (probed at setup by receiving one datagram through it). */
  readonly multishotRecv: boolean;
  readonly multishotProbed: boolean;
  /** A provided-buffer ring (io_uring_register_buf_ring) in use. */
  readonly bufferRing: boolean;
  readonly bufferCount: number;
  readonly bufferBytes: number;
  /** Receive memory mapped for the buffers and their ring (bufferCount x bufferBytes plus the ring). */
  readonly bufferMemoryBytes: number;
  /** UDP_SEGMENT sends asked for (each socket still checks that its kernel accepts them). */
  readonly gso: boolean;
  /** UDP_GRO receives in use (multishot only: buffers are then 64 KiB plus headers). */
  readonly gro: boolean;
  readonly recvMode: "multishot" | "single-shot";
  /** SENDMSG_ZC in use (asked for and supported). */
  readonly sendZc: boolean;
  /** Always false now: sends are unlinked (issued inline in order by one submit; EAGAIN ends the batch there). */
  readonly linkedSends: boolean;
  /** Human-readable notes on what was missing and what was used instead. */
  readonly fallbacks: ReadonlyArray<string>;
}

/** native/src/uring.cc: one instance serves one transmit and one receive batch through one ring. */
export interface NativeUringHandle {
  setup(sqEntries: number, cqEntries: number, sqpoll: boolean, sqThreadIdleMs: number, sendZc: boolean,
    forceSingleShotRecv: boolean, bufferCount: number, gso: boolean, gro: boolean): UringFeatures | NativeSyscallError;
  open(endpointId: number, bindIp: number, bindPort: number, rcvbufBytes: number, sndbufBytes: number, ttl: number,
    multicastGroupIp: number, interfaceIp: number): NativeOpenResult | NativeSyscallError;
  close(endpointId: number): boolean;
  closeAll(): void;
  /** Slots consumed, or EFAULT when a transmit batch array was detached (nothing was read). */
  send(start: number, end: number): number | NativeSyscallError;
  /** Datagrams received, or EFAULT when a receive batch array was detached (nothing was written). */
  receive(): number | NativeSyscallError;
  /** Serve a new transmit batch (grown slots) from now on. */
  setTransmit(bytes: Uint8Array, lengths: Int32Array, ips: Uint32Array, ports: Uint16Array, endpointIds: Int32Array,
    capacity: number, slotLength: number): void;
  stats(): NativeUringStats;
  lastError(): NativeSyscallError | null;
  features(): UringFeatures;
}

export type NativeUringConstructor = new (
  txBytes: Uint8Array, txLengths: Int32Array, txIps: Uint32Array, txPorts: Uint16Array, txEndpointIds: Int32Array,
  txCapacity: number, txSlotLength: number,
  rxBytes: Uint8Array, rxLengths: Int32Array, rxIps: Uint32Array, rxPorts: Uint16Array, rxEndpointIds: Int32Array,
  rxCapacity: number, rxSlotLength: number,
) => NativeUringHandle;

/** The addon's io_uring exports: present only in a build with liburing. */
interface UringExports {
  readonly uring?: boolean;
  readonly UringDriver?: NativeUringConstructor;
}

/** The io_uring driver's constructor, or undefined when the addon was built without liburing. */
export function uringConstructor(addon: NativeAddon): NativeUringConstructor | undefined {
  const exports = addon as NativeAddon & UringExports;
  return exports.uring === true && typeof exports.UringDriver === "function" ? exports.UringDriver : undefined;
}
