// A subscription handle of the client: poll(handler, limit) reads in place (no copy, no
// allocation), and `for await (const message of subscription)` hands out copies. Use one or the
// other on a subscription, not both at once.
//
// The iterator: once one is made, the duty cycle reads the images into a bounded queue (copies)
// whenever the queue is below its high-water mark, so status messages still report what the
// application has taken and a slow reader back-pressures the publisher. close() reads what has
// already arrived into the queue first, so a reader still gets every message received before the
// close; then the iteration ends.
import type { FragmentHeader } from "../core/logbuffer/fragmentHeader.js";
import type { BlockHandler, ControlledMessageHandler, Image, MessageHandler, Subscription } from "../core/engine/subscription.js";
import type { SubscriptionBackend } from "./backend.js";
import { ChannelEndpointStatus } from "./channelStatus.js";
import { WorkerModeError } from "./errors.js";
import type { Petrel } from "./petrel.js";

/** One message from `for await`: a copy of its bytes, and where it came from. */
export interface Message {
  readonly data: Uint8Array;
  readonly sessionId: number;
  readonly streamId: number;
  /** The stream position after this message. */
  readonly position: number;
}

/** An image (one publisher's session on this subscription) came or went. */
export interface ImageEvent {
  readonly subscription: PetrelSubscription;
  readonly sessionId: number;
  readonly streamId: number;
  readonly joinPosition: number;
  readonly position: number;
}

export interface SubscriptionOptions {
  readonly onAvailableImage?: (event: ImageEvent) => void;
  readonly onUnavailableImage?: (event: ImageEvent) => void;
  /** Messages the `for await` queue holds at most before the loop stops reading (default 4096). */
  readonly queueMessages?: number;
}

/** Fragments read into the queue per duty cycle at most. */
const FILL_FRAGMENTS = 256;

export class PetrelSubscription implements AsyncIterable<Message>, AsyncDisposable {
  private readonly backend: SubscriptionBackend;
  private readonly petrel: Petrel;
  private readonly options: SubscriptionOptions;
  private readonly highWater: number;
  private readonly queue: Message[] = [];
  private queueHead = 0;
  private iterating = false;
  private waiter: ((result: IteratorResult<Message>) => void) | undefined;
  private closed = false;
  private readonly enqueue: MessageHandler = (buffer: Uint8Array, offset: number, length: number, header: FragmentHeader) => {
    this.queue.push({ data: buffer.slice(offset, offset + length), sessionId: header.sessionId, streamId: header.streamId, position: header.position });
  };

  /** @internal Made by Petrel.addSubscription. */
  constructor(petrel: Petrel, backend: SubscriptionBackend, options: SubscriptionOptions) {
    this.petrel = petrel;
    this.backend = backend;
    this.options = options;
    this.highWater = options.queueMessages ?? 4096;
  }

  /** The engine's subscription. In worker mode: WorkerModeError. */
  get core(): Subscription {
    const core = this.backend.core;
    if (core === undefined) throw new WorkerModeError("subscription.core", "the engine's subscription lives in the worker thread");
    return core;
  }

  get channel(): string {
    return this.backend.channel;
  }

  get streamId(): number {
    return this.backend.streamId;
  }

