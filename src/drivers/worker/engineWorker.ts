// Worker mode, the worker thread's side: an Engine (sharedLogs: true), the sockets driver and the
// runtime agent, run in a loop that never needs the event loop (with a native driver). Each cycle:
//   1. read the application's positions from shared memory: each publication's producer position
//      (setProducerPosition: the sender sends up to it) and each image's subscriber position
//      (Image.position: flow control and SMs follow it);
//   2. EngineRuntime.doWork() (receive, timers, transmit);
//   3. publish what the application reads: each publication's publisher limit and connected/closed
//      flags, each image's end-of-stream position;
//   4. control messages (receiveMessageOnPort) when the application has signalled one;
//   5. idle: busy-spin for `spinCycles` empty cycles, then park in Atomics.wait on the doorbell
//      with a timeout of min(next engine deadline, maxParkMs). An offer rings the doorbell, which
//      wakes the worker at once; a datagram arriving while parked waits up to maxParkMs.
// The application thread sleeps too (Atomics.waitAsync on its own doorbell word): the worker wakes
// it after each control message it posts, and after a cycle that did work while the application
// said it waits on the worker (a `for await` reader, or a close draining).
// A closed publication keeps reporting, until the application releases it, the lowest position its
// receivers acknowledged in status messages: the application's close drains on it.
// With settings.journal the engine is built by a JournalRecorder and the runtime records into it
// (docs/JOURNAL.md, "Worker mode"): the worker makes each add and close through the recorder, and
// records what the application did on its own thread as the worker observes it in step 1: for a
// producer position that moved, the log bytes between the two positions (APPEND), and for a
// subscriber position that moved, the move with a digest of the bytes passed over
// (SUBSCRIBER_POSITION), each before the engine is told.
import { resolveLocalInterface } from "../interfaces.js";
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { Engine, type EngineOptions } from "../../core/engine/engine.js";
import { describeError, JournalRecorder, type JournaledPublication, type JournaledSubscription } from "../../journal/recorder.js";
import { NetworkPublication, PublicationState } from "../../core/engine/networkPublication.js";
import type { Publication } from "../../core/engine/publication.js";
import type { Image, Subscription } from "../../core/engine/subscription.js";
import { Prng } from "../../sim/prng.js";
import { clientRandom } from "../../client/entropyRandom.js";
import { ReceiverPositions, StatusMessageObserver } from "../../client/statusMessageObserver.js";
import { EngineRuntime, monotonicClockNs, type DatagramFilter } from "../runtime.js";
import { createSocketsDriver } from "../socketsDriver.js";
import type { DriverError } from "../driverError.js";
import type { BindFailure } from "../bindError.js";
import { formatIpv4 } from "../../core/address.js";
import type { EndpointInfo } from "../../core/engine/engine.js";
import { ChannelUriError } from "../../core/errors.js";
import {
  DOORBELL_APP_WAKE,
  DOORBELL_APP_WANTS_WORK,
  DOORBELL_PARKED,
  DOORBELL_RING,
  DOORBELL_TO_APP,
  DOORBELL_TO_WORKER,
  IMG_CLOSED,
  IMG_CONTROL_WORDS,
  IMG_EOS_POSITION,
  IMG_SUBSCRIBER_POSITION,
  PUB_ACKNOWLEDGED,
  PUB_CLOSED,
  PUB_CONNECTED,
  PUB_DRAINING,
  PUB_CONTROL_WORDS,
  PUB_LIMIT,
  PUB_PRODUCER_POSITION,
  readPosition,
  sharedInt32,
  writePosition,
  type FromWorker,
  type ToWorker,
  type WorkerInit,
} from "./shared.js";

interface PublicationEntry {
  readonly id: number;
  readonly handle: Publication;
  readonly network: NetworkPublication;
  readonly control: Int32Array;
  readonly receivers: ReceiverPositions;
  /** The recorder's handle of this publication (with a journal). */
  readonly journaled: JournaledPublication | undefined;
  lastLimit: number;
  lastConnected: number;
}

