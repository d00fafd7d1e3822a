// Copies bytes between typed arrays without allocating. `Uint8Array.prototype.set` needs a source
// view of exactly the bytes to copy, and `subarray` would allocate one per message; so short
// copies use a byte loop and long ones a 32-bit word loop through DataViews, falling back to
// `set` only when the source is a whole array (no view needed).
//
// A ByteCopier caches the DataView of the last source array it saw: applications and drivers
// reuse their buffers, so the view is made once per buffer, not once per message.

/** Below this many bytes a plain byte loop beats anything that needs setup. */
const SHORT_COPY_LENGTH = 64;

export class ByteCopier {
  private lastSource: Uint8Array | null = null;
  private lastSourceView: DataView = new DataView(new ArrayBuffer(0));

  /** Copies `length` bytes from `src[srcOffset..]` to `dst[dstOffset..]` (dstView covers dst). */
  copy(dst: Uint8Array, dstView: DataView, dstOffset: number, src: Uint8Array, srcOffset: number, length: number): void {
    if (length <= SHORT_COPY_LENGTH) {
      for (let i = 0; i < length; i++) dst[dstOffset + i] = src[srcOffset + i] as number;
      return;
    }
    if (srcOffset === 0 && length === src.length) {
      dst.set(src, dstOffset);
      return;
    }
    if (src !== this.lastSource) {
      this.lastSource = src;
      this.lastSourceView = new DataView(src.buffer, src.byteOffset, src.byteLength);
    }
    const srcView = this.lastSourceView;
    const words = length & ~3;
    let i = 0;
    for (; i < words; i += 4) dstView.setInt32(dstOffset + i, srcView.getInt32(srcOffset + i, true), true);
    for (; i < length; i++) dst[dstOffset + i] = src[srcOffset + i] as number;
  }

  /** Drops the cached source view so that the copier holds no reference to caller memory. */
  release(): void {
    this.lastSource = null;
    this.lastSourceView = new DataView(new ArrayBuffer(0));
  }
}
