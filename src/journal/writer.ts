// Writes journal records into one preallocated block buffer and the block to its file when it
// fills, on a cadence (maybeFlush, called once per runtime duty cycle) and at close: one
// fs.writeSync per block, never per record. Segments roll at `segmentBytes`; at `maxBytes` in all
// the writer ends the journal with an END record ("limit") and records nothing more: a replay
// needs a journal from its start, so the beginning is what a size limit keeps (docs/JOURNAL.md).
import { existsSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { BLOCK_HEADER_BYTES, BLOCK_MAGIC, FILE_HEADER_BYTES, RECORD_BODY_MAX, RECORD_HEADER_BYTES, RecordType, segmentPath } from "./format.js";
import { rollsOver, SegmentFiles } from "./segmentFiles.js";
import { WriterControl, type WriterThreadData } from "./writerControl.js";

export interface JournalWriterOptions {
  /** The first segment's file; later segments are `<path>.1`, `<path>.2`, ... */
  readonly path: string;
  /** The block buffer (and so the largest block), bytes. Default 1 MiB; at least 128 KiB. */
  readonly blockBytes?: number;
  /** A segment file rolls over past this size. Default 256 MiB. */
  readonly segmentBytes?: number;
  /** Recording stops (END "limit") before the segments together pass this. Default 4 GiB. */
  readonly maxBytes?: number;
  /** maybeFlush writes the current block when it is older than this. Default 100 ms. */
  readonly flushIntervalNs?: number;
  /** Offers are recorded as length + hash rather than with their payload (file header flag). */
  readonly payloadHash?: boolean;
  /**
   * Write blocks from a worker thread (writerThread.ts) instead of this one: the recording thread
   * only copies records into a ring of `writerSlots` blocks in shared memory (default false: the
   * thread runs compiled JavaScript, which a TypeScript-source test run does not have).
   */
  readonly writerThread?: boolean;
  /** Blocks in the writer thread's ring (default 4). */
  readonly writerSlots?: number;
  /** The writer thread's script (default ./writerThread.js beside this module). */
  readonly writerThreadUrl?: URL;
}

/** Room kept for the END record, so that a journal cut by its size limit still says so. */
const END_RESERVE_BYTES = 256;
const MIN_BLOCK_BYTES = 128 * 1024;

export interface JournalWriterStats {
  /** Records written (coalesced runs count once). */
  readonly records: number;
  /** Bytes written to the segment files so far. */
  readonly bytesWritten: number;
  readonly blocks: number;
  readonly segments: number;
  /** Time spent in writeSync, ns (on the writer thread with writerThread). */
  readonly writeNs: number;
  /** Times the recording thread waited for the writer thread to free a block (its ring was full). */
  readonly writerWaits: number;
}

/** The writer thread failed (a full disk, a removed directory): recording stopped. */
export class JournalWriteError extends Error {
  override readonly name = "JournalWriteError";
}

export class JournalWriter {
  readonly path: string;
  readonly journalId: number;
  readonly payloadHash: boolean;
  /** The current block (with a writer thread, one slot of its ring after another). */
  bytes: Uint8Array;
  view: DataView;
  /** The block buffer as words (records and their payloads are 4-byte aligned). */
  words: Int32Array<ArrayBufferLike>;
  /** Why recording stopped, once it has: the journal was closed, reached maxBytes, or could not be written. */
  stopped: "closed" | "limit" | "error" | undefined;
  /** What failed, when stopped is "error". */
  error: string | undefined;
  private readonly blockBytes: number;
  private readonly segmentBytes: number;
  private readonly maxBytes: number;
  private readonly flushIntervalNs: number;
  /** Where the next record goes in `bytes` (a grown record moves it; see growthLimit). */
  position = BLOCK_HEADER_BYTES;
  /** Called before a block is sealed: a grown record still open must set its length then. */
  beforeFlush: (() => void) | undefined;
  private blockRecords = 0;
  private blockFirstRecord = 0;
  private records = 0;
  private readonly files: SegmentFiles | undefined;
  private readonly thread: WriterThread | undefined;
  private segmentWritten = FILE_HEADER_BYTES;
  private totalWritten = 0;
  private blocks = 0;
  private lastFlushNs = -1;

  constructor(options: JournalWriterOptions) {
    this.path = options.path;
    this.blockBytes = Math.max(MIN_BLOCK_BYTES, options.blockBytes ?? 1024 * 1024) & ~4095;
    this.segmentBytes = Math.max(this.blockBytes + FILE_HEADER_BYTES + BLOCK_HEADER_BYTES, options.segmentBytes ?? 256 * 1024 * 1024);
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024 * 1024;
    if (this.maxBytes < FILE_HEADER_BYTES + BLOCK_HEADER_BYTES + 4 * END_RESERVE_BYTES) {
      throw new RangeError(`journal maxBytes ${this.maxBytes} is too small to hold a journal`);
    }
    this.flushIntervalNs = options.flushIntervalNs ?? 100_000_000;
    this.payloadHash = options.payloadHash === true;
    this.journalId = randomBytes(4).readUInt32LE(0);
    // Segments of an older journal at the same path would follow this one's: remove them.
    for (let i = 1; existsSync(segmentPath(this.path, i)); i++) rmSync(segmentPath(this.path, i));
    const files = { path: this.path, journalId: this.journalId, payloadHash: this.payloadHash, segmentBytes: this.segmentBytes };
    if (options.writerThread === true) {
      this.thread = new WriterThread(files, this.blockBytes, options.writerSlots ?? 4, options.writerThreadUrl);
      this.bytes = this.thread.blocks[0]!;
    } else {
      this.files = new SegmentFiles(files);
      this.bytes = new Uint8Array(this.blockBytes);
    }
    this.totalWritten = FILE_HEADER_BYTES;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.words = new Int32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength >>> 2);
  }

  /**
   * Starts a record of `type` with a body of `bodyLength` bytes and returns the body's offset in
   * `bytes` (the caller writes it there before the next begin), or -1 when recording has stopped.
   */
  begin(type: number, bodyLength: number): number {
    if (this.stopped !== undefined) return -1;
    if (bodyLength > RECORD_BODY_MAX || bodyLength + RECORD_HEADER_BYTES + BLOCK_HEADER_BYTES > this.blockBytes) {
      throw new RangeError(`journal record of ${bodyLength} bytes does not fit a block of ${this.blockBytes}`);
    }
    const needed = RECORD_HEADER_BYTES + bodyLength + 3;
    // A segment header may come before the block (a segment rolling over): counted too.
    if (this.totalWritten + this.position + needed + END_RESERVE_BYTES + BLOCK_HEADER_BYTES + FILE_HEADER_BYTES > this.maxBytes) {
      this.end("limit");
      return -1;
    }
    if (this.position + needed + END_RESERVE_BYTES > this.blockBytes) this.flush();
    return this.put(type, bodyLength);
  }

  private put(type: number, bodyLength: number): number {
    const at = this.position;
    this.view.setUint32(at, ((bodyLength << 8) | type) >>> 0, true);
    // Records start at 4-byte boundaries (zero padding after a body), so that word copies apply.
    const end = at + RECORD_HEADER_BYTES + bodyLength;
    const aligned = (end + 3) & ~3;
    for (let i = end; i < aligned; i++) this.bytes[i] = 0;
    this.position = aligned;
    this.blockRecords++;
    this.records++;
    return at + RECORD_HEADER_BYTES;
  }

  /**
   * How far the last record (begun at `bodyAt`) may grow: the end position in `bytes` that the
   * block, the record length field and the size limit allow. A writer of a growing record (the
   * recorder's OFFERS) moves `position` up to it, then sets the record's length (setBodyLength).
   */
  growthLimit(bodyAt: number): number {
    return Math.min(this.blockBytes - END_RESERVE_BYTES, bodyAt + RECORD_BODY_MAX,
      this.maxBytes - this.totalWritten - END_RESERVE_BYTES - BLOCK_HEADER_BYTES - FILE_HEADER_BYTES);
  }

  /** Sets the body length of the record begun at `bodyAt` (a grown record). */
  setBodyLength(bodyAt: number, bodyLength: number): void {
    const at = bodyAt - RECORD_HEADER_BYTES;
    this.view.setUint32(at, ((bodyLength << 8) | this.bytes[at]!) >>> 0, true);
  }

  /** Writes a record whose body is JSON (the rare records: options, commands, endpoint events). */
  json(type: number, value: unknown): void {
    const text = JSON.stringify(value);
    const length = Buffer.byteLength(text);
    const at = this.begin(type, length);
    if (at < 0) return;
    Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).write(text, at, length, "utf8");
  }

  /** Writes the current block if it is older than the flush interval (call once per duty cycle). */
  maybeFlush(nowNs: number): void {
    if (this.lastFlushNs < 0) this.lastFlushNs = nowNs;
    if (nowNs - this.lastFlushNs < this.flushIntervalNs) return;
    this.lastFlushNs = nowNs;
    if (this.blockRecords > 0) this.flush();
  }

  /** Seals the current block and writes it (or hands it to the writer thread). */
  flush(): void {
    if (this.blockRecords === 0) return;
    this.beforeFlush?.();
    const length = this.position;
    if (rollsOver(this.segmentWritten, length, this.segmentBytes)) {
      this.segmentWritten = FILE_HEADER_BYTES;
      this.totalWritten += FILE_HEADER_BYTES;
    }
    const view = this.view;
    view.setUint32(0, BLOCK_MAGIC, true);
    view.setUint32(4, length - BLOCK_HEADER_BYTES, true);
    view.setUint32(8, this.blockRecords, true);
    view.setFloat64(16, this.blockFirstRecord, true);
    if (this.thread !== undefined) {
      const next = this.thread.submit(length);
      if (next === undefined) {
        // The writer thread failed: nothing more can be written.
        this.stopped = "error";
        this.error = this.thread.error();
        return;
      }
      this.bytes = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
      this.words = new Int32Array(next.buffer, next.byteOffset, next.byteLength >>> 2);
    } else {
      this.files!.write(this.bytes, length);
    }
    this.segmentWritten += length;
    this.totalWritten += length;
    this.blocks++;
    this.blockFirstRecord = this.records;
    this.blockRecords = 0;
    this.position = BLOCK_HEADER_BYTES;
  }

  /** Ends the journal: an END record, the last block, the file closed. Idempotent. */
  end(reason: "closed" | "limit"): void {
    if (this.stopped !== undefined) return;
    this.beforeFlush?.();
    const text = JSON.stringify({ reason, records: this.records + 1 });
    if (this.position + RECORD_HEADER_BYTES + text.length > this.blockBytes) this.flush();
    const at = this.put(RecordType.END, text.length);
    Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).write(text, at, text.length, "latin1");
    this.flush();
    if (this.thread !== undefined) {
      if (!this.thread.close()) this.error = this.thread.error();
    } else {
      this.files!.close();
    }
    if (this.stopped === undefined) this.stopped = reason;
    if (this.error !== undefined) throw new JournalWriteError(`${this.path}: ${this.error}`);
  }

  stats(): JournalWriterStats {
    const thread = this.thread;
    return {
      records: this.records,
      bytesWritten: this.totalWritten,
      blocks: this.blocks,
      segments: thread !== undefined ? thread.segments : this.files!.segments,
      writeNs: thread !== undefined ? thread.writeNs : this.files!.writeNs,
      writerWaits: thread?.waits ?? 0,
    };
  }
}

