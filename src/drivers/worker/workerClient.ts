// Worker mode (runtime mode b), the application thread's side. A WorkerClient starts the engine,
// driver and runtime agent in a worker thread (engineWorker.ts) and hands the application
// Publication and Subscription objects that work on the shared logs directly:
//   - offer() appends with its own ExclusiveLogAppender into the publication's SharedArrayBuffer
//     log (built with the worker's initialTermId/activeTermId/termOffset/sessionId/streamId/mtu and
//     cleanOnRotation: false: the worker's publication cleans terms behind its sender), publishes
//     the producer position in the control block and rings the doorbell. It reads the publisher
//     limit (seqlock) only when the cached limit is reached, as Aeron's publications do.
//   - poll() reads images with TermReader + FragmentAssembler over the shared image logs and
//     publishes its subscriber position, which the worker copies into its Image each cycle.
// No system call and no event-loop turn on this thread: control messages are read with
// receiveMessageOnPort, and only when the worker has signalled one (a shared counter).
// A caller with nothing to do (Petrel's loop in worker mode) sleeps in sleep(): Atomics.waitAsync
// on a doorbell word the worker rings, so an idle application thread costs no CPU.
import { BindError } from "../bindError.js";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { checkOfferArguments, BACK_PRESSURED, CLOSED, NOT_CONNECTED } from "../../core/engine/networkPublication.js";
import { ChannelUriError } from "../../core/errors.js";
import { checkOfferVectors } from "../../core/engine/offerVectors.js";
import type { BufferVector, ReservedValueSupplier } from "../../core/logbuffer/termAppender.js";
import { COUNTER_NAMES, type CounterId } from "../../core/engine/counters.js";
import { HandlerAdapter, type MessageHandler } from "../../core/engine/subscription.js";
import {
  ExclusiveLogAppender,
  FragmentAssembler,
  LogBuffers,
  TermReader,
  fragmentsRead,
  indexByTerm,
  positionBitsToShift,
  readOffset,
  type FragmentHandler,
} from "../../core/logbuffer/index.js";
import {
  DOORBELL_APP_WAKE,
  DOORBELL_APP_WANTS_WORK,
  DOORBELL_TO_APP,
  DOORBELL_TO_WORKER,
  DOORBELL_WORDS,
  IMG_CLOSED,
  IMG_EOS_POSITION,
  IMG_SUBSCRIBER_POSITION,
  PUB_ACKNOWLEDGED,
  PUB_CLOSED,
  PUB_CONNECTED,
  PUB_DRAINING,
  PUB_LIMIT,
  PUB_PRODUCER_POSITION,
  readPosition,
  ringDoorbell,
  sharedInt32,
  writePosition,
  type FromWorker,
  type ImageAvailable,
  type PublicationReady,
  type ToWorker,
  type WorkerEngineSettings,
  type WorkerInit,
} from "./shared.js";

export interface WorkerClientOptions extends Partial<WorkerEngineSettings> {
  /**
   * The compiled worker module (default: engineWorker.js beside this module, as in dist/). Tests
   * that run from TypeScript sources pass a compiled copy.
   */
  readonly workerUrl?: URL;
  /** Errors the worker reports for no pending request (also kept in `errors`). */
  readonly onError?: (error: Error) => void;
}

export interface WorkerCloseReport {
  readonly counters: Record<string, number>;
  readonly runtime: Record<string, number>;
}

/** Atomics.waitAsync (Node 16+; typed in lib es2024, which this project does not target yet). */
type WaitAsync = (typed: Int32Array, index: number, value: number, timeoutMs: number) =>
  { readonly async: false; readonly value: string } | { readonly async: true; readonly value: Promise<string> };
const waitAsync: WaitAsync = (Atomics as unknown as { readonly waitAsync: WaitAsync }).waitAsync;

class Pending<T> {
  value: T | undefined;
  error: Error | undefined;
}

