// The log of an image (a stream rebuilt from the network), with its memory committed as it is
// written, not up front (issue #11, attacks 2 and 3): a SETUP names a term length of up to 1 GiB,
// and a log of three such terms allocated at once lets two datagrams cost gigabytes.
//
// - Each partition's buffer is allocated on its first write (writableTerm). A partition never
//   written holds nothing, so readers skip it (readableTerm returns null: no frame is committed).
// - Each partition tracks the range written since it was last cleaned (dirtyBegin..dirtyEnd), and
//   clean() zeroes that range only: cleaning costs what was written, never the term length (a
//   stream that joins 64 bytes before a 1 GiB term's end cleans 64 bytes, not a gigabyte).
// - Allocation goes through an injectable allocator, and a failure (the allocator throws, e.g.
//   V8's "Array buffer allocation failed") is caught and reported as null, never thrown: the
//   caller drops the frame and counts it.
// - Over shared memory (worker mode, where another thread maps the log once) the three terms are
//   allocated up front on one SharedArrayBuffer, as LogBuffers does; cleaning stays ranged.
import { PARTITION_COUNT } from "./logBufferDescriptor.js";
import { LogBuffers, TermBuffer, type LogMemory } from "./logBuffers.js";

/**
 * Allocates zeroed memory for an image log: `byteLength` bytes, on a SharedArrayBuffer when
 * `shared`. May throw (allocation failure): the image log catches it.
 */
export type ImageLogAllocator = (byteLength: number, shared: boolean) => LogMemory;

export const defaultImageLogAllocator: ImageLogAllocator = (byteLength, shared) =>
  shared ? new SharedArrayBuffer(byteLength) : new ArrayBuffer(byteLength);

/** What a reader of a log needs: a partition, or null when it holds nothing yet. */
export interface ReadableLog {
  readonly termLength: number;
  /** The memory of a log allocated up front (worker mode shares it); undefined for a lazy log. */
  readonly memory: LogMemory | undefined;
  /** Partition `index` (0..2) to read, or null when it was never written (nothing is committed there). */
  readableTerm(index: number): TermBuffer | null;
}

export class ImageLog implements ReadableLog {
  readonly termLength: number;
  readonly memory: LogMemory | undefined;
  /** Bytes of memory this log holds now (0 to 3 × termLength). */
  allocatedBytes = 0;
  private readonly partitions: Array<TermBuffer | null> = [null, null, null];
  private readonly allocator: ImageLogAllocator;
  /** Per partition: the lowest term offset written since the last clean (termLength: none). */
  private readonly dirtyBegin = new Int32Array(PARTITION_COUNT);
  /** Per partition: the end of the highest write since the last clean (0: none). */
  private readonly dirtyEnd = new Int32Array(PARTITION_COUNT);

  private constructor(termLength: number, allocator: ImageLogAllocator, eager: LogBuffers | undefined) {
    this.termLength = termLength;
    this.allocator = allocator;
    this.dirtyBegin.fill(termLength);
    if (eager === undefined) {
      this.memory = undefined;
    } else {
      this.memory = eager.memory;
      for (let i = 0; i < PARTITION_COUNT; i++) this.partitions[i] = eager.terms[i]!;
      this.allocatedBytes = PARTITION_COUNT * termLength;
    }
  }

  /**
   * A log of `termLength` (a valid term length: the caller checked it). Lazy unless `shared`
   * (worker mode), which allocates the three terms at once and returns null when that fails.
   */
  static create(termLength: number, shared: boolean, allocator: ImageLogAllocator = defaultImageLogAllocator): ImageLog | null {
    if (!shared) return new ImageLog(termLength, allocator, undefined);
    const memory = tryAllocate(allocator, PARTITION_COUNT * termLength, true);
    if (memory === null || memory.byteLength < PARTITION_COUNT * termLength) return null;
    return new ImageLog(termLength, allocator, new LogBuffers(memory, termLength));
  }

  readableTerm(index: number): TermBuffer | null {
    return this.partitions[index] ?? null;
  }

  /**
   * Partition `index` to write into, allocated (zeroed) on first use; null when the allocation
   * failed (nothing was allocated, the caller drops what it meant to write). The caller reports
   * what it wrote with markWritten.
   */
  writableTerm(index: number): TermBuffer | null {
    const term = this.partitions[index];
    if (term !== null && term !== undefined) return term;
    if (index < 0 || index >= PARTITION_COUNT) return null;
    const memory = tryAllocate(this.allocator, this.termLength, false);
    if (memory === null || memory.byteLength < this.termLength) return null;
    const created = new TermBuffer(memory, 0, this.termLength, index);
    this.partitions[index] = created;
    this.allocatedBytes += this.termLength;
    return created;
  }

  /** Records that partition `index` was written in [begin, end) (term offsets). */
  markWritten(index: number, begin: number, end: number): void {
    if (begin < this.dirtyBegin[index]!) this.dirtyBegin[index] = begin;
    if (end > this.dirtyEnd[index]!) this.dirtyEnd[index] = end;
  }

  /** Zeroes what was written in partition `index` since its last clean; returns the bytes zeroed. */
  clean(index: number): number {
    const begin = this.dirtyBegin[index]!;
    const end = this.dirtyEnd[index]!;
    if (end <= begin) return 0;
    this.partitions[index]?.bytes.fill(0, begin, end);
    this.dirtyBegin[index] = this.termLength;
    this.dirtyEnd[index] = 0;
    return end - begin;
  }

  /** The range of partition `index` written since its last clean, as [begin, end); begin >= end when clean. */
  dirtyRange(index: number): [number, number] {
    return [this.dirtyBegin[index]!, this.dirtyEnd[index]!];
  }
}

function tryAllocate(allocator: ImageLogAllocator, byteLength: number, shared: boolean): LogMemory | null {
  try {
    return allocator(byteLength, shared);
  } catch {
    // RangeError "Array buffer allocation failed", or whatever an injected allocator throws: the
    // network must never make the engine throw.
    return null;
  }
}
