// What the application holds to receive: a Subscription (one channel and stream, perhaps one
// session) and its Images, one per publication session it hears, each read at its own position.
import type { FragmentHeader } from "../logbuffer/fragmentHeader.js";
import { FragmentAssembler, MAX_FRAGMENT_LIMIT, TermReader, fragmentsRead, readOffset, type FragmentHandler } from "../logbuffer/index.js";
import { ControlledAction, ControlledFragmentAssembler, type ControlledFragmentHandler } from "../logbuffer/controlledFragmentAssembler.js";
import { frameLengthVolatile } from "../logbuffer/logBuffers.js";
import { DATA_HEADER_LENGTH, DATA_TERM_ID_OFFSET } from "../protocol/dataHeader.js";
import { FRAME_ALIGNMENT, HDR_TYPE_PAD, TYPE_OFFSET, align } from "../protocol/frameHeader.js";
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

/**
 * Receives a contiguous block of committed frames (headers included) from one term, as Aeron's
 * BlockHandler: `buffer[offset, offset + length)`, valid only during the call.
 */
export type BlockHandler = (buffer: Uint8Array, offset: number, length: number, sessionId: number, termId: number) => void;

/**
 * Receives whole messages and says what the reader does next (Aeron's ControlledFragmentHandler):
 * ControlledAction.ABORT, BREAK, COMMIT or CONTINUE. Any other return value counts as CONTINUE
 * (as a null action does in Aeron's Java client).
 */
export type ControlledMessageHandler = (buffer: Uint8Array, offset: number, length: number, header: FragmentHeader) => ControlledAction;

/** Forwards to the handler given to the current controlledPoll(); one per subscription, no closure per poll. */
export class ControlledHandlerAdapter implements ControlledFragmentHandler {
  handler: ControlledMessageHandler | undefined;

  onFragment(buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): ControlledAction {
    return this.handler!(buffer, offset, length, header);
  }
}

function checkFragmentLimit(fragmentLimit: number): void {
  if (!Number.isInteger(fragmentLimit) || fragmentLimit < 1 || fragmentLimit > MAX_FRAGMENT_LIMIT) {
    throw new InvalidArgumentError("fragmentLimit", fragmentLimit, `must be an integer from 1 to ${MAX_FRAGMENT_LIMIT}`);
  }
}

/**
 * One subscriber's view of one publication session (Aeron's Image). It can be read on its own
 * (poll, controlledPoll, blockPoll) or through its subscription, which reads its images in turn.
 */
export class Image {
  readonly subscription: Subscription;
  readonly source: ImageSource;
  /** Where this subscriber started reading. */
  readonly joinPosition: number;
  /** The next position this subscriber reads from (Aeron's sub-pos). */
  position: number;
  private readonly reader: TermReader;
  private readonly adapter: HandlerAdapter;
  private readonly assembler: FragmentAssembler;
  private readonly controlledAdapter: ControlledHandlerAdapter;
  /** Made on the first controlledPoll: most readers never need it. */
  private controlledAssembler: ControlledFragmentAssembler | undefined;
  private removed = false;

  constructor(subscription: Subscription, source: ImageSource, joinPosition: number, adapter: HandlerAdapter,
    controlledAdapter: ControlledHandlerAdapter) {
    this.subscription = subscription;
    this.source = source;
    this.joinPosition = joinPosition;
    this.position = joinPosition;
    this.reader = new TermReader(source.initialTermId, source.positionBitsToShift, source.log.readableTerm(0) ?? EMPTY_TERM);
    this.adapter = adapter;
    this.assembler = new FragmentAssembler(adapter);
    this.controlledAdapter = controlledAdapter;
  }

  get sessionId(): number {
    return this.source.sessionId;
  }

  get streamId(): number {
    return this.source.streamId;
  }

  get initialTermId(): number {
    return this.source.initialTermId;
  }

  get termBufferLength(): number {
    return this.source.termLength;
  }

  /** True once this subscriber has read everything up to the publication's end of stream. */
  get isEndOfStream(): boolean {
    const eos = this.source.endOfStreamPosition;
    return eos >= 0 && this.position >= eos;
  }

  /** Where the publication said its stream ends, or -1 (Aeron's endOfStreamPosition, which uses Long.MAX_VALUE). */
  get endOfStreamPosition(): number {
    return this.source.endOfStreamPosition;
  }

  /** True once the image went away (end of stream, liveness timeout, eviction) or its subscription closed. */
  get isClosed(): boolean {
    return this.removed || this.source.isClosed;
  }

