// RES, name resolution (PROTOCOL.md section 3): the 8-byte header, then entries, each
//   resType i8 @0 (1 = IPv4, 2 = IPv6), resFlags u8 @1 (SELF 0x80), udpPort u16 @2,
//   ageInMs i32 @4, address (4 or 16 bytes) @8, nameLength i16, name bytes,
// padded to 8-byte alignment. Entry offsets below are relative to the entry's start. Petrel
// parses these (for completeness and for the walker's validation) and otherwise ignores them.
import { align } from "./frameHeader.js";
import { FrameFlyweight, writeFrameHeader } from "./frameFlyweight.js";
import { HEADER_LENGTH, HDR_TYPE_RES } from "./frameHeader.js";

export const RES_ENTRY_TYPE_OFFSET = 0;
export const RES_ENTRY_FLAGS_OFFSET = 1;
export const RES_ENTRY_UDP_PORT_OFFSET = 2;
export const RES_ENTRY_AGE_IN_MS_OFFSET = 4;
export const RES_ENTRY_ADDRESS_OFFSET = 8;
/** Entries start right after the common header. */
export const RES_FIRST_ENTRY_OFFSET = HEADER_LENGTH;
/** Entries are padded to this alignment. */
export const RES_ENTRY_ALIGNMENT = 8;
/** The longest name Aeron writes. */
export const RES_MAX_NAME_LENGTH = 512;

export const RES_TYPE_NAME_TO_IP4 = 1;
export const RES_TYPE_NAME_TO_IP6 = 2;
/** Entry flag: the entry describes the sending driver itself. */
export const RES_SELF_FLAG = 0x80;

/** Address bytes for a resolution type, or 0 for an unknown type. */
export function resAddressLength(resType: number): number {
  return resType === RES_TYPE_NAME_TO_IP4 ? 4 : resType === RES_TYPE_NAME_TO_IP6 ? 16 : 0;
}

/** Offset of the nameLength field in an entry of `resType` (an unknown type gives 8). */
export function resNameLengthOffset(resType: number): number {
  return RES_ENTRY_ADDRESS_OFFSET + resAddressLength(resType);
}

/** Aligned length of an entry with the given type and name length. */
export function resEntryLength(resType: number, nameLength: number): number {
  return align(resNameLengthOffset(resType) + 2 + nameLength, RES_ENTRY_ALIGNMENT);
}

export function resEntryType(view: DataView, entryOffset: number): number {
  return view.getInt8(entryOffset + RES_ENTRY_TYPE_OFFSET);
}
export function resEntryFlags(view: DataView, entryOffset: number): number {
  return view.getUint8(entryOffset + RES_ENTRY_FLAGS_OFFSET);
}
export function resEntryUdpPort(view: DataView, entryOffset: number): number {
  return view.getUint16(entryOffset + RES_ENTRY_UDP_PORT_OFFSET, true);
}
export function resEntryAgeInMs(view: DataView, entryOffset: number): number {
  return view.getInt32(entryOffset + RES_ENTRY_AGE_IN_MS_OFFSET, true);
}
/** An IPv4 entry's address as a u32 in network order (first byte most significant). */
export function resEntryIpv4Address(view: DataView, entryOffset: number): number {
  return view.getUint32(entryOffset + RES_ENTRY_ADDRESS_OFFSET, false);
}
export function resEntryNameLength(view: DataView, entryOffset: number): number {
  return view.getInt16(entryOffset + resNameLengthOffset(resEntryType(view, entryOffset)), true);
}
/** Offset of the name bytes of the entry at `entryOffset`. */
export function resEntryNameOffset(view: DataView, entryOffset: number): number {
  return entryOffset + resNameLengthOffset(resEntryType(view, entryOffset)) + 2;
}

/**
 * Checks the entries of the RES frame at `frameOffset` whose frameLength is `frameLength` (bytes
 * known to be present). Returns the number of entries, or -1 when an entry has an unknown type, a
 * negative or too long name, or runs past the frame. The last entry may omit its padding.
 */