  /** True while at least one publisher's image is connected. */
  get isConnected(): boolean {
    return this.backend.isConnected;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Messages read by the duty cycle and waiting for the `for await` reader. */
  get queuedMessages(): number {
    return this.queue.length - this.queueHead;
  }

  /** Images (publisher sessions) currently readable (in worker mode too). */
  get imageCount(): number {
    return this.backend.imageCount;
  }

  /**
   * Reads up to `fragmentLimit` fragments in place: the handler sees `buffer[offset, offset+length)`,
   * valid only during the call. Returns the fragments read (0 when nothing is waiting or closed).
   */
  poll(handler: MessageHandler, fragmentLimit: number): number {
    if (this.closed) return 0;
    return this.backend.poll(handler, fragmentLimit);
  }

  /**
   * Aeron's controlledPoll: like poll, but the handler returns a ControlledAction (ABORT rolls the
   * message back and stops, BREAK stops after it, COMMIT moves the position at once, CONTINUE).
   * Returns the fragments read (0 when closed).
   */
  controlledPoll(handler: ControlledMessageHandler, fragmentLimit: number): number {
    if (this.closed) return 0;
    return this.backend.controlledPoll(handler, fragmentLimit);
  }

  /**
   * Aeron's blockPoll: hands each image's next contiguous block of whole frames (headers
   * included, at most `blockLengthLimit` bytes) to the handler. Returns the bytes consumed.
   */
  blockPoll(handler: BlockHandler, blockLengthLimit: number): number {
    if (this.closed) return 0;
    return this.backend.blockPoll(handler, blockLengthLimit);
  }

  /**
   * The images (one per publisher session) readable now: each can be polled on its own
   * (image.poll, controlledPoll, blockPoll) and tells its position, isEndOfStream and isClosed.
   * In worker mode (as controlledPoll, blockPoll and imageBySessionId): WorkerModeError.
   */
  get images(): readonly Image[] {
    return this.backend.images;
  }

  /** The image of a publisher session, or undefined. */
  imageBySessionId(sessionId: number): Image | undefined {
    return this.backend.imageBySessionId(sessionId);
  }

  get registrationId(): number {
    return this.backend.registrationId;
  }

  /** Aeron's channelStatus (ChannelEndpointStatus): ACTIVE once bound, ERRORED, CLOSING; NO_ID_ALLOCATED (-1) once closed. */
  get channelStatus(): number {
    if (this.closed) return ChannelEndpointStatus.NO_ID_ALLOCATED;
    return this.backend.channelStatus();
  }

  /** The bound local address of the subscription's socket as "ip:port" (Aeron's localSocketAddresses); [] for aeron:ipc or once closed. */
  localSocketAddresses(): string[] {
    if (this.closed) return [];
    return this.backend.localSocketAddresses();
  }

  /** Messages until the subscription (or the client) is closed. */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    this.iterating = true;
    this.petrel.wake();
    return {
      next: () => this.next(),
      return: () => {
        // Leaving a for-await stops reading; the subscription stays open and keeps what it queued.
        this.iterating = false;
        this.resolveWaiter({ done: true, value: undefined });
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /**
   * Closes: what has already arrived is read into the iterator's queue first (a `for await` gets
   * it, then ends); the socket is released once no other subscription uses it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.iterating) {
      // Bounded: an image holds at most a term window of unread data.
      while (this.backend.poll(this.enqueue, FILL_FRAGMENTS) > 0);
    }
    this.closed = true;
    this.backend.close();
    this.petrel.forgetSubscription(this);
    if (this.queueHead === this.queue.length) this.resolveWaiter({ done: true, value: undefined });
    else this.handOver();
    this.petrel.wake();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal The duty cycle: read into the queue while an iterator wants messages. */
  fill(): number {
    if (!this.iterating || this.closed) return 0;
    let read = 0;
    if (this.queue.length - this.queueHead < this.highWater) read = this.backend.poll(this.enqueue, FILL_FRAGMENTS);
    if (this.waiter !== undefined && this.queueHead < this.queue.length) this.handOver();
    return read;
  }

  /** @internal A `for await` reader has room in its queue: the loop waits on the engine for it. */
  get wantsMessages(): boolean {
    return this.iterating && !this.closed && this.queue.length - this.queueHead < this.highWater;
  }

  /** @internal */
  onImageEvent(type: "imageAvailable" | "imageUnavailable", event: ImageEvent): void {
    const handler = type === "imageAvailable" ? this.options.onAvailableImage : this.options.onUnavailableImage;
    handler?.(event);
  }

  private next(): Promise<IteratorResult<Message>> {
    if (this.queueHead < this.queue.length) return Promise.resolve({ done: false, value: this.take() });
    if (this.closed || !this.iterating) return Promise.resolve({ done: true, value: undefined });
    if (this.waiter !== undefined) return Promise.reject(new Error("one reader at a time: await each next() before the next"));
    this.petrel.wake();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  private take(): Message {
    const message = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined as unknown as Message;
    this.queueHead++;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    return message;
  }

  private handOver(): void {
    if (this.waiter === undefined || this.queueHead === this.queue.length) return;
    this.resolveWaiter({ done: false, value: this.take() });
  }

  private resolveWaiter(result: IteratorResult<Message>): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    waiter(result);
  }
}
