// The engine's counters as Aeron's CountersReader shows a media driver's: one list of counters,
// each with an id, a type id, a label and a value.
//
// - System counters (type 0): the engine's global counters (counters.ts). Those Aeron's driver
//   also has keep Aeron's counter id and label (SystemCounterDescriptor: "NAKs sent" is id 5, so
//   `reader.getCounterValue(5)` reads what Aeron tools read); Petrel's own follow from id 40
//   (Aeron's last system counter is 39) in Counter order, under Petrel's names.
// - Stream position counters, named and typed as Aeron's driver names them (AeronCounters.java,
//   driver/status/*.java): per network publication pub-pos (sampled), pub-lmt, snd-pos, snd-lmt and
//   snd-bpe; per IPC publication pub-pos (sampled) and pub-lmt; per image rcv-hwm and rcv-pos; per
//   subscriber of an image (network or IPC) sub-pos. Labels are Aeron's:
//   "<name>: <registrationId> <sessionId> <streamId> <channel>", and sub-pos adds " @<joinPosition>".
//
// Nothing here is on the hot path: the values live where the engine keeps them (positions on the
// publications and images), and the reader looks them up when asked. Stream counters get their ids
// when the reader first sees the stream (each forEach, getCounterValue... looks), in registration
// order, from the first id after the system counters; an id is never reused. A stream that has
// gone has its counters freed: they leave forEach and read 0 (RECORD_RECLAIMED).
import { COUNTER_COUNT, COUNTER_NAMES, Counter } from "./counters.js";
import type { Engine } from "./engine.js";
import { InvalidArgumentError } from "./engineErrors.js";
import type { IpcPublication } from "./ipcPublication.js";
import type { NetworkPublication } from "./networkPublication.js";
import type { PublicationImage } from "./publicationImage.js";
import type { Image } from "./subscription.js";

/** Aeron's counter type ids (AeronCounters.java) for the counters this reader lists. */
export const CounterTypeId = {
  SYSTEM: 0,
  PUBLISHER_LIMIT: 1,
  SENDER_POSITION: 2,
  RECEIVER_HWM: 3,
  SUBSCRIBER_POSITION: 4,
  RECEIVER_POSITION: 5,
  SENDER_LIMIT: 9,
  PUBLISHER_POSITION: 12,
  SENDER_BPE: 13,
} as const;

/** Aeron's counter names (driver/status/*.java NAME), by type id. */
export const COUNTER_TYPE_NAMES: Readonly<Record<number, string>> = {
  [CounterTypeId.PUBLISHER_LIMIT]: "pub-lmt",
  [CounterTypeId.SENDER_POSITION]: "snd-pos",
  [CounterTypeId.RECEIVER_HWM]: "rcv-hwm",
  [CounterTypeId.SUBSCRIBER_POSITION]: "sub-pos",
  [CounterTypeId.RECEIVER_POSITION]: "rcv-pos",
  [CounterTypeId.SENDER_LIMIT]: "snd-lmt",
  [CounterTypeId.PUBLISHER_POSITION]: "pub-pos (sampled)",
  [CounterTypeId.SENDER_BPE]: "snd-bpe",
};

/** Aeron's CountersReader record states. */
export const RECORD_UNUSED = 0;
export const RECORD_ALLOCATED = 1;
export const RECORD_RECLAIMED = -1;
/** Aeron's CountersReader.NULL_COUNTER_ID: no such counter. */
export const NULL_COUNTER_ID = -1;

/** Receives one counter (what Aeron's forEach gives, as one callback). */
export type CounterConsumer = (counterId: number, typeId: number, label: string, value: number) => void;

/** Petrel's system counters Aeron's driver also has: [Petrel Counter id, Aeron counter id, Aeron label]. */
const AERON_SYSTEM_COUNTERS: ReadonlyArray<readonly [number, number, string]> = [
  [Counter.BYTES_SENT, 0, "Bytes sent"],
  [Counter.BYTES_RECEIVED, 1, "Bytes received"],
  [Counter.NAKS_SENT, 5, "NAKs sent"],
  [Counter.NAKS_RECEIVED, 6, "NAKs received"],
  [Counter.STATUS_MESSAGES_SENT, 7, "Status Messages sent"],
  [Counter.STATUS_MESSAGES_RECEIVED, 8, "Status Messages received"],
  [Counter.HEARTBEATS_SENT, 9, "Heartbeats sent"],
  [Counter.HEARTBEATS_RECEIVED, 10, "Heartbeats received"],
  [Counter.RETRANSMITS_SENT, 11, "Retransmits sent"],
  [Counter.FLOW_CONTROL_UNDER_RUNS, 12, "Flow control under runs"],
  [Counter.FLOW_CONTROL_OVER_RUNS, 13, "Flow control over runs"],
  [Counter.INVALID_PACKETS, 14, "Invalid packets"],
  [Counter.ERRORS, 15, "Errors"],
  [Counter.SHORT_SENDS, 16, "Short sends"],
  [Counter.SENDER_FLOW_CONTROL_LIMITS, 18, "Sender flow control limits, i.e. back-pressure events"],
  [Counter.LOSS_GAP_FILLS, 23, "Loss gap fills"],
  [Counter.RETRANSMITTED_BYTES, 36, "Retransmitted bytes"],
  [Counter.RETRANSMIT_OVERFLOW, 37, "Retransmit Pool Overflow count"],
  [Counter.ERROR_FRAMES_RECEIVED, 38, "Error Frames received"],
  [Counter.ERROR_FRAMES_SENT, 39, "Error Frames sent"],
];