export class WorkerClient {
  readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly doorbell: Int32Array;
  private readonly countersMirror: Float64Array;
  private seenToApp = 0;
  private nextId = 1;
  private readonly pendingPublications = new Map<number, Pending<WorkerPublication>>();
  private readonly pendingSubscriptions = new Map<number, Pending<WorkerSubscription>>();
  private readonly subscriptions = new Map<number, WorkerSubscription>();
  private closeReport: WorkerCloseReport | undefined;
  /** With settings.journal: the worker's answer (undefined until it came; `error` if the journal could not be opened). */
  private journalAnswer: { readonly error?: { readonly name: string; readonly message: string } } | undefined;
  private readonly onError: ((error: Error) => void) | undefined;
  private closing = false;
  private exited = false;
  private readonly exitPromise: Promise<void>;
  /** Errors the worker reported for no pending request (engine or driver failures). */
  readonly errors: string[] = [];

  constructor(options: WorkerClientOptions = {}) {
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.doorbell = sharedInt32(DOORBELL_WORDS);
    this.countersMirror = new Float64Array(new SharedArrayBuffer(COUNTER_NAMES.length * 8));
    const settings: WorkerEngineSettings = {
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...(options.driver !== undefined ? { driver: options.driver } : {}),
      ...(options.receiveDropPerMille !== undefined ? { receiveDropPerMille: options.receiveDropPerMille } : {}),
      ...(options.spinCycles !== undefined ? { spinCycles: options.spinCycles } : {}),
      ...(options.maxParkMs !== undefined ? { maxParkMs: options.maxParkMs } : {}),
      ...(options.journal !== undefined ? { journal: options.journal } : {}),
    };
    this.onError = options.onError;
    const init: WorkerInit = { settings, port: channel.port2, doorbell: this.doorbell, counters: this.countersMirror };
    this.worker = new Worker(options.workerUrl ?? new URL("./engineWorker.js", import.meta.url), {
      workerData: init,
      transferList: [channel.port2],
    });
    this.exitPromise = new Promise((resolve) => {
      this.worker.once("exit", () => {
        this.exited = true;
        resolve();
      });
      this.worker.once("error", (error) => this.reportError(`worker: ${error.message}`));
    });
  }

  /** True once the worker thread has ended (after close(), or if it failed). */
  get hasExited(): boolean {
    return this.exited;
  }

  /** The engine's counter `id` as last copied by the worker (monitoring: may lag by a millisecond). */
  counter(id: CounterId): number {
    return this.countersMirror[id] ?? 0;
  }

  /**
   * Sleeps without blocking the event loop until the worker posts a message, `timeoutMs` passes,
   * or wakeSleeper() is called; with `wantsWork`, also until a worker cycle does work (a datagram
   * received, a status message, a timer). `check` runs after the worker was told, so that news
   * that came just before cannot be missed: when it returns > 0 the sleep is skipped. Costs no
   * CPU while asleep (Atomics.waitAsync).
   */
  async sleep(timeoutMs: number, wantsWork: boolean, check: () => number): Promise<void> {
    const doorbell = this.doorbell;
    if (wantsWork) Atomics.store(doorbell, DOORBELL_APP_WANTS_WORK, 1);
    const seen = Atomics.load(doorbell, DOORBELL_APP_WAKE);
    if (Atomics.load(doorbell, DOORBELL_TO_APP) === this.seenToApp && !this.exited && check() === 0) {
      const waited = waitAsync(doorbell, DOORBELL_APP_WAKE, seen, timeoutMs);
      if (waited.async) await waited.value;
    }
    Atomics.store(doorbell, DOORBELL_APP_WANTS_WORK, 0);
  }

  /** Ends a sleep() from this thread (the application acted). */
  wakeSleeper(): void {
    Atomics.add(this.doorbell, DOORBELL_APP_WAKE, 1);
    Atomics.notify(this.doorbell, DOORBELL_APP_WAKE);
  }

