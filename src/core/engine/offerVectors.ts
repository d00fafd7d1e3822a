// Checks the slices of a vectored offer (Aeron's offer(DirectBufferVector[])) and sums their
// lengths, without allocating: the vectors and the array holding them are the caller's, reused.
import type { BufferVector } from "../logbuffer/termAppender.js";
import { InvalidArgumentError } from "./engineErrors.js";

/** Most slices one vectored offer takes (every loop has a bound). */
export const MAX_OFFER_VECTORS = 1024;

/**
 * Returns the total length of `vectors`; throws InvalidArgumentError for a slice outside its
 * buffer, no slices, more than MAX_OFFER_VECTORS, or a total above `maxMessageLength`.
 */
export function checkOfferVectors(vectors: readonly BufferVector[], maxMessageLength: number): number {
  const count = vectors.length;
  if (count < 1 || count > MAX_OFFER_VECTORS) {
    throw new InvalidArgumentError("vectors.length", count, `must be from 1 to ${MAX_OFFER_VECTORS}`);
  }
  let total = 0;
  for (let i = 0; i < count; i++) {
    const vector = vectors[i]!;
    const buffer = vector.buffer;
    const offset = vector.offset;
    const length = vector.length;
    if (!(buffer instanceof Uint8Array)) throw new InvalidArgumentError(`vectors[${i}].buffer`, typeof buffer, "must be a Uint8Array");
    if (!Number.isInteger(offset) || offset < 0 || offset > buffer.length) {
      throw new InvalidArgumentError(`vectors[${i}].offset`, offset, `must be an integer within the buffer (0..${buffer.length})`);
    }
    if (!Number.isInteger(length) || length < 0 || offset + length > buffer.length) {
      throw new InvalidArgumentError(`vectors[${i}].length`, length, `must be an integer with offset + length <= buffer length ${buffer.length}`);
    }
    total += length;
  }
  if (total > maxMessageLength) {
    throw new InvalidArgumentError("length", total, `exceeds the publication's maxMessageLength ${maxMessageLength}`);
  }
  return total;
}