/** First counter id of Petrel's own system counters (after Aeron's 0..39). */
export const PETREL_SYSTEM_COUNTER_BASE_ID = 40;

interface SystemCounter {
  readonly id: number;
  readonly petrelId: number;
  readonly label: string;
}

const SYSTEM_COUNTERS: readonly SystemCounter[] = (() => {
  const list: SystemCounter[] = [];
  const mapped = new Set<number>();
  for (const [petrelId, aeronId, label] of AERON_SYSTEM_COUNTERS) {
    list.push({ id: aeronId, petrelId, label });
    mapped.add(petrelId);
  }
  let next = PETREL_SYSTEM_COUNTER_BASE_ID;
  for (let petrelId = 0; petrelId < COUNTER_COUNT; petrelId++) {
    // Ids the enum leaves unused (reserved ranges) are not counters.
    const label = COUNTER_NAMES[petrelId];
    if (!mapped.has(petrelId) && label !== undefined) list.push({ id: next++, petrelId, label });
  }
  return list.sort((a, b) => a.id - b.id);
})();

/** First id given to a stream counter. */
export const FIRST_STREAM_COUNTER_ID = SYSTEM_COUNTERS[SYSTEM_COUNTERS.length - 1]!.id + 1;

/** One stream counter: where its value comes from, and what it is. */
class StreamCounter {
  state = RECORD_ALLOCATED;
  constructor(
    readonly id: number,
    readonly typeId: number,
    readonly label: string,
    readonly registrationId: number,
    readonly read: () => number,
  ) {}
}

/** A stream the reader has seen: its counters, and whether it was found on the latest look. */
interface Tracked {
  readonly counters: StreamCounter[];
  seen: boolean;
}

export class CountersReader {
  private readonly engine: Engine;
  private readonly systemById = new Map<number, SystemCounter>();
  private readonly streams = new Map<object, Tracked>();
  private readonly byId = new Map<number, StreamCounter>();
  private nextId = FIRST_STREAM_COUNTER_ID;

  constructor(engine: Engine) {
    this.engine = engine;
    for (const counter of SYSTEM_COUNTERS) this.systemById.set(counter.id, counter);
  }

  /** Every allocated counter in id order: system counters, then stream counters. */
  forEach(consumer: CounterConsumer): void {
    this.sync();
    const values = this.engine.counters.values;
    for (const counter of SYSTEM_COUNTERS) consumer(counter.id, CounterTypeId.SYSTEM, counter.label, values[counter.petrelId] ?? 0);
    for (const counter of this.byId.values()) {
      if (counter.state === RECORD_ALLOCATED) consumer(counter.id, counter.typeId, counter.label, counter.read());
    }
  }

  /** The counter's value; 0 for a freed stream counter. Throws InvalidArgumentError for an id never allocated. */
  getCounterValue(counterId: number): number {
    const system = this.systemById.get(counterId);
    if (system !== undefined) return this.engine.counters.values[system.petrelId] ?? 0;
    this.sync();
    const counter = this.streamCounter(counterId);
    return counter.state === RECORD_ALLOCATED ? counter.read() : 0;
  }

  /** RECORD_ALLOCATED, RECORD_RECLAIMED (its stream has gone) or RECORD_UNUSED (never allocated). */
  getCounterState(counterId: number): number {
    if (this.systemById.has(counterId)) return RECORD_ALLOCATED;
    this.sync();
    return this.byId.get(counterId)?.state ?? RECORD_UNUSED;
  }

  getCounterLabel(counterId: number): string {
    const system = this.systemById.get(counterId);
    if (system !== undefined) return system.label;
    this.sync();
    return this.streamCounter(counterId).label;
  }

  getCounterTypeId(counterId: number): number {
    if (this.systemById.has(counterId)) return CounterTypeId.SYSTEM;
    this.sync();
    return this.streamCounter(counterId).typeId;
  }

  /** The registration id a stream counter was allocated for (0 for system counters, as Aeron's default). */
  getCounterRegistrationId(counterId: number): number {
    if (this.systemById.has(counterId)) return 0;
    this.sync();
    return this.streamCounter(counterId).registrationId;
  }

  /**
   * The first allocated counter of `typeId` for `registrationId` (Aeron's
   * findByTypeIdAndRegistrationId), or NULL_COUNTER_ID.
   */
  findByTypeIdAndRegistrationId(typeId: number, registrationId: number): number {
    this.sync();
    for (const counter of this.byId.values()) {
      if (counter.state === RECORD_ALLOCATED && counter.typeId === typeId && counter.registrationId === registrationId) return counter.id;
    }
    return NULL_COUNTER_ID;
  }

