// The client's engine in a worker thread (`Petrel.launch({ worker: true })`): the WorkerClient of
// src/drivers/worker starts an Engine, the sockets driver and the runtime agent there, and this
// thread offers into and polls from their SharedArrayBuffer logs directly (no system call, no
// message per offer). What the client's loop does on this thread is small: read the worker's
// control messages (adds, images, errors), fill the `for await` queues from the shared image logs
// and watch drains, whose acknowledged positions the worker publishes in each publication's
// control block. When there is nothing to do it sleeps in Atomics.waitAsync on its own doorbell
// word, which the worker rings after each control message, and after each cycle that did work
// while a reader or a drain waits on it: an idle application thread costs no CPU.
import type { PublicationErrorFrame } from "../core/engine/errorFrames.js";
import type { Engine } from "../core/engine/engine.js";
import type { BlockHandler, ControlledMessageHandler, Image, MessageHandler } from "../core/engine/subscription.js";
import type { BufferClaim, BufferVector, ReservedValueSupplier } from "../core/logbuffer/termAppender.js";
import type { Driver } from "../drivers/driver.js";
import type { EngineRuntime } from "../drivers/runtime.js";
import type { WorkerDriverOptions } from "../drivers/worker/shared.js";
import { WorkerClient, type WorkerImage, type WorkerPublication, type WorkerSubscription } from "../drivers/worker/workerClient.js";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { ClientBackend, ImageNoticeSink, LoopHost, PublicationBackend, SubscriptionBackend } from "./backend.js";
import { ChannelEndpointStatus } from "./channelStatus.js";
import { WorkerModeError } from "./errors.js";
import { journalOpenError } from "./clientJournal.js";
import type { ClientIdleStrategy, PetrelOptions } from "./petrel.js";

/** `Petrel.launch({ worker: {...} })`: how the worker thread runs. */
export interface WorkerLaunchOptions {
  /**
   * The compiled worker module (default: engineWorker.js of the installed package). Running from
   * TypeScript sources (tests), compile src/drivers/worker/engineWorker.ts and pass its URL.
   */
  readonly workerUrl?: URL;
  /**
   * Busy-spin cycles with no work before the worker parks: default 50 with the "adaptive" idle
   * strategy (a spinning worker takes a core from the application), 2000 with "spin".
   */
  readonly spinCycles?: number;
  /** Longest park of the worker in Atomics.wait, in ms: bounds its receive latency while idle (default 1). */
  readonly maxParkMs?: number;
  /** Fault injection for tests: received datagrams the worker drops, per mille (seeded by `seed`). */
  readonly receiveDropPerMille?: number;
}

/**
 * The worker's empty cycles before it parks, with the adaptive strategy. WorkerClient's 2000 suits a
 * machine with a core to spare; on two shared cores, 20,000 offers over loopback between two
 * worker-mode clients took 4.8 s with 2000 and 0.8 s with 50 (the in-process pair: 0.6 s).
 */
const ADAPTIVE_SPIN_CYCLES = 50;

/** After this many idle cycles the adaptive strategy sleeps. */
const YIELDS_BEFORE_SLEEP = 4;
/** Longest sleep while a drain waits (its timeout is checked this often at least). */
const DRAIN_SLEEP_MS = 10;
/** Longest sleep otherwise (a worker's message or the application's action ends it sooner). */
const MAX_SLEEP_MS = 1000;

export class WorkerBackend implements ClientBackend {
  readonly mode = "worker";
  readonly client: WorkerClient;
  private readonly idleMode: ClientIdleStrategy;
  private idleCycles = 0;
  private sleeping = false;
  /** The client is closing: open handles' channel status is CLOSING. */
  closing = false;
  /** The worker records its engine into a journal (PetrelOptions.journal). */
  readonly journaling: boolean;

