// The client's engine on the application's thread: an Engine, a sockets driver and the runtime's
// duty cycle, run by Petrel's loop (one setImmediate per cycle while there is work). When idle,
// the "adaptive" strategy yields a few turns, then sleeps without blocking the event loop until a
// datagram, the engine's next deadline or the application's next action (an offer, a reader
// waiting, a close). With the native sockets driver a helper thread in the addon watches the
// sockets (epoll) and wakes the loop when one is readable, so an idle client costs no CPU beyond
// the engine's own timers (SMs, heartbeats) and a datagram ends the sleep within the event loop's
// wake-up latency. Where the waker cannot start it falls back to parking in poll(2) for at most
// maxParkMs at a time; node:dgram, whose datagrams arrive through the event loop, sleeps
// maxParkMs at a time. "spin" never parks (a full core).
//
// With a journal (PetrelOptions.journal) the engine is built by a JournalRecorder, the runtime
// records into it, and every add, close, offer and poll goes through the recorder's journaled
// handles; the calls a journal cannot record throw a JournalUsageError (clientJournal.ts).
import type { PublicationErrorFrame } from "../core/engine/errorFrames.js";
import { resolveLocalInterface } from "../drivers/interfaces.js";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { formatIpv4 } from "../core/address.js";
import { Engine, type EndpointInfo, type EngineOptions } from "../core/engine/engine.js";
import { IpcPublication } from "../core/engine/ipcPublication.js";
import { NetworkPublication } from "../core/engine/networkPublication.js";
import type { Publication } from "../core/engine/publication.js";
import type { BlockHandler, ControlledMessageHandler, Image, MessageHandler, Subscription } from "../core/engine/subscription.js";
import type { BufferClaim, BufferVector, ReservedValueSupplier } from "../core/logbuffer/termAppender.js";
import { DgramDriver } from "../drivers/dgramDriver.js";
import type { Driver } from "../drivers/driver.js";
import { DriverError } from "../drivers/driverError.js";
import { EngineRuntime } from "../drivers/runtime.js";
import { createSocketsDriver } from "../drivers/socketsDriver.js";
import type { JournalRecorder, JournaledPublication, JournaledSubscription } from "../journal/recorder.js";
import { JournaledImages, notJournaled, openClientJournal } from "./clientJournal.js";
import type { ClientBackend, ImageNotice, ImageNoticeSink, LoopHost, PublicationBackend, SubscriptionBackend } from "./backend.js";
import { ChannelEndpointStatus } from "./channelStatus.js";
import { clientRandom } from "./entropyRandom.js";
import { BindError } from "./errors.js";
import type { ClientIdleStrategy, PetrelOptions } from "./petrel.js";
import { ReceiverPositions, StatusMessageObserver } from "./statusMessageObserver.js";

/** Longest sleep of the adaptive strategy when the engine has no deadline sooner. */
const MAX_SLEEP_MS = 1000;

/** After this many idle cycles the adaptive strategy parks. */
const YIELDS_BEFORE_PARK = 4;

export class InProcessBackend implements ClientBackend {
  readonly mode = "in-process";
  readonly engine: Engine;
  readonly runtime: EngineRuntime;
  readonly driver: Driver;
  /** The journal this run is recorded into (PetrelOptions.journal), if any. */
  readonly recorder: JournalRecorder | undefined;
  private readonly observer: StatusMessageObserver;
  private readonly clockNs: () => number;
  private readonly idleMode: ClientIdleStrategy;
  private readonly maxParkMs: number;
  private readonly endpointFailures = new Map<number, { error: DriverError; endpoint: EndpointInfo }>();
  /** Endpoints the driver failed to open (their channelStatus is ERRORED). */
  private readonly erroredEndpoints = new Set<number>();
  /** The client is closing: open handles' channel status is CLOSING. */
  closing = false;
  private idleCycles = 0;
  private sleepTimer: NodeJS.Timeout | undefined;
  private sleepResolve: (() => void) | undefined;
  /** The driver's waker could not start: park in poll(2) instead. */
  private wakerFailed = false;
  /** Set when a sleep ended on the engine's deadline timer (not a datagram or the application). */
  private deadlineWake = false;
  private host: LoopHost | undefined;
  /** Ends a sleep: a readable socket. */
  private readonly onReadable = (): void => this.host?.wake();
  private readonly onDeadline = (): void => {
    this.deadlineWake = true;
    this.host?.wake();
  };
  private readonly onSleepTimer = (): void => this.host?.wake();

