// Typed errors for application misuse of the engine. Network input is never thrown on: it is
// dropped and counted (see counters.ts and the datagram walker's reject reasons).
import { PetrelError } from "../errors.js";

/** The caller broke the documented call contract (time went backwards, a closed object was used). */
export class EngineUsageError extends PetrelError {
  override readonly name = "EngineUsageError";
  constructor(message: string) {
    super("ENGINE_USAGE", message);
  }
}

/** An argument from the application is out of range (a buffer slice, a message length, a stream id). */
export class InvalidArgumentError extends PetrelError {
  override readonly name = "InvalidArgumentError";
  constructor(readonly argument: string, readonly value: unknown, reason: string) {
    super("INVALID_ARGUMENT", `${argument} = ${String(value)}: ${reason}`);
  }
}

/** A channel asks for something this engine does not do (yet): the message says what. */
export class UnsupportedChannelError extends PetrelError {
  override readonly name = "UnsupportedChannelError";
  constructor(readonly channel: string, reason: string) {
    super("UNSUPPORTED_CHANNEL", `channel '${channel}': ${reason}`);
  }
}
