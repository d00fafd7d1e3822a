// The caller-owned batch a driver fills on receive: the mirror of TransmitBatch. A fixed number of
// slots, each holding one datagram (payload in a preallocated slot, its length, the source address
// and the local endpoint it arrived on), laid out as parallel typed arrays over one buffer so that
// a native driver writes a whole batch in one call (recvmmsg, a completion ring, an RX ring) and
// JavaScript reads it in place. The storage may be a SharedArrayBuffer (a driver on another
// thread).

export class ReceiveBatch {
  /** Number of slots. */
  readonly capacity: number;
  /** Bytes reserved per slot: the largest datagram a slot can hold (longer ones are dropped and counted). */
  readonly slotLength: number;
  /** All slots' payloads, slot i at [i * slotLength, i * slotLength + lengths[i]). */
  readonly bytes: Uint8Array;
  /** Payload length per slot. */
  readonly lengths: Int32Array;
  /** Source IPv4 address per slot (a.b.c.d = a<<24|b<<16|c<<8|d, unsigned). */
  readonly sourceIps: Uint32Array;
  /** Source UDP port per slot. */
  readonly sourcePorts: Uint16Array;
  /** The engine's endpoint (socket) each datagram arrived on. */
  readonly endpointIds: Int32Array;
  /** Slots filled by the latest pollBatch (slots 0..count-1). */
  count = 0;

  constructor(capacity: number, slotLength: number, storage?: ArrayBuffer | SharedArrayBuffer) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 4096) {
      throw new RangeError(`ReceiveBatch capacity must be an integer in 1..4096, got ${capacity}`);
    }
    if (!Number.isInteger(slotLength) || slotLength < 64 || slotLength > 65536 || slotLength % 32 !== 0) {
      throw new RangeError(`ReceiveBatch slotLength must be a multiple of 32 in 64..65536, got ${slotLength}`);
    }
    this.capacity = capacity;
    this.slotLength = slotLength;
    const backing = storage ?? new ArrayBuffer(capacity * slotLength);
    if (backing.byteLength < capacity * slotLength) {
      throw new RangeError(`ReceiveBatch storage holds ${backing.byteLength} bytes, needs ${capacity * slotLength}`);
    }
    this.bytes = new Uint8Array(backing, 0, capacity * slotLength);
    this.lengths = new Int32Array(capacity);
    this.sourceIps = new Uint32Array(capacity);
    this.sourcePorts = new Uint16Array(capacity);
    this.endpointIds = new Int32Array(capacity);
  }

  /** Byte offset of slot `index` within `bytes`. */
  slotOffset(index: number): number {
    return index * this.slotLength;
  }
}
