// The core never draws randomness of its own: a RandomSource is injected (the simulator passes a
// sub-seeded PRNG, a live runtime a seeded one). Integer draws are the primitive; doubles are
// derived from them so that a seed gives the same sequence on every machine.
export interface RandomSource {
  /** A uniformly distributed unsigned 32-bit integer (0 .. 2^32 - 1). */
  nextUint32(): number;
  /** A uniformly distributed double in [0, 1), built from 53 random bits. */
  nextDouble(): number;
}
