// The 8-byte header that starts every Aeron frame (PROTOCOL.md section 2). Every integer on the
// wire is little-endian; every accessor here states `true` (little-endian) explicitly.

/** Offset of frameLength (i32): bytes in the frame including the header, unpadded. */
export const FRAME_LENGTH_OFFSET = 0;
/** Offset of version (i8). */
export const VERSION_OFFSET = 4;
/** Offset of flags (u8). */
export const FLAGS_OFFSET = 5;
/** Offset of type (i16, read as u16 so that EXT is 0xffff). */
export const TYPE_OFFSET = 6;
/** Length of the common header. */
export const HEADER_LENGTH = 8;

/** The protocol version Petrel speaks. */
export const CURRENT_VERSION = 0;

/** Data and pad frames are laid out at this alignment within a datagram and a term. */
export const FRAME_ALIGNMENT = 32;

/** The largest UDP payload (IPv4, 65535 - 20 - 8, rounded down to the frame alignment). */
export const MAX_UDP_PAYLOAD_LENGTH = 65504;

/** Default MTU: the largest datagram a sender builds. */
export const DEFAULT_MTU_LENGTH = 1408;

// Frame types (u16 on the wire).
export const HDR_TYPE_PAD = 0x00;
export const HDR_TYPE_DATA = 0x01;
export const HDR_TYPE_NAK = 0x02;
export const HDR_TYPE_SM = 0x03;
export const HDR_TYPE_ERR = 0x04;
export const HDR_TYPE_SETUP = 0x05;
export const HDR_TYPE_RTTM = 0x06;
export const HDR_TYPE_RES = 0x07;
export const HDR_TYPE_ATS_DATA = 0x08;
export const HDR_TYPE_ATS_SETUP = 0x09;
export const HDR_TYPE_ATS_SM = 0x0a;
export const HDR_TYPE_RSP_SETUP = 0x0b;
export const HDR_TYPE_EXT = 0xffff;

/** Rounds `value` up to a multiple of `alignment` (a power of two). */
export function align(value: number, alignment: number): number {
  return (value + (alignment - 1)) & ~(alignment - 1);
}

export function frameLength(view: DataView, frameOffset: number): number {
  return view.getInt32(frameOffset + FRAME_LENGTH_OFFSET, true);
}

export function frameVersion(view: DataView, frameOffset: number): number {
  return view.getInt8(frameOffset + VERSION_OFFSET);
}

export function frameFlags(view: DataView, frameOffset: number): number {
  return view.getUint8(frameOffset + FLAGS_OFFSET);
}

export function frameType(view: DataView, frameOffset: number): number {
  return view.getUint16(frameOffset + TYPE_OFFSET, true);
}
