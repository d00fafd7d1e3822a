// File I/O for pcap.ts: the only place in src/net that touches node:fs.
import { readFileSync, writeFileSync } from "node:fs";
import { GrowableByteSink, PcapReader, PcapWriter, type PcapWriterOptions } from "./pcap.js";

/** Reads a whole pcap file into memory and returns a reader over it. */
export function openPcapFile(path: string): PcapReader {
  const data = readFileSync(path);
  return new PcapReader(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Writes the bytes a PcapWriter accumulated to `path`. */
export function writePcapFile(path: string, writer: PcapWriter): void {
  writeFileSync(path, writer.sink.bytes());
}

/** A writer over a fresh sink, to be saved with writePcapFile. */
export function createPcapWriter(options: PcapWriterOptions = {}): PcapWriter {
  return new PcapWriter(new GrowableByteSink(64 * 1024), options);
}
