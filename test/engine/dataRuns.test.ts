// Goal: a receiver that takes a datagram's back-to-back DATA frames as one run (FrameVisitor.onDataRun:
// one image lookup, one copy, the first frame's length stored last) behaves exactly as one that
// takes them frame by frame, whatever the network does: the same counters, the same status
// messages and NAKs byte for byte, the same messages delivered, the same term bytes. Two receivers,
// one with runs and one without, are fed the very same datagrams (lost, duplicated, delayed,
// retransmitted, truncated or with a flipped byte) from one publisher, over many seeds.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ipv4 } from "../../src/core/address.js";
import { Engine } from "../../src/core/engine/engine.js";
import { ADMIN_ACTION, BACK_PRESSURED, NOT_CONNECTED } from "../../src/core/engine/networkPublication.js";
import { DatagramWalker, type FrameVisitor } from "../../src/core/protocol/datagramWalker.js";
import { TransmitBatch } from "../../src/core/transmitBatch.js";
import { Prng } from "../../src/sim/prng.js";

const CHANNEL = "aeron:udp?endpoint=127.0.0.2:20121|term-length=64k";
const STREAM = 1001;
const IP_A = ipv4(127, 0, 0, 1);
const IP_B = ipv4(127, 0, 0, 2);
const A_PORT = 40000;

function endpointOf(engine: Engine): number {
  const event = engine.pollEndpointEvent();
  if (event?.type !== "open") throw new Error("expected an endpoint to open");
  return event.endpoint.id;
}

interface Receiver {
  engine: Engine;
  endpoint: number;
  delivered: number[];
  poll: () => number;
  runs: { count: number };
}

function receiver(runs: boolean, seed: number): Receiver {
  const engine = new Engine({ random: new Prng(seed).fork("b") });
  // The receiver without runs: its onDataRun is hidden, so the walker visits frame by frame.
  const counted = { count: 0 };
  if (!runs) Object.defineProperty(engine, "onDataRun", { value: undefined });
  else {
    const onDataRun = engine.onDataRun.bind(engine);
    Object.defineProperty(engine, "onDataRun", {
      value: (view: DataView, bytes: Uint8Array, offset: number, frames: number, runLength: number) => {
        counted.count++;
        onDataRun(view, bytes, offset, frames, runLength);
      },
    });
  }
  const subscription = engine.addSubscription(CHANNEL, STREAM);
  const delivered: number[] = [];
  const handler = (buffer: Uint8Array, offset: number, length: number): void => {
    let h = length;
    for (let i = 0; i < length; i++) h = (Math.imul(h, 31) + buffer[offset + i]!) | 0;
    delivered.push(h);
  };
  return { engine, endpoint: endpointOf(engine), delivered, poll: () => subscription.poll(handler, 64), runs: counted };
}

