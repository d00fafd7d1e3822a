// Records a live run: every input that reaches the core and a digest of every output, so that
// `petrel replay` (replay.ts) can run a fresh Engine over the journal and check it bit for bit.
//
// What reaches the core, and who records it:
// - the runtime's calls (received datagrams, timer calls, pollTransmit with a hash of each datagram
//   it produced, endpoint events): EngineRuntime calls this recorder as its RuntimeJournal;
// - the application's commands: the application makes them through this recorder
//   (addPublication / addSubscription / close, JournaledPublication.offer,
//   JournaledSubscription.poll), which forwards each to the engine and records it with its result;
// - the engine's random draws, host-name lookups and interface searches: createEngine() wraps the
//   RandomSource, resolveHost and resolveInterface it is given.
//
// Records follow the call they describe; what the engine did during the call (draws, image events,
// a refused transport check) precedes it. Failed offers and empty polls repeated back to back are
// coalesced into one record with a count (they change nothing, and a spinning application makes
// millions). Nothing here allocates per message: a record is copied into the writer's block buffer.
import { Engine, type EndpointEvent, type EngineOptions } from "../core/engine/engine.js";
import type { Publication } from "../core/engine/publication.js";
import type { Image, MessageHandler, Subscription, SubscriptionOptions } from "../core/engine/subscription.js";
import type { RandomSource } from "../core/random.js";
import type { TransmitBatch } from "../core/transmitBatch.js";
import type { RuntimeJournal } from "../drivers/runtime.js";
import type { LogBuffers } from "../core/logbuffer/logBuffers.js";
import { APPEND_CHUNK_BYTES, isInertOfferResult, JournalUsageError, RecordType } from "./format.js";
import { countLogFrames, Digest, digestLogRange, hashBytes, WordView, type LogSource } from "./hash.js";
import { JournalWriter, type JournalWriterOptions } from "./writer.js";

export type JournalRecorderOptions = JournalWriterOptions;

const RUN_NONE = 0;
const RUN_OFFER = 1;
const RUN_POLL = 2;
const MAX_HANDLES = 0xffff;

export class JournalRecorder implements RuntimeJournal {
  readonly writer: JournalWriter;
  private engineRef: Engine | undefined;
  private readonly publications: JournaledPublication[] = [];
  private readonly subscriptions: JournaledSubscription[] = [];
  private applicationWork = false;
  /** > 0 inside a poll handler or an image callback: commands there cannot be replayed in place. */
  nested = 0;
  // A run of identical inert offers or empty polls not yet written.
  private runKind = RUN_NONE;
  private runHandle = 0;
  private runValue = 0;
  private runLength = 0;
  private runCount = 0;
  // The OFFERS record successful offers go into while nothing else is recorded.
  private offersOpen = false;
  private offersHandle = 0;
  private offersBodyAt = 0;
  private offersCount = 0;
  private offersLast = 0;
  private offersLimit = 0;
  private readonly sourceWords = new WordView();
  private readonly datagramWords = new WordView();
  private readonly transmitWords = new WordView();
  /** Worker mode: the digest and frame counts of a subscriber position move. */
  private readonly moveDigest = new Digest();
  private readonly frameCounts = new Uint32Array(2);

  constructor(options: JournalRecorderOptions) {
    this.writer = new JournalWriter(options);
    this.writer.beforeFlush = () => this.closeOffers();
  }

  /** The engine made by createEngine(). */
  get engine(): Engine {
    if (this.engineRef === undefined) throw new JournalUsageError("createEngine() first");
    return this.engineRef;
  }

  /** Whether recording goes on (false once closed or at the size limit). */
  get recording(): boolean {
    return this.writer.stopped === undefined;
  }