  constructor(options: PetrelOptions, clockNs: () => number) {
    this.clockNs = clockNs;
    this.idleMode = options.idle ?? "adaptive";
    this.maxParkMs = options.maxParkMs ?? 1;
    const engineOptions: EngineOptions = {
      random: options.random ?? clientRandom(options.seed),
      nowNs: clockNs(),
      resolveInterface: resolveLocalInterface,
      ...(options.config === undefined ? {} : { config: options.config }),
    };
    const recorder = options.journal === undefined ? undefined : openClientJournal(options.journal);
    this.recorder = recorder;
    try {
      this.engine = recorder === undefined ? new Engine(engineOptions) : recorder.createEngine(engineOptions);
      this.driver = createSocketsDriver(options.driver ?? {});
      this.observer = new StatusMessageObserver(options.receiveFilter);
      this.runtime = new EngineRuntime(this.engine, this.driver, {
        receiveFilter: this.observer,
        clockNs,
        onEndpointError: (error, endpoint) => {
          this.endpointFailures.set(endpoint.id, { error, endpoint });
          this.erroredEndpoints.add(endpoint.id);
        },
        ...(recorder === undefined ? {} : { journal: recorder }),
      });
    } catch (error) {
      // A bad config or a driver that cannot start: the journal's file is closed, not left open.
      recorder?.close();
      throw error;
    }
  }

  async addPublication(channel: string, streamId: number, exclusive: boolean): Promise<PublicationBackend> {
    const recorder = this.recorder;
    let journaled: JournaledPublication | undefined;
    let core: Publication;
    if (recorder === undefined) {
      core = exclusive ? this.engine.addExclusivePublication(channel, streamId) : this.engine.addPublication(channel, streamId);
    } else {
      journaled = exclusive ? recorder.addExclusivePublication(channel, streamId) : recorder.addPublication(channel, streamId);
      core = journaled.publication;
    }
    const endpointId = core.backend instanceof NetworkPublication ? core.backend.destinations.endpointId : -1;
    const failure = await this.openNow(endpointId, channel, streamId, "publication");
    if (failure !== undefined) {
      if (journaled !== undefined) journaled.close();
      else core.close();
      throw failure;
    }
    return new InProcessPublication(this, core, journaled);
  }

  async addSubscription(channel: string, streamId: number, onImage: ImageNoticeSink): Promise<SubscriptionBackend> {
    const callbacks = {
      onAvailableImage: (image: Image) => onImage("imageAvailable", notice(image)),
      onUnavailableImage: (image: Image) => onImage("imageUnavailable", notice(image)),
    };
    const recorder = this.recorder;
    let journaled: JournaledSubscription | undefined;
    let core: Subscription;
    if (recorder === undefined) {
      core = this.engine.addSubscription(channel, streamId, callbacks);
    } else {
      journaled = recorder.addSubscription(channel, streamId, callbacks);
      core = journaled.subscription;
    }
    const failure = await this.openNow(core.endpointId, channel, streamId, "subscription");
    if (failure !== undefined) {
      if (journaled !== undefined) journaled.close();
      else core.close();
      throw failure;
    }
    return new InProcessSubscription(this, core, journaled);
  }

  pollPublicationErrorFrame(): PublicationErrorFrame | undefined {
    return this.engine.pollPublicationErrorFrame();
  }

  doWork(): number {
    return this.runtime.doWork();
  }