  /** @internal The subscription removed this image: it reads nothing more. */
  markRemoved(): void {
    this.removed = true;
  }

  /**
   * Reads up to `fragmentLimit` fragments in order and hands each whole message to `handler` (as
   * Subscription.poll does, for this image alone). Returns the fragments read; 0 once closed.
   */
  poll(handler: MessageHandler, fragmentLimit: number): number {
    checkFragmentLimit(fragmentLimit);
    const adapter = this.adapter;
    const previous = adapter.handler;
    adapter.handler = handler;
    try {
      return this.pollFragments(fragmentLimit);
    } finally {
      adapter.handler = previous;
    }
  }

  /** @internal Reads with the handler already set on the subscription's adapter. */
  pollFragments(fragmentLimit: number): number {
    if (this.isClosed) return 0;
    const image = this.source;
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

  /**
   * Aeron's Image.controlledPoll: reads up to `fragmentLimit` fragments from the current term and
   * applies what the handler answers for each message (fragmented messages are assembled; their
   * BEGIN and middle fragments count as read and answer CONTINUE):
   * - ABORT: the fragment is rolled back (not counted, the position stays before it) and the poll stops;
   * - BREAK: the poll stops after the fragment;
   * - COMMIT: the position moves past the fragment at once, and the poll goes on;
   * - CONTINUE: the poll goes on; the position moves when it ends.
   * Like Aeron's, it never crosses a term end in one call. If the handler throws, the position
   * moves past the fragment that threw (Aeron hands the error to its error handler and does the
   * same) and the error propagates. Returns the fragments read.
   */
  controlledPoll(handler: ControlledMessageHandler, fragmentLimit: number): number {
    checkFragmentLimit(fragmentLimit);
    if (this.isClosed) return 0;
    const adapter = this.controlledAdapter;
    const previous = adapter.handler;
    adapter.handler = handler;
    try {
      return this.controlledPollFragments(fragmentLimit);
    } finally {
      adapter.handler = previous;
    }
  }

  /** @internal controlledPoll with the handler already set on the subscription's adapter. */
  controlledPollFragments(fragmentLimit: number): number {
    if (this.isClosed) return 0;
    const source = this.source;
    const termLength = source.termLength;
    let initialPosition = this.position;
    let initialOffset = initialPosition & (termLength - 1);
    const termId = (source.initialTermId + Math.floor(initialPosition / termLength)) | 0;
    const term = source.log.readableTerm(indexByTerm(source.initialTermId, termId));
    if (term === null) return 0;
    let assembler = this.controlledAssembler;
    if (assembler === undefined) {
      assembler = new ControlledFragmentAssembler(this.controlledAdapter);
      this.controlledAssembler = assembler;
    }
    const view = term.view;
    const bytes = term.bytes;
    const header = this.reader.header;
    header.term = term;
    let offset = initialOffset;
    let fragments = 0;
    try {
      // Bounded: each pass advances offset by at least one aligned frame within the term, or stops.
      while (fragments < fragmentLimit && offset < termLength && !this.isClosed) {
        const frameLength = frameLengthVolatile(term, offset);
        if (frameLength <= 0) break;
        const frameOffset = offset;
        const alignedLength = align(frameLength, FRAME_ALIGNMENT);
        offset += alignedLength;
        if (view.getUint16(frameOffset + TYPE_OFFSET, true) === HDR_TYPE_PAD) continue;
        fragments++;
        header.frameOffset = frameOffset;
        const action = assembler.onFragment(bytes, frameOffset + DATA_HEADER_LENGTH, frameLength - DATA_HEADER_LENGTH, header);
        if (action === ControlledAction.ABORT) {
          fragments--;
          offset -= alignedLength;
          break;
        }
        if (action === ControlledAction.BREAK) break;
        if (action === ControlledAction.COMMIT) {
          initialPosition += offset - initialOffset;
          initialOffset = offset;
          this.position = initialPosition;
        }
      }
    } finally {
      const resultingPosition = initialPosition + (offset - initialOffset);
      if (resultingPosition > initialPosition) this.position = resultingPosition;
    }
    return fragments;
  }

  /**
   * Aeron's Image.blockPoll: hands the handler the longest run of whole committed frames (headers
   * included) from the current position, within the current term and at most `blockLengthLimit`
   * bytes, then moves the position past it. A PAD frame at the position is a block of its own (the
   * handler sees it and the position moves to the next term); one later ends the block. Returns
   * the bytes consumed (0: nothing committed, or a frame longer than the limit comes next).
   */
  blockPoll(handler: BlockHandler, blockLengthLimit: number): number {
    if (!Number.isInteger(blockLengthLimit) || blockLengthLimit < 0) {
      throw new InvalidArgumentError("blockLengthLimit", blockLengthLimit, "must be a non-negative integer");
    }
    if (this.isClosed) return 0;
    const source = this.source;
    const termLength = source.termLength;
    const position = this.position;
    const termOffset = position & (termLength - 1);
    const termId = (source.initialTermId + Math.floor(position / termLength)) | 0;
    const term = source.log.readableTerm(indexByTerm(source.initialTermId, termId));
    if (term === null) return 0;
    const limitOffset = Math.min(termOffset + blockLengthLimit, termLength);
    const view = term.view;
    let offset = termOffset;
    // Aeron's TermBlockScanner.scan. Bounded: each pass advances by one aligned frame or stops.
    while (offset < limitOffset) {
      const frameLength = frameLengthVolatile(term, offset);
      if (frameLength <= 0) break;
      const alignedLength = align(frameLength, FRAME_ALIGNMENT);
      if (view.getUint16(offset + TYPE_OFFSET, true) === HDR_TYPE_PAD) {
        if (offset === termOffset) offset += alignedLength;
        break;
      }
      if (offset + alignedLength > limitOffset) break;
      offset += alignedLength;
    }
    const length = offset - termOffset;
    if (length > 0) {
      try {
        handler(term.bytes, termOffset, length, source.sessionId, view.getInt32(termOffset + DATA_TERM_ID_OFFSET, true));
      } finally {
        this.position = position + length;
      }
    }
    return length;
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
  private readonly controlledAdapter = new ControlledHandlerAdapter();
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
    checkFragmentLimit(fragmentLimit);
    const images = this.images;
    const count = images.length;
    if (count === 0) return 0;
    this.adapter.handler = handler;
    let start = this.roundRobin++;
    if (this.roundRobin >= count) this.roundRobin = 0;
    if (start >= count) start = 0;
    let read = 0;
    for (let i = 0; i < count && read < fragmentLimit; i++) {
      read += images[(start + i) % count]!.pollFragments(fragmentLimit - read);
    }
    this.adapter.handler = undefined;
    return read;
  }

  /**
   * Aeron's Subscription.controlledPoll: Image.controlledPoll over the images in turn (starting
   * from a rotating one), until `fragmentLimit` fragments are read. As in Aeron, ABORT and BREAK
   * end the poll of that image only; the next image is still read.
   */
  controlledPoll(handler: ControlledMessageHandler, fragmentLimit: number): number {
    if (this.closedFlag) throw new EngineUsageError(`subscription to ${this.channel} stream ${this.streamId} is closed`);
    checkFragmentLimit(fragmentLimit);
    const images = this.images;
    const count = images.length;
    if (count === 0) return 0;
    this.controlledAdapter.handler = handler;
    let start = this.roundRobin++;
    if (this.roundRobin >= count) this.roundRobin = 0;
    if (start >= count) start = 0;
    let read = 0;
    try {
      for (let i = 0; i < count && read < fragmentLimit; i++) {
        read += images[(start + i) % count]!.controlledPollFragments(fragmentLimit - read);
      }
    } finally {
      this.controlledAdapter.handler = undefined;
    }
    return read;
  }

  /**
   * Aeron's Subscription.blockPoll: Image.blockPoll on each image, each up to `blockLengthLimit`
   * bytes. Returns the bytes consumed.
   */
  blockPoll(handler: BlockHandler, blockLengthLimit: number): number {
    if (this.closedFlag) throw new EngineUsageError(`subscription to ${this.channel} stream ${this.streamId} is closed`);
    const images = this.images;
    let bytes = 0;
    for (let i = 0; i < images.length; i++) bytes += images[i]!.blockPoll(handler, blockLengthLimit);
    return bytes;
  }

  /** The image of a publication session, or undefined (Aeron's imageBySessionId, which returns null). */
  imageBySessionId(sessionId: number): Image | undefined {
    const images = this.images;
    for (let i = 0; i < images.length; i++) {
      const image = images[i]!;
      if (image.sessionId === sessionId) return image;
    }
    return undefined;
  }

  /** The number of images (Aeron's imageCount). */
  get imageCount(): number {
    return this.images.length;
  }

  /** Engine: a matching image source appeared; this subscriber reads it from `joinPosition`. */
  addImage(source: ImageSource, joinPosition: number): Image {
    const image = new Image(this, source, joinPosition, this.adapter, this.controlledAdapter);
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
    image!.markRemoved();
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
