// Goal: a Petrel publication and subscription in two engines, joined by an in-memory link that
// loses, duplicates and reorders datagrams, deliver every message exactly once, in order and
// byte-identical, and the protocol's own counters tell the story (NAKs when there was loss,
// retransmitted bytes at least the data bytes lost). The same seed gives the same bytes on the wire.
import { describe, expect, it } from "vitest";
import { Counter } from "../../src/core/engine/counters.js";
import { ADMIN_ACTION, BACK_PRESSURED, NOT_CONNECTED } from "../../src/core/engine/networkPublication.js";
import { TwoEngineHarness, type LinkModel } from "../support/twoEngineHarness.js";
import { Prng } from "../../src/sim/prng.js";

const CHANNEL = "aeron:udp?endpoint=127.0.0.2:20121|term-length=64k";
const STREAM = 1001;
const MTU = 1408;

/** Message i's length: mostly small, some up to an MTU, a few up to 4 MTUs (fragmented). */
function messageLength(prng: Prng): number {
  const bucket = prng.intBelow(100);
  if (bucket < 80) return prng.intRange(1, 256);
  if (bucket < 95) return prng.intRange(257, MTU);
  return prng.intRange(MTU + 1, 4 * MTU);
}

/** Fills `out` with message `index`'s deterministic content. */
function fillMessage(out: Uint8Array, length: number, index: number): void {
  let x = (index * 2654435761) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  if (length >= 4) new DataView(out.buffer, out.byteOffset).setUint32(0, index, true);
}

export interface StreamRunResult {
  readonly harness: TwoEngineHarness;
  readonly received: number;
  readonly failures: string[];
}

/** Streams `count` messages from engine A to engine B over `model`; checks every message. */
export function runStream(seed: number, count: number, model: LinkModel, maxSimNs = 600e9): StreamRunResult {
  const harness = new TwoEngineHarness(seed, model);
  const [a, b] = harness.engines;
  const subscription = b.addSubscription(CHANNEL, STREAM);
  const publication = a.addPublication(CHANNEL, STREAM);
  const sizes = new Prng(seed ^ 0x5eed).fork("sizes");
  const lengths = new Int32Array(count);
  for (let i = 0; i < count; i++) lengths[i] = messageLength(sizes);
  const sendBuffer = new Uint8Array(4 * MTU);
  const expected = new Uint8Array(4 * MTU);
  let sent = 0;
  let received = 0;
  const failures: string[] = [];
  const handler = (buffer: Uint8Array, offset: number, length: number): void => {
    if (failures.length > 5) return;
    if (received >= count) {
      failures.push(`extra message after ${count}: length ${length}`);
      return;
    }
    const want = lengths[received]!;
    if (length !== want) {
      failures.push(`message ${received}: length ${length}, expected ${want}`);
    } else {
      fillMessage(expected, want, received);
      for (let i = 0; i < length; i++) {
        if (buffer[offset + i] !== expected[i]) {
          failures.push(`message ${received}: byte ${i} differs`);
          break;
        }
      }
    }
    received++;
  };
  const ok = harness.runUntil(
    () => received >= count || failures.length > 0,
    () => {
      // Bounded: the publication back-pressures within one term window.
      while (sent < count) {
        const length = lengths[sent]!;
        fillMessage(sendBuffer, length, sent);
        const result = publication.offer(sendBuffer, 0, length);
        if (result === ADMIN_ACTION) continue;
        if (result < 0) break;
        sent++;
      }
      while (subscription.poll(handler, 256) > 0) {
        /* drain */
      }
    },
    maxSimNs,
  );
  if (!ok && failures.length === 0) failures.push(`timed out at ${harness.nowNs} ns: sent ${sent}, received ${received}`);
  return { harness, received, failures };
}

const SEED = Number(process.env["PETREL_SEED"] ?? 20261124);

describe("reliable unicast between two engines", () => {
  const cases: Array<[string, LinkModel, number]> = [
    ["perfect link", { latencyNs: 50_000 }, 0],
    ["5% loss with reordering and duplication", { latencyNs: 50_000, lossPpm: 50_000, reorderPpm: 20_000, duplicatePpm: 20_000 }, 1],
    ["30% loss with reordering and duplication", { latencyNs: 50_000, lossPpm: 300_000, reorderPpm: 50_000, duplicatePpm: 50_000 }, 2],
  ];
  for (const [name, model, k] of cases) {
    it(`delivers 10^5 mixed-size messages exactly once and in order: ${name}`, () => {
      const seed = SEED + k;
      const { harness, received, failures } = runStream(seed, 100_000, model);
      expect(failures, `seed ${seed} (replay: PETREL_SEED=${SEED} npx vitest run test/engine/reliableUnicast.test.ts)`).toEqual([]);
      expect(received).toBe(100_000);
      const sender = harness.engines[0].counters;
      const receiver = harness.engines[1].counters;
      if (model.lossPpm === undefined) {
        expect(receiver.get(Counter.NAKS_SENT)).toBe(0);
        expect(sender.get(Counter.RETRANSMITS_SENT)).toBe(0);
      } else {
        expect(harness.droppedDataBytes).toBeGreaterThan(0);
        expect(receiver.get(Counter.NAKS_SENT)).toBeGreaterThanOrEqual(1);
        expect(sender.get(Counter.NAKS_RECEIVED)).toBeGreaterThanOrEqual(1);
        expect(sender.get(Counter.RETRANSMITS_SENT)).toBeGreaterThanOrEqual(1);
        expect(sender.get(Counter.RETRANSMITTED_BYTES)).toBeGreaterThanOrEqual(harness.droppedDataBytes);
      }
      expect(receiver.get(Counter.INVALID_PACKETS)).toBe(0);
      expect(sender.get(Counter.INVALID_PACKETS)).toBe(0);
    });
  }

  it("is deterministic: one seed, identical outbound bytes from both engines; another seed differs", () => {
    const model: LinkModel = { latencyNs: 30_000, lossPpm: 100_000, reorderPpm: 30_000, duplicatePpm: 30_000 };
    const first = runStream(SEED, 5_000, model).harness.outboundHash;
    const second = runStream(SEED, 5_000, model).harness.outboundHash;
    const other = runStream(SEED + 99, 5_000, model).harness.outboundHash;
    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it("reports NOT_CONNECTED before a receiver answers and BACK_PRESSURED at the term window", () => {
    const harness = new TwoEngineHarness(SEED, { latencyNs: 1_000_000 });
    const [a, b] = harness.engines;
    const publication = a.addPublication(CHANNEL, STREAM);
    const message = new Uint8Array(1000);
    expect(publication.offer(message)).toBe(NOT_CONNECTED);
    b.addSubscription(CHANNEL, STREAM);
    harness.runUntil(() => publication.isConnected, () => {}, 1e9);
    expect(publication.isConnected).toBe(true);
    // Nobody polls the subscription: the sender may run one term window (32 KiB) ahead, no more.
    let result = 0;
    let offered = 0;
    for (; offered < 1000; offered++) {
      result = publication.offer(message);
      if (result === ADMIN_ACTION) continue;
      if (result < 0) break;
    }
    expect(result).toBe(BACK_PRESSURED);
    expect(publication.position).toBeGreaterThanOrEqual(32 * 1024);
    expect(publication.position).toBeLessThan(32 * 1024 + 2048);
  });
});