  async idle(work: number, host: LoopHost): Promise<void> {
    this.host = host;
    if (this.deadlineWake) {
      // Woken by the engine's timer alone (a heartbeat, an SM): that work needs no yield phase
      // after it; a datagram that arrived meanwhile wakes the sleep again at once.
      this.deadlineWake = false;
      if (!host.poked) {
        this.idleCycles = YIELDS_BEFORE_PARK;
        return;
      }
    }
    if (work > 0 || this.idleMode === "spin") {
      this.idleCycles = 0;
      await yieldToLoop();
      return;
    }
    this.idleCycles++;
    if (this.idleCycles < YIELDS_BEFORE_PARK) {
      await yieldToLoop();
      return;
    }
    if (this.driver.armWake !== undefined && !this.wakerFailed) {
      await this.sleepUntilReadable(host);
      return;
    }
    if (this.driver.waitForReceive !== undefined && !this.driver.needsEventLoop) {
      await this.park(host);
      return;
    }
    // node:dgram's datagrams come through the event loop: sleep instead; an offer wakes it.
    await new Promise<void>((resolve) => {
      this.sleepResolve = resolve;
      this.sleepTimer = setTimeout(this.onSleepTimer, this.maxParkMs);
    });
  }

  markClosing(): void {
    this.closing = true;
  }

  interrupt(): void {
    const resolve = this.sleepResolve;
    if (resolve === undefined) return;
    clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    this.sleepResolve = undefined;
    resolve();
  }

  async close(): Promise<void> {
    const recorder = this.recorder;
    if (recorder === undefined) this.engine.close();
    else recorder.closeEngine();
    // One last cycle hands the close events to the driver (and records them); then the journal
    // ends (its END record, the last block written, the file closed) and every socket goes.
    try {
      this.runtime.doWork();
    } finally {
      try {
        recorder?.close();
      } finally {
        await this.runtime.close();
      }
    }
  }

  /** @internal Aeron's ChannelEndpointStatus of an engine endpoint (-1: none, aeron:ipc: ACTIVE). */
  channelStatusOf(endpointId: number, closing: boolean): number {
    if (endpointId < 0) return ChannelEndpointStatus.ACTIVE;
    if (this.erroredEndpoints.has(endpointId)) return ChannelEndpointStatus.ERRORED;
    if (closing) return ChannelEndpointStatus.CLOSING;
    return this.runtime.endpoint(endpointId) === undefined ? ChannelEndpointStatus.INITIALIZING : ChannelEndpointStatus.ACTIVE;
  }

  /** @internal The bound "ip:port" of an engine endpoint's socket, as Aeron's localSocketAddresses lists it. */
  localSocketAddressesOf(endpointId: number): string[] {
    if (endpointId < 0) return [];
    const opened = this.runtime.endpoint(endpointId);
    if (opened === undefined) return [];
    return [`${formatIpv4(opened.localIp)}:${opened.localPort}`];
  }

  /** @internal */
  watch(positions: ReceiverPositions): void {
    this.observer.watch(positions);
  }

  /** @internal */
  unwatch(positions: ReceiverPositions): void {
    this.observer.unwatch(positions);
  }

  /** @internal */
  get connectionTimeoutNs(): number {
    return this.engine.config.publicationConnectionTimeoutNs;
  }

  /**
   * Runs a duty cycle now, so that the engine's endpoint event for this add is opened by this call,
   * and returns the typed error when the socket could not be opened (node:dgram binds
   * asynchronously: its bind is awaited).
   */
  private async openNow(endpointId: number, channel: string, streamId: number, role: "publication" | "subscription"): Promise<BindError | undefined> {
    if (endpointId < 0) return undefined; // IPC: no socket
    try {
      this.runtime.doWork();
    } catch (error) {
      this.host?.emitError(error);
    }
    let failure = this.endpointFailures.get(endpointId);
    const driver = this.driver;
    if (failure === undefined && driver instanceof DgramDriver) {
      try {
        await driver.bound(endpointId);
      } catch (error) {
        const endpoint = this.engine.endpoints().find((e) => e.id === endpointId);
        if (error instanceof DriverError && endpoint !== undefined) failure = { error, endpoint };
      }
    }
    if (failure === undefined) return undefined;
    this.endpointFailures.delete(endpointId);
    const endpoint = failure.endpoint;
    const address = `${formatIpv4(endpoint.multicastGroupIp !== 0 ? endpoint.multicastGroupIp : endpoint.bindIp)}:${endpoint.bindPort}`;
    return BindError.fromDriverError(channel, streamId, address, role, failure.error);
  }

