// Worker mode (runtime mode b): what the application thread and the engine's worker thread share.
// Logs are SharedArrayBuffers (the engine allocates them with EngineOptions.sharedLogs); beside each
// log, a small Int32Array "control block" carries positions and flags, and one doorbell wakes the
// worker. Positions (< 2^53) cross threads through a seqlock over Int32 words so that a reader never
// sees a torn value and nothing allocates: the single writer bumps the sequence to odd, stores the
// low and high words, then bumps it to even; a reader retries while the sequence is odd or changed.
// Every access is an Atomics operation (sequentially consistent), so the order is guaranteed.
// Control messages (add/close, images coming and going, errors) travel over a MessagePort.
import type { MessagePort } from "node:worker_threads";
import type { EngineConfig } from "../../core/config/engineConfig.js";
import type { SocketsDriverOptions } from "../socketsDriver.js";
import type { BindFailure } from "../bindError.js";

/** Words of one seqlocked position: sequence, low 32 bits, high bits, padding. */
const POSITION_WORDS = 4;
const TWO_32 = 4294967296;

/** Publication control block (Int32 words). */
export const PUB_PRODUCER_POSITION = 0; // app writes: committed producer position
export const PUB_LIMIT = 4; // worker writes: publisher limit
export const PUB_CONNECTED = 8; // worker writes: 1 when connected
export const PUB_CLOSED = 9; // worker writes: 1 when the publication no longer accepts offers
/** Worker writes, once the application closed the publication: 1 when PUB_ACKNOWLEDGED is valid. */
export const PUB_DRAINING = 10;
/**
 * Worker writes while draining: 1 + the lowest position the receivers heard from within the
 * connection timeout acknowledged in their status messages (0: no receiver heard).
 */
export const PUB_ACKNOWLEDGED = 12;
export const PUB_CONTROL_WORDS = 16;

/** Image control block (Int32 words). */
export const IMG_SUBSCRIBER_POSITION = 0; // app writes: the subscriber's position
export const IMG_EOS_POSITION = 4; // worker writes: end of stream position + 1 (0: none yet)
export const IMG_CLOSED = 8; // worker writes: 1 when the image is gone
export const IMG_CONTROL_WORDS = 16;

/** Doorbell (Int32 words): the app bumps RING and notifies it when PARKED is 1. */
export const DOORBELL_RING = 0;
export const DOORBELL_PARKED = 1;
/** Bumped by the application after each control message it posts (the worker then reads the port). */
export const DOORBELL_TO_WORKER = 2;
/** Bumped by the worker after each message it posts (the application then reads the port). */
export const DOORBELL_TO_APP = 3;
/**
 * The application's own doorbell: the worker bumps it and calls Atomics.notify after each message
 * it posts, and after a cycle that did work while the application set APP_WANTS_WORK (a reader or
 * a drain is waiting on the worker; the worker takes the flag back with compareExchange, so one
 * sleep costs it one notify). The application sleeps on it with Atomics.waitAsync.
 */
export const DOORBELL_APP_WAKE = 4;
export const DOORBELL_APP_WANTS_WORK = 5;
export const DOORBELL_WORDS = 8;

export function sharedInt32(words: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(words * 4));
}

/** Single writer: publishes `position` (0 <= position < 2^53) at `index` without tearing. */
export function writePosition(words: Int32Array, index: number, position: number): void {
  const seq = Atomics.load(words, index);
  Atomics.store(words, index, (seq + 1) | 0);
  Atomics.store(words, index + 1, position % TWO_32 | 0);
  Atomics.store(words, index + 2, Math.floor(position / TWO_32));
  Atomics.store(words, index + 3, 0);
  Atomics.store(words, index, (seq + 2) | 0);
}

/** Reads a position published by writePosition; spins only while a write is in progress. */
export function readPosition(words: Int32Array, index: number): number {
  for (;;) {
    const s1 = Atomics.load(words, index);
    if ((s1 & 1) !== 0) continue;
    const lo = Atomics.load(words, index + 1) >>> 0;
    const hi = Atomics.load(words, index + 2);
    if (Atomics.load(words, index) === s1) return hi * TWO_32 + lo;
  }
}

export { POSITION_WORDS };

/** Ring the worker: count the ring, and wake it only when it is parked in Atomics.wait. */
export function ringDoorbell(doorbell: Int32Array): void {
  Atomics.add(doorbell, DOORBELL_RING, 1);
  if (Atomics.load(doorbell, DOORBELL_PARKED) !== 0) Atomics.notify(doorbell, DOORBELL_RING);
}

