// The caller-owned batch that `Engine.pollTransmit(nowNs, batch)` fills: a fixed number of slots,
// each holding one datagram (payload bytes in a preallocated slot, its length, the destination
// address and the local endpoint to send it from). The same memory is what a native driver reads
// in one call (sendmmsg, one io_uring submit, one TX-ring flush), so it is laid out as parallel
// typed arrays over preallocated storage, never as an array of objects.

export class TransmitBatchFullError extends Error {
  override readonly name = "TransmitBatchFullError";
}

export class TransmitBatch {
  /** Number of slots. */
  readonly capacity: number;
  /** Bytes reserved per slot: the largest datagram a slot can hold. */
  readonly slotLength: number;
  /** All slots' payloads, slot i at [i * slotLength, i * slotLength + lengths[i]). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Payload length per slot. */
  readonly lengths: Int32Array;
  /** Destination IPv4 address per slot, as an unsigned 32-bit number (a.b.c.d = a<<24|b<<16|c<<8|d). */
  readonly destinationIps: Uint32Array;
  /** Destination UDP port per slot. */
  readonly destinationPorts: Uint16Array;
  /** The engine's local endpoint (socket) each datagram leaves from. */
  readonly endpointIds: Int32Array;
  /** Slots filled so far; the caller resets it with clear() after sending. */
  count = 0;

  constructor(capacity: number, slotLength: number, storage?: ArrayBuffer | SharedArrayBuffer) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 4096) {
      throw new RangeError(`TransmitBatch capacity must be an integer in 1..4096, got ${capacity}`);
    }
    if (!Number.isInteger(slotLength) || slotLength < 64 || slotLength > 65536 || slotLength % 32 !== 0) {
      throw new RangeError(`TransmitBatch slotLength must be a multiple of 32 in 64..65536, got ${slotLength}`);
    }
    this.capacity = capacity;
    this.slotLength = slotLength;
    const backing = storage ?? new ArrayBuffer(capacity * slotLength);
    if (backing.byteLength < capacity * slotLength) {
      throw new RangeError(`TransmitBatch storage holds ${backing.byteLength} bytes, needs ${capacity * slotLength}`);
    }
    this.bytes = new Uint8Array(backing, 0, capacity * slotLength);
    this.view = new DataView(backing, 0, capacity * slotLength);
    this.lengths = new Int32Array(capacity);
    this.destinationIps = new Uint32Array(capacity);
    this.destinationPorts = new Uint16Array(capacity);
    this.endpointIds = new Int32Array(capacity);
  }

  get remaining(): number {
    return this.capacity - this.count;
  }

  /** Byte offset of slot `index` within `bytes`. */
  slotOffset(index: number): number {
    return index * this.slotLength;
  }

  /**
   * Claims the next slot for a datagram to (ip, port) from `endpointId`. Returns the slot index,
   * or -1 when the batch is full (the engine then stops and resumes on the next poll).
   * The caller writes the payload at slotOffset(index) and then calls commit(index, length).
   */
  claim(endpointId: number, destinationIp: number, destinationPort: number): number {
    if (this.count >= this.capacity) return -1;
    const index = this.count;
    this.endpointIds[index] = endpointId;
    this.destinationIps[index] = destinationIp;
    this.destinationPorts[index] = destinationPort;
    this.lengths[index] = 0;
    return index;
  }

  /** Publishes a claimed slot with its final payload length. */
  commit(index: number, length: number): void {
    if (index !== this.count) throw new TransmitBatchFullError(`commit of slot ${index} out of order (next is ${this.count})`);
    if (length <= 0 || length > this.slotLength) {
      throw new RangeError(`datagram length ${length} outside 1..${this.slotLength}`);
    }
    this.lengths[index] = length;
    this.count = index + 1;
  }

  clear(): void {
    this.count = 0;
  }
}
