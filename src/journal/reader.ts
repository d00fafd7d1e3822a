// Reads a journal's records in order, segment after segment, block after block, checking each
// segment's header and each block's CRC-32 before handing out a record. A bad file is a
// JournalFormatError that names it and says what is wrong. Records are read in place (no object
// per record): after next() returns true, `type`, `bodyOffset`, `bodyLength` and `index` describe
// the current record in `bytes` / `view`, valid until the following next().
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { crc32 } from "./crc32.js";
import {
  BLOCK_HEADER_BYTES, BLOCK_MAGIC, FILE_FLAG_PAYLOAD_HASH, FILE_HEADER_BYTES, FILE_MAGIC, FORMAT_VERSION, JournalFormatError,
  RECORD_HEADER_BYTES, RecordType, recordTypeName, segmentPath,
} from "./format.js";
import { blockCrc } from "./segmentFiles.js";

export interface JournalHeader {
  readonly version: number;
  readonly journalId: number;
  readonly payloadHash: boolean;
}

export class JournalReader {
  readonly path: string;
  readonly header: JournalHeader;
  /** Bytes in all segments (for progress). */
  readonly totalBytes: number;
  bytes = new Uint8Array(1024 * 1024);
  view = new DataView(this.bytes.buffer);
  /** The current record. */
  type = 0;
  bodyOffset = 0;
  bodyLength = 0;
  index = -1;
  /** Bytes consumed so far, all segments. */
  bytesRead = 0;
  /** Set when the last block of the last segment is incomplete (the recording process died writing it). */
  truncatedTail = false;
  private fd: number;
  private segment = 0;
  private file: string;
  private filePosition = FILE_HEADER_BYTES;
  private fileSize: number;
  private blockEnd = 0;
  private position = 0;
  private finished = false;

  constructor(path: string) {
    this.path = path;
    this.file = path;
    if (!existsSync(path)) throw new JournalFormatError(path, "missing", "no such journal file");
    let total = 0;
    for (let i = 0; existsSync(segmentPath(path, i)); i++) total += statSync(segmentPath(path, i)).size;
    this.totalBytes = total;
    const { fd, header, size } = this.openSegment(path, 0);
    this.fd = fd;
    this.header = header;
    this.fileSize = size;
    this.bytesRead = FILE_HEADER_BYTES;
  }

  /** Where the current record is, for messages: "<file>, block at byte N". */
  get location(): string {
    return `${this.file}`;
  }

  /** Advances to the next record; false at the end of the journal. */
  next(): boolean {
    if (this.finished) return false;
    while (this.position >= this.blockEnd) {
      if (!this.readBlock()) {
        this.finished = true;
        this.close();
        return false;
      }
    }
    const at = this.position;
    const word = this.view.getUint32(at, true);
    const type = word & 0xff;
    const length = word >>> 8;
    if (at + RECORD_HEADER_BYTES + length > this.blockEnd) {
      throw new JournalFormatError(this.file, "malformed", `record ${this.index + 1} (${recordTypeName(type)}, ${length} bytes) runs past its block`);
    }
    this.type = type;
    this.bodyOffset = at + RECORD_HEADER_BYTES;
    this.bodyLength = length;
    this.position = (at + RECORD_HEADER_BYTES + length + 3) & ~3;
    this.index++;
    if (type === RecordType.END) this.finished = true;
    return true;
  }

