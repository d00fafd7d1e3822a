// What the client's handles (Petrel, PetrelPublication, PetrelSubscription) need from whatever
// runs the engine: the engine on the application's thread (inProcessBackend.ts) or in a worker
// thread over shared memory (workerBackend.ts). The handles keep the logic that is the same for
// both (drains, the `for await` queue, events, the loop's shape); a backend only moves bytes and
// positions, and says how to sleep when there is nothing to do.
import type { Engine } from "../core/engine/engine.js";
import type { PublicationErrorFrame } from "../core/engine/errorFrames.js";
import type { Publication } from "../core/engine/publication.js";
import type { BlockHandler, ControlledMessageHandler, Image, MessageHandler, Subscription } from "../core/engine/subscription.js";
import type { BufferClaim, BufferVector, ReservedValueSupplier } from "../core/logbuffer/termAppender.js";
import type { Driver } from "../drivers/driver.js";
import type { EngineRuntime } from "../drivers/runtime.js";

/** Where the engine runs: `Petrel.launch()` or `Petrel.launch({ worker: true })`. */
export type ClientMode = "in-process" | "worker";

/** An image came or went, as a backend reports it (the client adds the subscription handle). */
export interface ImageNotice {
  readonly sessionId: number;
  readonly streamId: number;
  readonly joinPosition: number;
  readonly position: number;
}

export type ImageNoticeSink = (type: "imageAvailable" | "imageUnavailable", image: ImageNotice) => void;

export interface PublicationBackend {
  readonly channel: string;
  readonly streamId: number;
  readonly sessionId: number;
  readonly registrationId: number;
  readonly maxMessageLength: number;
  readonly maxPayloadLength: number;
  readonly isConnected: boolean;
  readonly position: number;
  readonly positionLimit: number;
  readonly availableWindow: number;
  /** True when receivers over the network acknowledge it (a drain with none heard is "not-connected"). */
  readonly isNetwork: boolean;
  /** The engine's publication, where it lives on this thread. */
  readonly core: Publication | undefined;
  offer(buffer: Uint8Array, offset: number, length: number, reservedValueSupplier?: ReservedValueSupplier): number;
  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number;
  tryClaim(length: number, claim: BufferClaim): number;
  /** Aeron's ChannelEndpointStatus of its socket while open. */
  channelStatus(): number;
  localSocketAddresses(): string[];
  /** Stops offers: the engine sends what remains, then end of stream. */
  close(): void;
  /**
   * After close(): the lowest position the receivers heard from within the connection timeout
   * acknowledged (an IPC publication: its slowest subscriber), -1 with none, -2 not known yet.
   */
  acknowledgedPosition(nowNs: number): number;
  /** The drain is over: stop tracking what the receivers acknowledge. */
  release(): void;
}

export interface SubscriptionBackend {
  readonly channel: string;
  readonly streamId: number;
  readonly registrationId: number;
  readonly isConnected: boolean;
  readonly imageCount: number;
  /** The engine's subscription, where it lives on this thread. */
  readonly core: Subscription | undefined;
  poll(handler: MessageHandler, fragmentLimit: number): number;
  controlledPoll(handler: ControlledMessageHandler, fragmentLimit: number): number;
  blockPoll(handler: BlockHandler, blockLengthLimit: number): number;
  readonly images: readonly Image[];
  imageBySessionId(sessionId: number): Image | undefined;
  channelStatus(): number;
  localSocketAddresses(): string[];
  close(): void;
}

/** What the client tells its backend about the loop (Petrel implements it). */
export interface LoopHost {
  /** The application acted since the last cycle (an offer, a reader waiting, a close). */
  readonly poked: boolean;
  readonly running: boolean;
  /** A close is draining (its acknowledgements come in datagrams and its timeout on the clock). */
  readonly draining: boolean;
  /** A drain or a `for await` reader with room in its queue waits on what the engine receives. */
  waitsOnEngine(): boolean;
  /** One cycle of the client's own work (events, readers, drains) plus the backend's; the work done. */
  cycle(): number;
  /** Ends a sleep now (a socket became readable). */
  wake(): void;
  emitError(error: unknown): void;
}

export interface ClientBackend {
  readonly mode: ClientMode;
  readonly engine: Engine;
  readonly runtime: EngineRuntime;
  readonly driver: Driver;
  /** Adds a publication; resolves once its socket is bound, rejects with a BindError otherwise. */
  addPublication(channel: string, streamId: number, exclusive: boolean): Promise<PublicationBackend>;
  /** Adds a subscription; resolves once bound. Image notices may come before it resolves. */
  addSubscription(channel: string, streamId: number, onImage: ImageNoticeSink): Promise<SubscriptionBackend>;
  /** The engine's share of a duty cycle (in a worker: its control messages). Returns the work done. */
  doWork(): number;
  /** The next error frame a receiver sent one of the publications (in-process; a worker forwards none). */
  pollPublicationErrorFrame(): PublicationErrorFrame | undefined;
  /** After a cycle: yields or sleeps as the idle strategy says. */
  idle(work: number, host: LoopHost): Promise<void>;
  /** The client is closing: open handles report ChannelEndpointStatus.CLOSING. */
  markClosing(): void;
  /** Ends a sleep of idle() at once (the application acted). */
  interrupt(): void;
  /** Everything is closed and the loop has ended: close the engine, its sockets (and the worker). */
  close(): Promise<void>;
}
