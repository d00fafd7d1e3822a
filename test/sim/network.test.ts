// Goal: each network fault works in isolation, with exact or statistically bounded counts, through
// the whole simulator (sender node -> link -> receiver node): latency, Bernoulli loss, Gilbert-
// Elliott burst loss, bandwidth with serialization time and tail drop, jitter bounds, MTU, symmetric
// and one-way partitions with heal, multicast fan-out, corruption (dropped, or delivered when asked),
// duplication, reordering, user rules, no route / no listener, the tap. Every scenario uses a fixed
// seed, printed in the failure message.
import { describe, expect, it } from "vitest";
import { ipv4, type SimAddress } from "../../src/sim/address.js";
import { DropNext, Verdict } from "../../src/sim/faults.js";
import type { Link, LinkModel } from "../../src/sim/link.js";
import { ratio } from "../../src/sim/prng.js";
import { Simulation } from "../../src/sim/simulator.js";
import { Recorder, ScriptedSender, SequenceSender, type ScriptedSend, type SenderOptions } from "./toyNodes.js";

const MS = 1_000_000;
const US = 1_000;
const A_IP = ipv4(10, 0, 0, 1);
const B_IP = ipv4(10, 0, 0, 2);
const PORT = 9000;

interface OneWay {
  sim: Simulation;
  sender: SequenceSender;
  recorder: Recorder;
  link: Link;
  seed: number;
}

/** Host a sends a sequence to host b over `model`; the b -> a direction is perfect. */
function oneWay(seed: number, model: LinkModel, sender: Omit<SenderOptions, "toIp" | "toPort">): OneWay {
  const sim = new Simulation({ seed });
  const recorder = new Recorder();
  const node = new SequenceSender({ toIp: B_IP, toPort: PORT, ...sender });
  sim.host("a", (host) => void host.bind(node, PORT), { ip: A_IP });
  sim.host("b", (host) => void host.bind(recorder, PORT), { ip: B_IP });
  const link = sim.link("a", "b", model, { oneWay: true });
  sim.link("b", "a", { latencyNs: MS }, { oneWay: true });
  return { sim, sender: node, recorder, link, seed };
}

/** Lengths of runs of consecutive missing sequence numbers in 0..total-1. */
function lossBursts(received: ReadonlyArray<number>, total: number): number[] {
  const got = new Uint8Array(total);
  for (const seq of received) got[seq] = 1;
  const bursts: number[] = [];
  let run = 0;
  for (let i = 0; i < total; i++) {
    if (got[i] === 0) run++;
    else if (run > 0) {
      bursts.push(run);
      run = 0;
    }
  }
  if (run > 0) bursts.push(run);
  return bursts;
}

const mean = (values: ReadonlyArray<number>): number => values.reduce((a, b) => a + b, 0) / values.length;

describe("latency", () => {
  it("delivers every datagram exactly latencyNs after it was sent, in order", () => {
    const t = oneWay(1, { latencyNs: 3 * MS }, { total: 100, intervalNs: MS });
    t.sim.runFor(200 * MS);
    expect(t.recorder.sequences).toEqual([...Array(100).keys()]);
    expect(t.recorder.timesNs).toEqual([...Array(100).keys()].map((i) => i * MS + 3 * MS));
    expect(t.link.counters.snapshot()).toMatchObject({ sentPackets: 100, deliveredPackets: 100, droppedPackets: 0, sentBytes: 6400 });
  });
});

