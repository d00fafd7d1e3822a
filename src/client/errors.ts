// Typed failures of the client, raised at the call that caused them. A bind failure names the
// channel, the stream, the local address it tried and the errno, so that a service that adds many
// streams can tell which one failed without parsing a message. Both extend the core's PetrelError
// (a stable `code`), as ChannelUriError and InvalidArgumentError do.
import { PetrelError } from "../core/errors.js";
import type { DriverError } from "../drivers/driverError.js";

/**
 * addPublication or addSubscription could not open its socket: the add rejected with this, and
 * nothing of that stream is left behind. Other streams are not affected. `code` is the errno name.
 */
export class BindError extends PetrelError {
  override readonly name = "BindError";
  /** errno number (positive), 0 when unknown. */
  readonly errno: number;
  /** The call that failed ("bind", "setsockopt(IP_ADD_MEMBERSHIP)", ...). */
  readonly syscall: string;

  constructor(
    /** The channel as given to the add call. */
    readonly channel: string,
    readonly streamId: number,
    /** The local address the socket was to bind, "ip:port" (port 0: an ephemeral port). */
    readonly address: string,
    readonly role: "publication" | "subscription",
    override readonly cause: DriverError,
  ) {
    super(cause.code,
      `cannot open the ${role} socket of ${channel} (stream ${streamId}) on ${address}: ${cause.code} (${cause.syscall}, errno ${cause.errno})`);
    this.errno = cause.errno;
    this.syscall = cause.syscall;
  }
}

/** The client was closed before or during the call. Code "CLOSED". */
export class ClosedError extends PetrelError {
  override readonly name = "ClosedError";

  constructor(message: string) {
    super("CLOSED", message);
  }
}
