// The client a service embeds: one call starts an Engine, a sockets driver and the runtime's duty
// cycle, on the application's thread or (with `worker`) in a worker thread, and everything after
// is promises and events. The same handles and the same calls work either way.
//
//   const petrel = await Petrel.launch();     // or Petrel.launch({ worker: true })
//   const publication = await petrel.addPublication("aeron:udp?endpoint=127.0.0.1:40123", 1001);
//   publication.offer(bytes);                 // Aeron's codes: position, or NOT_CONNECTED, ...
//   await petrel.close();                     // drains: resolves once receivers acknowledged
//
// Where failures go: a bad channel throws from the add call's promise (ChannelUriError); a socket
// that cannot be opened rejects that add with a BindError naming the channel, address and errno,
// and leaves every other stream running; errors later in the duty cycle arrive as "error" events.
//
// The client's loop runs as macrotasks (one setImmediate per cycle while there is work, so the
// application's own promises and timers keep running between cycles): each cycle runs the
// backend's share (in-process: the engine's duty cycle; worker: the worker's control messages),
// dispatches image events, fills the `for await` queues and checks drains. When idle the backend
// sleeps as inProcessBackend.ts and workerBackend.ts describe; either way an idle client costs
// next to no CPU on the application's thread with the default "adaptive" strategy.
import type { EngineConfig } from "../core/config/engineConfig.js";
import type { Engine } from "../core/engine/engine.js";
import type { Counters } from "../core/engine/counters.js";
import type { CountersReader } from "../core/engine/countersReader.js";
import type { RandomSource } from "../core/random.js";
import type { PublicationErrorFrame } from "../core/engine/errorFrames.js";
import { StatPublisher, type StatOptions } from "../drivers/stat.js";
import type { Driver } from "../drivers/driver.js";
import { monotonicClockNs, type DatagramFilter, type EngineRuntime } from "../drivers/runtime.js";
import type { SocketsDriverOptions } from "../drivers/socketsDriver.js";
import type { ClientBackend, ClientMode, ImageNotice, LoopHost } from "./backend.js";
import { checkJournalOptions, notJournaled, type ClientJournalOptions } from "./clientJournal.js";
import { ClosedError, WorkerModeError } from "./errors.js";
import { InProcessBackend } from "./inProcessBackend.js";
import { PetrelPublication, type DrainReport } from "./publication.js";
import { PetrelSubscription, type ImageEvent, type SubscriptionOptions } from "./subscription.js";
import { WorkerBackend, type WorkerLaunchOptions } from "./workerBackend.js";

/** "adaptive" (default): yield, then sleep (≈0% CPU idle); "spin": never sleep. */
export type ClientIdleStrategy = "adaptive" | "spin";

