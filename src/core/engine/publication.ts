// The application's handle on a publication. addPublication() hands out handles that share one
// NetworkPublication (one session) per channel and stream; addExclusivePublication() always makes
// a new session. Closing the last handle closes the stream: drain, end of stream, linger.
import type { BufferClaim } from "../logbuffer/termAppender.js";
import { EngineUsageError } from "./engineErrors.js";
import { CLOSED, type NetworkPublication } from "./networkPublication.js";

export class Publication {
  readonly networkPublication: NetworkPublication;
  private closedFlag = false;
  private readonly onClose: (publication: Publication) => void;

  constructor(networkPublication: NetworkPublication, onClose: (publication: Publication) => void) {
    this.networkPublication = networkPublication;
    this.onClose = onClose;
  }

  get sessionId(): number {
    return this.networkPublication.sessionId;
  }

  get streamId(): number {
    return this.networkPublication.streamId;
  }

  get channel(): string {
    return this.networkPublication.channel;
  }

  get initialTermId(): number {
    return this.networkPublication.initialTermId;
  }

  get termLength(): number {
    return this.networkPublication.termLength;
  }

  /** True when a receiver is connected (a status message arrived within the connection timeout). */
  get isConnected(): boolean {
    return !this.closedFlag && this.networkPublication.isConnected;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** The position the next message will be appended at. */
  get position(): number {
    return this.networkPublication.position;
  }

  /** The position offers may reach before BACK_PRESSURED. */
  get positionLimit(): number {
    return this.networkPublication.publisherLimit;
  }

  get maxPayloadLength(): number {
    return this.networkPublication.maxPayloadLength;
  }

  get maxMessageLength(): number {
    return this.networkPublication.maxMessageLength;
  }

  /**
   * Appends a message. Returns the new stream position (> 0), or a negative status:
   * NOT_CONNECTED, BACK_PRESSURED, ADMIN_ACTION (the log rotated: offer again), CLOSED,
   * MAX_POSITION_EXCEEDED. A message longer than maxMessageLength or a bad slice throws
   * InvalidArgumentError.
   */
  offer(buffer: Uint8Array, offset = 0, length = buffer.length - offset): number {
    if (this.closedFlag) return CLOSED;
    return this.networkPublication.offer(buffer, offset, length);
  }

  /**
   * Reserves room for a message of `length` bytes (at most maxPayloadLength) and binds `claim` to
   * it: fill claim.bytes from claim.payloadOffset, then claim.commit() (or abort()). Returns the
   * position after the claim or a negative status, as offer().
   */
  tryClaim(length: number, claim: BufferClaim): number {
    if (this.closedFlag) return CLOSED;
    return this.networkPublication.tryClaim(length, claim);
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