  /** The current record's body as text (JSON records). */
  text(): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.bodyOffset, this.bodyLength).toString("utf8");
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private readBlock(): boolean {
    if (this.filePosition >= this.fileSize) {
      // This segment is done: on to the next, if there is one.
      const next = segmentPath(this.path, this.segment + 1);
      if (!existsSync(next)) return false;
      closeSync(this.fd);
      const { fd, header, size } = this.openSegment(next, this.segment + 1);
      if (header.journalId !== this.header.journalId) {
        throw new JournalFormatError(next, "malformed", `belongs to another journal (id ${header.journalId}, expected ${this.header.journalId})`);
      }
      this.fd = fd;
      this.fileSize = size;
      this.segment++;
      this.file = next;
      this.filePosition = FILE_HEADER_BYTES;
      this.bytesRead += FILE_HEADER_BYTES;
      return this.readBlock();
    }
    const blockAt = this.filePosition;
    if (this.fileSize - blockAt < BLOCK_HEADER_BYTES) return this.tail(blockAt);
    this.readExactly(0, BLOCK_HEADER_BYTES, blockAt);
    const view = this.view;
    if (view.getUint32(0, true) !== BLOCK_MAGIC) {
      throw new JournalFormatError(this.file, "checksum", `no block header at byte ${blockAt} (the journal is corrupt)`);
    }
    const payload = view.getUint32(4, true);
    if (blockAt + BLOCK_HEADER_BYTES + payload > this.fileSize) return this.tail(blockAt);
    if (BLOCK_HEADER_BYTES + payload > this.bytes.length) {
      const grown = new Uint8Array(BLOCK_HEADER_BYTES + payload);
      grown.set(this.bytes.subarray(0, BLOCK_HEADER_BYTES));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.readExactly(BLOCK_HEADER_BYTES, payload, blockAt + BLOCK_HEADER_BYTES);
    const stored = this.view.getUint32(12, true);
    const computed = blockCrc(this.bytes, payload);
    if (stored !== computed) {
      throw new JournalFormatError(this.file, "checksum",
        `block at byte ${blockAt} fails its CRC-32 (stored ${hex(stored)}, computed ${hex(computed)}): the journal is corrupt`);
    }
    const firstRecord = this.view.getFloat64(16, true);
    if (firstRecord !== this.index + 1) {
      throw new JournalFormatError(this.file, "malformed", `block at byte ${blockAt} starts at record ${firstRecord}, expected ${this.index + 1} (a block is missing)`);
    }
    this.filePosition = blockAt + BLOCK_HEADER_BYTES + payload;
    this.bytesRead += BLOCK_HEADER_BYTES + payload;
    this.position = BLOCK_HEADER_BYTES;
    this.blockEnd = BLOCK_HEADER_BYTES + payload;
    return true;
  }

  /** An incomplete block at the end of the last segment: the end of what can be read. */
  private tail(blockAt: number): boolean {
    if (existsSync(segmentPath(this.path, this.segment + 1))) {
      throw new JournalFormatError(this.file, "truncated", `incomplete block at byte ${blockAt}, and later segments follow`);
    }
    this.truncatedTail = true;
    return false;
  }

  private readExactly(into: number, length: number, position: number): void {
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, this.bytes, into + done, length - done, position + done);
      if (n === 0) throw new JournalFormatError(this.file, "truncated", `ends at byte ${position + done}, inside a block`);
      done += n;
    }
  }

  private openSegment(file: string, index: number): { fd: number; header: JournalHeader; size: number } {
    const fd = openSync(file, "r");
    const size = fstatSync(fd).size;
    const header = new Uint8Array(FILE_HEADER_BYTES);
    const n = size >= FILE_HEADER_BYTES ? readSync(fd, header, 0, FILE_HEADER_BYTES, 0) : 0;
    const fail = (reason: "not-a-journal" | "version" | "checksum" | "malformed", message: string): never => {
      closeSync(fd);
      throw new JournalFormatError(file, reason, message);
    };
    if (n < FILE_HEADER_BYTES) fail("not-a-journal", `not a Petrel journal (${size} bytes, shorter than a journal header)`);
    for (let i = 0; i < FILE_MAGIC.length; i++) {
      if (header[i] !== FILE_MAGIC[i]) fail("not-a-journal", "not a Petrel journal (no PETRELJ1 magic)");
    }
    const view = new DataView(header.buffer);
    const version = view.getUint16(8, true);
    if (view.getUint32(28, true) !== crc32(header, 0, 28)) fail("checksum", "the journal header fails its CRC-32 (the file is corrupt)");
    if (version !== FORMAT_VERSION) fail("version", `journal format version ${version}; this Petrel reads version ${FORMAT_VERSION}`);
    if (view.getUint32(12, true) !== index) fail("malformed", `segment index ${view.getUint32(12, true)}, expected ${index}`);
    return {
      fd,
      size,
      header: { version, journalId: view.getUint32(16, true), payloadHash: (view.getUint32(20, true) & FILE_FLAG_PAYLOAD_HASH) !== 0 },
    };
  }
}

export function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}
