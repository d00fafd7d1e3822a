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