  /**
   * Makes the engine this journal records, with `options` (recorded in the journal's first record,
   * so that a replay builds the same engine). Its RandomSource, resolveHost and resolveInterface
   * are wrapped so that their answers are recorded. A custom imageLogAllocator cannot be replayed (a replay uses the
   * default); it is noted in the journal.
   */
  createEngine(options: EngineOptions): Engine {
    if (this.engineRef !== undefined) throw new JournalUsageError("a journal records one engine");
    const seed = (options.random as { seed?: unknown }).seed;
    this.writer.json(RecordType.ENGINE, {
      format: 1,
      payloads: this.writer.payloadHash ? "hash" : "full",
      seed: typeof seed === "number" ? seed : null,
      customAllocator: options.imageLogAllocator !== undefined,
      resolveHost: options.resolveHost !== undefined,
      resolveInterface: options.resolveInterface !== undefined,
      options: {
        config: options.config ?? {},
        nowNs: options.nowNs ?? 0,
        ...(options.maxImages !== undefined ? { maxImages: options.maxImages } : {}),
        ...(options.imageLogBudgetBytes !== undefined ? { imageLogBudgetBytes: options.imageLogBudgetBytes } : {}),
        ...(options.maxImagesPerSource !== undefined ? { maxImagesPerSource: options.maxImagesPerSource } : {}),
        ...(options.sharedLogs !== undefined ? { sharedLogs: options.sharedLogs } : {}),
      },
    });
    const resolveHost = options.resolveHost;
    const resolveInterface = options.resolveInterface;
    const engine = new Engine({
      ...options,
      random: new RecordingRandom(options.random, this),
      ...(resolveHost === undefined ? {} : {
        resolveHost: (name: string) => {
          const ip = resolveHost(name);
          this.sideJson(RecordType.RESOLVE, { name, ip });
          return ip;
        },
      }),
      ...(resolveInterface === undefined ? {} : {
        resolveInterface: (subnet: number, prefixLength: number) => {
          const ip = resolveInterface(subnet, prefixLength);
          this.sideJson(RecordType.RESOLVE, { subnet, prefixLength, ip });
          return ip;
        },
      }),
    });
    this.engineRef = engine;
    return engine;
  }

  // ---------------------------------------------------------------- application commands

  addPublication(channel: string, streamId: number): JournaledPublication {
    return this.addPublicationOf(channel, streamId, false);
  }

  addExclusivePublication(channel: string, streamId: number): JournaledPublication {
    return this.addPublicationOf(channel, streamId, true);
  }

  private addPublicationOf(channel: string, streamId: number, exclusive: boolean): JournaledPublication {
    const engine = this.command();
    const h = this.publications.length;
    if (h >= MAX_HANDLES) throw new JournalUsageError(`a journal records at most ${MAX_HANDLES} publications`);
    let publication: Publication;
    try {
      publication = exclusive ? engine.addExclusivePublication(channel, streamId) : engine.addPublication(channel, streamId);
    } catch (error) {
      this.json(RecordType.ADD_PUBLICATION, { h, channel, streamId, exclusive, error: describeError(error) });
      throw error;
    }
    this.json(RecordType.ADD_PUBLICATION, { h, channel, streamId, exclusive, sessionId: publication.sessionId });
    const handle = new JournaledPublication(publication, h, this);
    this.publications.push(handle);
    return handle;
  }

  addSubscription(channel: string, streamId: number, options: SubscriptionOptions = {}): JournaledSubscription {
    const engine = this.command();
    const h = this.subscriptions.length;
    if (h >= MAX_HANDLES) throw new JournalUsageError(`a journal records at most ${MAX_HANDLES} subscriptions`);
    const onAvailable = options.onAvailableImage;
    const onUnavailable = options.onUnavailableImage;
    const wrapped: SubscriptionOptions = {
      onAvailableImage: (image: Image) => {
        this.sideJson(RecordType.IMAGE_AVAILABLE, { h, sessionId: image.sessionId, streamId: image.streamId, joinPosition: image.joinPosition });
        this.callApplication(onAvailable, image);
      },
      onUnavailableImage: (image: Image) => {
        this.sideJson(RecordType.IMAGE_UNAVAILABLE, { h, sessionId: image.sessionId, streamId: image.streamId });
        this.callApplication(onUnavailable, image);
      },
    };
    let subscription: Subscription;
    try {
      subscription = engine.addSubscription(channel, streamId, wrapped);
    } catch (error) {
      this.json(RecordType.ADD_SUBSCRIPTION, { h, channel, streamId, error: describeError(error) });
      throw error;
    }
    this.json(RecordType.ADD_SUBSCRIPTION, { h, channel, streamId });
    const handle = new JournaledSubscription(subscription, h, this);
    this.subscriptions.push(handle);
    return handle;
  }

  /** Engine.close(), recorded. */
  closeEngine(): void {
    this.command().close();
    this.json(RecordType.ENGINE_CLOSE, {});
  }

  /** Ends the journal (END "closed") and closes its file. The engine goes on unrecorded. */
  close(): void {
    this.settle();
    this.writer.end("closed");
  }

