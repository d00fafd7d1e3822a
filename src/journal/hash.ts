// The journal's digest of a transmitted datagram, an offered payload (in hash mode) and the
// messages a poll delivered: over little-endian 4-byte words, two running sums (Fletcher's
// construction: the second sums the first, so the order of words counts), then the tail bytes, the
// length and a final avalanche (murmur3's fmix32). Not cryptographic: it detects divergence, it
// does not resist forgery (the blocks' CRC-32 detects corruption).
//
// Speed matters (it runs per datagram and per delivered message while recording): where the bytes
// sit at a 4-byte-aligned address it reads them as words through an Int32Array over the same
// memory (WordView caches one per byte array), else it assembles the words from bytes. Both paths
// give the same value, so a replay whose buffers are aligned differently computes the same digests.
export const HASH_SEED = 0x811c9dc5;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** An Int32Array over a byte array's whole buffer, remade only when another byte array comes. */
export class WordView {
  private bytes: Uint8Array | undefined;
  private words: Int32Array<ArrayBufferLike> = new Int32Array(0);

  of(bytes: Uint8Array): Int32Array<ArrayBufferLike> {
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.words = new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
    }
    return this.words;
  }
}

function mix(h: number, word: number): number {
  h = Math.imul(h ^ word, 0xcc9e2d51);
  return Math.imul((h << 15) | (h >>> 17), 0x1b873593);
}

/** Hash of `bytes[offset, offset + length)`, continuing from `seed`. */
export function hashBytes(view: WordView, bytes: Uint8Array, offset: number, length: number, seed: number = HASH_SEED): number {
  let a = seed | 0;
  let b = 0;
  const start = bytes.byteOffset + offset;
  const words = length >>> 2;
  if (LITTLE_ENDIAN && (start & 3) === 0) {
    const w = view.of(bytes);
    for (let k = start >>> 2, end = k + words; k < end; k++) {
      a = (a + w[k]!) | 0;
      b = (b + a) | 0;
    }
  } else {
    for (let i = offset, end = offset + words * 4; i < end; i += 4) {
      a = (a + (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) | 0;
      b = (b + a) | 0;
    }
  }
  for (let i = offset + words * 4, end = offset + length; i < end; i++) {
    a = (a + bytes[i]!) | 0;
    b = (b + a) | 0;
  }
  let h = mix(a ^ length, b);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Folds a 32-bit value into a running hash (a delivered message's length into a poll's digest). */
export function hashMixU32(h: number, value: number): number {
  return mix(h | 0, value | 0) >>> 0;
}