interface ImageEntry {
  readonly image: Image;
  readonly imageId: number;
  readonly subscriptionId: number;
  readonly control: Int32Array;
  /** The journal's handle of the subscription (-1: no journal). */
  readonly journalHandle: number;
  eosPublished: boolean;
}

class SeededDrop implements DatagramFilter {
  private readonly prng: Prng;
  constructor(seed: number, private readonly perMille: number) {
    this.prng = new Prng(seed).fork("worker-drop");
  }
  drop(): boolean {
    return this.prng.chance(this.perMille, 1000);
  }
}

const init = workerData as WorkerInit;
const { settings, port, doorbell, counters } = init;
const engineOptions: EngineOptions = { random: clientRandom(settings.seed), config: settings.config ?? {}, sharedLogs: true, resolveInterface: resolveLocalInterface };
const recorder = openJournal();
const engine = recorder === undefined ? new Engine(engineOptions) : recorder.createEngine(engineOptions);
const dropPerMille = settings.receiveDropPerMille ?? 0;
// Sees every status message before the engine does (never drops one): the drains read it.
const observer = new StatusMessageObserver(dropPerMille > 0 ? new SeededDrop((settings.seed ?? 0) + 1, dropPerMille) : undefined);
const connectionTimeoutNs = engine.config.publicationConnectionTimeoutNs;
// A socket that cannot be opened is recorded here and reported to the add call that asked for it,
// never thrown out of doWork (which would end the worker and every other stream with it).
const endpointFailures = new Map<number, { error: DriverError; endpoint: EndpointInfo }>();
const runtime = new EngineRuntime(engine, createSocketsDriver(settings.driver ?? {}), {
  receiveFilter: observer,
  onEndpointError: (error, endpoint) => endpointFailures.set(endpoint.id, { error, endpoint }),
  ...(recorder === undefined ? {} : { journal: recorder }),
});
const spinCycles = settings.spinCycles ?? 2000;
const maxParkMs = settings.maxParkMs ?? 1;

const publications: PublicationEntry[] = [];
/** Closed publications whose drain the application still watches (released by releasePublication). */
const draining: PublicationEntry[] = [];
const images: ImageEntry[] = [];
const subscriptions = new Map<number, Subscription>();
/** With a journal: the recorder's handles of the subscriptions (made before their first image can come). */
const journaledSubscriptions = new Map<number, JournaledSubscription>();
let nextImageId = 1;
let running = true;
let seenToWorker = 0;

/** Opens the journal settings.journal asks for, and says so to the application (its launch waits for it). */
function openJournal(): JournalRecorder | undefined {
  const journal = settings.journal;
  if (journal === undefined) return undefined;
  try {
    const { writerThreadUrl, ...options } = journal;
    const opened = new JournalRecorder({ ...options, ...(writerThreadUrl === undefined ? {} : { writerThreadUrl: new URL(writerThreadUrl) }) });
    post({ type: "journal" });
    return opened;
  } catch (error) {
    // The application's launch rejects and closes this worker; the engine runs unrecorded until then.
    post({ type: "journal", error: describeError(error) });
    return undefined;
  }
}

function post(message: FromWorker): void {
  port.postMessage(message);
  Atomics.add(doorbell, DOORBELL_TO_APP, 1);
  wakeApp();
}

function wakeApp(): void {
  Atomics.add(doorbell, DOORBELL_APP_WAKE, 1);
  Atomics.notify(doorbell, DOORBELL_APP_WAKE);
}

function localAddressOf(endpointId: number): string {
  const opened = runtime.endpoint(endpointId);
  return opened === undefined ? "" : `${formatIpv4(opened.localIp)}:${opened.localPort}`;
}

function onAvailableImage(subscriptionId: number, image: Image): void {
  const memory = image.source.log.memory;
  if (!(memory instanceof SharedArrayBuffer)) {
    post({ type: "error", id: subscriptionId, message: `image of session ${image.sessionId} is not over shared memory (IPC images are not supported in worker mode)` });
    return;
  }
  const control = sharedInt32(IMG_CONTROL_WORDS);
  writePosition(control, IMG_SUBSCRIBER_POSITION, image.position);
  const imageId = nextImageId++;
  images.push({ image, imageId, subscriptionId, control, journalHandle: journaledSubscriptions.get(subscriptionId)?.handle ?? -1, eosPublished: false });
  post({
    type: "imageAvailable", subscriptionId, imageId, sessionId: image.sessionId, streamId: image.streamId, log: memory, control,
    termLength: image.source.termLength, initialTermId: image.source.initialTermId, joinPosition: image.position,
  });
}