  /** The highest counter id allocated so far. */
  get maxCounterId(): number {
    this.sync();
    return this.nextId - 1;
  }

  private streamCounter(counterId: number): StreamCounter {
    const counter = this.byId.get(counterId);
    if (counter === undefined) throw new InvalidArgumentError("counterId", counterId, "no counter has this id");
    return counter;
  }

  /** Finds the engine's streams: new ones get counters, gone ones have theirs freed. */
  private sync(): void {
    for (const tracked of this.streams.values()) tracked.seen = false;
    const engine = this.engine;
    const fresh: Array<{ registrationId: number; order: number; make: () => StreamCounter[]; key: object }> = [];
    const visit = (key: object, registrationId: number, order: number, make: () => StreamCounter[]): void => {
      const tracked = this.streams.get(key);
      if (tracked !== undefined) tracked.seen = true;
      else fresh.push({ registrationId, order, make, key });
    };
    const channels = new Map<number, string>();
    for (const endpoint of engine.endpoints()) channels.set(endpoint.id, endpoint.channel);

    for (const publication of engine.publications) {
      const registrationId = engine.registrationIdOf(publication);
      visit(publication, registrationId, 0, () => this.networkPublicationCounters(publication, registrationId));
    }
    for (const publication of engine.ipcPublications) {
      if (publication.isClosed) continue;
      const registrationId = engine.registrationIdOf(publication);
      visit(publication, registrationId, 0, () => this.ipcPublicationCounters(publication, registrationId));
      for (const subscriber of publication.subscribers) {
        visit(subscriber, registrationId, 2, () => [this.subscriberCounter(subscriber)]);
      }
    }
    for (const image of engine.images) {
      if (image.isClosed) continue;
      const registrationId = engine.registrationIdOf(image);
      const channel = channels.get(image.endpointId) ?? image.subscribers[0]?.subscription.channel ?? "";
      visit(image, registrationId, 1, () => this.imageCounters(image, registrationId, channel));
      for (const subscriber of image.subscribers) {
        visit(subscriber, registrationId, 2, () => [this.subscriberCounter(subscriber)]);
      }
    }

    for (const [key, tracked] of this.streams) {
      if (tracked.seen) continue;
      for (const counter of tracked.counters) counter.state = RECORD_RECLAIMED;
      this.streams.delete(key);
    }
    // Registration order, so that ids do not depend on when the reader first looked.
    fresh.sort((a, b) => a.registrationId - b.registrationId || a.order - b.order);
    for (const stream of fresh) {
      const counters = stream.make();
      this.streams.set(stream.key, { counters, seen: true });
      for (const counter of counters) this.byId.set(counter.id, counter);
    }
  }

  private counter(typeId: number, registrationId: number, sessionId: number, streamId: number, channel: string, read: () => number,
    joinPosition?: number): StreamCounter {
    let label = `${COUNTER_TYPE_NAMES[typeId]}: ${registrationId} ${sessionId} ${streamId} ${channel}`;
    if (joinPosition !== undefined) label += ` @${joinPosition}`;
    return new StreamCounter(this.nextId++, typeId, label, registrationId, read);
  }

  private networkPublicationCounters(p: NetworkPublication, registrationId: number): StreamCounter[] {
    const { sessionId, streamId, channel } = p;
    return [
      this.counter(CounterTypeId.PUBLISHER_POSITION, registrationId, sessionId, streamId, channel, () => p.position),
      this.counter(CounterTypeId.PUBLISHER_LIMIT, registrationId, sessionId, streamId, channel, () => p.publisherLimit),
      this.counter(CounterTypeId.SENDER_POSITION, registrationId, sessionId, streamId, channel, () => p.senderPosition),
      this.counter(CounterTypeId.SENDER_LIMIT, registrationId, sessionId, streamId, channel, () => p.senderLimit),
      this.counter(CounterTypeId.SENDER_BPE, registrationId, sessionId, streamId, channel, () => p.senderBackPressureEvents),
    ];
  }

  private ipcPublicationCounters(p: IpcPublication, registrationId: number): StreamCounter[] {
    const { sessionId, streamId, channel } = p;
    return [
      this.counter(CounterTypeId.PUBLISHER_POSITION, registrationId, sessionId, streamId, channel, () => p.position),
      this.counter(CounterTypeId.PUBLISHER_LIMIT, registrationId, sessionId, streamId, channel, () => p.publisherLimit),
    ];
  }

  private imageCounters(image: PublicationImage, registrationId: number, channel: string): StreamCounter[] {
    const { sessionId, streamId } = image;
    return [
      this.counter(CounterTypeId.RECEIVER_HWM, registrationId, sessionId, streamId, channel, () => image.hwmPosition),
      this.counter(CounterTypeId.RECEIVER_POSITION, registrationId, sessionId, streamId, channel, () => image.rebuildPosition),
    ];
  }

  private subscriberCounter(subscriber: Image): StreamCounter {
    const subscription = subscriber.subscription;
    return this.counter(CounterTypeId.SUBSCRIBER_POSITION, subscription.registrationId, subscriber.sessionId, subscriber.streamId,
      subscription.channel, () => subscriber.position, subscriber.joinPosition);
  }
}
