// The client a service embeds: one call starts an Engine, a sockets driver and the runtime's duty
// cycle on the application's thread, and everything after is promises and events.
//
//   const petrel = await Petrel.launch();
//   const publication = await petrel.addPublication("aeron:udp?endpoint=127.0.0.1:40123", 1001);
//   publication.offer(bytes);                 // Aeron's codes: position, or NOT_CONNECTED, ...
//   await petrel.close();                     // drains: resolves once receivers acknowledged
//
// Where failures go: a bad channel throws from the add call's promise (ChannelUriError); a socket
// that cannot be opened rejects that add with a BindError naming the channel, address and errno,
// and leaves every other stream running; errors later in the duty cycle arrive as "error" events.
//
// The duty cycle runs as a loop of macrotasks (one setImmediate per cycle while there is work, so
// the application's own promises and timers keep running between cycles). When idle, the default
// "adaptive" strategy yields a few turns, then sleeps without blocking the event loop until a
// datagram, the engine's next deadline or the application's next action (an offer, a reader
// waiting, a close). With the native sockets driver a helper thread in the addon watches the
// sockets (epoll) and wakes the loop when one is readable, so an idle client costs no CPU beyond
// the engine's own timers (SMs, heartbeats) and a datagram ends the sleep within the event loop's
// wake-up latency. Where the waker cannot start it falls back to parking in poll(2) for at most
// maxParkMs at a time; node:dgram, whose datagrams arrive through the event loop, sleeps
// maxParkMs at a time. "spin" never parks (a full core).
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { EngineConfig } from "../core/config/engineConfig.js";
import { Engine } from "../core/engine/engine.js";
import type { EndpointInfo } from "../core/engine/engine.js";
import type { Counters } from "../core/engine/counters.js";
import type { CountersReader } from "../core/engine/countersReader.js";
import { NetworkPublication } from "../core/engine/networkPublication.js";
import type { Image } from "../core/engine/subscription.js";
import type { RandomSource } from "../core/random.js";
import { formatIpv4 } from "../core/address.js";
import { DgramDriver } from "../drivers/dgramDriver.js";
import { StatPublisher, type StatOptions } from "../drivers/stat.js";
import { resolveLocalInterface } from "../drivers/interfaces.js";
import type { Driver } from "../drivers/driver.js";
import { DriverError } from "../drivers/driverError.js";
import { EngineRuntime, monotonicClockNs, type DatagramFilter } from "../drivers/runtime.js";
import { createSocketsDriver, type SocketsDriverOptions } from "../drivers/socketsDriver.js";
import { clientRandom } from "./entropyRandom.js";
import { ChannelEndpointStatus } from "./channelStatus.js";
import { BindError, ClosedError } from "./errors.js";
import { PetrelPublication, type DrainReport } from "./publication.js";
import { StatusMessageObserver } from "./statusMessageObserver.js";
import { PetrelSubscription, type ImageEvent, type SubscriptionOptions } from "./subscription.js";

/** "adaptive" (default): yield, then park on the sockets (≈0% CPU idle); "spin": never park. */
export type ClientIdleStrategy = "adaptive" | "spin";

export interface PetrelOptions {
  /**
   * Seeds the engine's randomness (session ids, initial term ids, NAK delays) for replay and tests.
   * Default: the operating system's entropy, so that a restarted publisher is a new session.
   */
  readonly seed?: number;
  /** The engine's RandomSource itself (overrides seed). */
  readonly random?: RandomSource;
  /** Overrides of Aeron's defaults (timeouts, windows, term length...). */
  readonly config?: Partial<EngineConfig>;
  /** Which driver and its batch sizes (default: the native sockets driver, else node:dgram). */
  readonly driver?: SocketsDriverOptions;
  readonly idle?: ClientIdleStrategy;
  /**
   * Longest single park, in ms (default 1), where the driver cannot wake the loop itself: node:dgram
   * sleeps this long at a time, and a native driver whose waker failed parks in poll(2) this long
   * (blocking the event loop meanwhile). The native sockets driver's waker needs no such bound.
   */
  readonly maxParkMs?: number;
  /** How long a close waits for receivers to acknowledge before it reports a timeout (default 10 s). */
  readonly closeTimeoutMs?: number;
  /** Drops received datagrams before the engine sees them (fault injection in tests). */
  readonly receiveFilter?: DatagramFilter;
  /** Monotonic nanoseconds (default performance.now()). */
  readonly clockNs?: () => number;
  /**
   * Publishes this client's counters and stream positions for `petrel stat` (default: on, every
   * 1 s, into /dev/shm/petrel or $PETREL_STAT_DIR); false turns it off.
   */
  readonly stat?: boolean | StatOptions;
}