export interface PetrelOptions {
  /**
   * Seeds the engine's randomness (session ids, initial term ids, NAK delays) for replay and tests.
   * Default: the operating system's entropy, so that a restarted publisher is a new session.
   */
  readonly seed?: number;
  /** The engine's RandomSource itself (overrides seed; on the application's thread only). */
  readonly random?: RandomSource;
  /** Overrides of Aeron's defaults (timeouts, windows, term length...). */
  readonly config?: Partial<EngineConfig>;
  /** Which driver and its batch sizes (default: the native sockets driver, else node:dgram). */
  readonly driver?: SocketsDriverOptions;
  readonly idle?: ClientIdleStrategy;
  /**
   * Runs the engine, driver and duty cycle in a worker thread (`true`, or its options): offers and
   * polls then work on shared memory, and the application's thread makes no system call for them.
   * The engine object, tryClaim, controlledPoll, blockPoll and images are not available then
   * (WorkerModeError); random and receiveFilter (functions) cannot cross to the worker.
   */
  readonly worker?: true | WorkerLaunchOptions;
  /**
   * Longest single park, in ms (default 1), where the driver cannot wake the loop itself: node:dgram
   * sleeps this long at a time, and a native driver whose waker failed parks in poll(2) this long
   * (blocking the event loop meanwhile). The native sockets driver's waker needs no such bound.
   * In worker mode: the worker's longest park unless worker.maxParkMs says otherwise.
   */
  readonly maxParkMs?: number;
  /** How long a close waits for receivers to acknowledge before it reports a timeout (default 10 s). */
  readonly closeTimeoutMs?: number;
  /** Drops received datagrams before the engine sees them (fault injection in tests; application's thread only). */
  readonly receiveFilter?: DatagramFilter;
  /** Monotonic nanoseconds (default performance.now()). */
  readonly clockNs?: () => number;
  /**
   * Publishes this client's counters and stream positions for `petrel stat` (default: on, every
   * 1 s, into /dev/shm/petrel or $PETREL_STAT_DIR); false turns it off.
   */
  readonly stat?: boolean | StatOptions;
  /**
   * Records the run into a journal (docs/JOURNAL.md) that `petrel replay` replays bit-exact:
   * `{ path, ...JournalRecorderOptions }`. In-process, while it records, the calls a journal
   * cannot record throw a JournalUsageError (tryClaim, offerv, an offer with a
   * reservedValueSupplier, controlledPoll, blockPoll, Image.poll and the others, petrel.engine,
   * publication.core, subscription.core). With `worker` the worker thread records, the log bytes
   * the application appends and its reads included (so offerv and reserved values are recorded;
   * payloadHash is refused). close() ends the journal (END record, file closed). Bad options: a
   * LaunchOptionError naming the option (journal.path, journal.blockBytes, ...).
   */
  readonly journal?: ClientJournalOptions;
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
  /**
   * A receiver rejected one of this client's publications' images and said why with an error frame
   * (Aeron's publication error frame handler; IMAGE_REJECTED = 13). In-process mode only: a worker
   * does not forward them.
   */
  publicationError: PublicationErrorEvent;
}

/** An error frame a receiver sent a publication, with the client's handle when it is still open. */
export interface PublicationErrorEvent extends PublicationErrorFrame {
  readonly publication: PetrelPublication | undefined;
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

export class Petrel implements AsyncDisposable, LoopHost {
  /** @internal The engine's side: on this thread or in a worker. */
  readonly backend: ClientBackend;
  /** @internal */
  readonly clockNs: () => number;
  /** @internal */
  readonly closeTimeoutMs: number;
  /** Writes this client's statistics for `petrel stat` (undefined with `stat: false`, and in worker mode). */
  readonly stat: StatPublisher | undefined;
  private readonly listeners: { [K in keyof PetrelEvents]: Array<Listener<PetrelEvents[K]>> } = { imageAvailable: [], imageUnavailable: [], error: [], publicationError: [] };
  private readonly publications = new Set<PetrelPublication>();
  private readonly subscriptions = new Set<PetrelSubscription>();
  private readonly drains = new Set<PendingDrain>();
  private readonly events: Array<{ type: "imageAvailable" | "imageUnavailable"; ref: SubscriptionRef; image: ImageNotice }> = [];
  private runningFlag = true;
  private closing: Promise<CloseReport> | undefined;
  private readonly loop: Promise<void>;
  /** Set by wake(): the application acted since the last duty cycle (ends a sleep). */
  private pokedFlag = false;

