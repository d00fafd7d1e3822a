// Writes what crosses the simulated network as a classic pcap (link type Ethernet) that Wireshark
// and tshark read: every datagram gets real Ethernet II, IPv4 and UDP headers with correct IPv4
// header and UDP checksums, stamped with simulated time. No I/O here: bytes go to a PcapByteSink
// (a bounded in-memory sink below, or a file sink the caller provides, such as src/cli's).
//
// What is written (mode):
//  - "sent" (the default): every datagram copy a link decided, once per decision. A datagram
//    dropped at send time (loss, burst loss, partition, MTU, full queue, a rule) appears once,
//    stamped at its send time. A datagram that reached its destination host appears once per copy
//    (duplicates twice), stamped at its arrival time, whether the host took it or dropped it
//    (host down, no listener, bad checksum). So every datagram a node sent onto a link is in the
//    file, exactly once when the link does not duplicate; drops are in the file too.
//    (no-route datagrams never entered a link and are written only with includeNoRoute.)
//  - "delivered": only the copies handed to a node (verdict DELIVERED or DELIVERED_CORRUPT),
//    stamped at arrival: what a capture on the receiving host would show.
//
// Corruption: a copy dropped as DROP_CHECKSUM carries its flipped byte and a UDP checksum that
// does not match it (the one computed over its bytes, inverted in its lowest bit), as on a real
// wire; a DELIVERED_CORRUPT copy (the model let the corruption through) gets a checksum that
// matches, since the checksum did not catch it.
//
// Addresses: MACs derive from IPv4 addresses: 02:00:a:b:c:d for host a.b.c.d (locally
// administered, unicast), 01:00:5e + the low 23 bits for a multicast group. The IPv4
// identification field counts datagrams per source address from 0. TTL 64, DF set.
//
// Timestamps: simulated time plus `epochSeconds` (default 0: the run starts at 1970-01-01).
// Nanosecond resolution by default (pcap magic 0xa1b23c4d); microsecond files on request.
//
// Memory: records are assembled in one chunk of `chunkBytes` and handed to the sink whenever the
// chunk fills; `maxBytes` caps the whole file (records beyond it are counted, not written).
import type { SimAddress } from "./address.js";
import { assert, assertIntegerInRange } from "./assert.js";
import { Verdict } from "./faults.js";
import type { LinkTap } from "./link.js";
import type { Simulation } from "./simulator.js";
import { isMulticastIpv4 } from "../core/address.js";
import {
  ETHERNET_HEADER_LENGTH,
  ETHERNET_IPV4_UDP_HEADER_LENGTH,
  IPV4_MIN_HEADER_LENGTH,
  UDP_HEADER_LENGTH,
  writeEthernetIpv4UdpHeaders,
} from "../net/ethernetIpv4Udp.js";
import { GrowableByteSink, PCAP_DEFAULT_SNAP_LENGTH, PcapWriter } from "../net/pcap.js";

/** Where a pcap's bytes go. `write` gets a view that is reused after it returns: copy to keep. */
export interface PcapByteSink {
  write(bytes: Uint8Array): void;
  close?(): void;
}

export type PcapTapMode = "sent" | "delivered";

export interface PcapTapOptions {
  /** What to write; see the file comment. Default "sent". */
  readonly mode?: PcapTapMode;
  /** Nanosecond timestamps (default true) or microseconds. */
  readonly nanosecond?: boolean;
  /** Added to simulated time: the wall-clock second the run is shown to start at. Default 0. */
  readonly epochSeconds?: number;
  /** Bytes per record kept from each frame (longer frames are truncated, their length kept). */
  readonly snapLength?: number;
  /** Bytes assembled before handing them to the sink. Default 256 KiB. */
  readonly chunkBytes?: number;
  /** Total file size cap; records that would pass it are skipped and counted. Default unlimited. */
  readonly maxBytes?: number;
  /** Also write datagrams to an address no host has (they never entered a link). Default false. */
  readonly includeNoRoute?: boolean;
  /** Keep only datagrams for which this returns true (after the mode's filter). */
  readonly filter?: (from: SimAddress, to: SimAddress, verdict: number) => boolean;
}

