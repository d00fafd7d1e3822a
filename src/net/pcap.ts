// Classic libpcap files, byte level only (no I/O: pcapFile.ts reads and writes files; the simulator
// and the netstack reuse this module as it is).
//
// Global header (24 bytes): magic u32, versionMajor u16, versionMinor u16, thisZone i32,
// sigFigs u32, snapLength u32, linkType u32. The magic, read in the file's byte order, is
// 0xa1b2c3d4 (microsecond timestamps) or 0xa1b23c4d (nanosecond timestamps); read in the other
// order it appears byte-swapped, which tells the reader to swap every header field.
// Record header (16 bytes): seconds u32, fraction u32 (us or ns), capturedLength u32,
// originalLength u32; then capturedLength bytes of packet.
// The writer always writes little-endian, version 2.4.

export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
export const PCAP_GLOBAL_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_DEFAULT_SNAP_LENGTH = 262144;

/** Link type: BSD loopback, a 4-byte address family in the capturing host's byte order. */
export const LINKTYPE_NULL = 0;
/** Link type: Ethernet II. */
export const LINKTYPE_ETHERNET = 1;
/** Link type: raw IP (no link header). */
export const LINKTYPE_RAW = 101;
/** Link type: OpenBSD loopback, a 4-byte address family in network byte order. */
export const LINKTYPE_LOOP = 108;
/** Link type: Linux cooked capture v1 (16-byte header). */
export const LINKTYPE_LINUX_SLL = 113;
/** Link type: Linux cooked capture v2 (20-byte header, the protocol first). */
export const LINKTYPE_LINUX_SLL2 = 276;

/** A pcap input that cannot be read, with the byte offset where reading failed. */
export class PcapFormatError extends Error {
  readonly byteOffset: number;
  constructor(message: string, byteOffset: number) {
    super(`${message} (at byte ${byteOffset})`);
    this.name = "PcapFormatError";
    this.byteOffset = byteOffset;
  }
}

export interface PcapGlobalHeader {
  /** True when the file's fields are little-endian. */
  readonly littleEndian: boolean;
  /** True when record timestamps carry nanoseconds (else microseconds). */
  readonly nanosecond: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly thisZone: number;
  readonly sigFigs: number;
  readonly snapLength: number;
  readonly linkType: number;
}

/**
 * Reads records one at a time over a pcap image in memory. After next() returns true, the record
 * fields describe the current record and packetOffset/capturedLength locate its bytes in `bytes`
 * (no copy). Truncated or inconsistent input fails with a PcapFormatError naming the offset.
 */
export class PcapReader {
  readonly bytes: Uint8Array;
  readonly header: PcapGlobalHeader;
  /** Seconds of the current record's timestamp. */
  seconds = 0;
  /** Sub-second part of the current record's timestamp, in the file's unit (us or ns). */
  fraction = 0;
  /** Sub-second part in nanoseconds, whatever the file's unit. */
  nanoseconds = 0;
  capturedLength = 0;
  originalLength = 0;
  /** Offset of the current record's packet in `bytes`. */
  packetOffset = 0;
  /** Zero-based index of the current record (-1 before the first next()). */
  index = -1;

  private readonly view: DataView;
  private cursor = PCAP_GLOBAL_HEADER_LENGTH;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.header = readPcapGlobalHeader(this.view);
  }

  /** Advances to the next record; false at the clean end of the input. */
  next(): boolean {
    const total = this.bytes.length;
    if (this.cursor === total) return false;
    if (total - this.cursor < PCAP_RECORD_HEADER_LENGTH) {
      throw new PcapFormatError(`truncated record header (${total - this.cursor} bytes left)`, this.cursor);
    }
    const le = this.header.littleEndian;
    const at = this.cursor;
    const seconds = this.view.getUint32(at, le);
    const fraction = this.view.getUint32(at + 4, le);
    const capturedLength = this.view.getUint32(at + 8, le);
    const originalLength = this.view.getUint32(at + 12, le);
    const limit = this.header.nanosecond ? 1_000_000_000 : 1_000_000;
    if (fraction >= limit) throw new PcapFormatError(`timestamp fraction ${fraction} out of range`, at + 4);
    if (capturedLength > total - at - PCAP_RECORD_HEADER_LENGTH) {
      throw new PcapFormatError(`record of ${capturedLength} bytes runs past the end of the input`, at + 8);
    }
    if (capturedLength > originalLength) {
      throw new PcapFormatError(`captured length ${capturedLength} exceeds original length ${originalLength}`, at + 8);
    }
    this.seconds = seconds;
    this.fraction = fraction;
    this.nanoseconds = this.header.nanosecond ? fraction : fraction * 1000;
    this.capturedLength = capturedLength;
    this.originalLength = originalLength;
    this.packetOffset = at + PCAP_RECORD_HEADER_LENGTH;
    this.cursor = this.packetOffset + capturedLength;
    this.index++;
    return true;
  }

  /** The current record's bytes (a view, not a copy). */
  packet(): Uint8Array {
    return this.bytes.subarray(this.packetOffset, this.packetOffset + this.capturedLength);
  }
}

