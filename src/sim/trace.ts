// The trace hash: a 64-bit FNV-1a hash, kept as two unsigned 32-bit lanes and advanced with 32-bit
// integer arithmetic only, folded over every packet event the network decides (delivered or dropped:
// time, link, verdict, length and the bytes). Two runs with the same seed must end with the same
// hash; a run that differs in any packet, time or verdict ends with a different one (up to 64-bit
// collisions). It is the cheapest 'run the seed twice and compare' check there is.

const TWO_POW_32 = 4294967296;
const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;

export class TraceHash {
  private hi = FNV_OFFSET_HI;
  private lo = FNV_OFFSET_LO;
  /** Events folded so far. */
  events = 0;

  reset(): void {
    this.hi = FNV_OFFSET_HI;
    this.lo = FNV_OFFSET_LO;
    this.events = 0;
  }

  /** One FNV-1a step: xor a byte into the low lane, multiply by the prime 2^40 + 0x1b3 mod 2^64. */
  foldByte(byte: number): void {
    const lo = this.lo ^ (byte & 0xff);
    // lo * 0x1b3 as 16-bit halves: a = low half product, b = high half product plus a's carry.
    const a = (lo & 0xffff) * 0x1b3;
    const b = (lo >>> 16) * 0x1b3 + (a >>> 16);
    this.hi = (Math.imul(this.hi, 0x1b3) + (b >>> 16) + (lo << 8)) >>> 0;
    this.lo = ((b << 16) | (a & 0xffff)) >>> 0;
  }

  /** Folds an unsigned 32-bit value, little-endian byte by byte. */
  foldUint32(value: number): void {
    this.foldByte(value);
    this.foldByte(value >>> 8);
    this.foldByte(value >>> 16);
    this.foldByte(value >>> 24);
  }

  /** Folds a non-negative safe integer (a time in ns, a counter) as two 32-bit halves. */
  foldUint53(value: number): void {
    this.foldUint32(value >>> 0);
    this.foldUint32(Math.floor(value / TWO_POW_32) >>> 0);
  }

  foldBytes(bytes: Uint8Array, offset: number, length: number): void {
    // foldByte() inlined over local lanes: this loop is the trace's hot path.
    let hi = this.hi;
    let lo = this.lo;
    const end = offset + length;
    for (let i = offset; i < end; i++) {
      lo = (lo ^ (bytes[i] as number)) >>> 0;
      const a = (lo & 0xffff) * 0x1b3;
      const b = (lo >>> 16) * 0x1b3 + (a >>> 16);
      hi = (Math.imul(hi, 0x1b3) + (b >>> 16) + (lo << 8)) >>> 0;
      lo = ((b << 16) | (a & 0xffff)) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
  }

  /**
   * Folds a payload four bytes at a time (little-endian words, then the 0-3 trailing bytes), with
   * the same two-lane FNV-style step per word: a quarter of the steps of foldBytes. Every payload
   * byte still reaches the hash; the result is not FNV-1a of the bytes (foldBytes is, for tests
   * against published vectors). The simulator folds every datagram it decides, so this is its
   * hot path (byte-at-a-time folding was 31% of `npm run bench sim`).
   */
  foldPayload(bytes: Uint8Array, offset: number, length: number): void {
    let hi = this.hi;
    let lo = this.lo;
    const wordsEnd = offset + (length & ~3);
    let i = offset;
    for (; i < wordsEnd; i += 4) {
      const word = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
      lo = (lo ^ word) >>> 0;
      const a = (lo & 0xffff) * 0x1b3;
      const b = (lo >>> 16) * 0x1b3 + (a >>> 16);
      hi = (Math.imul(hi, 0x1b3) + (b >>> 16) + (lo << 8)) >>> 0;
      lo = ((b << 16) | (a & 0xffff)) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
    if (i < offset + length) this.foldBytes(bytes, i, offset + length - i);
  }

  /**
   * Folds one packet event. `linkId` is -1 for a datagram that found no link (no route); the
   * length is folded before the bytes, so datagrams cannot merge into one another.
   *
   * The 17 header bytes (time as two little-endian 32-bit halves, link, verdict, length) take the
   * same byte-at-a-time steps as foldUint53/foldUint32/foldByte, on local lanes: the step written
   * once per byte through the object's fields was 29% of the kernel's bounce workload.
   */
  foldPacket(timeNs: number, linkId: number, verdict: number, bytes: Uint8Array | null, offset: number, length: number): void {
    let hi = this.hi;
    let lo = this.lo;
    const timeLow = timeNs >>> 0;
    const timeHigh = Math.floor(timeNs / TWO_POW_32) >>> 0;
    const link = linkId >>> 0;
    for (let k = 0; k < 17; k++) {
      // Byte k of: timeLow (0..3), timeHigh (4..7), link (8..11), verdict (12), length (13..16).
      const byte =
        k < 4 ? timeLow >>> (k << 3)
        : k < 8 ? timeHigh >>> ((k - 4) << 3)
        : k < 12 ? link >>> ((k - 8) << 3)
        : k === 12 ? verdict
        : length >>> ((k - 13) << 3);
      lo = lo ^ (byte & 0xff);
      const a = (lo & 0xffff) * 0x1b3;
      const b = (lo >>> 16) * 0x1b3 + (a >>> 16);
      hi = (Math.imul(hi, 0x1b3) + (b >>> 16) + (lo << 8)) >>> 0;
      lo = ((b << 16) | (a & 0xffff)) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
    if (bytes !== null) this.foldPayload(bytes, offset, length);
    this.events++;
  }

  get high(): number {
    return this.hi;
  }

  get low(): number {
    return this.lo;
  }

  /** The hash as 16 lowercase hex digits. */
  hex(): string {
    return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }
}
