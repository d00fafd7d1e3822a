// Goal: the fault rule chain works on its own, with no simulator: rules run in order, the first
// drop ends the chain (later rules are not consulted and draw nothing), delays add up, duplicates
// are capped, corruption is reported, not applied, and the same seed gives the same decisions.
// This is the shape a live driver will use to inject faults in front of real sockets. Failing
// properties print their fast-check seed.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  BernoulliLoss,
  Corruption,
  DropNext,
  DropWhere,
  FaultChain,
  FaultDecision,
  FaultPacket,
  GilbertElliottLoss,
  MAX_COPIES,
  Verdict,
  type FaultRule,
} from "../../src/sim/faults.js";
import { Link, type LinkModel } from "../../src/sim/link.js";
import { Prng, ratio } from "../../src/sim/prng.js";

const packet = new FaultPacket().set(1, 2, 3, 4, new Uint8Array(100), 0, 100);

class Recording implements FaultRule {
  readonly name = "recording";
  calls = 0;
  constructor(private readonly effect: (decision: FaultDecision) => void = () => {}) {}
  apply(_nowNs: number, _packet: FaultPacket, _random: Prng, decision: FaultDecision): void {
    this.calls++;
    this.effect(decision);
  }
}

describe("FaultChain", () => {
  it("runs rules in order, adds delays, and stops at the first drop", () => {
    const first = new Recording((d) => d.delay(5));
    const second = new Recording((d) => d.delay(7));
    const dropper = new Recording((d) => d.drop());
    const never = new Recording();
    const decision = new FaultDecision();
    const random = new Prng(1);
    expect(new FaultChain([first, second]).decide(0, packet, random, decision)).toBe(true);
    expect(decision.extraDelayNs).toBe(12);
    expect(new FaultChain([first, dropper, never]).decide(0, packet, random, decision)).toBe(false);
    expect(decision.dropVerdict).toBe(Verdict.DROP_RULE);
    expect(never.calls).toBe(0);
    // The decision is reset at the start of every packet.
    expect(new FaultChain([]).decide(0, packet, random, decision)).toBe(true);
    expect(decision.extraDelayNs).toBe(0);
    expect(decision.dropped).toBe(false);
  });

  it("caps duplicates at MAX_COPIES", () => {
    const duplicator = new Recording((d) => {
      for (let i = 0; i < 10; i++) d.duplicate(i);
    });
    const decision = new FaultDecision();
    new FaultChain([duplicator]).decide(0, packet, new Prng(1), decision);
    expect(decision.copies).toBe(MAX_COPIES);
    expect([...decision.copyDelayNs.subarray(1, MAX_COPIES)]).toEqual([0, 1, 2]);
  });

  it("reports corruption without touching the caller's bytes", () => {
    const bytes = new Uint8Array(16).fill(9);
    const decision = new FaultDecision();
    new FaultChain([new Corruption(ratio(1, 1))]).decide(0, new FaultPacket().set(0, 0, 0, 0, bytes, 0, 16), new Prng(3), decision);
    expect(decision.corruptIndex).toBeGreaterThanOrEqual(0);
    expect(decision.corruptIndex).toBeLessThan(16);
    expect(decision.corruptXor).toBeGreaterThan(0);
    expect(bytes.every((b) => b === 9)).toBe(true);
  });

  test.prop([fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })])("the same seed gives the same decisions", (seed) => {
    const run = (): string => {
      const chain = new FaultChain([
        new GilbertElliottLoss({ goodToBad: ratio(1, 20), badToGood: ratio(1, 3) }),
        new BernoulliLoss(ratio(1, 10)),
        new Corruption(ratio(1, 10)),
      ]);
      const random = new Prng(seed);
      const decision = new FaultDecision();
      let out = "";
      for (let i = 0; i < 200; i++) {
        chain.decide(i, packet, random, decision);
        out += `${decision.dropVerdict}:${decision.corruptIndex},`;
      }
      return out;
    };
    expect(run()).toBe(run());
  });

  it("DropNext with a predicate and a switchable DropWhere", () => {
    const onlyPort4 = new DropNext(2, (p) => p.toPort === 4);
    const blackhole = new DropWhere((p) => p.length > 50);
    const decision = new FaultDecision();
    const random = new Prng(1);
    const chain = new FaultChain([onlyPort4]);
    const other = new FaultPacket().set(1, 2, 3, 5, new Uint8Array(10), 0, 10);
    expect(chain.decide(0, other, random, decision)).toBe(true);
    expect(chain.decide(0, packet, random, decision)).toBe(false);
    expect(chain.decide(0, packet, random, decision)).toBe(false);
    expect(chain.decide(0, packet, random, decision)).toBe(true);
    onlyPort4.arm(1);
    expect(chain.decide(0, packet, random, decision)).toBe(false);
    const hole = new FaultChain([blackhole]);
    expect(hole.decide(0, packet, random, decision)).toBe(false);
    blackhole.enabled = false;
    expect(hole.decide(0, packet, random, decision)).toBe(true);
  });
});

describe("Link without a simulator", () => {
  it("admit() reports arrival times a caller can schedule, and a model change takes effect at once", () => {
    const model: LinkModel = { latencyNs: 1000 };
    const link = new Link(0, "a", "b", new Prng(1), model);
    const bytes = new Uint8Array(10);
    expect(link.admit(0, 1, 1, 2, 2, bytes, 0, 10)).toBe(1);
    expect(link.arrivalNs[0]).toBe(1000);
    link.setModel({ latencyNs: 50, loss: ratio(1, 1) });
    expect(link.admit(10, 1, 1, 2, 2, bytes, 0, 10)).toBe(0);
    expect(link.dropVerdict).toBe(Verdict.DROP_LOSS);
    link.setModel({ latencyNs: 50 });
    expect(link.admit(20, 1, 1, 2, 2, bytes, 0, 10)).toBe(1);
    expect(link.arrivalNs[0]).toBe(70);
    expect(link.counters.snapshot()).toMatchObject({ sentPackets: 3, droppedPackets: 1, "dropped.loss": 1 });
  });

  it("rejects invalid models with a message naming the field", () => {
    expect(() => new Link(0, "a", "b", new Prng(1), { latencyNs: -1 })).toThrow(/latencyNs/);
    expect(() => new Link(0, "a", "b", new Prng(1), { latencyNs: 1, loss: { numerator: 3, denominator: 2 } })).toThrow(/numerator/);
    expect(() => new Link(0, "a", "b", new Prng(1), { latencyNs: 1, jitterNs: 0.5 })).toThrow(/jitterNs/);
  });
});