export function resCountEntries(view: DataView, frameOffset: number, frameLength: number): number {
  const end = frameOffset + frameLength;
  let entryOffset = frameOffset + RES_FIRST_ENTRY_OFFSET;
  let count = 0;
  // Each entry is at least 16 bytes, so the loop is bounded by frameLength / 16.
  while (entryOffset < end) {
    const remaining = end - entryOffset;
    if (remaining < RES_ENTRY_ADDRESS_OFFSET) return -1;
    const type = view.getInt8(entryOffset + RES_ENTRY_TYPE_OFFSET);
    const addressLength = resAddressLength(type);
    if (addressLength === 0) return -1;
    const nameLengthOffset = RES_ENTRY_ADDRESS_OFFSET + addressLength;
    if (remaining < nameLengthOffset + 2) return -1;
    const nameLength = view.getInt16(entryOffset + nameLengthOffset, true);
    if (nameLength < 0 || nameLength > RES_MAX_NAME_LENGTH) return -1;
    const used = nameLengthOffset + 2 + nameLength;
    if (used > remaining) return -1;
    entryOffset += Math.min(align(used, RES_ENTRY_ALIGNMENT), remaining);
    count++;
  }
  return count;
}

/** Writes the RES frame's common header (type RES, version 0). */
export function writeResolutionHeader(view: DataView, frameOffset: number, frameLength: number, flags: number): void {
  writeFrameHeader(view, frameOffset, frameLength, flags, HDR_TYPE_RES);
}

/**
 * Writes one entry at `entryOffset`, every field, padding with zeros to 8-byte alignment, and
 * returns its aligned length. `address` must hold 4 (IPv4) or 16 (IPv6) bytes at `addressOffset`.
 */
export function writeResolutionEntry(
  view: DataView,
  entryOffset: number,
  resType: number,
  resFlags: number,
  udpPort: number,
  ageInMs: number,
  address: Uint8Array,
  addressOffset: number,
  name: Uint8Array,
  nameOffset: number,
  nameLength: number,
): number {
  const addressLength = resAddressLength(resType);
  if (addressLength === 0) throw new RangeError(`unknown resolution type ${resType}`);
  if (!(nameLength >= 0 && nameLength <= RES_MAX_NAME_LENGTH)) {
    throw new RangeError(`resolution name of ${nameLength} bytes is outside 0..${RES_MAX_NAME_LENGTH}`);
  }
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  view.setInt8(entryOffset + RES_ENTRY_TYPE_OFFSET, resType);
  view.setUint8(entryOffset + RES_ENTRY_FLAGS_OFFSET, resFlags);
  view.setUint16(entryOffset + RES_ENTRY_UDP_PORT_OFFSET, udpPort, true);
  view.setInt32(entryOffset + RES_ENTRY_AGE_IN_MS_OFFSET, ageInMs, true);
  bytes.set(address.subarray(addressOffset, addressOffset + addressLength), entryOffset + RES_ENTRY_ADDRESS_OFFSET);
  const nameLengthOffset = entryOffset + RES_ENTRY_ADDRESS_OFFSET + addressLength;
  view.setInt16(nameLengthOffset, nameLength, true);
  bytes.set(name.subarray(nameOffset, nameOffset + nameLength), nameLengthOffset + 2);
  const used = RES_ENTRY_ADDRESS_OFFSET + addressLength + 2 + nameLength;
  const entryLength = align(used, RES_ENTRY_ALIGNMENT);
  bytes.fill(0, entryOffset + used, entryOffset + entryLength);
  return entryLength;
}

/** A flyweight over a RES frame; entries are read with the free functions above. */
export class ResolutionFrameFlyweight extends FrameFlyweight {
  /** Offset of the first entry in the wrapped array. */
  firstEntryOffset(): number {
    return this.offsetValue + RES_FIRST_ENTRY_OFFSET;
  }
  /** Number of entries, or -1 when the entries are malformed. */
  entryCount(): number {
    return resCountEntries(this.viewValue, this.offsetValue, Math.min(this.frameLength(), this.lengthValue));
  }
}