  private callApplication(callback: ((image: Image) => void) | undefined, image: Image): void {
    if (callback === undefined) return;
    this.nested++;
    try {
      callback(image);
    } finally {
      this.nested--;
    }
  }

  /** The engine, for a command; refuses commands from inside a poll handler or image callback. */
  command(): Engine {
    if (this.nested > 0) {
      throw new JournalUsageError("a journaled engine takes no command from inside a poll handler or an image callback " +
        "(it could not be replayed at the same point): act after the poll returns");
    }
    this.applicationWork = true;
    return this.engine;
  }

  // ---------------------------------------------------------------- records

  /** Writes a pending run of inert offers or empty polls (before any other record). */
  private settle(): void {
    if (this.offersOpen) this.closeOffers();
    const kind = this.runKind;
    if (kind === RUN_NONE) return;
    this.runKind = RUN_NONE;
    const w = this.writer;
    if (kind === RUN_OFFER) {
      const at = w.begin(RecordType.OFFER_REPEAT, 20);
      if (at < 0) return;
      const v = w.view;
      v.setUint16(at, this.runHandle, true);
      v.setUint16(at + 2, 0, true);
      v.setFloat64(at + 4, this.runValue, true);
      v.setUint32(at + 12, this.runLength, true);
      v.setUint32(at + 16, this.runCount, true);
    } else {
      const at = w.begin(RecordType.POLL_EMPTY, 12);
      if (at < 0) return;
      const v = w.view;
      v.setUint16(at, this.runHandle, true);
      v.setUint16(at + 2, 0, true);
      v.setUint32(at + 4, this.runValue, true);
      v.setUint32(at + 8, this.runCount, true);
    }
  }

  json(type: number, value: unknown): void {
    if (this.writer.stopped !== undefined) return;
    this.settle();
    this.writer.json(type, value);
  }

  /** A record of something the engine did during a call (written before the call's own record). */
  sideJson(type: number, value: unknown): void {
    this.json(type, value);
  }

  recordRandomU32(value: number): void {
    if (this.writer.stopped !== undefined) return;
    this.settle();
    const at = this.writer.begin(RecordType.RANDOM_U32, 4);
    if (at >= 0) this.writer.view.setUint32(at, value, true);
  }

  recordRandomF64(value: number): void {
    if (this.writer.stopped !== undefined) return;
    this.settle();
    const at = this.writer.begin(RecordType.RANDOM_F64, 8);
    if (at >= 0) this.writer.view.setFloat64(at, value, true);
  }

  recordOffer(h: number, buffer: Uint8Array, offset: number, length: number, result: number): void {
    if (this.writer.stopped !== undefined) return;
    if (isInertOfferResult(result)) {
      if (this.runKind === RUN_OFFER && this.runHandle === h && this.runValue === result && this.runLength === length && this.runCount < 0xffffffff) {
        this.runCount++;
        return;
      }
      this.settle();
      this.runKind = RUN_OFFER;
      this.runHandle = h;
      this.runValue = result;
      this.runLength = length;
      this.runCount = 1;
      return;
    }
    this.applicationWork = true;
    const w = this.writer;
    const hashed = w.payloadHash;
    const entryBytes = 4 + (hashed ? 4 : (length + 3) & ~3);
    let at = w.position;
    if (this.offersOpen && this.offersHandle === h && at + entryBytes <= this.offersLimit) {
      // The common case: one more offer on the publication of the open OFFERS record.
      w.position = at + entryBytes;
    } else {
      this.settle();
      const bodyAt = w.begin(RecordType.OFFERS, 16 + entryBytes);
      if (bodyAt < 0) return;
      const v = w.view;
      v.setUint16(bodyAt, h, true);
      v.setUint8(bodyAt + 2, hashed ? 1 : 0);
      v.setUint8(bodyAt + 3, 0);
      this.offersOpen = true;
      this.offersHandle = h;
      this.offersBodyAt = bodyAt;
      this.offersCount = 0;
      this.offersLimit = w.growthLimit(bodyAt);
      at = bodyAt + 16;
    }
    this.offersCount++;
    this.offersLast = result;
    w.view.setUint32(at, length, true);
    if (hashed) {
      w.view.setUint32(at + 4, hashBytes(this.sourceWords, buffer, offset, length), true);
    } else {
      copyBytes(this.sourceWords, buffer, offset, w, at + 4, length);
      for (let i = at + 4 + length, end = at + entryBytes; i < end; i++) w.bytes[i] = 0;
    }
    // Only the last offer of a record may have failed (ADMIN_ACTION, MAX_POSITION_EXCEEDED).
    if (result <= 0) this.closeOffers();
  }