/** Parses the 24-byte global header. */
export function readPcapGlobalHeader(view: DataView): PcapGlobalHeader {
  if (view.byteLength < PCAP_GLOBAL_HEADER_LENGTH) {
    throw new PcapFormatError(`input of ${view.byteLength} bytes is shorter than a pcap global header`, 0);
  }
  const magicLe = view.getUint32(0, true);
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (magicLe === PCAP_MAGIC_MICROSECONDS || magicLe === PCAP_MAGIC_NANOSECONDS) {
    littleEndian = true;
    nanosecond = magicLe === PCAP_MAGIC_NANOSECONDS;
  } else {
    const magicBe = view.getUint32(0, false);
    if (magicBe !== PCAP_MAGIC_MICROSECONDS && magicBe !== PCAP_MAGIC_NANOSECONDS) {
      throw new PcapFormatError(`unknown pcap magic 0x${magicLe.toString(16)} (pcapng is not supported)`, 0);
    }
    littleEndian = false;
    nanosecond = magicBe === PCAP_MAGIC_NANOSECONDS;
  }
  const header: PcapGlobalHeader = {
    littleEndian,
    nanosecond,
    versionMajor: view.getUint16(4, littleEndian),
    versionMinor: view.getUint16(6, littleEndian),
    thisZone: view.getInt32(8, littleEndian),
    sigFigs: view.getUint32(12, littleEndian),
    snapLength: view.getUint32(16, littleEndian),
    // The upper bits of this field may carry FCS information; the link type is the low 16 bits.
    linkType: view.getUint32(20, littleEndian) & 0xffff,
  };
  if (header.versionMajor !== PCAP_VERSION_MAJOR) {
    throw new PcapFormatError(`unsupported pcap version ${header.versionMajor}.${header.versionMinor}`, 4);
  }
  return header;
}

/** A growable byte buffer that pcap records (or anything else) are appended to. */
export class GrowableByteSink {
  private buffer: Uint8Array;
  private view: DataView;
  private used = 0;

  constructor(initialCapacity = 4096) {
    this.buffer = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buffer.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.used;
  }

  /** The written bytes (a view that is invalidated by the next append that grows the buffer). */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.used);
  }

  /** A copy of the written bytes. */
  toUint8Array(): Uint8Array {
    return this.buffer.slice(0, this.used);
  }

  reset(): void {
    this.used = 0;
  }

  /** Makes room for `extra` more bytes, doubling the capacity as needed. */
  ensure(extra: number): void {
    const needed = this.used + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.used));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  append(source: Uint8Array, offset = 0, length: number = source.length - offset): void {
    this.ensure(length);
    this.buffer.set(source.subarray(offset, offset + length), this.used);
    this.used += length;
  }

  appendUint32Le(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.used, value >>> 0, true);
    this.used += 4;
  }

  appendUint16Le(value: number): void {
    this.ensure(2);
    this.view.setUint16(this.used, value & 0xffff, true);
    this.used += 2;
  }

  appendInt32Le(value: number): void {
    this.ensure(4);
    this.view.setInt32(this.used, value | 0, true);
    this.used += 4;
  }
}

export interface PcapWriterOptions {
  readonly linkType?: number;
  readonly nanosecond?: boolean;
  readonly snapLength?: number;
}

/** Writes a little-endian classic pcap stream into a GrowableByteSink. */
export class PcapWriter {
  readonly sink: GrowableByteSink;
  readonly linkType: number;
  readonly nanosecond: boolean;
  readonly snapLength: number;
  records = 0;

  constructor(sink: GrowableByteSink, options: PcapWriterOptions = {}) {
    this.sink = sink;
    this.linkType = options.linkType ?? LINKTYPE_ETHERNET;
    this.nanosecond = options.nanosecond ?? false;
    this.snapLength = options.snapLength ?? PCAP_DEFAULT_SNAP_LENGTH;
    sink.appendUint32Le(this.nanosecond ? PCAP_MAGIC_NANOSECONDS : PCAP_MAGIC_MICROSECONDS);
    sink.appendUint16Le(PCAP_VERSION_MAJOR);
    sink.appendUint16Le(PCAP_VERSION_MINOR);
    sink.appendInt32Le(0);
    sink.appendUint32Le(0);
    sink.appendUint32Le(this.snapLength);
    sink.appendUint32Le(this.linkType);
  }

  /**
   * Appends one record. `fraction` is in the writer's unit (us, or ns when nanosecond); a packet
   * longer than the snap length is truncated to it, with its original length kept.
   */
  writeRecord(seconds: number, fraction: number, packet: Uint8Array, offset = 0, length: number = packet.length - offset): void {
    const limit = this.nanosecond ? 1_000_000_000 : 1_000_000;
    if (!(Number.isInteger(fraction) && fraction >= 0 && fraction < limit)) {
      throw new RangeError(`timestamp fraction ${fraction} is outside 0..${limit - 1}`);
    }
    if (!(Number.isInteger(seconds) && seconds >= 0 && seconds <= 0xffffffff)) {
      throw new RangeError(`timestamp seconds ${seconds} do not fit in u32`);
    }
    const captured = Math.min(length, this.snapLength);
    this.sink.appendUint32Le(seconds);
    this.sink.appendUint32Le(fraction);
    this.sink.appendUint32Le(captured);
    this.sink.appendUint32Le(length);
    this.sink.append(packet, offset, captured);
    this.records++;
  }

  /** Appends one record stamped with a time in nanoseconds (a simulated clock's `nowNs`). */
  writeRecordAtNs(timeNs: number, packet: Uint8Array, offset = 0, length: number = packet.length - offset): void {
    const seconds = Math.floor(timeNs / 1_000_000_000);
    const nanos = timeNs - seconds * 1_000_000_000;
    this.writeRecord(seconds, this.nanosecond ? nanos : Math.floor(nanos / 1000), packet, offset, length);
  }
}