/** The sockets driver options a worker takes: plain data (structured-clone safe). */
export type WorkerDriverOptions = Omit<SocketsDriverOptions, "warn">;

/** Settings handed to the worker (structured-clone safe). */
export interface WorkerEngineSettings {
  /**
   * Seed of the engine's randomness (session ids, term ids, NAK delays). Default: the operating
   * system's entropy, so that a restarted publisher is a new session.
   */
  readonly seed?: number;
  /** Overrides of Aeron's defaults (EngineConfig is plain numbers, booleans and strings). */
  readonly config?: Partial<EngineConfig>;
  /** Sockets driver options (prefer, gso, gro, batch sizes...), without the `warn` callback, which cannot cross to a worker. */
  readonly driver?: WorkerDriverOptions;
  /** Fault injection for tests: received datagrams dropped per mille (seeded). */
  readonly receiveDropPerMille?: number;
  /** Busy-spin cycles with no work before the worker parks (default 2000). */
  readonly spinCycles?: number;
  /** Longest park in Atomics.wait, in ms: bounds receive latency while idle (default 1). */
  readonly maxParkMs?: number;
  /**
   * Records the worker's engine into a journal (docs/JOURNAL.md, "Worker mode"): the worker opens
   * the JournalRecorder, and answers with a `journal` message (with `error` if it could not).
   */
  readonly journal?: WorkerJournalSettings;
}

/** JournalRecorderOptions as they cross to the worker: the writer thread's URL as a string. */
export interface WorkerJournalSettings {
  readonly path: string;
  readonly blockBytes?: number;
  readonly segmentBytes?: number;
  readonly maxBytes?: number;
  readonly flushIntervalNs?: number;
  readonly payloadHash?: boolean;
  readonly writerThread?: boolean;
  readonly writerSlots?: number;
  readonly writerThreadUrl?: string;
}

export interface WorkerInit {
  readonly settings: WorkerEngineSettings;
  readonly port: MessagePort;
  readonly doorbell: Int32Array;
  /** Engine counters, copied by the worker now and then (monitoring only). */
  readonly counters: Float64Array;
}

/** Application to worker. */
export type ToWorker =
  | { readonly op: "addPublication"; readonly id: number; readonly channel: string; readonly streamId: number; readonly exclusive: boolean }
  | { readonly op: "closePublication"; readonly id: number }
  /** The application's drain of a closed publication has ended: stop reporting its acknowledged position. */
  | { readonly op: "releasePublication"; readonly id: number }
  | { readonly op: "addSubscription"; readonly id: number; readonly channel: string; readonly streamId: number }
  | { readonly op: "closeSubscription"; readonly id: number }
  | { readonly op: "close" };

export interface PublicationReady {
  readonly type: "publicationReady";
  readonly id: number;
  readonly log: SharedArrayBuffer;
  readonly control: Int32Array;
  readonly termLength: number;
  readonly initialTermId: number;
  readonly activeTermId: number;
  readonly termOffset: number;
  readonly sessionId: number;
  readonly streamId: number;
  readonly mtu: number;
  readonly registrationId: number;
  /** The bound local "ip:port" of the publication's socket. */
  readonly localAddress: string;
}

export interface ImageAvailable {
  readonly type: "imageAvailable";
  readonly subscriptionId: number;
  readonly imageId: number;
  readonly sessionId: number;
  readonly streamId: number;
  readonly log: SharedArrayBuffer;
  readonly control: Int32Array;
  readonly termLength: number;
  readonly initialTermId: number;
  readonly joinPosition: number;
}

/** Worker to application. */
export type FromWorker =
  | PublicationReady
  | { readonly type: "subscriptionReady"; readonly id: number; readonly registrationId: number; readonly localAddress: string }
  | ImageAvailable
  | { readonly type: "imageUnavailable"; readonly subscriptionId: number; readonly imageId: number }
  | {
    readonly type: "error";
    readonly id: number;
    readonly message: string;
    readonly bind?: BindFailure;
    /** A ChannelUriError thrown by the worker's engine, rebuilt as one on the application side. */
    readonly channelUri?: { readonly parameter: string; readonly value: string; readonly reason: string };
  }
  /** With settings.journal, the worker's first message: the journal is open, or `error` says why not. */
  | { readonly type: "journal"; readonly error?: { readonly name: string; readonly message: string } }
  | { readonly type: "closed"; readonly counters: Record<string, number>; readonly runtime: Record<string, number> };