  /** Reads the worker's control messages, if it has signalled any. Returns the number handled. */
  doWork(): number {
    const signalled = Atomics.load(this.doorbell, DOORBELL_TO_APP);
    if (signalled === this.seenToApp) return 0;
    this.seenToApp = signalled;
    let work = 0;
    for (let received = receiveMessageOnPort(this.port); received !== undefined; received = receiveMessageOnPort(this.port)) {
      work++;
      this.onMessage(received.message as FromWorker);
    }
    return work;
  }

  /**
   * With a journal (options.journal): waits for the worker to open it. Resolves to undefined when it
   * is open, to the worker's error (name, message) when it could not be; rejects if the worker exits.
   */
  async journalOpened(): Promise<{ readonly name: string; readonly message: string } | undefined> {
    // Bounded: the worker answers first thing, or exits.
    for (let k = 0; this.journalAnswer === undefined; k++) {
      if (this.exited) throw new Error("the engine worker has exited");
      this.doWork();
      if (this.journalAnswer !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, k < 10 ? 0 : 1));
    }
    return this.journalAnswer.error;
  }

  addPublication(channel: string, streamId: number, exclusive = false): Promise<WorkerPublication> {
    if (this.closing || this.exited) return Promise.reject(new Error("the worker client is closed"));
    const id = this.nextId++;
    const pending = new Pending<WorkerPublication>();
    this.pendingPublications.set(id, pending);
    this.send({ op: "addPublication", id, channel, streamId, exclusive });
    return this.await(pending, () => this.pendingPublications.delete(id));
  }

  addSubscription(channel: string, streamId: number, options: WorkerSubscriptionOptions = {}): Promise<WorkerSubscription> {
    if (this.closing || this.exited) return Promise.reject(new Error("the worker client is closed"));
    const id = this.nextId++;
    const pending = new Pending<WorkerSubscription>();
    this.pendingSubscriptions.set(id, pending);
    this.subscriptions.set(id, new WorkerSubscription(this, id, options));
    this.send({ op: "addSubscription", id, channel, streamId });
    return this.await(pending, () => this.pendingSubscriptions.delete(id));
  }

  /** Stops the worker: the engine closes (end of stream on its publications), the driver is disposed. */
  async close(timeoutMs = 5000): Promise<WorkerCloseReport> {
    if (!this.closing && !this.exited) {
      this.closing = true;
      this.send({ op: "close" });
    }
    const deadline = performance.now() + timeoutMs;
    while (this.closeReport === undefined && !this.exited && performance.now() < deadline) {
      this.doWork();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.doWork();
    if (!this.exited) {
      const exited = await Promise.race([this.exitPromise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), Math.max(0, deadline - performance.now())))]);
      if (!exited) {
        this.errors.push("worker did not exit in time: terminated");
        await this.worker.terminate();
      }
    }
    return this.closeReport ?? { counters: {}, runtime: {} };
  }

  /** @internal */
  send(message: ToWorker): void {
    if (this.exited) return;
    this.port.postMessage(message);
    Atomics.add(this.doorbell, DOORBELL_TO_WORKER, 1);
    ringDoorbell(this.doorbell);
  }

  /** @internal */
  ring(): void {
    ringDoorbell(this.doorbell);
  }

  /** @internal */
  forgetSubscription(id: number): void {
    this.subscriptions.delete(id);
  }

  private reportError(message: string): void {
    this.errors.push(message);
    this.onError?.(new Error(message));
  }

  private async await<T>(pending: Pending<T>, done: () => void): Promise<T> {
    try {
      // Control replies come within a duty cycle; the timer keeps this off the hot path.
      for (let k = 0; pending.value === undefined && pending.error === undefined; k++) {
        if (this.exited) throw new Error("the engine worker has exited");
        this.doWork();
        if (pending.value !== undefined || pending.error !== undefined) break;
        await new Promise((resolve) => setTimeout(resolve, k < 10 ? 0 : 1));
      }
      if (pending.error !== undefined) throw pending.error;
      return pending.value!;
    } finally {
      done();
    }
  }

  private onMessage(message: FromWorker): void {
    switch (message.type) {
      case "publicationReady": {
        const pending = this.pendingPublications.get(message.id);
        const publication = new WorkerPublication(this, message);
        if (pending !== undefined) pending.value = publication;
        return;
      }
      case "subscriptionReady": {
        const pending = this.pendingSubscriptions.get(message.id);
        const subscription = this.subscriptions.get(message.id);
        if (subscription !== undefined) subscription.ready(message.registrationId, message.localAddress);
        if (pending !== undefined) pending.value = subscription;
        return;
      }
      case "imageAvailable":
        this.subscriptions.get(message.subscriptionId)?.addImage(message);
        return;
      case "imageUnavailable":
        this.subscriptions.get(message.subscriptionId)?.removeImage(message.imageId);
        return;
      case "error": {
        const uri = message.channelUri;
        const error = message.bind !== undefined ? new BindError(message.bind)
          : uri !== undefined ? new ChannelUriError(uri.parameter, uri.value, uri.reason) : new Error(message.message);
        const pending = this.pendingPublications.get(message.id) ?? this.pendingSubscriptions.get(message.id);
        if (pending !== undefined) pending.error = error;
        else this.reportError(message.message);
        if (this.pendingSubscriptions.has(message.id)) this.subscriptions.delete(message.id);
        return;
      }
      case "journal":
        this.journalAnswer = message.error === undefined ? {} : { error: message.error };
        return;
      case "closed":
        this.closeReport = { counters: message.counters, runtime: message.runtime };
        return;
    }
  }
}

