// What the application holds to receive: a Subscription (one channel and stream, perhaps one
// session) and its Images, one per publication session it hears, each read at its own position.
import type { FragmentHeader } from "../logbuffer/fragmentHeader.js";
import { FragmentAssembler, TermReader, fragmentsRead, readOffset, type FragmentHandler } from "../logbuffer/index.js";
import { indexByTerm } from "../logbuffer/logBufferDescriptor.js";
import { EngineUsageError, InvalidArgumentError } from "./engineErrors.js";
import { ImageState, type PublicationImage } from "./publicationImage.js";

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
class HandlerAdapter implements FragmentHandler {
  handler: MessageHandler | undefined;

  onFragment(buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void {
    this.handler!(buffer, offset, length, header);
  }
}

/** One subscriber's view of one publication session. */
export class Image {
  readonly subscription: Subscription;
  readonly publicationImage: PublicationImage;
  /** The next position this subscriber reads from. */
  position: number;
  private readonly reader: TermReader;
  private readonly assembler: FragmentAssembler;

  constructor(subscription: Subscription, publicationImage: PublicationImage, adapter: FragmentHandler) {
    this.subscription = subscription;
    this.publicationImage = publicationImage;
    this.position = publicationImage.joinPosition;
    this.reader = new TermReader(publicationImage.initialTermId, publicationImage.positionBitsToShift, publicationImage.log.term(0));
    this.assembler = new FragmentAssembler(adapter);
  }

  get sessionId(): number {
    return this.publicationImage.sessionId;
  }

  get streamId(): number {
    return this.publicationImage.streamId;
  }

  get joinPosition(): number {
    return this.publicationImage.joinPosition;
  }

  /** True once this subscriber has read everything up to the publication's end of stream. */
  get isEndOfStream(): boolean {
    const eos = this.publicationImage.endOfStreamPosition;
    return eos >= 0 && this.position >= eos;
  }

  get isClosed(): boolean {
    return this.publicationImage.state === ImageState.CLOSED;
  }

  /** Reads up to `fragmentLimit` fragments in order; returns how many were read. */
  poll(fragmentLimit: number): number {
    const image = this.publicationImage;
    if (image.state === ImageState.CLOSED) return 0;
    const termLength = image.termLength;
    let read = 0;
    // Bounded: at most two terms are visited (a PAD frame ends a term).
    for (let pass = 0; pass < 2 && read < fragmentLimit; pass++) {
      const position = this.position;
      const termOffset = position & (termLength - 1);
      const termId = (image.initialTermId + Math.floor(position / termLength)) | 0;
      const term = image.log.term(indexByTerm(image.initialTermId, termId));
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

  /** Engine: a matching image appeared. */
  addImage(publicationImage: PublicationImage): Image {
    const image = new Image(this, publicationImage, this.adapter);
    this.images.push(image);
    publicationImage.subscribers.push(image);
    this.options.onAvailableImage?.(image);
    return image;
  }

  /** Engine: an image went away. */
  removeImage(publicationImage: PublicationImage): void {
    const index = this.images.findIndex((image) => image.publicationImage === publicationImage);
    if (index < 0) return;
    const [image] = this.images.splice(index, 1);
    const subscriberIndex = publicationImage.subscribers.indexOf(image!);
    if (subscriberIndex >= 0) publicationImage.subscribers.splice(subscriberIndex, 1);
    this.options.onUnavailableImage?.(image!);
  }

  close(): void {
    if (this.closedFlag) return;
    for (const image of [...this.images]) this.removeImage(image.publicationImage);
    this.closedFlag = true;
    this.onClose(this);
  }
}