/** The recording thread's side of the writer thread: a ring of blocks in shared memory. */
class WriterThread {
  readonly blocks: Uint8Array[] = [];
  waits = 0;
  private readonly worker: Worker;
  private readonly state: Int32Array;
  private readonly control: Int32Array;
  private readonly errors: MessagePort;
  private current = 0;

  constructor(files: { path: string; journalId: number; payloadHash: boolean; segmentBytes: number }, blockBytes: number, slots: number, url?: URL) {
    const blocks = new SharedArrayBuffer(blockBytes * slots);
    for (let i = 0; i < slots; i++) this.blocks.push(new Uint8Array(blocks, i * blockBytes, blockBytes));
    const state = new SharedArrayBuffer(4 * slots);
    const control = new SharedArrayBuffer(4 * WriterControl.WORDS);
    this.state = new Int32Array(state);
    this.control = new Int32Array(control);
    const channel = new MessageChannel();
    this.errors = channel.port1;
    const data: WriterThreadData = { ...files, slots, blockBytes, blocks, state, control, errors: channel.port2 };
    this.worker = new Worker(url ?? new URL("./writerThread.js", import.meta.url), { workerData: data, transferList: [channel.port2] });
    // The thread must not keep the process alive; close() waits for it synchronously.
    this.worker.unref();
  }

