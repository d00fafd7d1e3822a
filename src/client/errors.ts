// Typed failures of the client, raised at the call that caused them. Both extend the core's
// PetrelError (a stable `code`), as ChannelUriError and InvalidArgumentError do. BindError lives
// with the drivers (worker mode raises it too) and is re-exported here.
import { PetrelError } from "../core/errors.js";

export { BindError, type BindFailure } from "../drivers/bindError.js";

/** The client was closed before or during the call. Code "CLOSED". */
export class ClosedError extends PetrelError {
  override readonly name = "ClosedError";

  constructor(message: string) {
    super("CLOSED", message);
  }
}

/**
 * What the client offers on the application's thread only, called on a client launched with
 * `worker`: the engine object itself, its counters and images, tryClaim and controlledPoll on its
 * logs live in the worker thread. Code "WORKER_MODE".
 */
export class WorkerModeError extends PetrelError {
  override readonly name = "WorkerModeError";

  constructor(what: string, reason: string) {
    super("WORKER_MODE", `${what} is not available in worker mode (Petrel.launch({ worker })): ${reason}`);
  }
}

/**
 * A launch option Petrel.launch cannot use: `option` names it (`journal`, `journal.path`,
 * `journal.blockBytes`, ...), `value` is what was given, `reason` the rule it broke. The launch
 * rejects with it before anything is started (or, for a journal file that cannot be opened, with
 * everything it started stopped again). Code "LAUNCH_OPTION".
 */
export class LaunchOptionError extends PetrelError {
  override readonly name = "LaunchOptionError";
  readonly option: string;
  readonly value: unknown;
  readonly reason: string;

  constructor(option: string, value: unknown, reason: string) {
    super("LAUNCH_OPTION", `launch option '${option}' = ${describeValue(value)}: ${reason}`);
    this.option = option;
    this.value = value;
    this.reason = reason;
  }
}

/** Renders an option's value for a message without throwing (cold path only). */
function describeValue(value: unknown): string {
  if (typeof value === "string") return value.length <= 120 ? `'${value}'` : `'${value.slice(0, 120)}…' (${value.length} chars)`;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  return `(${typeof value})`;
}
