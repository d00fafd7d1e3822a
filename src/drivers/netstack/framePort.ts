// The raw-frame boundary of the netstack: a FrameBatch (whole Ethernet frames in preallocated
// slots, parallel typed arrays, the layout a native ring copy fills in one call) and the FramePort
// a backend implements (AF_PACKET rings, DPDK, the simulator's Ethernet segment). The netstack
// builds and parses every header itself; a port only moves frames.

/** Per-frame flag: the kernel left the UDP checksum unfinished (TP_STATUS_CSUMNOTREADY: offload). */
export const FRAME_FLAG_CHECKSUM_NOT_READY = 1;
/** Per-frame flag: the kernel already verified the checksums (TP_STATUS_CSUM_VALID). */
export const FRAME_FLAG_CHECKSUM_VALID = 2;

export class FrameBatch {
  readonly capacity: number;
  /** Bytes per slot: the longest frame a slot holds. */
  readonly slotLength: number;
  readonly bytes: Uint8Array;
  readonly lengths: Int32Array;
  /** FRAME_FLAG_* per received frame (0 on transmit). */
  readonly flags: Uint8Array;
  /** Receive time per frame in nanoseconds when the port knows it (0 otherwise). */
  readonly timestampsNs: Float64Array;
  count = 0;

  constructor(capacity: number, slotLength: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 4096) throw new RangeError(`FrameBatch capacity must be in 1..4096, got ${capacity}`);
    if (!Number.isInteger(slotLength) || slotLength < 64 || slotLength > 65536 || slotLength % 32 !== 0) {
      throw new RangeError(`FrameBatch slotLength must be a multiple of 32 in 64..65536, got ${slotLength}`);
    }
    this.capacity = capacity;
    this.slotLength = slotLength;
    this.bytes = new Uint8Array(capacity * slotLength);
    this.lengths = new Int32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.timestampsNs = new Float64Array(capacity);
  }

  slotOffset(index: number): number {
    return index * this.slotLength;
  }

  /** Drops slots [0, consumed) and moves the rest to the front (rare: a port that took part of a batch). */
  shift(consumed: number): void {
    if (consumed <= 0) return;
    if (consumed >= this.count) {
      this.count = 0;
      return;
    }
    const rest = this.count - consumed;
    this.bytes.copyWithin(0, consumed * this.slotLength, this.count * this.slotLength);
    this.lengths.copyWithin(0, consumed, this.count);
    this.flags.copyWithin(0, consumed, this.count);
    this.timestampsNs.copyWithin(0, consumed, this.count);
    this.count = rest;
  }
}

export interface FramePortStats {
  readonly framesSent: number;
  readonly framesReceived: number;
  readonly sendCalls: number;
  readonly receiveCalls: number;
  /** Sends that stopped because the ring (or queue) was full. */
  readonly wouldBlock: number;
  /** Frames the port lost (ring overrun, hard send error). */
  readonly dropped: number;
  readonly errors: number;
}

export interface FramePort {
  /** The interface's MAC address (6 bytes) and IP MTU. */
  readonly mac: Uint8Array;
  readonly mtu: number;
  /**
   * Sends frames [start, batch.count). Returns how many were consumed (sent, or dropped after a
   * hard error and counted); fewer means the ring is full: call again later from start + result.
   */
  sendFrames(batch: FrameBatch, start: number): number;
  /** Fills `batch` from slot 0 with received frames; sets and returns batch.count. */
  receiveFrames(batch: FrameBatch): number;
  stats(): FramePortStats;
  /**
   * The device completes IPv4/UDP checksums of frames whose UDP checksum is 0 (DPDK TX checksum
   * offload): the netstack then leaves the UDP checksum to it. Absent or false: software checksums.
   */
  readonly txChecksumOffload?: boolean;
  /**
   * The multicast groups (IPv4, u32) endpoints have joined, after every change: a port whose device
   * filters multicast by MAC programs the filter (DPDK). Ports that receive every frame omit it.
   */
  setMulticastGroups?(groupIps: readonly number[]): void;
  /** The most recent hot-path failure, if any. */
  lastError(): { readonly code: string; readonly errno: number; readonly syscall: string; readonly message: string } | undefined;
  dispose(): void;
}