  /** Completes the open OFFERS record: its count, its last result and its length. */
  private closeOffers(): void {
    if (!this.offersOpen) return;
    this.offersOpen = false;
    const w = this.writer;
    const bodyAt = this.offersBodyAt;
    w.view.setUint32(bodyAt + 4, this.offersCount, true);
    w.view.setFloat64(bodyAt + 8, this.offersLast, true);
    w.setBodyLength(bodyAt, w.position - bodyAt);
  }

  recordPoll(h: number, fragmentLimit: number, fragments: number, digest: number): void {
    if (this.writer.stopped !== undefined) return;
    if (fragments === 0) {
      if (this.runKind === RUN_POLL && this.runHandle === h && this.runValue === fragmentLimit && this.runCount < 0xffffffff) {
        this.runCount++;
        return;
      }
      this.settle();
      this.runKind = RUN_POLL;
      this.runHandle = h;
      this.runValue = fragmentLimit;
      this.runCount = 1;
      return;
    }
    this.applicationWork = true;
    this.settle();
    const w = this.writer;
    const at = w.begin(RecordType.POLL, 16);
    if (at < 0) return;
    const v = w.view;
    v.setUint16(at, h, true);
    v.setUint16(at + 2, 0, true);
    v.setUint32(at + 4, fragmentLimit, true);
    v.setUint32(at + 8, fragments, true);
    v.setUint32(at + 12, digest, true);
  }

  /**
   * Worker mode: the application (on another thread) appended to publication `h`'s shared log and
   * moved its producer position from `from` to `to`. Records the log bytes between them (copied
   * from the log's terms: a move across a term end is one record per term, a long one one per
   * APPEND_CHUNK_BYTES), so that a replay can write them into its own log. Call it before the
   * engine is told the new position (setProducerPosition).
   */
  recordAppend(h: number, log: LogBuffers, from: number, to: number): void {
    if (this.writer.stopped !== undefined) return;
    this.applicationWork = true;
    this.settle();
    const w = this.writer;
    const termLength = log.termLength;
    // Bounded: each record moves p forward by at least one byte (from < to, chunks > 0).
    for (let p = from; p < to;) {
      const termCount = Math.floor(p / termLength);
      const offset = p - termCount * termLength;
      const length = Math.min(to - p, termLength - offset, APPEND_CHUNK_BYTES);
      const at = w.begin(RecordType.APPEND, 20 + length);
      if (at < 0) return;
      const v = w.view;
      v.setUint16(at, h, true);
      v.setUint16(at + 2, 0, true);
      v.setFloat64(at + 4, p, true);
      v.setFloat64(at + 12, p + length, true);
      w.bytes.set(log.term(termCount % 3).bytes.subarray(offset, offset + length), at + 20);
      p += length;
    }
  }

  /**
   * Worker mode: the application read image `imageIndex` of subscription `h` from `from` to `to`
   * (its subscriber position). Records the move with the fragments and messages passed over and a
   * digest of those log bytes (as a POLL's). Call it before the engine's image takes the position.
   */
  recordSubscriberPosition(h: number, imageIndex: number, sessionId: number, source: LogSource, from: number, to: number): void {
    if (this.writer.stopped !== undefined) return;
    this.applicationWork = true;
    this.settle();
    const digest = this.moveDigest;
    digest.reset();
    digestLogRange(digest, source, from, to);
    const counts = this.frameCounts;
    countLogFrames(source, from, to, counts);
    const w = this.writer;
    const at = w.begin(RecordType.SUBSCRIBER_POSITION, 36);
    if (at < 0) return;
    const v = w.view;
    v.setUint16(at, h, true);
    v.setUint16(at + 2, imageIndex, true);
    v.setInt32(at + 4, sessionId, true);
    v.setFloat64(at + 8, from, true);
    v.setFloat64(at + 16, to, true);
    v.setUint32(at + 24, counts[0]!, true);
    v.setUint32(at + 28, counts[1]!, true);
    v.setUint32(at + 32, digest.value(), true);
  }

  // ---------------------------------------------------------------- RuntimeJournal