export interface AddPublicationOptions {
  /** A session of its own (Aeron's exclusive publication) instead of sharing one per channel and stream. */
  readonly exclusive?: boolean;
}

/** What petrel.close() (and Symbol.asyncDispose) resolves with. */
export interface CloseReport {
  /** True when every publication's drain was acknowledged (or had nothing to send). */
  readonly drained: boolean;
  readonly publications: readonly DrainReport[];
}

export interface PetrelEvents {
  imageAvailable: ImageEvent;
  imageUnavailable: ImageEvent;
  /** A failure in the duty cycle (a send the kernel refused, a listener that threw...). */
  error: Error;
}

type Listener<T> = (event: T) => void;

/** The handle an image event belongs to, once its add has finished (failed: never). */
interface SubscriptionRef {
  subscription?: PetrelSubscription;
  failed?: boolean;
}

/** A draining publication the loop checks each cycle. */
interface PendingDrain {
  check(nowNs: number): boolean;
}

/** Longest sleep of the adaptive strategy when the engine has no deadline sooner. */
const MAX_SLEEP_MS = 1000;

/** After this many idle cycles the adaptive strategy parks. */
const YIELDS_BEFORE_PARK = 4;

export class Petrel implements AsyncDisposable {
  /** The engine and runtime, for what the client does not cover (counters, tryClaim, MDC...). */
  readonly engine: Engine;
  readonly runtime: EngineRuntime;
  readonly driver: Driver;
  /** @internal */
  readonly observer: StatusMessageObserver;
  /** @internal */
  readonly clockNs: () => number;
  /** @internal */
  readonly closeTimeoutMs: number;
  /** Writes this client's statistics for `petrel stat` (undefined with `stat: false`). */
  readonly stat: StatPublisher | undefined;
  private readonly idleMode: ClientIdleStrategy;
  private readonly maxParkMs: number;
  private readonly listeners: { [K in keyof PetrelEvents]: Array<Listener<PetrelEvents[K]>> } = { imageAvailable: [], imageUnavailable: [], error: [] };
  private readonly endpointFailures = new Map<number, { error: DriverError; endpoint: EndpointInfo }>();
  /** Endpoints the driver failed to open (their channelStatus is ERRORED). */
  private readonly erroredEndpoints = new Set<number>();
  private readonly publications = new Set<PetrelPublication>();
  private readonly subscriptions = new Set<PetrelSubscription>();
  private readonly drains = new Set<PendingDrain>();
  private readonly events: Array<{
    type: "imageAvailable" | "imageUnavailable";
    ref: SubscriptionRef;
    sessionId: number;
    streamId: number;
    joinPosition: number;
    position: number;
  }> = [];
  private running = true;
  private closing: Promise<CloseReport> | undefined;
  private readonly loop: Promise<void>;
  private sleepTimer: NodeJS.Timeout | undefined;
  /** Set by wake(): the application acted since the last duty cycle (ends a park). */
  private poked = false;
  private sleepResolve: (() => void) | undefined;
  /** The driver's waker could not start: park in poll(2) instead. */
  private wakerFailed = false;
  /** Ends a sleep: a readable socket, the engine's deadline, or (through wake) the application. */
  private readonly onReadable = (): void => this.wake();
  /** Set when a sleep ended on the engine's deadline timer (not a datagram or the application). */
  private deadlineWake = false;
  private readonly onDeadline = (): void => {
    this.deadlineWake = true;
    this.wake();
  };

