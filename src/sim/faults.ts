// The per-packet fault rule chain. Each rule looks at one datagram (addresses, bytes) and may
// drop it, hold it back for an extra delay, duplicate it, or corrupt a byte; the chain runs its
// rules in order and stops at the first drop. Rules are pure with respect to the outside world:
// they receive the time (nowNs) and a seeded Prng and touch nothing else, and a rule's own state
// (a Gilbert-Elliott channel's good/bad state, a 'drop the next N' counter) lives in the rule
// object. That is what lets the same chain sit inside the simulator's links today and in front of a
// real driver later (a live driver calls chain.decide() for each datagram it is about to send or
// has just received, and acts on the decision).
//
// Verdicts are small integers so that counters are a typed array indexed by verdict and the trace
// hash folds one byte per packet.
import { assert } from "./assert.js";
import { assertRatio, type Prng, type Ratio } from "./prng.js";

export const Verdict = {
  DELIVERED: 0,
  /** Delivered with a flipped byte (only when the link sets deliverCorrupted). */
  DELIVERED_CORRUPT: 1,
  DROP_PARTITION: 2,
  /** Larger than the link's MTU. */
  DROP_MTU: 3,
  /** Tail drop: the link's bandwidth queue was full. */
  DROP_QUEUE_FULL: 4,
  /** Bernoulli loss. */
  DROP_LOSS: 5,
  /** Gilbert-Elliott burst loss. */
  DROP_BURST_LOSS: 6,
  /** Corrupted on the wire; the UDP checksum failed at the receiver. */
  DROP_CHECKSUM: 7,
  /** A user rule dropped it. */
  DROP_RULE: 8,
  /** The destination host was down, or crashed/restarted while the datagram was in flight. */
  DROP_HOST_DOWN: 9,
  /** Nothing was bound to the destination port. */
  DROP_NO_LISTENER: 10,
  /** No link to the destination host (and no default link model). */
  DROP_NO_ROUTE: 11,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];
export const VERDICT_COUNT = 12;

const verdictNames: ReadonlyArray<string> = [
  "delivered",
  "deliveredCorrupt",
  "partition",
  "mtu",
  "queueFull",
  "loss",
  "burstLoss",
  "checksum",
  "rule",
  "hostDown",
  "noListener",
  "noRoute",
];

export function verdictName(verdict: number): string {
  return verdictNames[verdict] ?? `verdict${verdict}`;
}

export function isDrop(verdict: number): boolean {
  return verdict >= Verdict.DROP_PARTITION;
}

/** Original plus at most three duplicates per datagram: a bound on what one send can become. */
export const MAX_COPIES = 4;

const EMPTY_BYTES = new Uint8Array(0);

/** The datagram a rule looks at. One instance is reused for every packet; rules must not keep it. */
export class FaultPacket {
  fromIp = 0;
  fromPort = 0;
  toIp = 0;
  toPort = 0;
  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;

  set(fromIp: number, fromPort: number, toIp: number, toPort: number, bytes: Uint8Array, offset: number, length: number): this {
    this.fromIp = fromIp;
    this.fromPort = fromPort;
    this.toIp = toIp;
    this.toPort = toPort;
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    return this;
  }
}

/**
 * What the chain decided for one datagram; one instance is reused. Rules change it only through
 * the methods below. Copy 0 is the original; copyDelayNs[i] is copy i's delay on top of
 * extraDelayNs, which applies to every copy.
 */
export class FaultDecision {
  /** 0 while the datagram lives; a DROP_* verdict once a rule dropped it. */
  dropVerdict = 0;
  extraDelayNs = 0;
  copies = 1;
  readonly copyDelayNs = new Float64Array(MAX_COPIES);
  /** Offset (from the datagram's start) of the byte to flip, or -1. */
  corruptIndex = -1;
  /** Non-zero mask xor-ed into that byte. */
  corruptXor = 0;

  reset(): void {
    this.dropVerdict = 0;
    this.extraDelayNs = 0;
    this.copies = 1;
    this.copyDelayNs[0] = 0;
    this.corruptIndex = -1;
    this.corruptXor = 0;
  }

  get dropped(): boolean {
    return this.dropVerdict !== 0;
  }

  drop(verdict: number = Verdict.DROP_RULE): void {
    assert(isDrop(verdict), "drop: verdict must be a DROP_* verdict");
    this.dropVerdict = verdict;
  }

