// Limits shared by channel URIs and the engine configuration (PROTOCOL.md section 4), in one
// place so that a URI parameter and the engine option it overrides obey the same bounds.

import { FRAME_ALIGNMENT, MAX_UDP_PAYLOAD_LENGTH } from "../protocol/frameHeader.js";
import { GIB, isPowerOfTwo, KIB } from "./size.js";

export const I32_MIN = -0x8000_0000;
export const I32_MAX = 0x7fff_ffff;

/** The MTU must exceed the 32-byte data header and be a multiple of 32, so 64 is the least. */
export const MTU_BYTES_MIN = 2 * FRAME_ALIGNMENT;
export const MTU_BYTES_MAX = MAX_UDP_PAYLOAD_LENGTH;
export const TERM_LENGTH_BYTES_MIN = 64 * KIB;
export const TERM_LENGTH_BYTES_MAX = GIB;
/** Aeron's AERON_RETRANSMIT_HANDLER_MAX_RESEND_MAX. */
export const MAX_RETRANSMIT_ACTIONS_MAX = 256;
export const TTL_MAX = 255;

export function isValidMtu(bytes: number): boolean {
  return Number.isSafeInteger(bytes) && bytes >= MTU_BYTES_MIN && bytes <= MTU_BYTES_MAX && bytes % FRAME_ALIGNMENT === 0;
}

export function isValidTermLength(bytes: number): boolean {
  return isPowerOfTwo(bytes) && bytes >= TERM_LENGTH_BYTES_MIN && bytes <= TERM_LENGTH_BYTES_MAX;
}

export const MTU_RULE = `must be a multiple of ${FRAME_ALIGNMENT} between ${MTU_BYTES_MIN} and ${MTU_BYTES_MAX}`;
export const TERM_LENGTH_RULE = "must be a power of two between 64k and 1g (65536 .. 1073741824)";
