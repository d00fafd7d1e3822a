// Assertions for the simulator. They stay on in every build: a simulator that silently carries on
// after an impossible state produces a trace nobody can trust. Messages are constant strings on the
// hot path so that a passing check costs one branch and no allocation.

export class SimAssertionError extends Error {
  override readonly name = "SimAssertionError";
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new SimAssertionError(message);
}

/** Asserts that `value` is an integer in [min, max] and names the parameter when it is not. */
export function assertIntegerInRange(value: number, min: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}