const TTL = 64;
const MAX_FRAME_BYTES = ETHERNET_IPV4_UDP_HEADER_LENGTH + 65535 - IPV4_MIN_HEADER_LENGTH - UDP_HEADER_LENGTH;
const PCAP_RECORD_HEADER_BYTES = 16;

/** Writes 02:00:a:b:c:d (or the IPv4 multicast MAC of a group) for `ip` into `out` at `offset`. */
export function macForIpv4(ip: number, out: Uint8Array, offset: number): void {
  const a = ip >>> 0;
  if (isMulticastIpv4(a)) {
    out[offset] = 0x01;
    out[offset + 1] = 0x00;
    out[offset + 2] = 0x5e;
    out[offset + 3] = (a >>> 16) & 0x7f;
  } else {
    out[offset] = 0x02;
    out[offset + 1] = 0x00;
    out[offset + 2] = a >>> 24;
    out[offset + 3] = (a >>> 16) & 0xff;
  }
  out[offset + 4] = (a >>> 8) & 0xff;
  out[offset + 5] = a & 0xff;
}

/** A sink that keeps the file in memory, up to `maxBytes` (more is an error: size it, or use maxBytes on the tap). */
export class MemoryPcapSink implements PcapByteSink {
  private readonly buffer: GrowableByteSink;
  constructor(readonly maxBytes: number) {
    assertIntegerInRange(maxBytes, 24, 1 << 30, "MemoryPcapSink maxBytes");
    this.buffer = new GrowableByteSink(Math.min(maxBytes, 64 * 1024));
  }
  write(bytes: Uint8Array): void {
    assert(this.buffer.length + bytes.length <= this.maxBytes, `MemoryPcapSink: more than ${this.maxBytes} bytes`);
    this.buffer.append(bytes);
  }
  /** A copy of the file so far. */
  bytes(): Uint8Array {
    return this.buffer.toUint8Array();
  }
}

/** One pcap stream fed by the simulator's tap (or by a link's own tap). */
export class PcapTap {
  readonly mode: PcapTapMode;
  /** Records written (handed to the chunk; flushed by flush/close or when the chunk fills). */
  records = 0;
  /** Records not written because of maxBytes. */
  skipped = 0;
  /** File bytes produced so far (global header included). */
  bytesWritten = 0;
  /** The function to give to sim.setTap or link.tap. */
  readonly tap: LinkTap;

  private readonly sink: PcapByteSink;
  private readonly chunk: GrowableByteSink;
  private readonly writer: PcapWriter;
  private readonly chunkBytes: number;
  private readonly maxBytes: number;
  private readonly epochSeconds: number;
  private readonly includeNoRoute: boolean;
  private readonly filter: PcapTapOptions["filter"];
  private readonly frame = new Uint8Array(MAX_FRAME_BYTES);
  private readonly macs = new Uint8Array(12);
  private readonly identification = new Map<number, number>();
  private closed = false;

  constructor(sink: PcapByteSink, options: PcapTapOptions = {}) {
    this.sink = sink;
    this.mode = options.mode ?? "sent";
    assert(this.mode === "sent" || this.mode === "delivered", `PcapTap: unknown mode ${String(this.mode)}`);
    this.chunkBytes = options.chunkBytes ?? 256 * 1024;
    assertIntegerInRange(this.chunkBytes, 64, 1 << 30, "PcapTap chunkBytes");
    this.maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    assertIntegerInRange(this.maxBytes, 24, Number.MAX_SAFE_INTEGER, "PcapTap maxBytes");
    this.epochSeconds = options.epochSeconds ?? 0;
    assertIntegerInRange(this.epochSeconds, 0, 0xffffffff, "PcapTap epochSeconds");
    this.includeNoRoute = options.includeNoRoute ?? false;
    this.filter = options.filter;
    this.chunk = new GrowableByteSink(Math.min(this.chunkBytes + MAX_FRAME_BYTES + PCAP_RECORD_HEADER_BYTES, 1 << 20));
    this.writer = new PcapWriter(this.chunk, {
      nanosecond: options.nanosecond ?? true,
      snapLength: options.snapLength ?? PCAP_DEFAULT_SNAP_LENGTH,
    });
    this.bytesWritten = this.chunk.length;
    this.tap = (timeNs, from, to, bytes, offset, length, verdict) => this.record(timeNs, from, to, bytes, offset, length, verdict);
  }