  constructor(options: PetrelOptions, worker: WorkerLaunchOptions, onError: (error: Error) => void) {
    if (options.random !== undefined) throw new WorkerModeError("a RandomSource object (options.random)", "it cannot cross to the worker thread; pass a seed");
    if (options.receiveFilter !== undefined) throw new WorkerModeError("options.receiveFilter", "a function cannot cross to the worker thread; use worker.receiveDropPerMille");
    if (options.driver?.warn !== undefined) throw new WorkerModeError("options.driver.warn", "a function cannot cross to the worker thread");
    const driver: WorkerDriverOptions | undefined = options.driver;
    this.idleMode = options.idle ?? "adaptive";
    const journal = options.journal;
    this.journaling = journal !== undefined;
    const { writerThreadUrl, ...journalSettings } = journal ?? { path: "" };
    this.client = new WorkerClient({
      ...(journal === undefined ? {} : { journal: { ...journalSettings, ...(writerThreadUrl === undefined ? {} : { writerThreadUrl: writerThreadUrl.href }) } }),
      onError,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...(driver !== undefined ? { driver } : {}),
      ...(worker.workerUrl !== undefined ? { workerUrl: worker.workerUrl } : {}),
      ...(worker.spinCycles !== undefined ? { spinCycles: worker.spinCycles } : this.idleMode === "spin" ? {} : { spinCycles: ADAPTIVE_SPIN_CYCLES }),
      ...(worker.maxParkMs !== undefined ? { maxParkMs: worker.maxParkMs } : {}),
      ...(worker.receiveDropPerMille !== undefined ? { receiveDropPerMille: worker.receiveDropPerMille } : {}),
    });
  }

  /**
   * With a journal: waits until the worker has opened it; a journal it could not open rejects
   * with the LaunchOptionError naming the option (journal.path, journal.maxBytes).
   */
  async journalOpened(options: PetrelOptions): Promise<void> {
    if (options.journal === undefined) return;
    const failure = await this.client.journalOpened();
    if (failure !== undefined) throw journalOpenError(options.journal, failure);
  }

  get engine(): Engine {
    throw new WorkerModeError("petrel.engine", "the engine lives in the worker thread");
  }

  get runtime(): EngineRuntime {
    throw new WorkerModeError("petrel.runtime", "the runtime lives in the worker thread");
  }

  get driver(): Driver {
    throw new WorkerModeError("petrel.driver", "the driver lives in the worker thread");
  }

  async addPublication(channel: string, streamId: number, exclusive: boolean): Promise<PublicationBackend> {
    if (channel.startsWith("aeron:ipc")) throw new WorkerModeError("an aeron:ipc publication", "its log is not shared with the worker thread");
    return new WorkerPublicationBackend(this, channel, await this.client.addPublication(channel, streamId, exclusive));
  }

  async addSubscription(channel: string, streamId: number, onImage: ImageNoticeSink): Promise<SubscriptionBackend> {
    if (channel.startsWith("aeron:ipc")) throw new WorkerModeError("an aeron:ipc subscription", "IPC images are not shared with the application thread");
    const notice = (type: "imageAvailable" | "imageUnavailable", image: WorkerImage): void =>
      onImage(type, { sessionId: image.sessionId, streamId: image.streamId, joinPosition: image.joinPosition, position: image.position });
    const subscription = await this.client.addSubscription(channel, streamId, {
      onAvailableImage: (image) => notice("imageAvailable", image),
      onUnavailableImage: (image) => notice("imageUnavailable", image),
    });
    return new WorkerSubscriptionBackend(this, channel, streamId, subscription);
  }

  pollPublicationErrorFrame(): PublicationErrorFrame | undefined {
    // The worker's engine keeps its publication error frames; they are not forwarded (documented).
    return undefined;
  }

  doWork(): number {
    return this.client.doWork();
  }

  async idle(work: number, host: LoopHost): Promise<void> {
    if (work > 0 || this.idleMode === "spin") {
      this.idleCycles = 0;
      await yieldToLoop();
      return;
    }
    if (++this.idleCycles < YIELDS_BEFORE_SLEEP) {
      await yieldToLoop();
      return;
    }
    if (host.poked || !host.running) return;
    const waits = host.waitsOnEngine();
    this.sleeping = true;
    try {
      // The check runs one more cycle after the worker was asked to ring: news that came between
      // the last cycle and now is read at once instead of after the sleep.
      await this.client.sleep(waits ? DRAIN_SLEEP_MS : MAX_SLEEP_MS, waits, () => (host.poked ? 1 : host.cycle()));
    } finally {
      this.sleeping = false;
    }
  }