  onDatagram(nowNs: number, fromIp: number, fromPort: number, endpointId: number, bytes: Uint8Array, offset: number, length: number): void {
    if (this.writer.stopped !== undefined) return;
    this.settle();
    const w = this.writer;
    const at = w.begin(RecordType.DATAGRAM, 20 + length);
    if (at < 0) return;
    const v = w.view;
    v.setFloat64(at, nowNs, true);
    v.setUint32(at + 8, fromIp, true);
    v.setUint16(at + 12, fromPort, true);
    v.setUint16(at + 14, 0, true);
    v.setInt32(at + 16, endpointId, true);
    copyBytes(this.datagramWords, bytes, offset, w, at + 20, length);
  }

  onTimeout(nowNs: number): void {
    if (this.writer.stopped !== undefined) return;
    this.settle();
    const at = this.writer.begin(RecordType.TIMEOUT, 8);
    if (at >= 0) this.writer.view.setFloat64(at, nowNs, true);
  }

  onTransmit(nowNs: number, batch: TransmitBatch, count: number): void {
    if (this.writer.stopped !== undefined) return;
    this.settle();
    const w = this.writer;
    const at = w.begin(RecordType.TRANSMIT, 16 + 16 * count);
    if (at < 0) return;
    const v = w.view;
    v.setFloat64(at, nowNs, true);
    v.setUint16(at + 8, batch.capacity, true);
    v.setUint16(at + 10, count, true);
    v.setUint32(at + 12, batch.slotLength, true);
    const slotLength = batch.slotLength;
    const bytes = batch.bytes;
    for (let i = 0, p = at + 16; i < count; i++, p += 16) {
      const length = batch.lengths[i]!;
      v.setUint16(p, length, true);
      v.setUint16(p + 2, batch.destinationPorts[i]!, true);
      v.setUint32(p + 4, batch.destinationIps[i]!, true);
      v.setInt32(p + 8, batch.endpointIds[i]!, true);
      v.setUint32(p + 12, hashBytes(this.transmitWords, bytes, i * slotLength, length), true);
    }
  }

  onEndpointEvent(event: EndpointEvent): void {
    this.json(RecordType.ENDPOINT_EVENT, event);
  }

  onTransportCheckFailed(channel: string, mtuBytes: number, role: "send" | "receive", error: unknown): void {
    const { name, message } = describeError(error);
    this.sideJson(RecordType.TRANSPORT_CHECK_FAILED, { channel, mtuBytes, role, name, message });
  }

  takeApplicationWork(): boolean {
    // Once recording has stopped (closed, size limit) the runtime transmits every cycle again.
    if (this.writer.stopped !== undefined) return true;
    const work = this.applicationWork;
    this.applicationWork = false;
    return work;
  }

  onCycleEnd(nowNs: number): void {
    if (this.writer.stopped !== undefined) return;
    this.writer.maybeFlush(nowNs);
  }
}

/** A Publication whose offers and close are recorded. tryClaim is not journaled (use offer). */
export class JournaledPublication {
  readonly publication: Publication;
  readonly handle: number;
  private readonly recorder: JournalRecorder;

  constructor(publication: Publication, handle: number, recorder: JournalRecorder) {
    this.publication = publication;
    this.handle = handle;
    this.recorder = recorder;
  }

  offer(buffer: Uint8Array, offset = 0, length = buffer.length - offset): number {
    if (this.recorder.nested > 0) this.recorder.command();
    const result = this.publication.offer(buffer, offset, length);
    this.recorder.recordOffer(this.handle, buffer, offset, length, result);
    return result;
  }

  addDestination(channel: string): void {
    this.destination(RecordType.ADD_DESTINATION, channel, true);
  }

  removeDestination(channel: string): void {
    this.destination(RecordType.REMOVE_DESTINATION, channel, false);
  }

  private destination(type: number, channel: string, add: boolean): void {
    this.recorder.command();
    try {
      if (add) this.publication.addDestination(channel);
      else this.publication.removeDestination(channel);
    } catch (error) {
      this.recorder.json(type, { h: this.handle, channel, error: describeError(error) });
      throw error;
    }
    this.recorder.json(type, { h: this.handle, channel });
  }

  close(): void {
    this.recorder.command();
    this.publication.close();
    this.recorder.json(RecordType.CLOSE_PUBLICATION, { h: this.handle });
  }