  /** Hands slot `current` (length bytes) to the thread; returns the next slot once it is free, or undefined if the thread failed. */
  submit(length: number): Uint8Array | undefined {
    const state = this.state;
    // No notify: the writer thread wakes on its own short timeout (WRITER_POLL_MS) and finds the
    // block. A notify would wake it now, and with no idle core the kernel tends to run it on this
    // one, ahead of the recording thread (measured: a third of the journal's cost on the loop).
    Atomics.store(state, this.current, length);
    this.current = (this.current + 1) % this.blocks.length;
    if (Atomics.load(state, this.current) !== 0) {
      this.waits++;
      while (Atomics.load(state, this.current) !== 0) {
        if (Atomics.load(this.control, WriterControl.DONE) === 2) return undefined;
        Atomics.wait(state, this.current, Atomics.load(state, this.current), 100);
      }
    }
    return this.blocks[this.current];
  }

  /** Waits until every block is written and the file closed; false if the thread failed. */
  close(): boolean {
    Atomics.store(this.control, WriterControl.CLOSE, 1);
    for (let i = 0; i < this.blocks.length; i++) Atomics.notify(this.state, i);
    while (Atomics.load(this.control, WriterControl.DONE) === 0) Atomics.wait(this.control, WriterControl.DONE, 0, 100);
    const ok = Atomics.load(this.control, WriterControl.DONE) === 1;
    void this.worker.terminate();
    this.errors.unref();
    return ok;
  }

  /** The writer thread's failure, as it reported it. */
  error(): string {
    const message = receiveMessageOnPort(this.errors)?.message as { error?: string } | undefined;
    return message?.error ?? "the journal's writer thread failed";
  }

  get segments(): number {
    return this.control[WriterControl.SEGMENTS]!;
  }

  get writeNs(): number {
    return this.control[WriterControl.WRITE_US]! * 1000;
  }
}