  /** Holds the datagram (every copy) back by `delayNs` more. Delays from several rules add up. */
  delay(delayNs: number): void {
    assert(delayNs >= 0 && Number.isSafeInteger(delayNs), "delay: delayNs must be a non-negative integer");
    this.extraDelayNs += delayNs;
  }

  /** Adds a copy arriving `delayNs` after the original; false (and no copy) at MAX_COPIES. */
  duplicate(delayNs = 0): boolean {
    assert(delayNs >= 0 && Number.isSafeInteger(delayNs), "duplicate: delayNs must be a non-negative integer");
    if (this.copies >= MAX_COPIES) return false;
    this.copyDelayNs[this.copies++] = delayNs;
    return true;
  }

  /** Flips the bits of `xor` (1..255) in byte `index` of the datagram. The last call wins. */
  corrupt(index: number, xor: number): void {
    assert(Number.isInteger(index) && index >= 0, "corrupt: index must be a non-negative integer");
    assert(Number.isInteger(xor) && xor >= 1 && xor <= 255, "corrupt: xor must be in 1..255");
    this.corruptIndex = index;
    this.corruptXor = xor;
  }
}

export interface FaultRule {
  /** A short name for logs and for printing a scenario. */
  readonly name: string;
  /** Looks at `packet` and records what happens to it in `decision`; draws only from `random`. */
  apply(nowNs: number, packet: FaultPacket, random: Prng, decision: FaultDecision): void;
}

/** An ordered list of rules; the first drop ends the chain. */
export class FaultChain {
  readonly rules: ReadonlyArray<FaultRule>;

  constructor(rules: ReadonlyArray<FaultRule>) {
    assert(rules.length <= 64, "FaultChain: at most 64 rules");
    this.rules = rules.slice();
  }

  /** Resets `decision`, runs the rules; returns true when the datagram survives. */
  decide(nowNs: number, packet: FaultPacket, random: Prng, decision: FaultDecision): boolean {
    decision.reset();
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      (rules[i] as FaultRule).apply(nowNs, packet, random, decision);
      if (decision.dropVerdict !== 0) return false;
    }
    return true;
  }
}

// --- Built-in rules ------------------------------------------------------------------------------

/** Independent (Bernoulli) loss: each datagram is lost with probability `probability`. */
export class BernoulliLoss implements FaultRule {
  readonly name = "bernoulliLoss";
  constructor(readonly probability: Ratio) {
    assertRatio(probability, "loss");
  }
  apply(_nowNs: number, _packet: FaultPacket, random: Prng, decision: FaultDecision): void {
    if (random.chance(this.probability.numerator, this.probability.denominator)) decision.drop(Verdict.DROP_LOSS);
  }
}

export interface GilbertElliottOptions {
  /** Per datagram, chance of moving from the good state to the bad one (p). */
  readonly goodToBad: Ratio;
  /** Per datagram, chance of moving from the bad state back to good (r); mean burst = 1/r. */
  readonly badToGood: Ratio;
  /** Loss probability while good (1 - k in the literature). Default 0. */
  readonly lossInGood?: Ratio;
  /** Loss probability while bad (1 - h). Default 1 (every datagram lost: Gilbert's model). */
  readonly lossInBad?: Ratio;
}

/**
 * Gilbert-Elliott two-state burst loss. Each datagram first meets the loss probability of the
 * current state, then the channel moves (good -> bad with p, bad -> good with r). Long-run loss is
 * (r * lossInGood + p * lossInBad) / (p + r); losses cluster in bursts of mean length 1/r when
 * lossInBad is 1, where Bernoulli loss at the same average gives bursts of about 1/(1 - loss).
 */
export class GilbertElliottLoss implements FaultRule {
  readonly name = "gilbertElliottLoss";
  private readonly lossInGood: Ratio;
  private readonly lossInBad: Ratio;
  /** Current state; starts good. */
  inBadState = false;

  constructor(readonly options: GilbertElliottOptions) {
    assertRatio(options.goodToBad, "goodToBad");
    assertRatio(options.badToGood, "badToGood");
    this.lossInGood = options.lossInGood ?? { numerator: 0, denominator: 1 };
    this.lossInBad = options.lossInBad ?? { numerator: 1, denominator: 1 };
    assertRatio(this.lossInGood, "lossInGood");
    assertRatio(this.lossInBad, "lossInBad");
  }