  get sessionId(): number {
    return this.publication.sessionId;
  }
  get streamId(): number {
    return this.publication.streamId;
  }
  get channel(): string {
    return this.publication.channel;
  }
  get isConnected(): boolean {
    return this.publication.isConnected;
  }
  get isClosed(): boolean {
    return this.publication.isClosed;
  }
  get position(): number {
    return this.publication.position;
  }
  get positionLimit(): number {
    return this.publication.positionLimit;
  }
  get maxPayloadLength(): number {
    return this.publication.maxPayloadLength;
  }
  get maxMessageLength(): number {
    return this.publication.maxMessageLength;
  }
}

/**
 * A Subscription whose polls are recorded with a digest of what they delivered: the log bytes each
 * image's position moved over (the delivered messages' frames), hashed in one pass after the poll.
 */
export class JournaledSubscription {
  readonly subscription: Subscription;
  readonly handle: number;
  private readonly recorder: JournalRecorder;
  private readonly digest = new Digest();
  /** Each image's position before the poll (grown when a subscription has more images). */
  private before = new Float64Array(4);

  constructor(subscription: Subscription, handle: number, recorder: JournalRecorder) {
    this.subscription = subscription;
    this.handle = handle;
    this.recorder = recorder;
  }

  poll(handler: MessageHandler, fragmentLimit: number): number {
    const recorder = this.recorder;
    if (recorder.nested > 0) recorder.command();
    const images = this.subscription.images;
    const count = images.length;
    if (count > this.before.length) this.before = new Float64Array(2 * count);
    const before = this.before;
    for (let i = 0; i < count; i++) before[i] = images[i]!.position;
    let fragments: number;
    recorder.nested++;
    try {
      fragments = this.subscription.poll(handler, fragmentLimit);
    } finally {
      recorder.nested--;
    }
    let digest = 0;
    if (fragments > 0) {
      this.digest.reset();
      for (let i = 0; i < count; i++) {
        const image = images[i]!;
        if (image.position > before[i]!) digestLogRange(this.digest, image.source, before[i]!, image.position);
      }
      digest = this.digest.value();
    }
    recorder.recordPoll(this.handle, fragmentLimit, fragments, digest);
    return fragments;
  }

  close(): void {
    this.recorder.command();
    this.subscription.close();
    this.recorder.json(RecordType.CLOSE_SUBSCRIPTION, { h: this.handle });
  }

  get channel(): string {
    return this.subscription.channel;
  }
  get streamId(): number {
    return this.subscription.streamId;
  }
  get images(): readonly Image[] {
    return this.subscription.images;
  }
  get isConnected(): boolean {
    return this.subscription.isConnected;
  }
  get isClosed(): boolean {
    return this.subscription.isClosed;
  }
}

/** Wraps the engine's RandomSource: each draw is recorded before it is returned. */
class RecordingRandom implements RandomSource {
  constructor(private readonly inner: RandomSource, private readonly recorder: JournalRecorder) {}

  nextUint32(): number {
    const value = this.inner.nextUint32();
    this.recorder.recordRandomU32(value);
    return value;
  }

  nextDouble(): number {
    const value = this.inner.nextDouble();
    this.recorder.recordRandomF64(value);
    return value;
  }
}

/**
 * Copies into the writer's block (at a 4-byte-aligned offset). A long copy (a received datagram) goes
 * by one `set` (of a subarray for a slice: one view object per datagram; a word loop costs six
 * times as much at 1408 bytes); a short one (a small message) by words where the source is aligned
 * too, else by bytes (a `set` of 32 bytes costs about 13 ns here, eight words about 9 ns). Nothing
 * is allocated per message.
 */
function copyBytes(sourceWords: WordView, source: Uint8Array, sourceOffset: number, writer: JournalWriter, targetOffset: number, length: number): void {
  const target = writer.bytes;
  if (length > 256) {
    if (sourceOffset === 0 && length === source.length) target.set(source, targetOffset);
    else target.set(source.subarray(sourceOffset, sourceOffset + length), targetOffset);
    return;
  }
  const start = source.byteOffset + sourceOffset;
  let i = 0;
  if ((start & 3) === 0 && (targetOffset & 3) === 0) {
    const from = sourceWords.of(source);
    const to = writer.words;
    const words = length >>> 2;
    for (let k = 0, s = start >>> 2, t = targetOffset >>> 2; k < words; k++) to[t + k] = from[s + k]!;
    i = words * 4;
  }
  for (; i < length; i++) target[targetOffset + i] = source[sourceOffset + i]!;
}

export function describeError(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: "Error", message: String(error) };
}