describe("loss", () => {
  it("Bernoulli loss of 1/100 over 10^5 datagrams stays within 5 sigma, and every datagram is accounted for", () => {
    const seed = 42;
    const total = 100_000;
    const t = oneWay(seed, { latencyNs: MS, loss: ratio(1, 100) }, { total, burst: 100, intervalNs: MS });
    t.sim.runFor(2000 * MS);
    const dropped = t.link.counters.dropped(Verdict.DROP_LOSS);
    const sigma = Math.sqrt(total * 0.01 * 0.99);
    expect(Math.abs(dropped - 1000), `seed=${seed} dropped=${dropped}`).toBeLessThan(5 * sigma);
    expect(t.link.counters.sentPackets).toBe(total);
    expect(t.link.counters.deliveredPackets + t.link.counters.droppedPackets).toBe(total);
    expect(t.recorder.sequences.length).toBe(total - dropped);
  });

  it("Gilbert-Elliott loss comes in bursts much longer than Bernoulli loss at the same average", () => {
    const seed = 7;
    const total = 100_000;
    // p = 1/100, r = 1/10, lossInBad = 1: average loss p / (p + r) = 1/11, mean burst 1/r = 10.
    const ge = oneWay(seed, { latencyNs: MS, burstLoss: { goodToBad: ratio(1, 100), badToGood: ratio(1, 10) } }, { total, burst: 100 });
    const bernoulli = oneWay(seed, { latencyNs: MS, loss: ratio(1, 11) }, { total, burst: 100 });
    ge.sim.runFor(2000 * MS);
    bernoulli.sim.runFor(2000 * MS);
    const geLoss = ge.link.counters.dropped(Verdict.DROP_BURST_LOSS) / total;
    const bernoulliLoss = bernoulli.link.counters.dropped(Verdict.DROP_LOSS) / total;
    expect(Math.abs(geLoss - 1 / 11), `seed=${seed} geLoss=${geLoss}`).toBeLessThan(0.01);
    expect(Math.abs(bernoulliLoss - 1 / 11), `seed=${seed} bernoulliLoss=${bernoulliLoss}`).toBeLessThan(0.005);
    const geBurst = mean(lossBursts(ge.recorder.sequences, total));
    const bernoulliBurst = mean(lossBursts(bernoulli.recorder.sequences, total));
    expect(geBurst, `seed=${seed}`).toBeGreaterThan(8);
    expect(geBurst, `seed=${seed}`).toBeLessThan(12);
    expect(bernoulliBurst, `seed=${seed}`).toBeLessThan(1.2);
  });

  it("a DropNext rule drops exactly the next N datagrams, then nothing", () => {
    const t = oneWay(3, { latencyNs: MS, rules: [new DropNext(3)] }, { total: 10 });
    t.sim.runFor(100 * MS);
    expect(t.recorder.sequences).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(t.link.counters.dropped(Verdict.DROP_RULE)).toBe(3);
  });
});

describe("bandwidth", () => {
  // 1 Mbit/s: (100 payload + 28 header) * 8 bits = 1024 us of serialization per datagram.
  const model: LinkModel = { latencyNs: 5 * MS, bandwidthBitsPerSecond: 1_000_000 };

  it("delivery time = latency + queueing + serialization, for a burst of 10 sent at once", () => {
    const t = oneWay(1, model, { total: 10, burst: 10, length: 100 });
    t.sim.runFor(100 * MS);
    expect(t.recorder.timesNs).toEqual([...Array(10).keys()].map((k) => 5 * MS + (k + 1) * 1024 * US));
    expect(t.link.serializationNs(128)).toBe(1024 * US);
  });

  it("tail-drops when the queue is full (packets limit) and counts it", () => {
    const t = oneWay(1, { ...model, queuePacketsMax: 4 }, { total: 10, burst: 10, length: 100 });
    t.sim.runFor(100 * MS);
    expect(t.recorder.sequences).toEqual([0, 1, 2, 3]);
    expect(t.link.counters.dropped(Verdict.DROP_QUEUE_FULL)).toBe(6);
  });

  it("tail-drops when the queue is full (bytes limit), and the queue drains over time", () => {
    // 3 * 128 bytes fit in 400; the 4th of a burst does not. Bursts 10 ms apart find it empty again.
    const t = oneWay(1, { ...model, queueBytesMax: 400 }, { total: 20, burst: 5, intervalNs: 10 * MS, length: 100 });
    t.sim.runFor(100 * MS);
    expect(t.recorder.sequences).toEqual([0, 1, 2, 5, 6, 7, 10, 11, 12, 15, 16, 17]);
    expect(t.link.counters.dropped(Verdict.DROP_QUEUE_FULL)).toBe(8);
  });

  it("at a sustained rate below the bandwidth, nothing queues", () => {
    const t = oneWay(1, { ...model, queuePacketsMax: 1 }, { total: 50, intervalNs: 2 * MS, length: 100 });
    t.sim.runFor(200 * MS);
    expect(t.recorder.sequences.length).toBe(50);
    expect(t.recorder.timesNs.every((time, i) => time === i * 2 * MS + 5 * MS + 1024 * US)).toBe(true);
  });
});