/** Runs one seed; returns a description of the first difference, or undefined. */
function compare(seed: number, steps: number): string | undefined {
  const prng = new Prng(seed);
  const faults = prng.fork("faults");
  const sizes = prng.fork("sizes");
  const a = new Engine({ random: prng.fork("a") });
  const publication = a.addPublication(CHANNEL, STREAM);
  const aEndpoint = endpointOf(a);
  const withRuns = receiver(true, seed);
  const without = receiver(false, seed);
  const tx = new TransmitBatch(64, 2048);
  const backTx = new TransmitBatch(64, 2048);
  const otherTx = new TransmitBatch(64, 2048);
  const held: Uint8Array[] = [];
  const message = new Uint8Array(600);
  let now = 1_000_000;
  const deliver = (bytes: Uint8Array): void => {
    withRuns.engine.handleDatagram(now, IP_A, A_PORT, withRuns.endpoint, bytes, 0, bytes.length);
    without.engine.handleDatagram(now, IP_A, A_PORT, without.endpoint, bytes, 0, bytes.length);
  };
  for (let step = 0; step < steps; step++) {
    now += 1 + faults.intBelow(2_000_000);
    // Offers: sizes that make aligned 64 B frames most of the time, some of any length.
    for (let k = faults.intBelow(40); k > 0; k--) {
      const length = sizes.intBelow(4) === 0 ? sizes.intBelow(message.length) : 32 + 32 * sizes.intBelow(3);
      const result = publication.offer(message.fill(step & 0xff), 0, length);
      if (result === BACK_PRESSURED || result === NOT_CONNECTED) break;
      if (result < 0 && result !== ADMIN_ACTION) return `offer failed: ${result}`;
    }
    for (const engine of [a, withRuns.engine, without.engine]) if (engine.pollTimeout() <= now) engine.handleTimeout(now);
    tx.clear();
    const n = a.pollTransmit(now, tx);
    for (let i = 0; i < n; i++) {
      const bytes = tx.bytes.slice(tx.slotOffset(i), tx.slotOffset(i) + tx.lengths[i]!);
      const fate = faults.intBelow(100);
      if (fate < 8) continue; // lost
      if (fate < 14) {
        held.push(bytes); // delayed: delivered later, out of order
        continue;
      }
      if (fate < 17) {
        const at = faults.intBelow(bytes.length);
        bytes[at] = bytes[at]! ^ (1 << faults.intBelow(8)); // a flipped bit
      }
      if (fate < 19) {
        deliver(bytes.subarray(0, faults.intBelow(bytes.length + 1))); // truncated
        continue;
      }
      deliver(bytes);
      if (fate < 24) deliver(bytes); // duplicated
    }
    while (held.length > 0 && faults.intBelow(3) === 0) deliver(held.splice(faults.intBelow(held.length), 1)[0]!);
    withRuns.poll();
    without.poll();
    // Both receivers' output must be the same bytes; the one with runs answers the publisher.
    backTx.clear();
    otherTx.clear();
    const m = withRuns.engine.pollTransmit(now, backTx);
    const m2 = without.engine.pollTransmit(now, otherTx);
    if (m !== m2) return `step ${step}: ${m} datagrams sent with runs, ${m2} without`;
    for (let i = 0; i < m; i++) {
      const x = backTx.bytes.subarray(backTx.slotOffset(i), backTx.slotOffset(i) + backTx.lengths[i]!);
      const y = otherTx.bytes.subarray(otherTx.slotOffset(i), otherTx.slotOffset(i) + otherTx.lengths[i]!);
      if (Buffer.compare(x, y) !== 0) return `step ${step}: datagram ${i} differs`;
      a.handleDatagram(now, IP_B, 20121, aEndpoint, backTx.bytes, backTx.slotOffset(i), backTx.lengths[i]!);
    }
    const c1 = withRuns.engine.counters.snapshot();
    const c2 = without.engine.counters.snapshot();
    if (JSON.stringify(c1) !== JSON.stringify(c2)) {
      const diff = Object.keys(c1).filter((k) => c1[k] !== c2[k]).map((k) => `${k} ${c1[k]} vs ${c2[k]}`);
      return `step ${step}: counters differ: ${diff.join(", ")}`;
    }
    if (withRuns.delivered.length !== without.delivered.length) return `step ${step}: ${withRuns.delivered.length} messages delivered with runs, ${without.delivered.length} without`;
  }
  if (withRuns.delivered.join() !== without.delivered.join()) return "delivered messages differ";
  if (withRuns.delivered.length === 0 || withRuns.runs.count === 0) {
    return `the test exercised nothing: ${withRuns.delivered.length} messages delivered, ${withRuns.runs.count} runs`;
  }
  return undefined;
}

describe("DATA frame runs", () => {
  it("a receiver taking runs whole matches one taking frame by frame, byte for byte, under loss, duplication, reordering and corruption", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const difference = compare(seed, 400);
        if (difference !== undefined) throw new Error(`seed ${seed}: ${difference} (replay: compare(${seed}, 400))`);
      }),
      { numRuns: 40, seed: Number(process.env["PETREL_SEED"] ?? 20261206) },
    );
  });

  it("the walker hands back-to-back DATA frames of one session and term to onDataRun, and anything else frame by frame", () => {
    const a = new Engine({ random: new Prng(7) });
    const subscriber = new Engine({ random: new Prng(8) });
    subscriber.addSubscription(CHANNEL, STREAM);
    const publication = a.addPublication(CHANNEL, STREAM);
    const aEndpoint = endpointOf(a);
    const bEndpoint = endpointOf(subscriber);
    const tx = new TransmitBatch(64, 2048);
    let now = 1_000_000;
    // Connect: SETUP, SM.
    for (let i = 0; i < 10 && !publication.isConnected; i++) {
      now += 1_000_000;
      for (const e of [a, subscriber]) if (e.pollTimeout() <= now) e.handleTimeout(now);
      tx.clear();
      for (let k = a.pollTransmit(now, tx), j = 0; j < k; j++) subscriber.handleDatagram(now, IP_A, A_PORT, bEndpoint, tx.bytes, tx.slotOffset(j), tx.lengths[j]!);
      tx.clear();
      for (let k = subscriber.pollTransmit(now, tx), j = 0; j < k; j++) a.handleDatagram(now, IP_B, 20121, aEndpoint, tx.bytes, tx.slotOffset(j), tx.lengths[j]!);
    }
    expect(publication.isConnected).toBe(true);
    const message = new Uint8Array(100);
    for (const length of [32, 32, 32, 40, 32, 32]) expect(publication.offer(message, 0, length)).toBeGreaterThan(0);
    now += 1000;
    tx.clear();
    expect(a.pollTransmit(now, tx)).toBe(1);
    const calls: string[] = [];
    const visitor = {
      onData: (_v: DataView, _b: Uint8Array, _o: number, length: number) => calls.push(`data ${length}`),
      onDataRun: (_v: DataView, _b: Uint8Array, _o: number, frames: number, runLength: number) => calls.push(`run ${frames} ${runLength}`),
    } as unknown as FrameVisitor;
    expect(new DatagramWalker().walk(tx.bytes, tx.slotOffset(0), tx.lengths[0]!, visitor)).toBe(true);
    // 64, 64, 64 aligned; 72 (40 B payload) ends a run; 64, 64 another run.
    expect(calls).toEqual(["run 4 264", "run 2 128"]);
  });
});