function onUnavailableImage(subscriptionId: number, image: Image): void {
  const index = images.findIndex((entry) => entry.image === image);
  if (index < 0) return;
  const [entry] = images.splice(index, 1);
  Atomics.store(entry!.control, IMG_CLOSED, 1);
  post({ type: "imageUnavailable", subscriptionId, imageId: entry!.imageId });
}

/**
 * Opens the endpoint an add just asked for (one duty cycle, now) and returns the failure, if any,
 * as a BindFailure naming the channel, the address and the errno. node:dgram binds later: its
 * failures surface in the driver's lastError(), not here.
 */
function openNow(endpointId: number, channel: string, streamId: number, role: "publication" | "subscription"): BindFailure | undefined {
  runtime.doWork();
  const failure = endpointFailures.get(endpointId);
  if (failure === undefined) return undefined;
  endpointFailures.delete(endpointId);
  const endpoint = failure.endpoint;
  const address = `${formatIpv4(endpoint.multicastGroupIp !== 0 ? endpoint.multicastGroupIp : endpoint.bindIp)}:${endpoint.bindPort}`;
  const error = failure.error;
  return { channel, streamId, address, role, code: error.code, errno: error.errno, syscall: error.syscall, detail: error.message };
}

function bindFailed(id: number, bind: BindFailure): void {
  post({ type: "error", id, message: `BindError: ${bind.code} opening ${bind.channel} on ${bind.address}`, bind });
}

function handle(message: ToWorker): void {
  switch (message.op) {
    case "addPublication": {
      const journaled = recorder === undefined ? undefined
        : message.exclusive ? recorder.addExclusivePublication(message.channel, message.streamId) : recorder.addPublication(message.channel, message.streamId);
      const handle = journaled !== undefined ? journaled.publication
        : message.exclusive ? engine.addExclusivePublication(message.channel, message.streamId) : engine.addPublication(message.channel, message.streamId);
      const closeHandle = (): void => journaled === undefined ? handle.close() : journaled.close();
      const network = handle.backend;
      if (!(network instanceof NetworkPublication) || !(network.log.memory instanceof SharedArrayBuffer)) {
        closeHandle();
        throw new Error(`${message.channel}: worker mode supports UDP publications only`);
      }
      const bind = openNow(network.destinations.endpointId, message.channel, message.streamId, "publication");
      if (bind !== undefined) {
        closeHandle();
        bindFailed(message.id, bind);
        return;
      }
      network.useExternalProducer();
      const control = sharedInt32(PUB_CONTROL_WORDS);
      const appender = network.appender;
      writePosition(control, PUB_PRODUCER_POSITION, appender.position);
      writePosition(control, PUB_LIMIT, network.publisherLimit);
      const receivers = new ReceiverPositions(network.sessionId, network.streamId, network.initialTermId, network.positionBitsToShift);
      observer.watch(receivers);
      publications.push({ id: message.id, handle, network, control, receivers, journaled, lastLimit: network.publisherLimit, lastConnected: 0 });
      post({
        type: "publicationReady", id: message.id, log: network.log.memory, control, termLength: network.termLength,
        initialTermId: network.initialTermId, activeTermId: appender.activeTermId, termOffset: appender.termOffset,
        sessionId: network.sessionId, streamId: network.streamId, mtu: network.mtu, registrationId: handle.registrationId,
        localAddress: localAddressOf(network.destinations.endpointId),
      });
      return;
    }
    case "closePublication": {
      const index = publications.findIndex((entry) => entry.id === message.id);
      if (index < 0) return;
      const [entry] = publications.splice(index, 1);
      // The end of stream is the producer's final position: read it before closing.
      moveProducer(entry!);
      Atomics.store(entry!.control, PUB_CLOSED, 1);
      if (entry!.journaled === undefined) entry!.handle.close();
      else entry!.journaled.close();
      draining.push(entry!);
      writeAcknowledged(entry!, monotonicClockNs());
      Atomics.store(entry!.control, PUB_DRAINING, 1);
      return;
    }
    case "releasePublication": {
      const index = draining.findIndex((entry) => entry.id === message.id);
      if (index < 0) return;
      const [entry] = draining.splice(index, 1);
      observer.unwatch(entry!.receivers);
      return;
    }
    case "addSubscription": {
      const id = message.id;
      const callbacks = {
        onAvailableImage: (image: Image) => onAvailableImage(id, image),
        onUnavailableImage: (image: Image) => onUnavailableImage(id, image),
      };
      let subscription: Subscription;
      if (recorder === undefined) {
        subscription = engine.addSubscription(message.channel, message.streamId, callbacks);
      } else {
        const journaled = recorder.addSubscription(message.channel, message.streamId, callbacks);
        journaledSubscriptions.set(id, journaled);
        subscription = journaled.subscription;
      }
      const bind = openNow(subscription.endpointId, message.channel, message.streamId, "subscription");
      if (bind !== undefined) {
        closeSubscription(id, subscription);
        bindFailed(id, bind);
        return;
      }
      subscriptions.set(id, subscription);
      post({ type: "subscriptionReady", id, registrationId: subscription.registrationId, localAddress: localAddressOf(subscription.endpointId) });
      return;
    }
    case "closeSubscription": {
      const subscription = subscriptions.get(message.id);
      if (subscription !== undefined) closeSubscription(message.id, subscription);
      subscriptions.delete(message.id);
      return;
    }
    case "close":
      running = false;
      return;
  }
}

