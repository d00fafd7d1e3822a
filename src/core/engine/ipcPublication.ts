// A publication on `aeron:ipc`: no network at all. Local subscriptions read the publication's own
// log directly (each at its own position), and the publisher may run at most a term window ahead
// of the slowest of them. It is connected while it has at least one subscriber.
import type { StreamParams } from "../config/streamParams.js";
import { BufferClaim, ExclusiveLogAppender, LogBuffers, computePosition, indexByTerm, type BufferVector, type ReservedValueSupplier } from "../logbuffer/index.js";
import { checkOfferVectors } from "./offerVectors.js";
import { Counter, type Counters } from "./counters.js";
import { BACK_PRESSURED, CLOSED, NOT_CONNECTED, checkClaimLength, checkOfferArguments } from "./networkPublication.js";
import type { PublicationBackend } from "./publication.js";
import type { Image, ImageSource } from "./subscription.js";

export class IpcPublication implements PublicationBackend, ImageSource {
  readonly sessionId: number;
  readonly streamId: number;
  readonly channel: string;
  readonly exclusive: boolean;
  readonly initialTermId: number;
  readonly termLength: number;
  readonly positionBitsToShift: number;
  readonly log: LogBuffers;
  readonly subscribers: Image[] = [];
  refCount = 1;
  endOfStreamPosition = -1;

  private readonly appender: ExclusiveLogAppender;
  private readonly termWindowLength: number;
  private readonly counters: Counters;
  private closedFlag = false;
  /** Begin position of the newest term cleaned (the one before the start term, initially). */
  private cleanPosition: number;

  constructor(options: {
    sessionId: number;
    streamId: number;
    channel: string;
    params: StreamParams;
    exclusive: boolean;
    initialTermId: number;
    activeTermId: number;
    termOffset: number;
    counters: Counters;
  }) {
    const params = options.params;
    this.sessionId = options.sessionId;
    this.streamId = options.streamId;
    this.channel = options.channel;
    this.exclusive = options.exclusive;
    this.counters = options.counters;
    this.initialTermId = options.initialTermId | 0;
    this.termLength = params.termLengthBytes;
    this.positionBitsToShift = params.positionBitsToShift;
    this.termWindowLength = params.publicationTermWindowBytes;
    this.log = LogBuffers.allocate(this.termLength);
    this.appender = new ExclusiveLogAppender(this.log, {
      initialTermId: this.initialTermId,
      activeTermId: options.activeTermId,
      termOffset: options.termOffset,
      sessionId: this.sessionId,
      streamId: this.streamId,
      mtuLength: params.mtuBytes,
      cleanOnRotation: false,
    });
    const start = computePosition(options.activeTermId, options.termOffset, this.positionBitsToShift, this.initialTermId);
    this.cleanPosition = start - (start & (this.termLength - 1)) - this.termLength;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Draining: closed by the application, subscribers still reading up to the end of stream. */
  get isDraining(): boolean {
    return this.endOfStreamPosition >= 0 && !this.closedFlag;
  }

  get isConnected(): boolean {
    return this.subscribers.length > 0 && this.endOfStreamPosition < 0;
  }

  get position(): number {
    return this.appender.position;
  }

  get publisherLimit(): number {
    return this.subscribers.length === 0 ? this.appender.position : this.minSubscriberPosition() + this.termWindowLength;
  }

  get maxPayloadLength(): number {
    return this.appender.maxPayloadLength;
  }

  get maxMessageLength(): number {
    return this.appender.maxMessageLength;
  }

  minSubscriberPosition(): number {
    const subscribers = this.subscribers;
    let min = subscribers.length === 0 ? this.appender.position : subscribers[0]!.position;
    for (let i = 1; i < subscribers.length; i++) {
      const p = subscribers[i]!.position;
      if (p < min) min = p;
    }
    return min;
  }

  offer(buffer: Uint8Array, offset: number, length: number, reservedValueSupplier?: ReservedValueSupplier): number {
    checkOfferArguments(this.appender, buffer, offset, length);
    const status = this.offerStatus();
    if (status !== 0) return status;
    return this.counted(this.appender.append(buffer, offset, length, reservedValueSupplier), length);
  }

  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number {
    const length = checkOfferVectors(vectors, this.appender.maxMessageLength);
    const status = this.offerStatus();
    if (status !== 0) return status;
    return this.counted(this.appender.appendv(vectors, length, reservedValueSupplier), length);
  }

  tryClaim(length: number, claim: BufferClaim): number {
    checkClaimLength(this.appender, length);
    const status = this.offerStatus();
    if (status !== 0) return status;
    return this.counted(this.appender.tryClaim(length, claim), length);
  }

  private counted(result: number, length: number): number {
    if (result > 0) this.counters.values[Counter.BYTES_SENT]! += length;
    return result;
  }

  private offerStatus(): number {
    if (this.closedFlag || this.endOfStreamPosition >= 0) return CLOSED;
    if (this.subscribers.length === 0) return NOT_CONNECTED;
    const min = this.minSubscriberPosition();
    // Clean terms every subscriber has left behind before the appender can reach their partitions
    // again (it runs at most a term window, half a term, ahead of the slowest subscriber).
    if (min - this.cleanPosition >= 2 * this.termLength) this.cleanBehind(min);
    if (this.appender.position >= min + this.termWindowLength) return BACK_PRESSURED;
    return 0;
  }

  private cleanBehind(min: number): void {
    // Bounded: at most the terms between the last clean and the slowest subscriber.
    while (min - this.cleanPosition >= 2 * this.termLength) {
      this.cleanPosition += this.termLength;
      const termId = (this.initialTermId + Math.floor(this.cleanPosition / this.termLength)) | 0;
      this.log.term(indexByTerm(this.initialTermId, termId)).clean();
    }
  }

  /** The last handle closed: subscribers may read to here, then the publication goes away. */
  close(): void {
    if (this.endOfStreamPosition < 0) this.endOfStreamPosition = this.appender.position;
  }

  /** True once closed and every subscriber has read to the end of stream (or none is left). */
  isDrained(): boolean {
    if (this.endOfStreamPosition < 0) return false;
    return this.subscribers.length === 0 || this.minSubscriberPosition() >= this.endOfStreamPosition;
  }

  markClosed(): void {
    this.closedFlag = true;
  }
}