describe("jitter", () => {
  it("adds a delay within [0, jitterNs] that covers the whole range", () => {
    const seed = 11;
    const t = oneWay(seed, { latencyNs: MS, jitterNs: 100 * US }, { total: 20_000, burst: 10, intervalNs: MS });
    t.sim.runFor(3000 * MS);
    const extras = t.recorder.sequences.map((seq, i) => (t.recorder.timesNs[i] as number) - (Math.floor(seq / 10) * MS + MS));
    expect(extras.length).toBe(20_000);
    expect(Math.min(...extras), `seed=${seed}`).toBeGreaterThanOrEqual(0);
    expect(Math.max(...extras), `seed=${seed}`).toBeLessThanOrEqual(100 * US);
    expect(Math.min(...extras), `seed=${seed}`).toBeLessThan(1 * US);
    expect(Math.max(...extras), `seed=${seed}`).toBeGreaterThan(99 * US);
    expect(Math.abs(mean(extras) - 50 * US), `seed=${seed}`).toBeLessThan(2 * US);
  });
});

/** Host a runs `script`; hosts b (and c) record; returns everything. */
function scripted(seed: number, script: ReadonlyArray<ScriptedSend>, model: LinkModel) {
  const sim = new Simulation({ seed });
  const sender = new ScriptedSender(script);
  const recorderA = new Recorder();
  const recorderB = new Recorder();
  sim.host("a", (host) => {
    host.bind(sender, PORT);
    host.bind(recorderA, PORT + 1);
  }, { ip: A_IP });
  sim.host("b", (host) => void host.bind(recorderB, PORT), { ip: B_IP });
  sim.link("a", "b", model);
  return { sim, sender, recorderA, recorderB, ab: sim.linkBetween("a", "b") as Link, ba: sim.linkBetween("b", "a") as Link };
}

describe("MTU", () => {
  it("drops a datagram one byte over the MTU and delivers one exactly at it", () => {
    // IP MTU 1500 minus 28 header bytes: the largest payload is 1472.
    const t = scripted(1, [
      { atNs: 0, ip: B_IP, port: PORT, length: 1472 },
      { atNs: 1, ip: B_IP, port: PORT, length: 1473 },
      { atNs: 2, ip: B_IP, port: PORT, length: 9000 },
      { atNs: 3, ip: B_IP, port: PORT, length: 1 },
    ], { latencyNs: MS, mtuBytes: 1500 });
    t.sim.runFor(10 * MS);
    expect(t.recorderB.lengths).toEqual([1472, 1]);
    expect(t.ab.counters.dropped(Verdict.DROP_MTU)).toBe(2);
  });
});

describe("partitions", () => {
  /** Both hosts send a datagram every ms to the other; returns who heard what. */
  function chatter(seed: number) {
    const sim = new Simulation({ seed, defaultLink: { latencyNs: 100 * US } });
    const recA = new Recorder();
    const recB = new Recorder();
    sim.host("a", (host) => {
      host.bind(recA, 1);
      host.bind(new SequenceSender({ toIp: B_IP, toPort: 1, total: 100, intervalNs: MS }), 2);
    }, { ip: A_IP });
    sim.host("b", (host) => {
      host.bind(recB, 1);
      host.bind(new SequenceSender({ toIp: A_IP, toPort: 1, total: 100, intervalNs: MS }), 2);
    }, { ip: B_IP });
    return { sim, recA, recB };
  }

  it("a symmetric partition drops both directions until healed", () => {
    const t = chatter(1);
    t.sim.at(20 * MS, { kind: "partition", a: "a", b: "b" });
    t.sim.at(50 * MS, { kind: "heal", a: "a", b: "b" });
    t.sim.runFor(200 * MS);
    // Sends at 20..49 ms are cut (the one sent at 19 ms was already in flight).
    const expected = [...Array(100).keys()].filter((i) => i < 20 || i >= 50);
    expect(t.recB.sequences).toEqual(expected);
    expect(t.recA.sequences).toEqual(expected);
    expect(t.sim.linkBetween("a", "b")?.counters.dropped(Verdict.DROP_PARTITION)).toBe(30);
  });

  it("a one-way partition drops only its direction", () => {
    const t = chatter(1);
    t.sim.at(20 * MS, { kind: "partition", a: "a", b: "b", oneWay: true });
    t.sim.at(50 * MS, (sim) => sim.healAll());
    t.sim.runFor(200 * MS);
    expect(t.recB.sequences).toEqual([...Array(100).keys()].filter((i) => i < 20 || i >= 50));
    expect(t.recA.sequences).toEqual([...Array(100).keys()]);
  });

  it("a partition set before a default link exists applies to it when it is made", () => {
    const t = chatter(1);
    t.sim.partition("a", "b");
    t.sim.runFor(200 * MS);
    expect(t.recA.sequences).toEqual([]);
    expect(t.recB.sequences).toEqual([]);
  });
});

