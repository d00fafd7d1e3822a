// Assertions for the strategy modules. They stay on in production (STYLE.md, TigerBeetle): a
// strategy fed an impossible value fails loudly at the point of the mistake instead of quietly
// bending a sender limit or a timer. The message is a constant string so that a passing check
// allocates nothing; only a failing one builds the error.

/** Thrown when a strategy's precondition or invariant does not hold. */
export class StrategyAssertionError extends Error {
  override readonly name = "StrategyAssertionError";
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new StrategyAssertionError(message);
}

/** A time or deadline in nanoseconds must be an exact integer (a JS number below 2^53). */
export function assertTimeNs(valueNs: number, message: string): void {
  if (!Number.isSafeInteger(valueNs)) throw new StrategyAssertionError(message);
}
