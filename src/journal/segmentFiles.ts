// The file side of a journal: segment files with their headers, each sealed block's CRC-32 and
// the write. Used by the writer on the recording thread (writeThread: false) or by the writer
// thread (writerThread.ts) so that the recording thread only copies records into memory.
import { closeSync, openSync, writeSync } from "node:fs";
import { crc32 } from "./crc32.js";
import { BLOCK_HEADER_BYTES, FILE_FLAG_PAYLOAD_HASH, FILE_HEADER_BYTES, FILE_MAGIC, FORMAT_VERSION, segmentPath } from "./format.js";

export interface SegmentFilesOptions {
  readonly path: string;
  readonly journalId: number;
  readonly payloadHash: boolean;
  readonly segmentBytes: number;
}

/** Whether a block of `length` bytes starts a new segment, given what the current one holds. */
export function rollsOver(segmentWritten: number, length: number, segmentBytes: number): boolean {
  return segmentWritten + length > segmentBytes && segmentWritten > FILE_HEADER_BYTES;
}

export class SegmentFiles {
  private fd: number;
  private segment = 0;
  private segmentWritten = 0;
  writeNs = 0;

  constructor(private readonly options: SegmentFilesOptions) {
    this.fd = this.open(0);
  }

  get segments(): number {
    return this.segment + 1;
  }

  /** Seals a block (header fields but the CRC already set) with its CRC-32 and writes it. */
  write(block: Uint8Array, length: number): void {
    if (rollsOver(this.segmentWritten, length, this.options.segmentBytes)) {
      closeSync(this.fd);
      this.fd = this.open(this.segment + 1);
    }
    new DataView(block.buffer, block.byteOffset, BLOCK_HEADER_BYTES).setUint32(12, blockCrc(block, length - BLOCK_HEADER_BYTES), true);
    const started = performance.now();
    let written = 0;
    while (written < length) written += writeSync(this.fd, block, written, length - written);
    this.writeNs += (performance.now() - started) * 1e6;
    this.segmentWritten += length;
  }

  close(): void {
    closeSync(this.fd);
  }

  private open(index: number): number {
    const fd = openSync(segmentPath(this.options.path, index), "w");
    const header = new Uint8Array(FILE_HEADER_BYTES);
    const view = new DataView(header.buffer);
    header.set(FILE_MAGIC, 0);
    view.setUint16(8, FORMAT_VERSION, true);
    view.setUint16(10, FILE_HEADER_BYTES, true);
    view.setUint32(12, index, true);
    view.setUint32(16, this.options.journalId, true);
    view.setUint32(20, this.options.payloadHash ? FILE_FLAG_PAYLOAD_HASH : 0, true);
    view.setUint32(28, crc32(header, 0, 28), true);
    writeSync(fd, header, 0, FILE_HEADER_BYTES);
    this.segment = index;
    this.segmentWritten = FILE_HEADER_BYTES;
    return fd;
  }
}

/** A block's CRC-32: header bytes [0, 12) and [16, 24), then the payload (docs/JOURNAL.md). */
export function blockCrc(block: Uint8Array, payloadBytes: number): number {
  let crc = crc32(block, 0, 12);
  crc = crc32(block, 16, 8, crc);
  return crc32(block, BLOCK_HEADER_BYTES, payloadBytes, crc);
}
