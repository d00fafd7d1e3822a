// Test support: loads the reference captures in test/fixtures (copies of the reference captures) into UDP payloads, and re-encodes
// a datagram frame by frame from decoded fields (encoders only, never a copy of the frame bytes).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import {
  DataFrameFlyweight,
  ErrorFrameFlyweight,
  HDR_TYPE_PAD,
  IgnoringFrameVisitor,
  NakFlyweight,
  ResponseSetupFlyweight,
  RttmFlyweight,
  SetupFrameFlyweight,
  StatusMessageFlyweight,
  viewOf,
  writeDataHeader,
  writeError,
  writeNak,
  writeResponseSetup,
  writeResolutionEntry,
  writeResolutionHeader,
  writeRttm,
  writeSetup,
  writeStatusMessage,
  writeStatusMessageWithGroupTag,
  resEntryType,
  resEntryFlags,
  resEntryUdpPort,
  resEntryAgeInMs,
  resEntryNameLength,
  resEntryNameOffset,
  RES_ENTRY_ADDRESS_OFFSET,
  RES_FIRST_ENTRY_OFFSET,
  frameExtent,
  DatagramWalker,
  DATA_HEADER_LENGTH,
} from "../../src/core/protocol/index.js";
import { openPcapFile } from "../../src/net/pcapFile.js";
import { PacketStatus, UdpPacketInfo, parseLinkIpv4Udp } from "../../src/net/ethernetIpv4Udp.js";

export const capturesDirectory = join(import.meta.dirname, "..", "fixtures");

export interface CapturedDatagram {
  readonly file: string;
  /** Zero-based record index in the file. */
  readonly record: number;
  /** The whole link-layer packet. */
  readonly packet: Uint8Array;
  /** The UDP payload (a view into `packet`). */
  readonly payload: Uint8Array;
  readonly sourcePort: number;
  readonly destinationPort: number;
}

export function captureFiles(): string[] {
  return readdirSync(capturesDirectory)
    .filter((name) => name.endsWith(".pcap"))
    .sort();
}

const cache = new Map<string, CapturedDatagram[]>();

/** Every UDP datagram of one capture; fails loudly on a packet that is not IPv4/UDP. */
export function loadCapture(file: string): CapturedDatagram[] {
  const cached = cache.get(file);
  if (cached) return cached;
  const reader = openPcapFile(join(capturesDirectory, file));
  const info = new UdpPacketInfo();
  const out: CapturedDatagram[] = [];
  while (reader.next()) {
    const packet = reader.packet();
    const status = parseLinkIpv4Udp(reader.header.linkType, packet, 0, packet.length, info);
    if (status !== PacketStatus.OK) throw new Error(`${file} record ${reader.index}: status ${status}`);
    out.push({
      file,
      record: reader.index,
      packet,
      payload: packet.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength),
      sourcePort: info.sourcePort,
      destinationPort: info.destinationPort,
    });
  }
  cache.set(file, out);
  return out;
}

/**
 * Re-encodes a datagram from the fields its frames decode to. Each frame is read through its
 * flyweight and written into a fresh zeroed buffer with the frame type's encoder; only opaque
 * payload bytes (data payload, error text, resolution names and addresses) are copied.
 */
class ReencodingVisitor extends IgnoringFrameVisitor {
  out: Uint8Array = new Uint8Array(0);
  outView: DataView = new DataView(this.out.buffer);
  base = 0;
  private readonly data = new DataFrameFlyweight();
  private readonly setup = new SetupFrameFlyweight();
  private readonly sm = new StatusMessageFlyweight();
  private readonly nak = new NakFlyweight();
  private readonly rttm = new RttmFlyweight();
  private readonly err = new ErrorFrameFlyweight();
  private readonly rsp = new ResponseSetupFlyweight();
  end = 0;

  override onData(_view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const f = this.data.wrap(bytes, frameOffset, DATA_HEADER_LENGTH);
    const at = frameOffset - this.base;
    writeDataHeader(
      this.outView,
      at,
      frameLength,
      f.flags(),
      f.type(),
      f.termOffset(),
      f.sessionId(),
      f.streamId(),
      f.termId(),
      f.reservedValueLo(),
      f.reservedValueHi(),
    );
    if (frameLength > DATA_HEADER_LENGTH) {
      this.out.set(bytes.subarray(frameOffset + DATA_HEADER_LENGTH, frameOffset + frameLength), at + DATA_HEADER_LENGTH);
    }
  }