/** Closes a subscription (through the recorder with a journal). */
function closeSubscription(id: number, subscription: Subscription): void {
  const journaled = journaledSubscriptions.get(id);
  journaledSubscriptions.delete(id);
  if (journaled === undefined) subscription.close();
  else journaled.close();
}

/**
 * The application's producer position, to the engine (and, with a journal, the log bytes it
 * appended since the last move, recorded before the engine is told). Returns 1 when it moved.
 */
function moveProducer(entry: PublicationEntry): number {
  const produced = readPosition(entry.control, PUB_PRODUCER_POSITION);
  const network = entry.network;
  const before = network.position;
  if (produced <= before) return 0;
  if (entry.journaled !== undefined) recorder!.recordAppend(entry.journaled.handle, network.log, before, produced);
  network.setProducerPosition(produced);
  return 1;
}

function pollControl(): number {
  const signalled = Atomics.load(doorbell, DOORBELL_TO_WORKER);
  if (signalled === seenToWorker) return 0;
  seenToWorker = signalled;
  let work = 0;
  for (let received = receiveMessageOnPort(port); received !== undefined; received = receiveMessageOnPort(port)) {
    const message = received.message as ToWorker;
    work++;
    try {
      handle(message);
    } catch (error) {
      const id = "id" in message ? message.id : 0;
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      if (error instanceof ChannelUriError) post({ type: "error", id, message: text, channelUri: { parameter: error.parameter, value: error.value, reason: error.reason } });
      else post({ type: "error", id, message: text });
    }
  }
  return work;
}

/** Shared memory in: producer and subscriber positions. Returns 1 when a producer moved. */
function readShared(): number {
  let work = 0;
  for (let i = 0; i < publications.length; i++) {
    if (moveProducer(publications[i]!) !== 0) work = 1;
  }
  for (let i = 0; i < images.length; i++) {
    const entry = images[i]!;
    const image = entry.image;
    const position = readPosition(entry.control, IMG_SUBSCRIBER_POSITION);
    if (position <= image.position) continue;
    if (entry.journalHandle >= 0) {
      recorder!.recordSubscriberPosition(entry.journalHandle, image.subscription.images.indexOf(image), image.sessionId, image.source, image.position, position);
    }
    image.position = position;
  }
  return work;
}

