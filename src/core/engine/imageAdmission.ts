// The image limits a hostile network cannot get past (issue #11, attacks 2 and 3; beyond Aeron,
// which admits every SETUP and keeps its image until the liveness timeout): a cap per source
// address, a cap on images, and a budget on the bytes image logs may reserve. A SETUP that would
// break one is refused and counted; under the cap or the budget, images that never got data or got
// nothing for unjoinedImageEvictionNs are evicted first to make room. Each live image's account
// (source, reserved bytes, creation time) is kept here, and the budget's gauges are counters.
import { Counter, type Counters } from "./counters.js";
import type { PublicationImage } from "./publicationImage.js";

/** What an image holds against the limits (cold: looked up on creation, eviction and removal). */
interface ImageAccount {
  readonly sourceIp: number;
  readonly reservedBytes: number;
  readonly createdNs: number;
}

export interface ImageLimits {
  readonly maxImages: number;
  readonly imageLogBudgetBytes: number;
  readonly maxImagesPerSource: number;
  readonly unjoinedImageEvictionNs: number;
}

export class ImageAdmission {
  /** Bytes reserved by live images (the budget's used part). */
  private reservedBytes = 0;
  private readonly accounts = new Map<PublicationImage, ImageAccount>();
  /** Source IP -> images created by its SETUPs. */
  private readonly bySource = new Map<number, number>();

  /**
   * `images` is the engine's live list (read for the cap and for eviction); `remove` takes an
   * evicted image out of the engine (which then calls release).
   */
  constructor(private readonly limits: ImageLimits, private readonly counters: Counters,
    private readonly images: ReadonlyArray<PublicationImage>, private readonly remove: (image: PublicationImage) => void) {}

  /**
   * The limits, in order: the per-source cap, maxImages, the log budget. Under maxImages or the
   * budget, unjoined or idle images old enough are evicted to make room. Returns false when the
   * SETUP is refused (counted).
   */
  admit(nowNs: number, sourceIp: number, reservation: number): boolean {
    const values = this.counters.values;
    if ((this.bySource.get(sourceIp) ?? 0) >= this.limits.maxImagesPerSource) {
      values[Counter.IMAGES_REFUSED_SOURCE_LIMIT]! += 1;
      return false;
    }
    if (this.images.length >= this.limits.maxImages && !this.evictIdleImage(nowNs)) {
      values[Counter.IMAGES_REFUSED_LIMIT]! += 1;
      return false;
    }
    if (reservation > this.limits.imageLogBudgetBytes) {
      values[Counter.IMAGES_REFUSED_BUDGET]! += 1;
      return false;
    }
    // Bounded: each pass removes an image.
    while (this.reservedBytes + reservation > this.limits.imageLogBudgetBytes) {
      if (!this.evictIdleImage(nowNs)) {
        values[Counter.IMAGES_REFUSED_BUDGET]! += 1;
        return false;
      }
    }
    return true;
  }

  /** An admitted image was created: it holds `reservation` bytes of the budget from now on. */
  record(image: PublicationImage, nowNs: number, sourceIp: number, reservation: number): void {
    this.accounts.set(image, { sourceIp, reservedBytes: reservation, createdNs: nowNs });
    this.bySource.set(sourceIp, (this.bySource.get(sourceIp) ?? 0) + 1);
    this.reservedBytes += reservation;
    const values = this.counters.values;
    values[Counter.IMAGE_LOG_BYTES_RESERVED] = this.reservedBytes;
    values[Counter.IMAGE_LOG_BYTES_ALLOCATED]! += image.log.allocatedBytes;
  }

  /** An image went: its reservation and its place in its source's count are given back. */
  release(image: PublicationImage): void {
    const account = this.accounts.get(image);
    if (account === undefined) return;
    this.accounts.delete(image);
    const values = this.counters.values;
    this.reservedBytes -= account.reservedBytes;
    values[Counter.IMAGE_LOG_BYTES_RESERVED] = this.reservedBytes;
    values[Counter.IMAGE_LOG_BYTES_ALLOCATED]! -= image.log.allocatedBytes;
    const count = (this.bySource.get(account.sourceIp) ?? 1) - 1;
    if (count <= 0) this.bySource.delete(account.sourceIp);
    else this.bySource.set(account.sourceIp, count);
  }

  /** The engine closed: every account goes. */
  clear(): void {
    this.accounts.clear();
    this.bySource.clear();
    this.reservedBytes = 0;
    this.counters.values[Counter.IMAGE_LOG_BYTES_RESERVED] = 0;
    this.counters.values[Counter.IMAGE_LOG_BYTES_ALLOCATED] = 0;
  }

  /**
   * Removes the image that has been quiet longest among those at least unjoinedImageEvictionNs old
   * that either never received data (a SETUP alone: unjoined) or received no frame at all for
   * that long (idle: a live Aeron sender heartbeats every 100 ms). False when there is none.
   */
  private evictIdleImage(nowNs: number): boolean {
    const after = this.limits.unjoinedImageEvictionNs;
    let victim: PublicationImage | undefined;
    for (const image of this.images) {
      const account = this.accounts.get(image);
      if (account === undefined || nowNs - account.createdNs < after) continue;
      const quietNs = nowNs - image.lastFrameNs;
      if (image.receivedData && quietNs < after) continue;
      if (victim === undefined || image.lastFrameNs < victim.lastFrameNs) victim = image;
    }
    if (victim === undefined) return false;
    this.remove(victim);
    this.counters.values[Counter.IMAGES_EVICTED_UNJOINED]! += 1;
    return true;
  }
}
