// The application's handle on a publication. addPublication() hands out handles that share one
// NetworkPublication (one session) per channel and stream; addExclusivePublication() always makes
// a new session. Closing the last handle closes the stream: drain, end of stream, linger.
import type { BufferClaim, BufferVector, ReservedValueSupplier } from "../logbuffer/termAppender.js";
import { EngineUsageError } from "./engineErrors.js";
import { CLOSED } from "./networkPublication.js";

/** Adds and removes destinations of a manual multi-destination-cast publication. */
export interface DestinationControl {
  add(channel: string): void;
  remove(channel: string): void;
}

/** What a Publication handle drives: a network publication or an IPC publication. */
export interface PublicationBackend {
  readonly sessionId: number;
  readonly streamId: number;
  readonly channel: string;
  readonly initialTermId: number;
  readonly termLength: number;
  readonly isConnected: boolean;
  readonly position: number;
  readonly publisherLimit: number;
  readonly maxPayloadLength: number;
  readonly maxMessageLength: number;
  readonly exclusive: boolean;
  /** A network publication's destinations (their endpoint is its socket); absent for aeron:ipc. */
  readonly destinations?: { readonly endpointId: number };
  refCount: number;
  offer(buffer: Uint8Array, offset: number, length: number, reservedValueSupplier?: ReservedValueSupplier): number;
  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number;
  tryClaim(length: number, claim: BufferClaim): number;
  close(): void;
}

export class Publication {
  readonly backend: PublicationBackend;
  /**
   * The registration id of the stream (Aeron's originalRegistrationId: handles sharing a
   * publication share it); it names the stream's counters. Set by the engine.
   */
  registrationId = -1;
  private closedFlag = false;
  private readonly onClose: (publication: Publication) => void;
  private readonly destinationControl: DestinationControl | undefined;

  constructor(backend: PublicationBackend, onClose: (publication: Publication) => void, destinationControl?: DestinationControl) {
    this.backend = backend;
    this.onClose = onClose;
    this.destinationControl = destinationControl;
  }

  /**
   * Multi-destination-cast with control-mode=manual: starts sending to `channel`
   * (`aeron:udp?endpoint=<ip>:<port>`). Other publications throw EngineUsageError.
   */
  addDestination(channel: string): void {
    this.assertOpen();
    if (this.destinationControl === undefined) throw new EngineUsageError("only control-mode=manual publications take destinations");
    this.destinationControl.add(channel);
  }

  /** Stops sending to a destination added with addDestination. */
  removeDestination(channel: string): void {
    this.assertOpen();
    if (this.destinationControl === undefined) throw new EngineUsageError("only control-mode=manual publications take destinations");
    this.destinationControl.remove(channel);
  }

  get sessionId(): number {
    return this.backend.sessionId;
  }

  get streamId(): number {
    return this.backend.streamId;
  }

  get channel(): string {
    return this.backend.channel;
  }

  get initialTermId(): number {
    return this.backend.initialTermId;
  }

  get termLength(): number {
    return this.backend.termLength;
  }

  /** True when a receiver is connected (a status message arrived within the connection timeout). */
  get isConnected(): boolean {
    return !this.closedFlag && this.backend.isConnected;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** The position the next message will be appended at. */
  get position(): number {
    return this.backend.position;
  }

  /** The position offers may reach before BACK_PRESSURED. */
  get positionLimit(): number {
    return this.backend.publisherLimit;
  }

  get maxPayloadLength(): number {
    return this.backend.maxPayloadLength;
  }

  get maxMessageLength(): number {
    return this.backend.maxMessageLength;
  }

  /**
   * Appends a message. Returns the new stream position (> 0), or a negative status:
   * NOT_CONNECTED, BACK_PRESSURED, ADMIN_ACTION (the log rotated: offer again), CLOSED,
   * MAX_POSITION_EXCEEDED. A message longer than maxMessageLength or a bad slice throws
   * InvalidArgumentError. With a `reservedValueSupplier` (Aeron's ReservedValueSupplier), each
   * frame's 64-bit reservedValue is what it returns for that frame; without one, the offer
   * allocates nothing.
   */
  offer(buffer: Uint8Array, offset = 0, length = buffer.length - offset, reservedValueSupplier?: ReservedValueSupplier): number {
    if (this.closedFlag) return CLOSED;
    return this.backend.offer(buffer, offset, length, reservedValueSupplier);
  }

  /**
   * Appends one message made of several slices, in order (Aeron's offer(DirectBufferVector[])):
   * as offer() for their concatenation, without building it. Reuse the vectors and their array.
   */
  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number {
    if (this.closedFlag) return CLOSED;
    return this.backend.offerv(vectors, reservedValueSupplier);
  }

  /** Bytes offers may still append before BACK_PRESSURED: positionLimit - position (Aeron's availableWindow). */
  get availableWindow(): number {
    if (this.closedFlag) return CLOSED;
    return this.backend.publisherLimit - this.backend.position;
  }

  /** The id of the engine endpoint (socket) this publication sends from; -1 for aeron:ipc. */
  get endpointId(): number {
    return this.backend.destinations?.endpointId ?? -1;
  }

  /**
   * Reserves room for a message of `length` bytes (at most maxPayloadLength) and binds `claim` to
   * it: fill claim.bytes from claim.payloadOffset, then claim.commit() (or abort()). Returns the
   * position after the claim or a negative status, as offer().
   */
  tryClaim(length: number, claim: BufferClaim): number {
    if (this.closedFlag) return CLOSED;
    return this.backend.tryClaim(length, claim);
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.onClose(this);
  }

  /** Throws when used after close (for APIs that must not silently return CLOSED). */
  assertOpen(): void {
    if (this.closedFlag) throw new EngineUsageError(`publication ${this.sessionId}/${this.streamId} is closed`);
  }
}