  markClosing(): void {
    this.closing = true;
  }

  interrupt(): void {
    if (this.sleeping) {
      this.sleeping = false;
      this.client.wakeSleeper();
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** A publication whose engine side lives in the worker; offers go straight into the shared log. */
class WorkerPublicationBackend implements PublicationBackend {
  readonly isNetwork = true;
  readonly channel: string;
  private readonly owner: WorkerBackend;
  private readonly publication: WorkerPublication;

  constructor(owner: WorkerBackend, channel: string, publication: WorkerPublication) {
    this.owner = owner;
    this.channel = channel;
    this.publication = publication;
  }

  get core(): undefined {
    return undefined;
  }

  get streamId(): number {
    return this.publication.streamId;
  }

  get sessionId(): number {
    return this.publication.sessionId;
  }

  get registrationId(): number {
    return this.publication.registrationId;
  }

  get maxMessageLength(): number {
    return this.publication.maxMessageLength;
  }

  get maxPayloadLength(): number {
    return this.publication.maxPayloadLength;
  }

  get isConnected(): boolean {
    return this.publication.isConnected;
  }

  get position(): number {
    return this.publication.position;
  }

  get positionLimit(): number {
    return this.publication.positionLimit;
  }

  get availableWindow(): number {
    return this.publication.availableWindow;
  }

  offer(buffer: Uint8Array, offset: number, length: number, reservedValueSupplier?: ReservedValueSupplier): number {
    return this.publication.offer(buffer, offset, length, reservedValueSupplier);
  }

  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number {
    return this.publication.offerv(vectors, reservedValueSupplier);
  }

  tryClaim(_length: number, _claim: BufferClaim): number {
    throw new WorkerModeError("publication.tryClaim", "a claim is not yet committed across threads; use offer or offerv");
  }

  channelStatus(): number {
    return this.owner.closing ? ChannelEndpointStatus.CLOSING : ChannelEndpointStatus.ACTIVE;
  }

  localSocketAddresses(): string[] {
    return this.publication.localAddress === "" ? [] : [this.publication.localAddress];
  }

  close(): void {
    this.publication.close();
  }

  acknowledgedPosition(): number {
    return this.publication.acknowledgedPosition();
  }

  release(): void {
    this.publication.release();
  }
}

/** A subscription whose images the worker writes and this thread reads from shared memory. */
class WorkerSubscriptionBackend implements SubscriptionBackend {
  readonly channel: string;
  readonly streamId: number;
  private readonly owner: WorkerBackend;
  private readonly subscription: WorkerSubscription;

  constructor(owner: WorkerBackend, channel: string, streamId: number, subscription: WorkerSubscription) {
    this.owner = owner;
    this.channel = channel;
    this.streamId = streamId;
    this.subscription = subscription;
  }

  get core(): undefined {
    return undefined;
  }

  get registrationId(): number {
    return this.subscription.registrationId;
  }

  get isConnected(): boolean {
    return this.subscription.isConnected;
  }

  get imageCount(): number {
    return this.subscription.images.length;
  }

  get images(): readonly Image[] {
    throw new WorkerModeError("subscription.images", "the engine's Image objects live in the worker thread; use poll or for await");
  }

  poll(handler: MessageHandler, fragmentLimit: number): number {
    return this.subscription.poll(handler, fragmentLimit);
  }

  controlledPoll(_handler: ControlledMessageHandler, _fragmentLimit: number): number {
    throw new WorkerModeError("subscription.controlledPoll", "not yet offered over the shared image logs; use poll");
  }

  blockPoll(_handler: BlockHandler, _blockLengthLimit: number): number {
    throw new WorkerModeError("subscription.blockPoll", "not yet offered over the shared image logs; use poll");
  }

  imageBySessionId(_sessionId: number): Image | undefined {
    throw new WorkerModeError("subscription.imageBySessionId", "the engine's Image objects live in the worker thread");
  }

  channelStatus(): number {
    return this.owner.closing ? ChannelEndpointStatus.CLOSING : ChannelEndpointStatus.ACTIVE;
  }

  localSocketAddresses(): string[] {
    return this.subscription.localAddress === "" ? [] : [this.subscription.localAddress];
  }

  close(): void {
    this.subscription.close();
  }
}
