// Buffers for datagrams in flight. Delivery copies the sender's bytes into a pooled buffer (the
// sender's transmit slot is reused at once) and returns it to the pool after the receiving node's
// handleDatagram. Buffers come in power-of-two size classes from 64 bytes to 64 KiB, so a run of
// small datagrams does not hold 64 KiB each; a class's free list is a plain stack. The number of
// buffers out at once is bounded: exceeding it is an error, not a slow leak.
import { assert, assertIntegerInRange } from "./assert.js";

const SMALLEST_CLASS_SHIFT = 6; // 64 bytes
const LARGEST_CLASS_SHIFT = 16; // 65536 bytes
export const POOL_BUFFER_BYTES_MAX = 1 << LARGEST_CLASS_SHIFT;

export class BufferPoolExhaustedError extends Error {
  override readonly name = "BufferPoolExhaustedError";
}

export class BufferPool {
  readonly maxBuffers: number;
  private readonly free: Uint8Array[][] = [];
  private outstanding = 0;
  /** Buffers ever allocated (grows only until the pool is warm). */
  allocated = 0;

  constructor(maxBuffers: number) {
    assertIntegerInRange(maxBuffers, 1, 1 << 24, "maxBuffers");
    this.maxBuffers = maxBuffers;
    for (let shift = 0; shift <= LARGEST_CLASS_SHIFT; shift++) this.free.push([]);
  }

  get inUse(): number {
    return this.outstanding;
  }

  /** A buffer of at least `length` bytes (contents unspecified). */
  acquire(length: number): Uint8Array {
    assert(length >= 0 && length <= POOL_BUFFER_BYTES_MAX, "acquire: length outside 0..65536");
    if (this.outstanding >= this.maxBuffers) {
      throw new BufferPoolExhaustedError(
        `more than ${this.maxBuffers} datagrams in flight (raise maxInFlightDatagrams if the scenario really needs more)`,
      );
    }
    const shift = length <= 1 << SMALLEST_CLASS_SHIFT ? SMALLEST_CLASS_SHIFT : 32 - Math.clz32(length - 1);
    const list = this.free[shift] as Uint8Array[];
    this.outstanding++;
    const reused = list.pop();
    if (reused !== undefined) return reused;
    this.allocated++;
    return new Uint8Array(1 << shift);
  }

  release(buffer: Uint8Array): void {
    const size = buffer.length;
    const shift = 31 - Math.clz32(size);
    assert(size === 1 << shift && shift >= SMALLEST_CLASS_SHIFT && shift <= LARGEST_CLASS_SHIFT, "release: not a pool buffer");
    assert(this.outstanding > 0, "release: more releases than acquires");
    this.outstanding--;
    (this.free[shift] as Uint8Array[]).push(buffer);
  }
}