  /**
   * Sleeps until a socket is readable (the driver's waker), the engine's next deadline (a timer),
   * or the application acts (interrupt()); the event loop runs freely meanwhile. A waker that
   * cannot start is reported once as an "error" event and the client parks in poll(2) from then on.
   */
  private async sleepUntilReadable(host: LoopHost): Promise<void> {
    if (host.poked) return;
    if (host.draining) {
      // A drain is checked every cycle: keep cycling, one event-loop turn each (an immediate
      // return here would cycle on microtasks alone and starve the event loop).
      await yieldToLoop();
      return;
    }
    const untilDeadlineMs = (this.engine.pollTimeout() - this.clockNs()) / 1e6;
    if (untilDeadlineMs < 1) {
      // A deadline within the timer's resolution: keep cycling on event-loop turns.
      await yieldToLoop();
      return;
    }
    const driver = this.driver;
    let armed: "armed" | "ready";
    try {
      armed = driver.armWake!(this.onReadable);
    } catch (error) {
      this.wakerFailed = true;
      host.emitError(error);
      return;
    }
    if (armed === "ready") return;
    await new Promise<void>((resolve) => {
      this.sleepResolve = resolve;
      this.sleepTimer = setTimeout(this.onDeadline, Math.min(MAX_SLEEP_MS, Math.floor(untilDeadlineMs)));
    });
    driver.disarmWake!();
  }

  /**
   * Parks in poll(2) on the driver's sockets, at most maxParkMs at a time with an event-loop turn
   * between parks, until a datagram is readable, the engine's next deadline comes, or the
   * application did something (an offer, a reader waiting, a close, a drain to watch). A park that
   * ends with nothing to do runs no duty cycle: an idle client costs a poll(2) and an event-loop
   * turn per maxParkMs.
   */
  private async park(host: LoopHost): Promise<void> {
    const waitForReceive = this.driver.waitForReceive!.bind(this.driver);
    // Bounded by the engine's deadline, or by the application's next action (an event-loop turn
    // runs after every park).
    while (host.running && !host.poked && !host.draining) {
      const untilDeadlineMs = (this.engine.pollTimeout() - this.clockNs()) / 1e6;
      if (untilDeadlineMs < 1) return;
      if (waitForReceive(Math.min(this.maxParkMs, Math.floor(untilDeadlineMs)))) return;
      await yieldToLoop();
    }
  }
}

/** A publication of the engine on this thread (its offers and close recorded when journaled). */
class InProcessPublication implements PublicationBackend {
  readonly isNetwork: boolean;
  private readonly owner: InProcessBackend;
  private readonly receivers: ReceiverPositions | undefined;
  private readonly publication: Publication;
  private readonly journaled: JournaledPublication | undefined;

  constructor(owner: InProcessBackend, core: Publication, journaled: JournaledPublication | undefined) {
    this.owner = owner;
    this.publication = core;
    this.journaled = journaled;
    const backend = core.backend;
    this.isNetwork = backend instanceof NetworkPublication;
    if (backend instanceof NetworkPublication) {
      this.receivers = new ReceiverPositions(backend.sessionId, backend.streamId, backend.initialTermId, backend.positionBitsToShift);
      owner.watch(this.receivers);
    }
  }