/** What a closed publication's receivers have acknowledged (+1; 0: none heard within the connection timeout). */
function writeAcknowledged(entry: PublicationEntry, nowNs: number): void {
  writePosition(entry.control, PUB_ACKNOWLEDGED, entry.receivers.minPosition(nowNs - connectionTimeoutNs) + 1);
}

/** Shared memory out: publisher limits, connected/closed flags, end-of-stream positions, drains. */
function writeShared(): void {
  if (draining.length > 0) {
    const nowNs = monotonicClockNs();
    for (let i = 0; i < draining.length; i++) writeAcknowledged(draining[i]!, nowNs);
  }
  for (let i = 0; i < publications.length; i++) {
    const entry = publications[i]!;
    const network = entry.network;
    const limit = network.publisherLimit;
    if (limit !== entry.lastLimit) {
      entry.lastLimit = limit;
      writePosition(entry.control, PUB_LIMIT, limit);
    }
    const connected = network.isConnected ? 1 : 0;
    if (connected !== entry.lastConnected) {
      entry.lastConnected = connected;
      Atomics.store(entry.control, PUB_CONNECTED, connected);
    }
    if (network.state !== PublicationState.ACTIVE) Atomics.store(entry.control, PUB_CLOSED, 1);
  }
  for (let i = 0; i < images.length; i++) {
    const entry = images[i]!;
    const eos = entry.image.source.endOfStreamPosition;
    if (!entry.eosPublished && eos >= 0) {
      entry.eosPublished = true;
      writePosition(entry.control, IMG_EOS_POSITION, eos + 1);
    }
  }
}

function park(seenRing: number): void {
  Atomics.store(doorbell, DOORBELL_PARKED, 1);
  const untilDeadlineMs = (engine.pollTimeout() - monotonicClockNs()) / 1e6;
  const timeoutMs = Math.min(maxParkMs, untilDeadlineMs);
  if (timeoutMs > 0.01) Atomics.wait(doorbell, DOORBELL_RING, seenRing, timeoutMs);
  Atomics.store(doorbell, DOORBELL_PARKED, 0);
}

async function run(): Promise<void> {
  await runtime.driver.ready();
  const needsLoop = runtime.driver.needsEventLoop;
  let idleCycles = 0;
  let cycles = 0;
  while (running) {
    const seenRing = Atomics.load(doorbell, DOORBELL_RING);
    let work = pollControl();
    work += readShared();
    work += runtime.doWork();
    writeShared();
    // A reader or a drain on the application thread waits on this worker: tell it there is news,
    // once per sleep of the application (taking the flag back), not once per busy cycle.
    if (work > 0 && Atomics.compareExchange(doorbell, DOORBELL_APP_WANTS_WORK, 1, 0) === 1) wakeApp();
    if ((++cycles & 1023) === 0) counters.set(engine.counters.values);
    if (work > 0) {
      idleCycles = 0;
    } else if (++idleCycles > spinCycles) {
      counters.set(engine.counters.values);
      if (needsLoop) await new Promise((resolve) => setTimeout(resolve, 0));
      else park(seenRing);
    }
    // node:dgram moves datagrams only while the event loop turns.
    if (needsLoop && (cycles & 63) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  readShared();
  if (recorder === undefined) engine.close();
  else recorder.closeEngine();
  for (let k = 0; k < 4; k++) runtime.doWork();
  // The journal ends after the engine's last cycle (END record, file closed).
  closeJournal();
  counters.set(engine.counters.values);
  const runtimeCounters = { ...runtime.counters };
  await runtime.close();
  post({ type: "closed", counters: engine.counters.snapshot(), runtime: runtimeCounters });
  port.close();
}

/** Ends the journal, if any; a writer that failed is reported to the application. */
function closeJournal(): void {
  if (recorder === undefined || !recorder.recording) return;
  try {
    recorder.close();
  } catch (error) {
    post({ type: "error", id: 0, message: `journal: ${describeError(error).name}: ${describeError(error).message}` });
  }
}

run().catch((error: unknown) => {
  try {
    closeJournal();
    post({ type: "error", id: 0, message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    post({ type: "closed", counters: engine.counters.snapshot(), runtime: { ...runtime.counters } });
  } finally {
    port.close();
  }
});