describe("multicast", () => {
  it("fans a group datagram out to every member's port, each copy through its own path", () => {
    const group = ipv4(239, 1, 2, 3);
    const sim = new Simulation({ seed: 5 });
    const recorders = new Map<string, Recorder>();
    const sender = new SequenceSender({ toIp: group, toPort: 4000, total: 1000, intervalNs: 100 * US });
    sim.host("src", (host) => void host.bind(sender, 5000));
    for (const name of ["m1", "m2", "m3", "other"]) {
      sim.host(name, (host) => {
        const recorder = new Recorder();
        recorders.set(name, recorder);
        host.bind(recorder, 4000);
        if (name !== "other") host.joinGroup("239.1.2.3", 4000);
      });
      sim.link("src", name, { latencyNs: MS }, { oneWay: true });
    }
    sim.link("src", "m2", { latencyNs: 2 * MS, loss: ratio(1, 2) }, { oneWay: true });
    sim.runFor(500 * MS);
    const m1 = recorders.get("m1") as Recorder;
    const m2 = recorders.get("m2") as Recorder;
    const m3 = recorders.get("m3") as Recorder;
    expect(m1.sequences).toEqual([...Array(1000).keys()]);
    expect(m3.sequences).toEqual([...Array(1000).keys()]);
    expect(m2.sequences.length).toBeGreaterThan(400);
    expect(m2.sequences.length).toBeLessThan(600);
    expect((recorders.get("other") as Recorder).sequences).toEqual([]);
    expect(m1.tos.every((to: SimAddress) => to.ip === group && to.port === 4000)).toBe(true);
    expect(m1.timesNs[0]).toBe(MS);
    expect(m2.timesNs[0]).toBeGreaterThanOrEqual(2 * MS);
    expect(sim.counters.datagramsSent).toBe(1000);
  });
});

describe("corruption", () => {
  it("a corrupted datagram fails the UDP checksum and is dropped and counted", () => {
    const t = oneWay(2, { latencyNs: MS, corrupt: ratio(1, 4) }, { total: 10_000, burst: 10 });
    t.sim.runFor(2000 * MS);
    const counters = t.link.counters;
    expect(counters.corruptedPackets).toBeGreaterThan(2300);
    expect(counters.corruptedPackets).toBeLessThan(2700);
    expect(counters.dropped(Verdict.DROP_CHECKSUM)).toBe(counters.corruptedPackets);
    expect(t.recorder.sequences.length).toBe(10_000 - counters.corruptedPackets);
  });

  it("with deliverCorrupted, every datagram arrives with exactly one byte changed", () => {
    const t = oneWay(2, { latencyNs: MS, corrupt: ratio(1, 1), deliverCorrupted: true }, { total: 200, length: 32 });
    t.recorder.keepPayloads = true;
    t.sim.runFor(500 * MS);
    expect(t.recorder.payloads.length).toBe(200);
    t.recorder.payloads.forEach((payload, i) => {
      const original = new Uint8Array(32);
      const view = new DataView(original.buffer);
      view.setUint32(0, i, true);
      view.setUint32(4, 32, true);
      for (let b = 8; b < 32; b++) original[b] = (i * 31 + b) & 0xff;
      let differing = 0;
      for (let b = 0; b < 32; b++) if (payload[b] !== original[b]) differing++;
      expect(differing).toBe(1);
    });
    expect(t.link.counters.corruptedPackets).toBe(200);
  });
});