  private constructor(options: PetrelOptions) {
    this.clockNs = options.clockNs ?? monotonicClockNs;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.idleMode = options.idle ?? "adaptive";
    this.maxParkMs = options.maxParkMs ?? 1;
    this.engine = new Engine({
      random: options.random ?? clientRandom(options.seed),
      nowNs: this.clockNs(),
      resolveInterface: resolveLocalInterface,
      ...(options.config === undefined ? {} : { config: options.config }),
    });
    this.driver = createSocketsDriver(options.driver ?? {});
    this.observer = new StatusMessageObserver(options.receiveFilter);
    this.runtime = new EngineRuntime(this.engine, this.driver, {
      receiveFilter: this.observer,
      clockNs: this.clockNs,
      onEndpointError: (error, endpoint) => {
        this.endpointFailures.set(endpoint.id, { error, endpoint });
        this.erroredEndpoints.add(endpoint.id);
      },
    });
    this.stat = options.stat === false ? undefined : new StatPublisher(this.engine, options.stat === true || options.stat === undefined ? {} : options.stat);
    // cycle() reports its own failures; this catches a bug in the loop itself, which would
    // otherwise be an unhandled rejection that ends the process.
    this.loop = this.run().catch((error: unknown) => this.emitError(error));
  }

  /** Starts an engine, a driver and the duty cycle. */
  static async launch(options: PetrelOptions = {}): Promise<Petrel> {
    return new Petrel(options);
  }

