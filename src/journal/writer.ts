// Writes journal records into one preallocated block buffer and the block to its file when it
// fills, on a cadence (maybeFlush, called once per runtime duty cycle) and at close: one
// fs.writeSync per block, never per record. Segments roll at `segmentBytes`; at `maxBytes` in all
// the writer ends the journal with an END record ("limit") and records nothing more: a replay
// needs a journal from its start, so the beginning is what a size limit keeps (docs/JOURNAL.md).
import { closeSync, existsSync, openSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { crc32 } from "./crc32.js";
import {
  BLOCK_HEADER_BYTES, BLOCK_MAGIC, FILE_FLAG_PAYLOAD_HASH, FILE_HEADER_BYTES, FILE_MAGIC, FORMAT_VERSION, RECORD_BODY_MAX,
  RECORD_HEADER_BYTES, RecordType, segmentPath,
} from "./format.js";

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
  /** Time spent in writeSync, ns (monitoring the cost the journal adds to the duty cycle). */
  readonly writeNs: number;
}

export class JournalWriter {
  readonly path: string;
  readonly journalId: number;
  readonly payloadHash: boolean;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Why recording stopped, once it has: the journal was closed, or reached maxBytes. */
  stopped: "closed" | "limit" | undefined;
  private readonly blockBytes: number;
  private readonly segmentBytes: number;
  private readonly maxBytes: number;
  private readonly flushIntervalNs: number;
  private position = BLOCK_HEADER_BYTES;
  private blockRecords = 0;
  private blockFirstRecord = 0;
  private records = 0;
  private fd: number;
  private segment = 0;
  private segmentWritten = 0;
  private totalWritten = 0;
  private blocks = 0;
  private writeNs = 0;
  private lastFlushNs = -1;

  constructor(options: JournalWriterOptions) {
    this.path = options.path;
    this.blockBytes = Math.max(MIN_BLOCK_BYTES, options.blockBytes ?? 1024 * 1024);
    this.segmentBytes = Math.max(this.blockBytes + FILE_HEADER_BYTES + BLOCK_HEADER_BYTES, options.segmentBytes ?? 256 * 1024 * 1024);
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024 * 1024;
    if (this.maxBytes < FILE_HEADER_BYTES + BLOCK_HEADER_BYTES + 4 * END_RESERVE_BYTES) {
      throw new RangeError(`journal maxBytes ${this.maxBytes} is too small to hold a journal`);
    }
    this.flushIntervalNs = options.flushIntervalNs ?? 100_000_000;
    this.payloadHash = options.payloadHash === true;
    this.journalId = randomBytes(4).readUInt32LE(0);
    this.bytes = new Uint8Array(this.blockBytes);
    this.view = new DataView(this.bytes.buffer);
    // Segments of an older journal at the same path would follow this one's: remove them.
    for (let i = 1; existsSync(segmentPath(this.path, i)); i++) rmSync(segmentPath(this.path, i));
    this.fd = this.openSegment(0);
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
    const needed = RECORD_HEADER_BYTES + bodyLength;
    if (this.totalWritten + this.position + needed + END_RESERVE_BYTES + BLOCK_HEADER_BYTES > this.maxBytes) {
      this.end("limit");
      return -1;
    }
    if (this.position + needed + END_RESERVE_BYTES > this.blockBytes) this.flush();
    return this.put(type, bodyLength);
  }

  private put(type: number, bodyLength: number): number {
    const at = this.position;
    this.view.setUint32(at, ((bodyLength << 8) | type) >>> 0, true);
    this.position = at + RECORD_HEADER_BYTES + bodyLength;
    this.blockRecords++;
    this.records++;
    return at + RECORD_HEADER_BYTES;
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

  /** Seals the current block (its CRC) and writes it. */
  flush(): void {
    if (this.blockRecords === 0) return;
    const length = this.position;
    if (this.segmentWritten + length > this.segmentBytes && this.segmentWritten > FILE_HEADER_BYTES) {
      closeSync(this.fd);
      this.fd = this.openSegment(this.segment + 1);
    }
    const view = this.view;
    const payload = length - BLOCK_HEADER_BYTES;
    view.setUint32(0, BLOCK_MAGIC, true);
    view.setUint32(4, payload, true);
    view.setUint32(8, this.blockRecords, true);
    view.setFloat64(16, this.blockFirstRecord, true);
    view.setUint32(12, blockCrc(this.bytes, payload), true);
    const started = performance.now();
    let written = 0;
    while (written < length) written += writeSync(this.fd, this.bytes, written, length - written);
    this.writeNs += (performance.now() - started) * 1e6;
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
    const text = JSON.stringify({ reason, records: this.records + 1 });
    if (this.position + RECORD_HEADER_BYTES + text.length > this.blockBytes) this.flush();
    const at = this.put(RecordType.END, text.length);
    Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).write(text, at, text.length, "latin1");
    this.flush();
    closeSync(this.fd);
    this.stopped = reason;
  }

  stats(): JournalWriterStats {
    return { records: this.records, bytesWritten: this.totalWritten, blocks: this.blocks, segments: this.segment + 1, writeNs: this.writeNs };
  }

  private openSegment(index: number): number {
    const path = segmentPath(this.path, index);
    const fd = openSync(path, "w");
    const header = new Uint8Array(FILE_HEADER_BYTES);
    const view = new DataView(header.buffer);
    header.set(FILE_MAGIC, 0);
    view.setUint16(8, FORMAT_VERSION, true);
    view.setUint16(10, FILE_HEADER_BYTES, true);
    view.setUint32(12, index, true);
    view.setUint32(16, this.journalId, true);
    view.setUint32(20, this.payloadHash ? FILE_FLAG_PAYLOAD_HASH : 0, true);
    view.setUint32(28, crc32(header, 0, 28), true);
    writeSync(fd, header, 0, FILE_HEADER_BYTES);
    this.segment = index;
    this.segmentWritten = FILE_HEADER_BYTES;
    this.totalWritten += FILE_HEADER_BYTES;
    return fd;
  }
}

/** A block's CRC-32: header bytes [0, 12) and [16, 24), then the payload (docs/JOURNAL.md). */
export function blockCrc(block: Uint8Array, payloadBytes: number): number {
  let crc = crc32(block, 0, 12);
  crc = crc32(block, 16, 8, crc);
  return crc32(block, BLOCK_HEADER_BYTES, payloadBytes, crc);
}