  private constructor(options: PetrelOptions) {
    this.clockNs = options.clockNs ?? monotonicClockNs;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    const worker = options.worker;
    if (options.journal !== undefined) checkJournalOptions(options.journal, worker !== undefined);
    if (worker === undefined) {
      this.backend = new InProcessBackend(options, this.clockNs);
    } else {
      const workerOptions: WorkerLaunchOptions = worker === true ? {} : worker;
      const maxParkMs = workerOptions.maxParkMs ?? options.maxParkMs;
      this.backend = new WorkerBackend(options, maxParkMs === undefined ? workerOptions : { ...workerOptions, maxParkMs }, (error) => this.emitError(error));
    }
    // petrel stat reads the engine's counters on this thread; in worker mode the engine is in the worker.
    this.stat = options.stat === false || worker !== undefined ? undefined
      : new StatPublisher(this.backend.engine, options.stat === true || options.stat === undefined ? {} : options.stat);
    // cycle() reports its own failures; this catches a bug in the loop itself, which would
    // otherwise be an unhandled rejection that ends the process.
    this.loop = this.run().catch((error: unknown) => this.emitError(error));
  }

  /**
   * Starts an engine, a driver and the duty cycle: on this thread, or with `worker` in a worker
   * thread. Rejects with a WorkerModeError for an option that cannot cross to a worker, and with a
   * LaunchOptionError for a journal option it cannot use (journal.path, ...; in worker mode the
   * launch waits for the worker to open the journal).
   */
  static async launch(options: PetrelOptions = {}): Promise<Petrel> {
    const petrel = new Petrel(options);
    const backend = petrel.backend;
    if (backend instanceof WorkerBackend && options.journal !== undefined) {
      // The worker opens the journal: a launch that cannot record fails, and leaves no worker behind.
      try {
        await backend.journalOpened(options);
      } catch (error) {
        await petrel.close({ timeoutMs: 2000 }).catch(() => undefined);
        throw error;
      }
    }
    return petrel;
  }

  /** Where the engine runs: "in-process" (this thread) or "worker". */
  get mode(): ClientMode {
    return this.backend.mode;
  }

  /**
   * The engine, for what the client does not cover (MDC...). In worker mode: WorkerModeError. With
   * a journal: JournalUsageError (a command made on the engine directly would not be recorded).
   */
  get engine(): Engine {
    if (this.journaling) throw notJournaled("petrel.engine", "commands on the engine would bypass the journal; use the client's calls");
    return this.backend.engine;
  }

  /** True when the run is recorded into a journal (PetrelOptions.journal). */
  get journaling(): boolean {
    const backend = this.backend;
    return backend instanceof InProcessBackend ? backend.recorder !== undefined : backend instanceof WorkerBackend && backend.journaling;
  }

  /** The runtime agent. In worker mode: WorkerModeError. */
  get runtime(): EngineRuntime {
    return this.backend.runtime;
  }

  /** The sockets driver. In worker mode: WorkerModeError. */
  get driver(): Driver {
    return this.backend.driver;
  }

