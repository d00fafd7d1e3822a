// Feedback delay generators: how long a receiver waits before NAKing a gap, and how long a sender
// waits before retransmitting or lingers after it (PROTOCOL.md sections 5 and 6). Two kinds, as in
// Aeron: a static delay (unicast NAKs, retransmit delay and linger) and the optimal multicast
// delay, a randomized backoff that keeps a large group of receivers from all NAKing the same gap
// at once (NAK implosion). Randomness comes only from the injected RandomSource.
import type { RandomSource } from "../random.js";
import { assert } from "./assert.js";

/** Unicast NAK delay: 100 µs. */
export const NAK_UNICAST_DELAY_DEFAULT_NS = 100_000;
/** A re-NAK for a gap still present waits the NAK delay times this (100 µs → 10 ms). */
export const NAK_RETRY_DELAY_MULTIPLIER = 100;
/** Optimal multicast NAK delay: maxBackoff T = 10 ms. */
export const NAK_MULTICAST_MAX_BACKOFF_DEFAULT_NS = 10_000_000;
/** Optimal multicast NAK delay: estimated group size N = 10. */
export const NAK_MULTICAST_GROUP_SIZE_DEFAULT = 10;
/** Retransmit delay, unicast: 0 (resend at once). */
export const RETRANSMIT_UNICAST_DELAY_DEFAULT_NS = 0;
/** Retransmit linger: repeat NAKs for a range just resent are ignored for 10 ms. */
export const RETRANSMIT_LINGER_DEFAULT_NS = 10_000_000;

/** Produces feedback delays in integer nanoseconds (>= 0). */
export interface FeedbackDelayGenerator {
  /** The delay before the first feedback (first NAK, first retransmit). */
  generateDelayNs(): number;
  /** The delay before a repeat of the same feedback (re-NAK while the gap is still there). */
  retryDelayNs(): number;
}

/** A fixed delay, and a fixed retry delay (default delay × 100, at least the delay). */
export class StaticDelayGenerator implements FeedbackDelayGenerator {
  readonly delayNs: number;
  private readonly retryNs: number;

  constructor(delayNs: number, retryDelayNs: number = delayNs * NAK_RETRY_DELAY_MULTIPLIER) {
    assert(Number.isSafeInteger(delayNs), "static delay must be an integer number of ns");
    assert(delayNs >= 0, "static delay must not be negative");
    assert(Number.isSafeInteger(retryDelayNs), "retry delay must be an integer number of ns");
    assert(retryDelayNs >= 0, "retry delay must not be negative");
    this.delayNs = delayNs;
    this.retryNs = retryDelayNs;
  }

  generateDelayNs(): number {
    return this.delayNs;
  }

  retryDelayNs(): number {
    return this.retryNs;
  }
}

/**
 * Optimal multicast feedback delay (RFC 5401 section 3.5, as Aeron's OptimalMulticastDelayGenerator).
 *
 * PROTOCOL.md gives it as: λ = ln(N) + 1; x = uniform(0, λ/T) + λ/(T·(e^λ − 1));
 * delay = (T/λ)·ln(x·(e^λ − 1)·T/λ). Units: x is in 1/T, so x·(e^λ − 1)·T/λ is a pure number and
 * the delay comes out in the unit of T (here ns). Substituting x = u·λ/T + λ/(T·(e^λ − 1)) with
 * u = uniform[0, 1) the argument of ln simplifies to 1 + u·(e^λ − 1), which lies in [1, e^λ), so
 * delay = (T/λ)·ln(1 + u·(e^λ − 1)) lies in [0, T). We compute that form with log1p, which is the
 * same value with less rounding, then floor to integer ns; the result is in [0, T − 1].
 *
 * The density rises exponentially towards T: most receivers wait long, a few fire early, and the
 * first NAK on the wire suppresses the rest (the engine does the suppression, not this class).
 */
export class OptimalMulticastDelayGenerator implements FeedbackDelayGenerator {
  readonly maxBackoffNs: number;
  readonly groupSize: number;
  readonly lambda: number;
  private readonly random: RandomSource;
  private readonly expLambdaMinusOne: number;
  private readonly scaleNs: number;
  private readonly fixedRetryDelayNs: number;

  /**
   * @param retryDelayNs fixed re-NAK delay; when omitted (or -1) each retry draws a fresh delay,
   *   which is Aeron's default for this generator and keeps suppression working for re-NAKs too.
   */
  constructor(
    random: RandomSource,
    maxBackoffNs: number = NAK_MULTICAST_MAX_BACKOFF_DEFAULT_NS,
    groupSize: number = NAK_MULTICAST_GROUP_SIZE_DEFAULT,
    retryDelayNs = -1,
  ) {
    assert(Number.isSafeInteger(maxBackoffNs), "maxBackoff must be an integer number of ns");
    assert(maxBackoffNs > 0, "maxBackoff must be positive");
    assert(Number.isFinite(groupSize), "group size must be finite");
    assert(groupSize >= 1, "group size must be at least 1");
    assert(Number.isSafeInteger(retryDelayNs), "retry delay must be an integer number of ns");
    assert(retryDelayNs >= -1, "retry delay must be -1 (draw) or >= 0");
    this.random = random;
    this.maxBackoffNs = maxBackoffNs;
    this.groupSize = groupSize;
    this.lambda = Math.log(groupSize) + 1;
    this.expLambdaMinusOne = Math.expm1(this.lambda);
    this.scaleNs = maxBackoffNs / this.lambda;
    this.fixedRetryDelayNs = retryDelayNs;
  }

  generateDelayNs(): number {
    return this.delayForUniform(this.random.nextDouble());
  }

  retryDelayNs(): number {
    return this.fixedRetryDelayNs >= 0 ? this.fixedRetryDelayNs : this.generateDelayNs();
  }

  /** The delay for one uniform draw u in [0, 1); exposed so tests can probe the mapping's ends. */
  delayForUniform(u: number): number {
    assert(u >= 0, "uniform draw below 0");
    assert(u < 1, "uniform draw not below 1");
    const delayNs = Math.floor(this.scaleNs * Math.log1p(u * this.expLambdaMinusOne));
    // ln(1 + u(e^λ − 1)) < λ for u < 1 in exact arithmetic; rounding could touch T, never cross it.
    const clampedNs = delayNs < this.maxBackoffNs ? delayNs : this.maxBackoffNs;
    assert(clampedNs >= 0, "optimal delay below 0");
    return clampedNs;
  }

  /**
   * The theoretical mean delay in ns (before flooring): E[(T/λ)·ln(1 + u·a)] with a = e^λ − 1
   * is (T/λ)·((1 + a)·ln(1 + a) − a)/a = T·(e^λ·(λ − 1) + 1)/(λ·(e^λ − 1)).
   */
  static theoreticalMeanNs(maxBackoffNs: number, groupSize: number): number {
    const lambda = Math.log(groupSize) + 1;
    const expLambda = Math.exp(lambda);
    return (maxBackoffNs * (expLambda * (lambda - 1) + 1)) / (lambda * (expLambda - 1));
  }

  /** P(delay < tNs) for the continuous distribution: (e^(λt/T) − 1)/(e^λ − 1), t in [0, T]. */
  static cumulativeProbability(maxBackoffNs: number, groupSize: number, tNs: number): number {
    if (tNs <= 0) return 0;
    if (tNs >= maxBackoffNs) return 1;
    const lambda = Math.log(groupSize) + 1;
    return Math.expm1((lambda * tNs) / maxBackoffNs) / Math.expm1(lambda);
  }
}