/** The application's handle on a worker-mode publication: offers go straight into the shared log. */
export class WorkerPublication {
  readonly sessionId: number;
  readonly streamId: number;
  readonly initialTermId: number;
  readonly termLength: number;
  readonly registrationId: number;
  /** The bound local "ip:port" of the publication's socket. */
  readonly localAddress: string;
  private readonly client: WorkerClient;
  private readonly id: number;
  private readonly control: Int32Array;
  private readonly appender: ExclusiveLogAppender;
  private cachedLimit = 0;
  private closedFlag = false;

  constructor(client: WorkerClient, ready: PublicationReady) {
    this.client = client;
    this.id = ready.id;
    this.control = ready.control;
    this.sessionId = ready.sessionId;
    this.streamId = ready.streamId;
    this.initialTermId = ready.initialTermId;
    this.termLength = ready.termLength;
    this.registrationId = ready.registrationId;
    this.localAddress = ready.localAddress;
    this.appender = new ExclusiveLogAppender(new LogBuffers(ready.log, ready.termLength), {
      initialTermId: ready.initialTermId,
      activeTermId: ready.activeTermId,
      termOffset: ready.termOffset,
      sessionId: ready.sessionId,
      streamId: ready.streamId,
      mtuLength: ready.mtu,
      cleanOnRotation: false,
    });
  }

  get position(): number {
    return this.appender.position;
  }

  get maxPayloadLength(): number {
    return this.appender.maxPayloadLength;
  }

  get maxMessageLength(): number {
    return this.appender.maxMessageLength;
  }