  override onPad(_view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const f = this.data.wrap(bytes, frameOffset, DATA_HEADER_LENGTH);
    writeDataHeader(this.outView, frameOffset - this.base, frameLength, f.flags(), HDR_TYPE_PAD, f.termOffset(), f.sessionId(), f.streamId(), f.termId(), f.reservedValueLo(), f.reservedValueHi());
    // A pad's body (when present at all) is padding; copy whatever is there as opaque bytes.
    const extent = frameExtent(frameLength, this.end - frameOffset);
    this.out.set(bytes.subarray(frameOffset + DATA_HEADER_LENGTH, frameOffset + extent), frameOffset - this.base + DATA_HEADER_LENGTH);
  }

  override onSetup(_view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const f = this.setup.wrap(bytes, frameOffset, frameLength);
    writeSetup(this.outView, frameOffset - this.base, f.flags(), f.termOffset(), f.sessionId(), f.streamId(), f.initialTermId(), f.activeTermId(), f.termLength(), f.mtu(), f.ttl());
  }

  override onStatus(_view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const f = this.sm.wrap(bytes, frameOffset, frameLength);
    const at = frameOffset - this.base;
    if (f.hasGroupTag()) {
      writeStatusMessageWithGroupTag(this.outView, at, f.flags(), f.sessionId(), f.streamId(), f.consumptionTermId(), f.consumptionTermOffset(), f.receiverWindow(), f.receiverIdLo(), f.receiverIdHi(), f.groupTagLo(), f.groupTagHi());
    } else {
      writeStatusMessage(this.outView, at, f.flags(), f.sessionId(), f.streamId(), f.consumptionTermId(), f.consumptionTermOffset(), f.receiverWindow(), f.receiverIdLo(), f.receiverIdHi());
    }
    // An SM longer than its fields (Aeron allows it) keeps its frameLength and trailing bytes.
    if (frameLength !== f.frameLength() || frameLength > 44) throw new Error("unexpected SM length");
  }

  override onNak(_view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const f = this.nak.wrap(bytes, frameOffset, frameLength);
    writeNak(this.outView, frameOffset - this.base, f.flags(), f.sessionId(), f.streamId(), f.termId(), f.termOffset(), f.length());
  }

  override onRttm(_view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const f = this.rttm.wrap(bytes, frameOffset, frameLength);
    writeRttm(this.outView, frameOffset - this.base, f.flags(), f.sessionId(), f.streamId(), f.echoTimestampNs(), f.receptionDeltaNs(), f.receiverIdLo(), f.receiverIdHi());
  }

  override onError(_view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const f = this.err.wrap(bytes, frameOffset, frameLength);
    writeError(this.outView, frameOffset - this.base, f.flags(), f.sessionId(), f.streamId(), f.receiverIdLo(), f.receiverIdHi(), f.groupTagLo(), f.groupTagHi(), f.errorCode(), bytes, f.textOffset(), f.errorLength());
  }

  override onResolution(view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const at = frameOffset - this.base;
    writeResolutionHeader(this.outView, at, frameLength, bytes[frameOffset + 5] ?? 0);
    let entry = frameOffset + RES_FIRST_ENTRY_OFFSET;
    const end = frameOffset + frameLength;
    while (entry < end) {
      const type = resEntryType(view, entry);
      const nameLength = resEntryNameLength(view, entry);
      const written = writeResolutionEntry(this.outView, entry - this.base, type, resEntryFlags(view, entry), resEntryUdpPort(view, entry), resEntryAgeInMs(view, entry), bytes, entry + RES_ENTRY_ADDRESS_OFFSET, bytes, resEntryNameOffset(view, entry), nameLength);
      entry += written;
    }
  }

  override onResponseSetup(_view: DataView, bytes: Uint8Array, frameOffset: number, frameLength: number): void {
    const f = this.rsp.wrap(bytes, frameOffset, frameLength);
    writeResponseSetup(this.outView, frameOffset - this.base, f.flags(), f.sessionId(), f.streamId(), f.responseSessionId());
  }
}

const reencoder = new ReencodingVisitor();
const reencodeWalker = new DatagramWalker();

/** Re-encodes an accepted datagram; returns null when the walker rejects it. */
export function reencodeDatagram(bytes: Uint8Array, offset: number, length: number): Uint8Array | null {
  // Room for a RES entry's zero padding past an unpadded final entry.
  reencoder.out = new Uint8Array(length + 64);
  reencoder.outView = viewOf(reencoder.out);
  reencoder.base = offset;
  reencoder.end = offset + length;
  if (!reencodeWalker.walk(bytes, offset, length, reencoder)) return null;
  return reencoder.out.subarray(0, length);
}
