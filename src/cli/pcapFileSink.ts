// A PcapByteSink that streams to a file (the simulator's pcap tap does no I/O itself): each chunk
// is written synchronously as it fills, so memory stays at one chunk whatever the run's length.
import { closeSync, openSync, writeSync } from "node:fs";
import type { PcapByteSink } from "../sim/pcapTap.js";

export class PcapFileSink implements PcapByteSink {
  private fd: number | null;
  bytes = 0;
  constructor(readonly path: string) {
    this.fd = openSync(path, "w");
  }
  write(bytes: Uint8Array): void {
    if (this.fd === null) throw new Error(`pcap file ${this.path} is closed`);
    let done = 0;
    // Bounded: each writeSync writes at least one byte or throws.
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    this.bytes += bytes.length;
  }
  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}
