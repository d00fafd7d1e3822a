// A socket for a stream could not be opened: the add call that asked for it rejects with this
// (in-process client, worker mode and the Effect shell alike), naming the channel, the stream, the
// local address and the errno, and nothing of that stream is left behind.
import { PetrelError } from "../core/errors.js";
import type { DriverError } from "./driverError.js";

/** The fields of a BindError, as plain data (what a worker posts to the application thread). */
export interface BindFailure {
  readonly channel: string;
  readonly streamId: number;
  readonly address: string;
  readonly role: "publication" | "subscription";
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly detail: string;
}

/**
 * addPublication or addSubscription could not open its socket. `code` is the errno name
 * ("EADDRINUSE", "EADDRNOTAVAIL", "EACCES", ...). Other streams are not affected.
 */
export class BindError extends PetrelError {
  override readonly name = "BindError";
  /** The channel as given to the add call. */
  readonly channel: string;
  readonly streamId: number;
  /** The local address the socket was to bind, "ip:port" (port 0: an ephemeral port). */
  readonly address: string;
  readonly role: "publication" | "subscription";
  /** errno number (positive), 0 when unknown. */
  readonly errno: number;
  /** The call that failed ("bind", "setsockopt(IP_ADD_MEMBERSHIP)", ...). */
  readonly syscall: string;

  constructor(failure: BindFailure, options?: { cause?: DriverError }) {
    super(failure.code,
      `cannot open the ${failure.role} socket of ${failure.channel} (stream ${failure.streamId}) on ${failure.address}: ${failure.code} (${failure.syscall}, errno ${failure.errno})`);
    this.channel = failure.channel;
    this.streamId = failure.streamId;
    this.address = failure.address;
    this.role = failure.role;
    this.errno = failure.errno;
    this.syscall = failure.syscall;
    if (options?.cause !== undefined) this.cause = options.cause;
  }

  static fromDriverError(channel: string, streamId: number, address: string, role: "publication" | "subscription", error: DriverError): BindError {
    return new BindError({ channel, streamId, address, role, code: error.code, errno: error.errno, syscall: error.syscall, detail: error.message }, { cause: error });
  }
}