  apply(_nowNs: number, _packet: FaultPacket, random: Prng, decision: FaultDecision): void {
    const loss = this.inBadState ? this.lossInBad : this.lossInGood;
    const lost = random.chance(loss.numerator, loss.denominator);
    const move = this.inBadState ? this.options.badToGood : this.options.goodToBad;
    if (random.chance(move.numerator, move.denominator)) this.inBadState = !this.inBadState;
    if (lost) decision.drop(Verdict.DROP_BURST_LOSS);
  }
}

/** Flips one random bit pattern in one random byte of a fraction of datagrams. */
export class Corruption implements FaultRule {
  readonly name = "corruption";
  constructor(readonly probability: Ratio) {
    assertRatio(probability, "corrupt");
  }
  apply(_nowNs: number, packet: FaultPacket, random: Prng, decision: FaultDecision): void {
    if (packet.length === 0) return;
    if (!random.chance(this.probability.numerator, this.probability.denominator)) return;
    decision.corrupt(random.intBelow(packet.length), 1 + random.intBelow(255));
  }
}

export interface DuplicationOptions {
  readonly probability: Ratio;
  /** The duplicate arrives this long after the original (before jitter). Default 0. */
  readonly delayNs?: number;
}

export class Duplication implements FaultRule {
  readonly name = "duplication";
  private readonly delayNs: number;
  constructor(readonly options: DuplicationOptions) {
    assertRatio(options.probability, "duplicate.probability");
    this.delayNs = options.delayNs ?? 0;
    assert(Number.isSafeInteger(this.delayNs) && this.delayNs >= 0, "duplicate.delayNs must be a non-negative integer");
  }
  apply(_nowNs: number, _packet: FaultPacket, random: Prng, decision: FaultDecision): void {
    if (random.chance(this.options.probability.numerator, this.options.probability.denominator)) {
      decision.duplicate(this.delayNs);
    }
  }
}

export interface ReorderOptions {
  readonly probability: Ratio;
  /** Extra delay for the chosen datagrams, so that later ones overtake them. */
  readonly delayNs: number;
}

export class Reordering implements FaultRule {
  readonly name = "reordering";
  constructor(readonly options: ReorderOptions) {
    assertRatio(options.probability, "reorder.probability");
    assert(Number.isSafeInteger(options.delayNs) && options.delayNs >= 0, "reorder.delayNs must be a non-negative integer");
  }
  apply(_nowNs: number, _packet: FaultPacket, random: Prng, decision: FaultDecision): void {
    if (random.chance(this.options.probability.numerator, this.options.probability.denominator)) {
      decision.delay(this.options.delayNs);
    }
  }
}

export type PacketPredicate = (packet: FaultPacket) => boolean;

/**
 * Scripted loss in Aeron's style: drops the next `count` datagrams that match `predicate` (all
 * datagrams when absent), then passes everything. arm(n) re-arms it mid-run.
 */
export class DropNext implements FaultRule {
  readonly name = "dropNext";
  remaining: number;
  constructor(
    count: number,
    private readonly predicate: PacketPredicate | null = null,
  ) {
    assert(Number.isSafeInteger(count) && count >= 0, "dropNext: count must be a non-negative integer");
    this.remaining = count;
  }
  arm(count: number): void {
    assert(Number.isSafeInteger(count) && count >= 0, "dropNext: count must be a non-negative integer");
    this.remaining = count;
  }
  apply(_nowNs: number, packet: FaultPacket, _random: Prng, decision: FaultDecision): void {
    if (this.remaining === 0) return;
    if (this.predicate !== null && !this.predicate(packet)) return;
    this.remaining--;
    decision.drop(Verdict.DROP_RULE);
  }
}

/** Drops every datagram that matches `predicate` while `enabled` (a switchable blackhole). */
export class DropWhere implements FaultRule {
  readonly name = "dropWhere";
  enabled = true;
  constructor(private readonly predicate: PacketPredicate) {}
  apply(_nowNs: number, packet: FaultPacket, _random: Prng, decision: FaultDecision): void {
    if (this.enabled && this.predicate(packet)) decision.drop(Verdict.DROP_RULE);
  }
}