  /** Installs this tap as the simulation's all-links tap (replacing any other). */
  attach(sim: Simulation): this {
    sim.setTap(this.tap);
    return this;
  }

  /** Writes one datagram, if the mode and filter keep it. Returns whether it was written. */
  record(timeNs: number, from: SimAddress, to: SimAddress, bytes: Uint8Array, offset: number, length: number, verdict: number): boolean {
    assert(!this.closed, "PcapTap: record after close");
    if (this.mode === "delivered" && verdict !== Verdict.DELIVERED && verdict !== Verdict.DELIVERED_CORRUPT) return false;
    if (verdict === Verdict.DROP_NO_ROUTE && !this.includeNoRoute) return false;
    if (this.filter !== undefined && !this.filter(from, to, verdict)) return false;
    const frameLength = ETHERNET_IPV4_UDP_HEADER_LENGTH + length;
    assert(frameLength <= MAX_FRAME_BYTES, "PcapTap: datagram too long for IPv4");
    const captured = Math.min(frameLength, this.writer.snapLength);
    if (this.bytesWritten + PCAP_RECORD_HEADER_BYTES + captured > this.maxBytes) {
      this.skipped++;
      return false;
    }
    const frame = this.frame;
    frame.set(bytes.subarray(offset, offset + length), ETHERNET_IPV4_UDP_HEADER_LENGTH);
    const macs = this.macs;
    macForIpv4(to.ip, macs, 0);
    macForIpv4(from.ip, macs, 6);
    const id = this.identification.get(from.ip) ?? 0;
    this.identification.set(from.ip, (id + 1) & 0xffff);
    writeEthernetIpv4UdpHeaders(frame, 0, macs, 0, macs, 6, from.ip, to.ip, from.port, to.port, length, TTL, id, true);
    if (verdict === Verdict.DROP_CHECKSUM) {
      // The flipped byte is in the payload; the checksum must not match it (see the file comment).
      const at = ETHERNET_HEADER_LENGTH + IPV4_MIN_HEADER_LENGTH + 7;
      frame[at] = (frame[at] as number) ^ 1;
    }
    const seconds = this.epochSeconds + Math.floor(timeNs / 1_000_000_000);
    const nanos = timeNs - Math.floor(timeNs / 1_000_000_000) * 1_000_000_000;
    this.writer.writeRecord(seconds, this.writer.nanosecond ? nanos : Math.floor(nanos / 1000), frame, 0, frameLength);
    this.records++;
    this.bytesWritten += PCAP_RECORD_HEADER_BYTES + captured;
    if (this.chunk.length >= this.chunkBytes) this.flush();
    return true;
  }

  /** Hands the assembled bytes to the sink. */
  flush(): void {
    if (this.chunk.length === 0) return;
    this.sink.write(this.chunk.bytes());
    this.chunk.reset();
  }

  /** Flushes and closes the sink. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.sink.close?.();
  }
}

/**
 * One pcap per directed host pair (keyed by source and destination IPv4 address; a multicast
 * group is its own destination), made on first use by `open(name, fromIp, toIp)`. Attach with
 * sim.setTap(perLink.tap). Close with close().
 */
export class PerLinkPcapTaps {
  readonly taps = new Map<number, PcapTap>();
  readonly tap: LinkTap;
  constructor(
    private readonly open: (fromIp: number, toIp: number) => PcapByteSink,
    private readonly options: PcapTapOptions = {},
    private readonly maxFiles = 1024,
  ) {
    this.tap = (timeNs, from, to, bytes, offset, length, verdict) => {
      const key = (from.ip >>> 0) * 4294967296 + (to.ip >>> 0);
      let tap = this.taps.get(key);
      if (tap === undefined) {
        assert(this.taps.size < this.maxFiles, `PerLinkPcapTaps: more than ${this.maxFiles} files`);
        tap = new PcapTap(this.open(from.ip, to.ip), this.options);
        this.taps.set(key, tap);
      }
      tap.record(timeNs, from, to, bytes, offset, length, verdict);
    };
  }

  attach(sim: Simulation): this {
    sim.setTap(this.tap);
    return this;
  }

  close(): void {
    for (const tap of this.taps.values()) tap.close();
  }
}