  /** Engine counters (Counter ids from petrel/core), as Aeron's driver counts them. In worker mode: WorkerModeError. */
  get counters(): Counters {
    if (this.backend.mode === "worker") throw new WorkerModeError("petrel.counters", "the engine's counters live in the worker thread");
    return this.backend.engine.counters;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * The engine's counters as Aeron's CountersReader lists them: system counters under Aeron's ids
   * and labels, and per-stream positions (pub-pos, pub-lmt, snd-pos, snd-lmt, snd-bpe, rcv-hwm,
   * rcv-pos, sub-pos) with Aeron's type ids and labels. In worker mode: WorkerModeError.
   */
  get countersReader(): CountersReader {
    if (this.backend.mode === "worker") throw new WorkerModeError("petrel.countersReader", "the engine's counters live in the worker thread");
    return this.backend.engine.countersReader;
  }

  /** @internal LoopHost */
  get poked(): boolean {
    return this.pokedFlag;
  }

  /** @internal LoopHost */
  get running(): boolean {
    return this.runningFlag;
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
    const backend = await this.backend.addPublication(channel, streamId, options.exclusive === true);
    if (this.closing !== undefined) {
      backend.close();
      backend.release();
      throw new ClosedError("the Petrel client was closed while the publication was being added");
    }
    const publication = new PetrelPublication(this, backend);
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
    // The engine reports images that already exist from inside the add, before the handle is
    // made: events hold this reference and are dispatched after the add (dropped if it fails).
    const ref: SubscriptionRef = {};
    let backend;
    try {
      backend = await this.backend.addSubscription(channel, streamId, (type, image) => this.events.push({ type, ref, image }));
    } catch (error) {
      ref.failed = true;
      throw error;
    }
    if (this.closing !== undefined) {
      ref.failed = true;
      backend.close();
      throw new ClosedError("the Petrel client was closed while the subscription was being added");
    }
    const subscription = new PetrelSubscription(this, backend, options);
    ref.subscription = subscription;
    this.subscriptions.add(subscription);
    this.wake();
    return subscription;
  }

  /**
   * Drains and stops: closes every publication (each resolves once everything offered before this
   * call is acknowledged by its receivers, or the timeout passes), then every subscription (a
   * `for await` still gets what had arrived), then the engine, its sockets (and worker) and the loop.
   * Resolves with what each publication's drain reached; never rejects for a timeout.
   */
  close(options: { timeoutMs?: number } = {}): Promise<CloseReport> {
    if (this.closing === undefined) {
      this.backend.markClosing();
      this.closing = this.closeNow(options.timeoutMs ?? this.closeTimeoutMs);
    }
    return this.closing;
  }

  /** `await using petrel = await Petrel.launch()` closes (and drains) at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async closeNow(timeoutMs: number): Promise<CloseReport> {
    const reports = await Promise.all([...this.publications].map((publication) => publication.close({ timeoutMs })));
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    this.runningFlag = false;
    this.wake();
    await this.loop;
    this.stat?.stop();
    try {
      await this.backend.close();
    } catch (error) {
      this.emitError(error);
    }
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
    this.pokedFlag = true;
    this.backend.interrupt();
  }

  /** @internal LoopHost */
  get draining(): boolean {
    return this.drains.size > 0;
  }

  /** @internal LoopHost: a drain, or a `for await` reader with room in its queue, waits on the engine. */
  waitsOnEngine(): boolean {
    if (this.drains.size > 0) return true;
    for (const subscription of this.subscriptions) if (subscription.wantsMessages) return true;
    return false;
  }

  private emitPublicationError(frame: PublicationErrorFrame): void {
    let publication: PetrelPublication | undefined;
    for (const p of this.publications) if (p.sessionId === frame.sessionId && p.streamId === frame.streamId) publication = p;
    const event: PublicationErrorEvent = { ...frame, publication };
    for (const listener of [...this.listeners.publicationError]) {
      try {
        listener(event);
      } catch (error) {
        this.emitError(error);
      }
    }
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

  /** @internal LoopHost: one duty cycle plus the client's own work (events, readers, drains). Returns the work done. */
  cycle(): number {
    let work = 0;
    try {
      work = this.backend.doWork();
    } catch (error) {
      this.emitError(error);
    }
    if (this.events.length > 0) work += this.dispatchEvents();
    // Bounded: the engine queues at most 64.
    for (let frame = this.backend.pollPublicationErrorFrame(); frame !== undefined; frame = this.backend.pollPublicationErrorFrame()) {
      this.emitPublicationError(frame);
      work++;
    }
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
    for (const pending of events) {
      const subscription = pending.ref.subscription;
      if (subscription === undefined) {
        // Its add is still waiting for the bind: keep the event for then. A failed add drops it.
        if (pending.ref.failed !== true) this.events.push(pending);
        continue;
      }
      dispatched++;
      const { sessionId, streamId, joinPosition, position } = pending.image;
      const event: ImageEvent = { subscription, sessionId, streamId, joinPosition, position };
      subscription.onImageEvent(pending.type, event);
      const list = this.listeners[pending.type];
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
    // Bounded by close(): running goes false and the loop ends after its current cycle.
    while (this.runningFlag) {
      this.pokedFlag = false;
      const work = this.cycle();
      await this.backend.idle(work, this);
    }
  }
}

