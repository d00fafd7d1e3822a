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
