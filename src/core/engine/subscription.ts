// What the application holds to receive: a Subscription (one channel and stream, perhaps one
// session) and its Images, one per publication session it hears, each read at its own position.
import type { FragmentHeader } from "../logbuffer/fragmentHeader.js";
import { FragmentAssembler, TermReader, fragmentsRead, readOffset, type FragmentHandler } from "../logbuffer/index.js";
import { indexByTerm } from "../logbuffer/logBufferDescriptor.js";
import { EngineUsageError, InvalidArgumentError } from "./engineErrors.js";
import { EMPTY_TERM } from "../logbuffer/logBuffers.js";
import type { ReadableLog } from "../logbuffer/imageLog.js";

/** Receives whole messages: `buffer[offset, offset + length)`, valid only during the call. */
export type MessageHandler = (buffer: Uint8Array, offset: number, length: number, header: FragmentHeader) => void;

export type ImageHandler = (image: Image) => void;

export interface SubscriptionOptions {
  /** Called when a new publication session becomes readable. */
  readonly onAvailableImage?: ImageHandler;
  /** Called when an image goes away (end of stream, liveness timeout, close). */
  readonly onUnavailableImage?: ImageHandler;
}

/** Forwards fragments to the handler given to the current poll(); one per subscription, no closure per poll. */
export class HandlerAdapter implements FragmentHandler {
  handler: MessageHandler | undefined;

  onFragment(buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void {
    this.handler!(buffer, offset, length, header);
  }
}

/**
 * What an Image reads: a log with its geometry, the subscribers reading it, and where the stream
 * ends. A PublicationImage (a stream rebuilt from the network) and an IpcPublication (a local
 * publication's own log) are both image sources.
 */
export interface ImageSource {
  readonly sessionId: number;
  readonly streamId: number;
  readonly initialTermId: number;
  readonly positionBitsToShift: number;
  readonly termLength: number;
  /** The log; a PublicationImage's is lazy (a partition never written reads as null: nothing there yet). */
  readonly log: ReadableLog;
  /** Where an end of stream was signalled, or -1. */
  readonly endOfStreamPosition: number;
  readonly subscribers: Image[];
  /** True once the source is gone (nothing more can be read). */
  readonly isClosed: boolean;
}

/** One subscriber's view of one publication session. */
export class Image {
  readonly subscription: Subscription;
  readonly source: ImageSource;
  /** Where this subscriber started reading. */
  readonly joinPosition: number;
  /** The next position this subscriber reads from. */
  position: number;
  private readonly reader: TermReader;
  private readonly assembler: FragmentAssembler;

  constructor(subscription: Subscription, source: ImageSource, joinPosition: number, adapter: FragmentHandler) {
    this.subscription = subscription;
    this.source = source;
    this.joinPosition = joinPosition;
    this.position = joinPosition;
    this.reader = new TermReader(source.initialTermId, source.positionBitsToShift, source.log.readableTerm(0) ?? EMPTY_TERM);
    this.assembler = new FragmentAssembler(adapter);
  }

  get sessionId(): number {
    return this.source.sessionId;
  }

  get streamId(): number {
    return this.source.streamId;
  }

  /** True once this subscriber has read everything up to the publication's end of stream. */
  get isEndOfStream(): boolean {
    const eos = this.source.endOfStreamPosition;
    return eos >= 0 && this.position >= eos;
  }

  get isClosed(): boolean {
    return this.source.isClosed;
  }

  /** Reads up to `fragmentLimit` fragments in order; returns how many were read. */
  poll(fragmentLimit: number): number {
    const image = this.source;
    if (image.isClosed) return 0;
    const termLength = image.termLength;
    let read = 0;
    // Bounded: at most two terms are visited (a PAD frame ends a term).
    for (let pass = 0; pass < 2 && read < fragmentLimit; pass++) {
      const position = this.position;
      const termOffset = position & (termLength - 1);
      const termId = (image.initialTermId + Math.floor(position / termLength)) | 0;
      const term = image.log.readableTerm(indexByTerm(image.initialTermId, termId));
      if (term === null) break; // never written: nothing committed there yet
      const result = this.reader.read(term, termOffset, fragmentLimit - read, this.assembler);
      read += fragmentsRead(result);
      const newOffset = readOffset(result);
      this.position = position + (newOffset - termOffset);
      if (newOffset < termLength) break;
    }
    return read;
  }
}

export class Subscription {
  readonly channel: string;
  readonly streamId: number;
  /** Only this session's images, when the channel names a session-id. */
  readonly sessionIdFilter: number | undefined;
  readonly images: Image[] = [];
  readonly registrationId: number;
  readonly endpointId: number;
  private readonly adapter = new HandlerAdapter();
  private readonly options: SubscriptionOptions;
  private roundRobin = 0;
  private closedFlag = false;
  private readonly onClose: (subscription: Subscription) => void;

  constructor(channel: string, streamId: number, sessionIdFilter: number | undefined, registrationId: number, endpointId: number,
    options: SubscriptionOptions, onClose: (subscription: Subscription) => void) {
    this.channel = channel;
    this.streamId = streamId;
    this.sessionIdFilter = sessionIdFilter;
    this.registrationId = registrationId;
    this.endpointId = endpointId;
    this.options = options;
    this.onClose = onClose;
  }

  get isConnected(): boolean {
    return this.images.length > 0;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  matches(streamId: number, sessionId: number): boolean {
    return !this.closedFlag && streamId === this.streamId && (this.sessionIdFilter === undefined || this.sessionIdFilter === sessionId);
  }

  /**
   * Reads up to `fragmentLimit` messages across images (fairly, starting from a rotating image);
   * returns how many fragments were read. A fragmented message counts as its fragments.
   */
  poll(handler: MessageHandler, fragmentLimit: number): number {
    if (this.closedFlag) throw new EngineUsageError(`subscription to ${this.channel} stream ${this.streamId} is closed`);
    if (!Number.isInteger(fragmentLimit) || fragmentLimit < 1) {
      throw new InvalidArgumentError("fragmentLimit", fragmentLimit, "must be a positive integer");
    }
    const images = this.images;
    const count = images.length;
    if (count === 0) return 0;
    this.adapter.handler = handler;
    let start = this.roundRobin++;
    if (this.roundRobin >= count) this.roundRobin = 0;
    if (start >= count) start = 0;
    let read = 0;
    for (let i = 0; i < count && read < fragmentLimit; i++) {
      read += images[(start + i) % count]!.poll(fragmentLimit - read);
    }
    this.adapter.handler = undefined;
    return read;
  }

  /** Engine: a matching image source appeared; this subscriber reads it from `joinPosition`. */
  addImage(source: ImageSource, joinPosition: number): Image {
    const image = new Image(this, source, joinPosition, this.adapter);
    this.images.push(image);
    source.subscribers.push(image);
    this.options.onAvailableImage?.(image);
    return image;
  }

  /** Engine: an image went away. */
  removeImage(source: ImageSource): void {
    const index = this.images.findIndex((image) => image.source === source);
    if (index < 0) return;
    const [image] = this.images.splice(index, 1);
    const subscriberIndex = source.subscribers.indexOf(image!);
    if (subscriberIndex >= 0) source.subscribers.splice(subscriberIndex, 1);
    this.options.onUnavailableImage?.(image!);
  }

  close(): void {
    if (this.closedFlag) return;
    for (const image of [...this.images]) this.removeImage(image.source);
    this.closedFlag = true;
    this.onClose(this);
  }
}