  /** Engine counters (Counter ids from petrel/core), as Aeron's driver counts them. */
  get counters(): Counters {
    return this.engine.counters;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * The engine's counters as Aeron's CountersReader lists them: system counters under Aeron's ids
   * and labels, and per-stream positions (pub-pos, pub-lmt, snd-pos, snd-lmt, snd-bpe, rcv-hwm,
   * rcv-pos, sub-pos) with Aeron's type ids and labels.
   */
  get countersReader(): CountersReader {
    return this.engine.countersReader;
  }

  /** @internal Aeron's ChannelEndpointStatus of an engine endpoint (-1: none, aeron:ipc: ACTIVE). */
  channelStatusOf(endpointId: number): number {
    if (endpointId < 0) return ChannelEndpointStatus.ACTIVE;
    if (this.erroredEndpoints.has(endpointId)) return ChannelEndpointStatus.ERRORED;
    if (this.closing !== undefined) return ChannelEndpointStatus.CLOSING;
    return this.runtime.endpoint(endpointId) === undefined ? ChannelEndpointStatus.INITIALIZING : ChannelEndpointStatus.ACTIVE;
  }

  /** @internal The bound "ip:port" of an engine endpoint's socket, as Aeron's localSocketAddresses lists it. */
  localSocketAddressesOf(endpointId: number): string[] {
    if (endpointId < 0) return [];
    const opened = this.runtime.endpoint(endpointId);
    if (opened === undefined) return [];
    return [`${formatIpv4(opened.localIp)}:${opened.localPort}`];
  }

  /** Listens to an event; returns a function that stops listening. */
  on<K extends keyof PetrelEvents>(type: K, listener: Listener<PetrelEvents[K]>): () => void {
    const list = this.listeners[type] as Array<Listener<PetrelEvents[K]>>;
    list.push(listener);
    return () => {
      const index = list.indexOf(listener);
      if (index >= 0) list.splice(index, 1);
    };
  }

  /**
   * Adds a publication and opens its socket. Resolves once the socket is bound; rejects with a
   * BindError (or the engine's ChannelUriError for a bad channel), leaving nothing behind.
   */
  async addPublication(channel: string, streamId: number, options: AddPublicationOptions = {}): Promise<PetrelPublication> {
    this.assertOpen();
    const core = options.exclusive === true ? this.engine.addExclusivePublication(channel, streamId) : this.engine.addPublication(channel, streamId);
    const endpointId = core.backend instanceof NetworkPublication ? core.backend.destinations.endpointId : -1;
    const failure = await this.openNow(endpointId, channel, streamId, "publication");
    if (failure !== undefined) {
      core.close();
      throw failure;
    }
    if (this.closing !== undefined) {
      core.close();
      throw new ClosedError("the Petrel client was closed while the publication was being added");
    }
    const publication = new PetrelPublication(this, core);
    this.publications.add(publication);
    return publication;
  }

  /**
   * Adds a subscription and binds its socket. Resolves once it is bound; rejects with a BindError
   * naming the channel, address and errno (a port already taken: EADDRINUSE), leaving nothing
   * behind and every other stream running.
   */
  async addSubscription(channel: string, streamId: number, options: SubscriptionOptions = {}): Promise<PetrelSubscription> {
    this.assertOpen();
    // The engine reports images that already exist from inside addSubscription, before the handle
    // is made: events hold this reference and are dispatched after the add (dropped if it fails).
    const ref: SubscriptionRef = {};
    const core = this.engine.addSubscription(channel, streamId, {
      onAvailableImage: (image) => this.queueImageEvent("imageAvailable", ref, image),
      onUnavailableImage: (image) => this.queueImageEvent("imageUnavailable", ref, image),
    });
    const subscription = new PetrelSubscription(this, core, options);
    const failure = await this.openNow(core.endpointId, channel, streamId, "subscription");
    if (failure !== undefined) {
      ref.failed = true;
      core.close();
      throw failure;
    }
    if (this.closing !== undefined) {
      ref.failed = true;
      core.close();
      throw new ClosedError("the Petrel client was closed while the subscription was being added");
    }
    ref.subscription = subscription;
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Drains and stops: closes every publication (each resolves once everything offered before this
   * call is acknowledged by its receivers, or the timeout passes), then every subscription (a
   * `for await` still gets what had arrived), then the engine, its sockets and the loop.
   * Resolves with what each publication's drain reached; never rejects for a timeout.
   */
  close(options: { timeoutMs?: number } = {}): Promise<CloseReport> {
    if (this.closing === undefined) this.closing = this.closeNow(options.timeoutMs ?? this.closeTimeoutMs);
    return this.closing;
  }

  /** `await using petrel = await Petrel.launch()` closes (and drains) at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async closeNow(timeoutMs: number): Promise<CloseReport> {
    const reports = await Promise.all([...this.publications].map((publication) => publication.close({ timeoutMs })));
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    this.running = false;
    this.wake();
    await this.loop;
    this.stat?.stop();
    this.engine.close();
    // One last cycle hands the close events to the driver; then every socket goes.
    try {
      this.runtime.doWork();
    } catch (error) {
      this.emitError(error);
    }
    await this.runtime.close();
    return { drained: reports.every((report) => report.drained), publications: reports };
  }

  // ------------------------------------------------------------------ internal, for the handles

  /** @internal A drain the loop checks each cycle until check() returns true. */
  addDrain(drain: PendingDrain): void {
    this.drains.add(drain);
    this.wake();
  }

  /** @internal */
  forgetPublication(publication: PetrelPublication): void {
    this.publications.delete(publication);
  }

  /** @internal */
  forgetSubscription(subscription: PetrelSubscription): void {
    this.subscriptions.delete(subscription);
  }

  /** @internal An offer or a waiting reader: run the next cycle now rather than after a sleep. */
  wake(): void {
    this.poked = true;
    const resolve = this.sleepResolve;
    if (resolve === undefined) return;
    clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    this.sleepResolve = undefined;
    resolve();
  }

  /** @internal */
  emitError(error: unknown): void {
    const typed = error instanceof Error ? error : new Error(String(error));
    const list = this.listeners.error;
    if (list.length === 0) {
      console.error("petrel:", typed);
      return;
    }
    for (const listener of [...list]) {
      try {
        listener(typed);
      } catch {
        // An error listener that throws has nowhere left to report to.
      }
    }
  }

  // ------------------------------------------------------------------ the loop

  private assertOpen(): void {
    if (this.closing !== undefined) throw new ClosedError("the Petrel client is closed");
  }

  /**
   * Runs a duty cycle now, so that the engine's endpoint event for this add is opened by this call,
   * and returns the typed error when the socket could not be opened (node:dgram binds
   * asynchronously: its bind is awaited).
   */
  private async openNow(endpointId: number, channel: string, streamId: number, role: "publication" | "subscription"): Promise<BindError | undefined> {
    if (endpointId < 0) return undefined; // IPC: no socket
    this.cycle();
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

  private queueImageEvent(type: "imageAvailable" | "imageUnavailable", ref: SubscriptionRef, image: Image): void {
    this.events.push({ type, ref, sessionId: image.sessionId, streamId: image.streamId, joinPosition: image.joinPosition, position: image.position });
  }

  /** One duty cycle plus the client's own work (events, readers, drains). Returns the work done. */
  private cycle(): number {
    let work = 0;
    try {
      work = this.runtime.doWork();
    } catch (error) {
      this.emitError(error);
    }
    if (this.events.length > 0) work += this.dispatchEvents();
    for (const subscription of this.subscriptions) work += subscription.fill();
    if (this.drains.size > 0) {
      const nowNs = this.clockNs();
      for (const drain of this.drains) {
        if (drain.check(nowNs)) {
          this.drains.delete(drain);
          work++;
        }
      }
    }
    return work;
  }

  private dispatchEvents(): number {
    const events = this.events.splice(0);
    let dispatched = 0;
    for (const { type, ref, sessionId, streamId, joinPosition, position } of events) {
      const subscription = ref.subscription;
      if (subscription === undefined) {
        // Its add is still waiting for the bind: keep the event for then. A failed add drops it.
        if (ref.failed !== true) this.events.push({ type, ref, sessionId, streamId, joinPosition, position });
        continue;
      }
      dispatched++;
      const event: ImageEvent = { subscription, sessionId, streamId, joinPosition, position };
      subscription.onImageEvent(type, event);
      const list = this.listeners[type];
      for (const listener of [...list]) {
        try {
          listener(event);
        } catch (error) {
          this.emitError(error);
        }
      }
    }
    return dispatched;
  }

  private async run(): Promise<void> {
    let idleCycles = 0;
    // Bounded by close(): running goes false and the loop ends after its current cycle.
    while (this.running) {
      this.poked = false;
      const work = this.cycle();
      if (this.deadlineWake) {
        // Woken by the engine's timer alone (a heartbeat, an SM): that work needs no yield phase
        // after it; a datagram that arrived meanwhile wakes the sleep again at once.
        this.deadlineWake = false;
        if (!this.poked) {
          idleCycles = YIELDS_BEFORE_PARK;
          continue;
        }
      }
      if (work > 0 || this.idleMode === "spin") {
        idleCycles = 0;
        await yieldToLoop();
        continue;
      }
      idleCycles++;
      if (idleCycles < YIELDS_BEFORE_PARK) {
        await yieldToLoop();
        continue;
      }
      if (this.driver.armWake !== undefined && !this.wakerFailed) {
        await this.sleepUntilReadable();
        continue;
      }
      if (this.driver.waitForReceive !== undefined && !this.driver.needsEventLoop) {
        await this.park();
        continue;
      }
      // node:dgram's datagrams come through the event loop: sleep instead; an offer wakes it.
      await new Promise<void>((resolve) => {
        this.sleepResolve = resolve;
        this.sleepTimer = setTimeout(() => this.wake(), this.maxParkMs);
      });
    }
  }

  /**
   * Sleeps until a socket is readable (the driver's waker), the engine's next deadline (a timer),
   * or the application acts (wake()); the event loop runs freely meanwhile. A waker that cannot
   * start is reported once as an "error" event and the client parks in poll(2) from then on.
   */
  private async sleepUntilReadable(): Promise<void> {
    if (this.poked || this.drains.size > 0) return;
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
      this.emitError(error);
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
  private async park(): Promise<void> {
    const waitForReceive = this.driver.waitForReceive!.bind(this.driver);
    // Bounded by the engine's deadline, or by the application's next action (an event-loop turn
    // runs after every park).
    while (this.running && !this.poked && this.drains.size === 0) {
      const untilDeadlineMs = (this.engine.pollTimeout() - this.clockNs()) / 1e6;
      if (untilDeadlineMs < 1) return;
      if (waitForReceive(Math.min(this.maxParkMs, Math.floor(untilDeadlineMs)))) return;
      await yieldToLoop();
    }
  }
}