  /** As the worker last published it (one atomic load). */
  get isConnected(): boolean {
    return !this.closedFlag && Atomics.load(this.control, PUB_CONNECTED) === 1 && Atomics.load(this.control, PUB_CLOSED) === 0;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** The limit offers may reach, as the worker last published it. */
  get positionLimit(): number {
    return readPosition(this.control, PUB_LIMIT);
  }

  /**
   * Appends a message: the new position, or NOT_CONNECTED, BACK_PRESSURED, ADMIN_ACTION (the log
   * rotated: offer again), CLOSED, MAX_POSITION_EXCEEDED, as Publication.offer.
   */
  offer(buffer: Uint8Array, offset = 0, length = buffer.length - offset, reservedValueSupplier?: ReservedValueSupplier): number {
    if (this.closedFlag) return CLOSED;
    const appender = this.appender;
    checkOfferArguments(appender, buffer, offset, length);
    const refused = this.refusal();
    if (refused !== 0) return refused;
    return this.committed(appender.append(buffer, offset, length, reservedValueSupplier));
  }

  /** One message gathered from several slices (Aeron's offer(DirectBufferVector[])); codes as offer(). */
  offerv(vectors: readonly BufferVector[], reservedValueSupplier?: ReservedValueSupplier): number {
    if (this.closedFlag) return CLOSED;
    const appender = this.appender;
    const length = checkOfferVectors(vectors, appender.maxMessageLength);
    const refused = this.refusal();
    if (refused !== 0) return refused;
    return this.committed(appender.appendv(vectors, length, reservedValueSupplier));
  }

  /** Bytes offers may still append before BACK_PRESSURED (Aeron's availableWindow); CLOSED once closed. */
  get availableWindow(): number {
    if (this.closedFlag) return CLOSED;
    return readPosition(this.control, PUB_LIMIT) - this.appender.position;
  }

  /**
   * While draining after close(): the lowest position the receivers heard from within the
   * connection timeout acknowledged, -1 with none, or -2 before the worker has handled the close.
   */
  acknowledgedPosition(): number {
    if (Atomics.load(this.control, PUB_DRAINING) === 0) return -2;
    return readPosition(this.control, PUB_ACKNOWLEDGED) - 1;
  }

  /** The drain is over: the worker stops reporting the acknowledged position. */
  release(): void {
    this.client.send({ op: "releasePublication", id: this.id });
  }

  /** 0 when an append may go ahead, else NOT_CONNECTED, BACK_PRESSURED or CLOSED. */
  private refusal(): number {
    const position = this.appender.position;
    if (position < this.cachedLimit) return 0;
    const control = this.control;
    this.client.doWork();
    if (Atomics.load(control, PUB_CLOSED) !== 0) return CLOSED;
    this.cachedLimit = readPosition(control, PUB_LIMIT);
    if (position < this.cachedLimit) return 0;
    return Atomics.load(control, PUB_CONNECTED) === 1 ? BACK_PRESSURED : NOT_CONNECTED;
  }

  private committed(result: number): number {
    // A rotation (ADMIN_ACTION) committed a padding frame and moved the position: publish it too.
    writePosition(this.control, PUB_PRODUCER_POSITION, this.appender.position);
    this.client.ring();
    return result;
  }

  /** Closes the publication: the worker sends what remains, then end of stream. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.client.send({ op: "closePublication", id: this.id });
  }
}

export interface WorkerSubscriptionOptions {
  readonly onAvailableImage?: (image: WorkerImage) => void;
  readonly onUnavailableImage?: (image: WorkerImage) => void;
}

/** One publication session as this application thread reads it from the shared image log. */
export class WorkerImage {
  readonly imageId: number;
  readonly sessionId: number;
  readonly streamId: number;
  readonly joinPosition: number;
  readonly initialTermId: number;
  readonly termLength: number;
  position: number;
  private readonly log: LogBuffers;
  private readonly control: Int32Array;
  private readonly reader: TermReader;
  private readonly assembler: FragmentAssembler;
  private readonly client: WorkerClient;

  constructor(client: WorkerClient, available: ImageAvailable, adapter: FragmentHandler) {
    this.client = client;
    this.imageId = available.imageId;
    this.sessionId = available.sessionId;
    this.streamId = available.streamId;
    this.joinPosition = available.joinPosition;
    this.initialTermId = available.initialTermId;
    this.termLength = available.termLength;
    this.position = available.joinPosition;
    this.log = new LogBuffers(available.log, available.termLength);
    this.control = available.control;
    this.reader = new TermReader(available.initialTermId, positionBitsToShift(available.termLength), this.log.term(0));
    this.assembler = new FragmentAssembler(adapter);
  }

  get isClosed(): boolean {
    return Atomics.load(this.control, IMG_CLOSED) !== 0;
  }

  /** True once everything up to the publication's end of stream has been read. */
  get isEndOfStream(): boolean {
    const eos = readPosition(this.control, IMG_EOS_POSITION) - 1;
    return eos >= 0 && this.position >= eos;
  }

  poll(fragmentLimit: number): number {
    const termLength = this.termLength;
    const start = this.position;
    let read = 0;
    // Bounded: at most two terms are visited (a PAD frame ends a term).
    for (let pass = 0; pass < 2 && read < fragmentLimit; pass++) {
      const position = this.position;
      const termOffset = position & (termLength - 1);
      const termId = (this.initialTermId + Math.floor(position / termLength)) | 0;
      const term = this.log.term(indexByTerm(this.initialTermId, termId));
      const result = this.reader.read(term, termOffset, fragmentLimit - read, this.assembler);
      read += fragmentsRead(result);
      const newOffset = readOffset(result);
      this.position = position + (newOffset - termOffset);
      if (newOffset < termLength) break;
    }
    if (this.position !== start) {
      writePosition(this.control, IMG_SUBSCRIBER_POSITION, this.position);
      this.client.ring();
    }
    return read;
  }
}

/** The application's handle on a worker-mode subscription. */
export class WorkerSubscription {
  readonly images: WorkerImage[] = [];
  private readonly client: WorkerClient;
  private readonly id: number;
  private readonly options: WorkerSubscriptionOptions;
  private readonly adapter = new HandlerAdapter();
  private roundRobin = 0;
  private closedFlag = false;
  private registration = -1;
  private local = "";

  constructor(client: WorkerClient, id: number, options: WorkerSubscriptionOptions) {
    this.client = client;
    this.id = id;
    this.options = options;
  }

  get isConnected(): boolean {
    return this.images.length > 0;
  }

  /** The engine's registration id of this subscription (-1 until it is bound). */
  get registrationId(): number {
    return this.registration;
  }

  /** The bound local "ip:port" of the subscription's socket ("" until it is bound). */
  get localAddress(): string {
    return this.local;
  }

  /** @internal */
  ready(registrationId: number, localAddress: string): void {
    this.registration = registrationId;
    this.local = localAddress;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Reads up to `fragmentLimit` fragments across images; returns how many were read. */
  poll(handler: MessageHandler, fragmentLimit: number): number {
    if (this.closedFlag) return 0;
    this.client.doWork();
    const images = this.images;
    const count = images.length;
    if (count === 0) return 0;
    this.adapter.handler = handler;
    let start = this.roundRobin++;
    if (this.roundRobin >= count) this.roundRobin = 0;
    if (start >= count) start = 0;
    let read = 0;
    for (let i = 0; i < count && read < fragmentLimit; i++) read += images[(start + i) % count]!.poll(fragmentLimit - read);
    this.adapter.handler = undefined;
    return read;
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.client.send({ op: "closeSubscription", id: this.id });
    this.client.forgetSubscription(this.id);
    this.images.length = 0;
  }

  /** @internal */
  addImage(available: ImageAvailable): void {
    const image = new WorkerImage(this.client, available, this.adapter);
    this.images.push(image);
    this.options.onAvailableImage?.(image);
  }

  /** @internal */
  removeImage(imageId: number): void {
    const index = this.images.findIndex((image) => image.imageId === imageId);
    if (index < 0) return;
    const [image] = this.images.splice(index, 1);
    this.options.onUnavailableImage?.(image!);
  }
}
