// The memory of a log: three term partitions laid end to end over one caller-provided
// ArrayBuffer or SharedArrayBuffer (a later worker mode shares them between threads). Each term is
// exposed once, at construction, as a Uint8Array (bytes), a DataView (little-endian field access)
// and an Int32Array (the commit word and fast aligned header writes); nothing is re-created per
// message.
//
// The frame length is the commit word (PROTOCOL.md section 4). A writer fills the header (all but
// the length) and the payload, then stores the length last with Atomics.store; a reader loads it
// with Atomics.load and treats a value <= 0 as "not yet written". Frame offsets are 32-aligned, so
// the length word of the frame at `offset` is `words[offset >> 2]`. Always go through
// frameLengthOrdered / frameLengthVolatile.
//
// Over a plain ArrayBuffer those two use ordinary loads and stores: no other agent can ever see
// that memory (a transferred buffer is detached here), so ordering against other threads is
// moot, and Atomics cost about 25 ns per call on Node 20 (not inlined by its compiler), which is
// a quarter of the per-message budget. Over a SharedArrayBuffer they use Atomics.
import { FRAME_ALIGNMENT } from "../protocol/frameHeader.js";
import { checkTermLength, LogBufferConfigError, PARTITION_COUNT } from "./logBufferDescriptor.js";

/**
 * Int32Array uses the host's byte order while the wire and the term are little-endian. Every
 * platform Node runs on today is little-endian; assert it once, at module load, rather than on
 * every access.
 */
function assertLittleEndianHost(): void {
  const probe = new Uint8Array(new Uint32Array([0x01020304]).buffer);
  if (probe[0] !== 0x04) {
    throw new Error("Petrel log buffers need a little-endian host: Int32Array access would not match the wire byte order");
  }
}
assertLittleEndianHost();

/** The backing store of a log: plain for one thread, shared for a worker mode. */
export type LogMemory = ArrayBuffer | SharedArrayBuffer;

/** One term partition: three views over the same bytes, made once. */
export class TermBuffer {
  /** Index of this partition in its log (0, 1 or 2). */
  readonly partitionIndex: number;
  /** Length of the term in bytes. */
  readonly length: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The term as 32-bit words; `words[offset >> 2]` is the length (commit) word of a frame. */
  readonly words: Int32Array;
  /** True over a SharedArrayBuffer: commit words then need Atomics. */
  readonly shared: boolean;

  constructor(memory: LogMemory, byteOffset: number, length: number, partitionIndex: number) {
    this.partitionIndex = partitionIndex;
    this.length = length;
    this.bytes = new Uint8Array(memory, byteOffset, length);
    this.view = new DataView(memory, byteOffset, length);
    this.words = new Int32Array(memory, byteOffset, length >> 2);
    this.shared = !(memory instanceof ArrayBuffer);
  }

  /** Zeroes the whole term so that no old frame can be read as new. */
  clean(): void {
    this.bytes.fill(0);
  }

  /** Zeroes the term from `offset` to its end. */
  cleanFrom(offset: number): void {
    this.bytes.fill(0, offset);
  }
}

/**
 * A one-frame term that holds nothing: what a reader's header points at before its first
 * fragment, when a lazy log has no partition yet (it is never read: no frame is committed).
 */
export const EMPTY_TERM: TermBuffer = new TermBuffer(new ArrayBuffer(FRAME_ALIGNMENT), 0, FRAME_ALIGNMENT, 0);

/** The length word of the frame at `frameOffset`, with acquire ordering; <= 0 means not yet written. */
export function frameLengthVolatile(term: TermBuffer, frameOffset: number): number {
  return term.shared ? Atomics.load(term.words, frameOffset >> 2) : (term.words[frameOffset >> 2] as number);
}

/** Publishes a frame by storing its length last, with release ordering. */
export function frameLengthOrdered(term: TermBuffer, frameOffset: number, frameLength: number): void {
  if (term.shared) Atomics.store(term.words, frameOffset >> 2, frameLength);
  else term.words[frameOffset >> 2] = frameLength;
}

/** Three term partitions over one buffer. */
export class LogBuffers {
  readonly memory: LogMemory;
  readonly termLength: number;
  /** The three partitions, indexed by `indexByTerm` / `indexByPosition`. */
  readonly terms: readonly [TermBuffer, TermBuffer, TermBuffer];

  /**
   * Lays three terms of `termLength` over `memory` starting at `byteOffset` (a multiple of the
   * 32-byte frame alignment). The memory is used as given: a fresh buffer is zero, which is what
   * a new log needs; a reused one must be cleaned by the caller (or by ExclusiveLogAppender).
   */
  constructor(memory: LogMemory, termLength: number, byteOffset = 0) {
    checkTermLength(termLength);
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % FRAME_ALIGNMENT !== 0) {
      throw new LogBufferConfigError("byteOffset", byteOffset, `must be a non-negative multiple of ${FRAME_ALIGNMENT}`);
    }
    const required = byteOffset + PARTITION_COUNT * termLength;
    if (memory.byteLength < required) {
      throw new LogBufferConfigError("memory.byteLength", memory.byteLength, `must be at least ${required} (byteOffset + 3 × termLength)`);
    }
    this.memory = memory;
    this.termLength = termLength;
    this.terms = [
      new TermBuffer(memory, byteOffset, termLength, 0),
      new TermBuffer(memory, byteOffset + termLength, termLength, 1),
      new TermBuffer(memory, byteOffset + 2 * termLength, termLength, 2),
    ];
  }

  /** Allocates zeroed memory for a log of `termLength` (shared when `shared` is true). */
  static allocate(termLength: number, shared = false): LogBuffers {
    checkTermLength(termLength);
    const length = PARTITION_COUNT * termLength;
    return new LogBuffers(shared ? new SharedArrayBuffer(length) : new ArrayBuffer(length), termLength);
  }

  /** Partition `index` (0..2) to read; every partition of a LogBuffers exists (see ImageLog for one that may not). */
  readableTerm(index: number): TermBuffer | null {
    return this.terms[index] ?? null;
  }

  /** Partition `index` (0..2); throws on any other index. */
  term(index: number): TermBuffer {
    const term = this.terms[index];
    if (term === undefined) throw new RangeError(`partition index ${index} is not 0, 1 or 2`);
    return term;
  }
}
