// The journal's digest of a transmitted datagram and of an offered payload (in hash mode), and
// (Digest, digestLogRange) of the log a poll consumed: over little-endian 4-byte words, two running sums (Fletcher's
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
    let k = start >>> 2;
    const end = k + words;
    // Four words per turn: a third less time than one (fewer loop checks).
    for (const end4 = end - 3; k < end4; k += 4) {
      a = (a + w[k]!) | 0;
      b = (b + a) | 0;
      a = (a + w[k + 1]!) | 0;
      b = (b + a) | 0;
      a = (a + w[k + 2]!) | 0;
      b = (b + a) | 0;
      a = (a + w[k + 3]!) | 0;
      b = (b + a) | 0;
    }
    for (; k < end; k++) {
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

/**
 * A poll's digest: the two sums run on over each image's consumed log range (its length, then its
 * bytes as in hashBytes), with one final avalanche when read.
 */
export class Digest {
  private a = HASH_SEED | 0;
  private b = 0;
  private readonly words = new WordView();

  reset(): void {
    this.a = HASH_SEED | 0;
    this.b = 0;
  }

  add(bytes: Uint8Array, offset: number, length: number): void {
    let a = (this.a + length) | 0;
    let b = (this.b + a) | 0;
    const start = bytes.byteOffset + offset;
    const words = length >>> 2;
    let i = offset;
    if (LITTLE_ENDIAN && (start & 3) === 0) {
      const w = this.words.of(bytes);
      let k = start >>> 2;
      const end = k + words;
      // Four words per turn, as in hashBytes.
      for (const end4 = end - 3; k < end4; k += 4) {
        a = (a + w[k]!) | 0;
        b = (b + a) | 0;
        a = (a + w[k + 1]!) | 0;
        b = (b + a) | 0;
        a = (a + w[k + 2]!) | 0;
        b = (b + a) | 0;
        a = (a + w[k + 3]!) | 0;
        b = (b + a) | 0;
      }
      for (; k < end; k++) {
        a = (a + w[k]!) | 0;
        b = (b + a) | 0;
      }
      i = offset + words * 4;
    }
    for (const end = offset + words * 4; i < end; i += 4) {
      a = (a + (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) | 0;
      b = (b + a) | 0;
    }
    for (const end = offset + length; i < end; i++) {
      a = (a + bytes[i]!) | 0;
      b = (b + a) | 0;
    }
    this.a = a;
    this.b = b;
  }

  value(): number {
    let h = mix(this.a, this.b);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }
}

/** What digestLogRange reads: an image source's log and geometry (a PublicationImage or an IPC publication). */
export interface LogSource {
  readonly termLength: number;
  readonly log: { readableTerm(index: number): { readonly bytes: Uint8Array } | null };
}

/**
 * Adds the log bytes between two stream positions of an image to `digest`: what a poll consumed,
 * every delivered message's frames (one pass over the range instead of a call per message).
 */
export function digestLogRange(digest: Digest, source: LogSource, from: number, to: number): void {
  const termLength = source.termLength;
  for (let p = from; p < to;) {
    const termCount = Math.floor(p / termLength);
    const offset = p - termCount * termLength;
    const length = Math.min(to - p, termLength - offset);
    const term = source.log.readableTerm(termCount % 3);
    if (term !== null) digest.add(term.bytes, offset, length);
    p += length;
  }
}

/**
 * Counts the frames of an image's log between two stream positions (worker mode: what the
 * application read): `out[0]` the DATA frames (fragments), `out[1]` those that end a message
 * (END flag). Padding counts for neither. A frame that is not committed (length <= 0) ends the walk.
 */
export function countLogFrames(source: LogSource, from: number, to: number, out: Uint32Array): void {
  const termLength = source.termLength;
  let fragments = 0;
  let messages = 0;
  // Bounded: each step moves by a positive aligned frame length, or ends the walk.
  for (let p = from; p < to;) {
    const termCount = Math.floor(p / termLength);
    const offset = p - termCount * termLength;
    const term = source.log.readableTerm(termCount % 3);
    if (term === null) break;
    const b = term.bytes;
    const frameLength = b[offset]! | (b[offset + 1]! << 8) | (b[offset + 2]! << 16) | (b[offset + 3]! << 24);
    if (frameLength <= 0) break;
    if ((b[offset + 6]! | (b[offset + 7]! << 8)) === 1) {
      fragments++;
      if ((b[offset + 5]! & 0x40) !== 0) messages++;
    }
    p += (frameLength + 31) & ~31;
  }
  out[0] = fragments;
  out[1] = messages;
}