  get channel(): string {
    return this.publication.channel;
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

  /** The engine's publication; with a journal a JournalUsageError (commands on it would not be recorded). */
  get core(): Publication {
    if (this.journaled !== undefined) throw notJournaled("publication.core", "commands on the engine's publication would bypass the journal; use offer and close");
    return this.publication;
  }

  offer(buffer: Uint8Array, offset: number, length: number, reservedValueSupplier?: ReservedValueSupplier): number {
    const journaled = this.journaled;
    if (journaled === undefined) return this.publication.offer(buffer, offset, length, reservedValueSupplier);
    if (reservedValueSupplier !== undefined) throw notJournaled("publication.offer with a reservedValueSupplier", "offer without one");
    return journaled.offer(buffer, offset, length);
  }

  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number {
    if (this.journaled !== undefined) throw notJournaled("publication.offerv", "offer the message as one buffer");
    return this.publication.offerv(vectors, reservedValueSupplier);
  }

  tryClaim(length: number, claim: BufferClaim): number {
    if (this.journaled !== undefined) throw notJournaled("publication.tryClaim", "use offer");
    return this.publication.tryClaim(length, claim);
  }

  channelStatus(): number {
    return this.owner.channelStatusOf(this.publication.endpointId, this.owner.closing);
  }

  localSocketAddresses(): string[] {
    return this.owner.localSocketAddressesOf(this.publication.endpointId);
  }

  close(): void {
    if (this.journaled !== undefined) this.journaled.close();
    else this.publication.close();
  }

  acknowledgedPosition(nowNs: number): number {
    if (this.receivers !== undefined) return this.receivers.minPosition(nowNs - this.owner.connectionTimeoutNs);
    const backend = this.publication.backend;
    return backend instanceof IpcPublication ? ipcConsumed(backend) : -1;
  }

  release(): void {
    if (this.receivers !== undefined) this.owner.unwatch(this.receivers);
  }
}

/** A subscription of the engine on this thread (its polls and close recorded when journaled). */
class InProcessSubscription implements SubscriptionBackend {
  private readonly owner: InProcessBackend;
  private readonly subscription: Subscription;
  private readonly journaled: JournaledSubscription | undefined;
  /** With a journal: the images as views whose polls throw (created on first use). */
  private imageViews: JournaledImages | undefined;

  constructor(owner: InProcessBackend, core: Subscription, journaled: JournaledSubscription | undefined) {
    this.owner = owner;
    this.subscription = core;
    this.journaled = journaled;
  }

  /** The engine's subscription; with a journal a JournalUsageError (polls on it would not be recorded). */
  get core(): Subscription {
    if (this.journaled !== undefined) throw notJournaled("subscription.core", "polls on the engine's subscription would bypass the journal; use poll and close");
    return this.subscription;
  }

  get channel(): string {
    return this.subscription.channel;
  }

  get streamId(): number {
    return this.subscription.streamId;
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
    const images = this.subscription.images;
    return this.journaled === undefined ? images : this.views().viewAll(images);
  }

  poll(handler: MessageHandler, fragmentLimit: number): number {
    const journaled = this.journaled;
    return journaled === undefined ? this.subscription.poll(handler, fragmentLimit) : journaled.poll(handler, fragmentLimit);
  }

  controlledPoll(handler: ControlledMessageHandler, fragmentLimit: number): number {
    if (this.journaled !== undefined) throw notJournaled("subscription.controlledPoll", "use poll");
    return this.subscription.controlledPoll(handler, fragmentLimit);
  }

  blockPoll(handler: BlockHandler, blockLengthLimit: number): number {
    if (this.journaled !== undefined) throw notJournaled("subscription.blockPoll", "use poll");
    return this.subscription.blockPoll(handler, blockLengthLimit);
  }

  imageBySessionId(sessionId: number): Image | undefined {
    const image = this.subscription.imageBySessionId(sessionId);
    return image === undefined || this.journaled === undefined ? image : this.views().view(image);
  }

  channelStatus(): number {
    return this.owner.channelStatusOf(this.subscription.endpointId, this.owner.closing);
  }

  localSocketAddresses(): string[] {
    return this.owner.localSocketAddressesOf(this.subscription.endpointId);
  }

  close(): void {
    if (this.journaled !== undefined) this.journaled.close();
    else this.subscription.close();
  }

  private views(): JournaledImages {
    if (this.imageViews === undefined) this.imageViews = new JournaledImages();
    return this.imageViews;
  }
}

/** What an image event reports, copied when it happens. */
function notice(image: Image): ImageNotice {
  return { sessionId: image.sessionId, streamId: image.streamId, joinPosition: image.joinPosition, position: image.position };
}

/** The slowest local subscriber of an IPC publication (-1 with none). */
function ipcConsumed(publication: IpcPublication): number {
  const subscribers = publication.subscribers;
  if (subscribers.length === 0) return -1;
  let min = subscribers[0]!.position;
  for (const subscriber of subscribers) if (subscriber.position < min) min = subscriber.position;
  return min;
}
