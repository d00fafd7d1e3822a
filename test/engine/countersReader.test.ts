// Goal: engine.countersReader lists counters as Aeron's CountersReader lists a driver's: system
// counters under Aeron's ids and labels (Petrel's own after them), and per-stream position counters
// with Aeron's names, type ids and labels ("snd-pos: <registrationId> <sessionId> <streamId>
// <channel>", sub-pos with " @<joinPosition>") whose values follow the stream: pub-pos, pub-lmt,
// snd-pos, snd-lmt and snd-bpe on the publisher; rcv-hwm, rcv-pos and sub-pos on the subscriber;
// counters of a stream that has gone are freed.
import { describe, expect, it } from "vitest";
import { COUNTER_NAMES, Counter } from "../../src/core/engine/counters.js";
import {
  CounterTypeId,
  FIRST_STREAM_COUNTER_ID,
  NULL_COUNTER_ID,
  PETREL_SYSTEM_COUNTER_BASE_ID,
  RECORD_ALLOCATED,
  RECORD_RECLAIMED,
} from "../../src/core/engine/countersReader.js";
import type { Engine } from "../../src/core/engine/engine.js";
import { ADMIN_ACTION } from "../../src/core/engine/networkPublication.js";
import { InvalidArgumentError } from "../../src/core/engine/engineErrors.js";
import { TwoEngineHarness } from "../support/twoEngineHarness.js";

const CHANNEL = "aeron:udp?endpoint=127.0.0.2:20121|term-length=64k";
const STREAM = 1001;

function all(engine: Engine): Array<{ id: number; typeId: number; label: string; value: number }> {
  const out: Array<{ id: number; typeId: number; label: string; value: number }> = [];
  engine.countersReader.forEach((id, typeId, label, value) => out.push({ id, typeId, label, value }));
  return out;
}

function byType(engine: Engine, typeId: number): { id: number; label: string; value: number } {
  const found = all(engine).filter((c) => c.typeId === typeId);
  if (found.length !== 1) throw new Error(`expected one counter of type ${typeId}, found ${found.length}`);
  return found[0]!;
}

