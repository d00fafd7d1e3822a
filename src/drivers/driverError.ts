// Typed driver failures. A failing system call becomes a DriverError that carries the errno name
// (`code`, e.g. "EADDRINUSE"), the number, and the call that failed (`syscall`, e.g. "bind"), in
// the shape of Node's own system errors, so that callers branch on `code`, never on message text.

export interface SyscallErrorShape {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  readonly message: string;
  readonly endpointId?: number;
}

export class DriverError extends Error {
  override readonly name = "DriverError";
  /** errno name: "EADDRINUSE", "EACCES", ... ("EUNKNOWN" when the platform gave none). */
  readonly code: string;
  /** errno number (positive), or 0 when the failure was not a system call's. */
  readonly errno: number;
  /** The call that failed: "bind", "socket", "sendmmsg", "setsockopt(SO_RCVBUF)", ... */
  readonly syscall: string;
  /** The endpoint concerned, or -1. */
  readonly endpointId: number;

  constructor(code: string, errno: number, syscall: string, detail: string, endpointId = -1) {
    super(`${syscall} failed: ${code} (${detail})${endpointId >= 0 ? ` on endpoint ${endpointId}` : ""}`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.endpointId = endpointId;
  }

  static fromSyscall(shape: SyscallErrorShape, endpointId = shape.endpointId ?? -1): DriverError {
    return new DriverError(shape.code, shape.errno, shape.syscall, shape.message, endpointId);
  }

  /** From a Node system error (node:dgram's), keeping its code and syscall. */
  static fromNode(error: unknown, fallbackSyscall: string, endpointId = -1): DriverError {
    const e = error as { code?: unknown; errno?: unknown; syscall?: unknown; message?: unknown };
    const code = typeof e.code === "string" ? e.code : "EUNKNOWN";
    const errno = typeof e.errno === "number" ? Math.abs(e.errno) : 0;
    const syscall = typeof e.syscall === "string" ? e.syscall : fallbackSyscall;
    const message = typeof e.message === "string" ? e.message : String(error);
    return new DriverError(code, errno, syscall, message, endpointId);
  }
}

/**
 * A channel's mtu does not fit the driver's slots, and they cannot grow (fixedSlots, receive slots,
 * a link MTU): thrown at add time (addPublication, addSubscription, or when a runtime joins an
 * engine), so that nothing is truncated later. Code EMSGSIZE.
 */
export class SlotTooSmallError extends DriverError {
  constructor(
    /** The channel (canonical URI) that was refused. */
    readonly channel: string,
    readonly mtuBytes: number,
    /** The longest datagram the driver's slots (or link) can carry in that direction. */
    readonly slotLength: number,
    readonly direction: "transmit" | "receive",
    why: string,
  ) {
    super("EMSGSIZE", 90, direction === "transmit" ? "addPublication" : "addSubscription",
      `channel ${channel}: mtu ${mtuBytes} does not fit the driver's ${direction} slots of ${slotLength} bytes; ${why}`);
  }
}

/**
 * A native send/receive result: the count, or (an error shape) a typed DriverError thrown. The addon
 * returns EFAULT when a batch array was detached; kept in lastError() too.
 */
export function nativeCount(result: number | SyscallErrorShape): number {
  if (typeof result === "number") return result;
  throw DriverError.fromSyscall(result);
}

/** True for the shape the native addon returns instead of throwing. */
export function isSyscallErrorShape(value: unknown): value is SyscallErrorShape {
  return typeof value === "object" && value !== null && typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { syscall?: unknown }).syscall === "string";
}
