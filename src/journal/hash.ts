// FNV-1a, 32 bits: the digest of a transmitted datagram, an offered payload (in hash mode) and the
// messages a poll delivered. Not cryptographic: it detects divergence, it does not resist forgery
// (the blocks' CRC-32 detects corruption). Over (bytes, offset, length): no view, no allocation.
export const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv1a(bytes: Uint8Array, offset: number, length: number, seed: number = FNV_OFFSET): number {
  let h = seed;
  const end = offset + length;
  for (let i = offset; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

/** Folds a 32-bit value into a running FNV-1a hash, byte by byte (little-endian). */
export function fnvMixU32(h: number, value: number): number {
  h = Math.imul(h ^ (value & 255), FNV_PRIME);
  h = Math.imul(h ^ ((value >>> 8) & 255), FNV_PRIME);
  h = Math.imul(h ^ ((value >>> 16) & 255), FNV_PRIME);
  h = Math.imul(h ^ (value >>> 24), FNV_PRIME);
  return h >>> 0;
}