describe("duplication and reordering", () => {
  it("duplicates about the configured fraction, identical bytes, counted", () => {
    const t = oneWay(9, { latencyNs: MS, duplicate: { probability: ratio(1, 2), delayNs: 10 * US } }, { total: 10_000, burst: 10 });
    t.recorder.keepPayloads = true;
    t.sim.runFor(2000 * MS);
    const duplicated = t.link.counters.duplicatedPackets;
    expect(duplicated).toBeGreaterThan(4800);
    expect(duplicated).toBeLessThan(5200);
    expect(t.recorder.sequences.length).toBe(10_000 + duplicated);
    expect(t.link.counters.deliveredPackets).toBe(10_000 + duplicated);
    const bySeq = new Map<number, Uint8Array>();
    t.recorder.sequences.forEach((seq, i) => {
      const seen = bySeq.get(seq);
      if (seen === undefined) bySeq.set(seq, t.recorder.payloads[i] as Uint8Array);
      else expect(t.recorder.payloads[i]).toEqual(seen);
    });
    expect(bySeq.size).toBe(10_000);
  });

  it("reordering holds back a fraction so that later datagrams overtake it", () => {
    const t = oneWay(4, { latencyNs: MS, reorder: { probability: ratio(1, 10), delayNs: 3 * MS } }, { total: 10_000, intervalNs: MS });
    t.sim.runFor(20_000 * MS);
    const seqs = t.recorder.sequences;
    expect([...seqs].sort((a, b) => a - b)).toEqual([...Array(10_000).keys()]);
    let late = 0;
    let highest = -1;
    for (const seq of seqs) {
      if (seq < highest) late++;
      else highest = seq;
    }
    expect(late).toBeGreaterThan(900);
    expect(late).toBeLessThan(1100);
  });
});

describe("routing", () => {
  it("counts a datagram to an unknown address as no route, and one to an unbound port as no listener", () => {
    const t = scripted(1, [
      { atNs: 0, ip: ipv4(10, 9, 9, 9), port: PORT, length: 10 },
      { atNs: 1, ip: B_IP, port: 7777, length: 10 },
      { atNs: 2, ip: B_IP, port: PORT, length: 10 },
    ], { latencyNs: MS });
    t.sim.runFor(10 * MS);
    expect(t.sim.counters.noRoute).toBe(1);
    expect(t.ab.counters.dropped(Verdict.DROP_NO_LISTENER)).toBe(1);
    expect(t.recorderB.lengths).toEqual([10]);
  });

  it("without a link or a default model there is no route; a host reaches itself over loopback", () => {
    const sim = new Simulation({ seed: 1 });
    const self = new Recorder();
    sim.host("a", (host) => {
      host.bind(new ScriptedSender([
        { atNs: 0, ip: B_IP, port: PORT, length: 8 },
        { atNs: 0, ip: A_IP, port: PORT + 1, length: 8 },
      ]), PORT);
      host.bind(self, PORT + 1);
    }, { ip: A_IP });
    sim.host("b", (host) => void host.bind(new Recorder(), PORT), { ip: B_IP });
    sim.runFor(MS);
    expect(sim.counters.noRoute).toBe(1);
    expect(self.timesNs).toEqual([0]);
  });

  it("sends from the endpoint the node names, and taps see deliveries and drops with their verdicts", () => {
    const sim = new Simulation({ seed: 1 });
    const receiver = new Recorder();
    sim.host("a", (host) => void host.bind(new ScriptedSender([
      { atNs: 0, ip: B_IP, port: PORT, length: 8, endpoint: 1 },
      { atNs: 1, ip: B_IP, port: PORT, length: 3000 },
    ]), [100, 101]), { ip: A_IP });
    sim.host("b", (host) => void host.bind(receiver, PORT), { ip: B_IP });
    const link = sim.link("a", "b", { latencyNs: MS, mtuBytes: 1500 });
    const seen: string[] = [];
    link.tap = (timeNs, from, to, _bytes, _offset, length, verdict) => seen.push(`${timeNs} ${from.port}->${to.port} ${length} ${verdict}`);
    let global = 0;
    sim.setTap(() => global++);
    sim.runFor(10 * MS);
    expect(receiver.froms.map((from) => from.port)).toEqual([101]);
    expect(seen).toEqual([`1 100->${PORT} 3000 ${Verdict.DROP_MTU}`, `${MS} 101->${PORT} 8 ${Verdict.DELIVERED}`]);
    expect(global).toBe(2);
  });
});