describe("CountersReader", () => {
  it("lists the system counters under Aeron's ids and labels, then Petrel's own", () => {
    const harness = new TwoEngineHarness(1, { latencyNs: 1000 });
    const [a] = harness.engines;
    a.counters.values[Counter.NAKS_SENT] = 17;
    a.counters.values[Counter.ERRORS] = 3;
    a.counters.values[Counter.IMAGES_EVICTED_UNJOINED] = 2;
    const reader = a.countersReader;
    expect(reader.getCounterValue(5)).toBe(17);
    expect(reader.getCounterLabel(5)).toBe("NAKs sent");
    expect(reader.getCounterValue(15)).toBe(3);
    expect(reader.getCounterLabel(0)).toBe("Bytes sent");
    expect(reader.getCounterLabel(18)).toBe("Sender flow control limits, i.e. back-pressure events");
    const system = all(a).filter((c) => c.typeId === CounterTypeId.SYSTEM);
    // Aeron's 20 mapped ones and Petrel's own, unused reserved ids left out.
    expect(system.length).toBe(COUNTER_NAMES.filter((name) => name !== undefined).length);
    expect(system.some((c) => c.label.startsWith("counter "))).toBe(false);
    expect(system.every((c, i) => i === 0 || c.id > system[i - 1]!.id)).toBe(true);
    const evicted = system.find((c) => c.label === "images evicted unjoined")!;
    expect(evicted.id).toBeGreaterThanOrEqual(PETREL_SYSTEM_COUNTER_BASE_ID);
    expect(evicted.value).toBe(2);
    expect(() => reader.getCounterValue(FIRST_STREAM_COUNTER_ID + 1000)).toThrow(InvalidArgumentError);
  });

  it("names and follows the per-stream position counters on both sides, and frees them when the stream goes", () => {
    const harness = new TwoEngineHarness(7, { latencyNs: 1_000_000 });
    const [a, b] = harness.engines;
    const subscription = b.addSubscription(CHANNEL, STREAM);
    const publication = a.addPublication(CHANNEL, STREAM);
    harness.runUntil(() => publication.isConnected, () => {}, 1e9);
    const message = new Uint8Array(1000);
    // Nobody polls: the sender fills the receiver window and stops, a back-pressure event.
    let offered = 0;
    harness.runUntil(() => a.countersReader.getCounterValue(byType(a, CounterTypeId.SENDER_BPE).id) > 0, () => {
      if (offered < 200) {
        const result = publication.offer(message);
        if (result > 0 || result === ADMIN_ACTION) offered++;
      }
    }, 2e9);
    const reg = publication.registrationId;
    const session = publication.sessionId;
    const pubPos = byType(a, CounterTypeId.PUBLISHER_POSITION);
    expect(pubPos.label).toBe(`pub-pos (sampled): ${reg} ${session} ${STREAM} ${CHANNEL}`);
    expect(pubPos.value).toBe(publication.position);
    expect(byType(a, CounterTypeId.PUBLISHER_LIMIT)).toMatchObject({ label: `pub-lmt: ${reg} ${session} ${STREAM} ${CHANNEL}`, value: publication.positionLimit });
    const backend = a.publications[0]!;
    expect(byType(a, CounterTypeId.SENDER_POSITION)).toMatchObject({ label: `snd-pos: ${reg} ${session} ${STREAM} ${CHANNEL}`, value: backend.senderPosition });
    expect(byType(a, CounterTypeId.SENDER_LIMIT)).toMatchObject({ label: `snd-lmt: ${reg} ${session} ${STREAM} ${CHANNEL}`, value: backend.senderLimit });
    expect(byType(a, CounterTypeId.SENDER_BPE).value).toBe(1);
    // Stopped by the window: what remains of it is less than the next 1056-byte frame.
    expect(backend.senderLimit - backend.senderPosition).toBeLessThan(1056);
    expect(backend.senderLimit - backend.senderPosition).toBeGreaterThanOrEqual(0);

    const image = subscription.images[0]!;
    const imageReg = b.registrationIdOf(b.images[0]!);
    expect(imageReg).toBeGreaterThan(0);
    const hwm = byType(b, CounterTypeId.RECEIVER_HWM);
    expect(hwm.label).toBe(`rcv-hwm: ${imageReg} ${session} ${STREAM} ${CHANNEL}`);
    expect(hwm.value).toBe(backend.senderPosition);
    expect(byType(b, CounterTypeId.RECEIVER_POSITION).value).toBe(backend.senderPosition);
    const subPos = byType(b, CounterTypeId.SUBSCRIBER_POSITION);
    expect(subPos.label).toBe(`sub-pos: ${subscription.registrationId} ${session} ${STREAM} ${CHANNEL} @${image.joinPosition}`);
    expect(subPos.value).toBe(image.joinPosition);
    // Reading moves sub-pos; the counter id stays the same.
    subscription.poll(() => undefined, 1000);
    expect(b.countersReader.getCounterValue(subPos.id)).toBe(image.position);
    expect(image.position).toBeGreaterThan(image.joinPosition);
    expect(b.countersReader.findByTypeIdAndRegistrationId(CounterTypeId.SUBSCRIBER_POSITION, subscription.registrationId)).toBe(subPos.id);
    expect(b.countersReader.findByTypeIdAndRegistrationId(CounterTypeId.SUBSCRIBER_POSITION, 999_999)).toBe(NULL_COUNTER_ID);

    // The subscription closes: sub-pos is freed at once; the image's counters when the image goes.
    expect(b.countersReader.getCounterState(subPos.id)).toBe(RECORD_ALLOCATED);
    subscription.close();
    expect(b.countersReader.getCounterState(subPos.id)).toBe(RECORD_RECLAIMED);
    expect(b.countersReader.getCounterValue(subPos.id)).toBe(0);
    expect(all(b).some((c) => c.typeId === CounterTypeId.SUBSCRIBER_POSITION)).toBe(false);
  });

  it("gives an IPC publication pub-pos and pub-lmt, and each subscriber a sub-pos", () => {
    const harness = new TwoEngineHarness(3, { latencyNs: 1000 });
    const [a] = harness.engines;
    const first = a.addSubscription("aeron:ipc", 4);
    a.addSubscription("aeron:ipc", 4);
    const publication = a.addPublication("aeron:ipc", 4);
    publication.offer(new Uint8Array(100));
    first.poll(() => undefined, 10);
    const stream = all(a).filter((c) => c.typeId !== CounterTypeId.SYSTEM);
    expect(stream.map((c) => c.typeId)).toEqual([
      CounterTypeId.PUBLISHER_POSITION, CounterTypeId.PUBLISHER_LIMIT, CounterTypeId.SUBSCRIBER_POSITION, CounterTypeId.SUBSCRIBER_POSITION,
    ]);
    expect(stream.map((c) => c.value)).toEqual([160, publication.positionLimit, 160, 0]);
    expect(stream[0]!.id).toBe(FIRST_STREAM_COUNTER_ID);
  });
});
