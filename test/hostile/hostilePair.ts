// An engine pair carrying a live reference stream while HostileGenerator's datagrams hit both
// engines: the engine-level half of issue #11's hostile-traffic suite, shared by
// test/hostile/fuzz.test.ts and bench/fuzz.ts.
//
// The loop is bench/engine.ts's back-to-back pair (no queue, no PRNG per real datagram: each
// datagram goes from one engine's transmit batch straight into the other's handleDatagram), with
// hostile datagrams injected between the turns from third-party addresses and from the real
// peer's own address. Time is virtual: 1 us per turn, with occasional jumps of up to 50 ms so
// that timers (SM, NAK, SETUP, heartbeat, RTTM) fire under attack too, and rare ones of 1 to 3 s
// so that hostile images time out; no jump comes near the live pair's own timeouts, so the live
// stream can only fail through the engines.
//
// Every handle*/poll* call is guarded: a throw ends the run with the call, the error and the
// latest hostile datagrams (hex) in the failure. The live messages carry their index, a length
// derived from it and a byte pattern of it; the subscriber checks exactly once, in order, intact.
// Memory is checked as the run goes (RSS, cheap) and at the end (heapUsed after a full GC).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Counter } from "../../src/core/engine/counters.js";
import { Engine, type EngineOptions } from "../../src/core/engine/engine.js";
import { ADMIN_ACTION, BACK_PRESSURED } from "../../src/core/engine/networkPublication.js";
import type { Publication } from "../../src/core/engine/publication.js";
import type { Subscription } from "../../src/core/engine/subscription.js";
import type { FragmentHeader } from "../../src/core/logbuffer/fragmentHeader.js";
import { ipv4 } from "../../src/core/address.js";
import { TransmitBatch } from "../../src/core/transmitBatch.js";
import { Prng } from "../../src/sim/prng.js";
import {
  CaptureRing,
  HOSTILE_KIND_NAMES,
  HostileGenerator,
  Target,
  hex,
  knownAttackOf,
  pinnedChannel,
  SOURCE_PINNING,
  type LiveContext,
} from "./hostileFrames.js";

export const LIVE_STREAM_ID = 1001;
const IP_A = ipv4(127, 0, 0, 1);
const IP_B = ipv4(127, 0, 0, 2);
const PORT_A = 40000;
const PORT_B = 20121;
/** 64 KiB terms: the live stream rotates terms every few hundred messages, under attack. */
export const LIVE_CHANNEL = pinnedChannel(`aeron:udp?endpoint=127.0.0.2:${PORT_B}|term-length=64k`);
/** Addresses that are not the live peer: other hosts, and the peers' own hosts on other ports. */
const THIRD_PARTY_IPS = [ipv4(10, 9, 8, 7), ipv4(127, 0, 0, 3), IP_A, IP_B, ipv4(192, 168, 1, 200)];

/**
 * Extra EngineOptions for both engines under attack: the image memory budget (issue #11, attacks
 * 2 and 3) well inside RSS_BOUND_BYTES, so that what hostile images can commit is bounded by
 * construction (reservations: 3 × term length each, the live stream's 64 KiB terms included).
 */
export const HOSTILE_ENGINE_OPTIONS: Partial<EngineOptions> = { imageLogBudgetBytes: 64 * 1024 * 1024 };

/**
 * Diagnostics only: PETREL_HOSTILE_EXCLUDE=1,2 leaves datagrams carrying those known attacks
 * (knownAttackOf) out of the run, to look past them on a branch where they are not fixed yet.
 * Empty by default, and CI never sets it.
 */
export const EXCLUDED_ATTACKS: ReadonlySet<number> = new Set(
  (process.env["PETREL_HOSTILE_EXCLUDE"] ?? "").split(",").filter((s) => s.trim() !== "").map(Number),
);

/**
 * Diagnostics only: PETREL_HOSTILE_ASSUME_PINNED=1 sends live-session spoofs from third parties as
 * if the live stream were source-pinned, without the parameter: on a branch without pinning this
 * shows attack 7 (the run must fail). CI never sets it.
 */
const PINNED_TRAFFIC = SOURCE_PINNING || process.env["PETREL_HOSTILE_ASSUME_PINNED"] === "1";

/** Growth of RSS over the run's start that fails it (checked every 128 hostile datagrams). */
export const RSS_BOUND_BYTES = 256 * 1024 * 1024;
/** Growth of heapUsed after a full GC, with the pair still alive, that fails the run. */
export const HEAP_BOUND_BYTES = 64 * 1024 * 1024;

/** A full GC (exposed without --expose-gc, so that it works inside vitest's workers). */
export const fullGc: () => void = (() => {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === "function") return existing;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

export function heapUsedAfterGc(): number {
  fullGc();
  fullGc();
  return process.memoryUsage().heapUsed;
}

/** Length of live message `index`: 8..127 mostly, some up to an MTU, a few fragmented. */
export function liveMessageLength(index: number): number {
  const h = Math.imul(index ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  const bucket = h % 100;
  return bucket < 90 ? 8 + (h >>> 8) % 120 : bucket < 98 ? 128 + (h >>> 8) % 1248 : 1377 + (h >>> 8) % 2800;
}

function fillLiveMessage(out: Uint8Array, index: number, length: number): void {
  out[0] = index & 255;
  out[1] = (index >>> 8) & 255;
  out[2] = (index >>> 16) & 255;
  out[3] = (index >>> 24) & 255;
  const base = Math.imul(index, 131);
  for (let i = 4; i < length; i++) out[i] = (base + i) & 255;
}

export interface HostileRunOptions {
  readonly seed: number;
  /** Hostile datagrams to send in this run (half to each engine). */
  readonly datagrams: number;
  /** RSS at the start of the whole test, the base for RSS_BOUND_BYTES. */
  readonly baselineRssBytes: number;
  /** heapUsed after GC at the start of the whole test; undefined skips the heap check. */
  readonly baselineHeapBytes?: number;
}

export interface HostileRunResult {
  readonly seed: number;
  readonly failure: string | undefined;
  readonly hostileSent: number;
  readonly liveOffered: number;
  readonly liveReceived: number;
  readonly foreignMessages: number;
  readonly defused: number;
  readonly byKind: Record<string, number>;
  readonly publisher: Record<string, number>;
  readonly subscriber: Record<string, number>;
  readonly peakRssGrowthBytes: number;
  readonly heapGrowthBytes: number | undefined;
}

class HostileCaseFailure extends Error {}

const SHARED_BATCH = new TransmitBatch(256, 2048);

/** One run: a fresh pair, a fresh generator from `seed`, `datagrams` hostile datagrams, then the stream must complete. */
export function runHostileCase(options: HostileRunOptions): HostileRunResult {
  return new HostilePair(options).run();
}

class HostilePair {
  private readonly a: Engine;
  private readonly b: Engine;
  private readonly publication: Publication;
  private readonly subscription: Subscription;
  /** One batch for every pair (a pair's output fits 2 KiB slots: the live MTU is 1408). */
  private readonly batch = SHARED_BATCH;
  private readonly captures = new CaptureRing(64, 4096);
  private readonly prng: Prng;
  private readonly generator: HostileGenerator;
  private readonly live: LiveContext;
  private readonly message = new Uint8Array(8192);
  private readonly aSendEndpoint: number;
  private readonly bReceiveEndpoint: number;
  private nowNs = 0;
  private hostileSent = 0;
  private liveOffered = 0;
  private liveReceived = 0;
  private foreignMessages = 0;
  private failure: string | undefined;
  private peakRssGrowthBytes = 0;
  /** The latest hostile datagrams per engine, for the report when an engine throws later. */
  private readonly recent: [RecentRing, RecentRing] = [new RecentRing(), new RecentRing()];
  private readonly handler = (buffer: Uint8Array, offset: number, length: number, header: FragmentHeader): void => {
    if (header.sessionId !== this.live.sessionId || header.streamId !== LIVE_STREAM_ID) {
      this.foreignMessages++;
      return;
    }
    if (this.failure !== undefined) return;
    const index = this.liveReceived;
    const expected = liveMessageLength(index);
    if (length !== expected) return this.fail(`live message ${index}: length ${length}, expected ${expected}`);
    const got = (buffer[offset]! | (buffer[offset + 1]! << 8) | (buffer[offset + 2]! << 16) | (buffer[offset + 3]! << 24)) >>> 0;
    if (got !== index >>> 0) return this.fail(`live message ${index}: carries index ${got} (lost, duplicated or reordered)`);
    const base = Math.imul(index, 131);
    for (let i = 4; i < length; i++) {
      if (buffer[offset + i] !== ((base + i) & 255)) return this.fail(`live message ${index}: byte ${i} differs (forged or corrupted)`);
    }
    this.liveReceived++;
  };

  constructor(private readonly options: HostileRunOptions) {
    this.prng = new Prng(options.seed);
    const engineOptions = HOSTILE_ENGINE_OPTIONS;
    this.a = new Engine({ ...engineOptions, random: this.prng.fork("publisher") });
    this.b = new Engine({ ...engineOptions, random: this.prng.fork("subscriber") });
    this.subscription = this.b.addSubscription(LIVE_CHANNEL, LIVE_STREAM_ID);
    this.publication = this.a.addPublication(LIVE_CHANNEL, LIVE_STREAM_ID);
    this.aSendEndpoint = openedEndpoint(this.a);
    this.bReceiveEndpoint = openedEndpoint(this.b);
    const network = this.a.publications[0]!;
    this.live = {
      sessionId: this.publication.sessionId,
      streamId: LIVE_STREAM_ID,
      initialTermId: network.initialTermId,
      termLength: network.termLength,
      activeTermId: network.initialTermId,
      termOffset: 0,
    };
    this.generator = new HostileGenerator(this.prng.fork("hostile"), this.live, this.captures);
  }

  run(): HostileRunResult {
    try {
      // The handshake runs clean: a third-party SETUP for the live session before the real one
      // would legitimately win the image (first SETUP wins, as in Aeron).
      for (let i = 0; i < 100 && !this.publication.isConnected; i++) this.turn(0);
      if (!this.publication.isConnected) this.fail("the pair did not connect");
      const perTurn = 8;
      while (this.hostileSent < this.options.datagrams) {
        this.offer(4);
        this.turn(Math.min(perTurn, this.options.datagrams - this.hostileSent));
        if ((this.hostileSent & 127) < perTurn) this.checkRss();
      }
      // Quiet: the stream must complete everything offered. Bounded by simulated time (10 s).
      const target = this.liveOffered;
      for (let turns = 0; this.liveReceived < target && turns < 100_000; turns++) {
        this.nowNs += 99_000; // + 1 us in turn(): 100 us per quiet turn
        this.turn(0);
      }
      if (this.liveReceived < target) this.fail(`live stream stalled: received ${this.liveReceived} of ${target} offered`);
      this.checkRss();
    } catch (error) {
      if (!(error instanceof HostileCaseFailure)) throw error;
    }
    let heapGrowthBytes: number | undefined;
    if (this.options.baselineHeapBytes !== undefined) {
      // Measured with the pair alive: what it holds after the attack is what counts.
      heapGrowthBytes = heapUsedAfterGc() - this.options.baselineHeapBytes;
      if (this.failure === undefined && heapGrowthBytes > HEAP_BOUND_BYTES) {
        this.failure = `heapUsed after GC grew ${(heapGrowthBytes / 1048576).toFixed(1)} MiB (bound ${HEAP_BOUND_BYTES / 1048576} MiB)`;
      }
    }
    const byKind: Record<string, number> = {};
    HOSTILE_KIND_NAMES.forEach((name, i) => (byKind[name] = this.generator.stats.byKind[i]!));
    return {
      seed: this.options.seed,
      failure: this.failure,
      hostileSent: this.hostileSent,
      liveOffered: this.liveOffered,
      liveReceived: this.liveReceived,
      foreignMessages: this.foreignMessages,
      defused: this.generator.stats.defused,
      byKind,
      publisher: this.a.counters.snapshot(),
      subscriber: this.b.counters.snapshot(),
      peakRssGrowthBytes: this.peakRssGrowthBytes,
      heapGrowthBytes,
    };
  }

  private fail(message: string): never {
    this.failure ??= message;
    throw new HostileCaseFailure(message);
  }

  private guard(what: string, engine: 0 | 1, call: () => void): void {
    try {
      call();
    } catch (error) {
      if (error instanceof HostileCaseFailure) throw error;
      const recent = this.recent[engine].describe().join("\n    ");
      this.fail(`${what} on the ${engine === 0 ? "publisher" : "subscriber"} threw ${String(error)}\n  latest hostile datagrams to it (oldest first):\n    ${recent}`);
    }
  }

  private checkRss(): void {
    const growth = process.memoryUsage.rss() - this.options.baselineRssBytes;
    if (growth > this.peakRssGrowthBytes) this.peakRssGrowthBytes = growth;
    if (growth > RSS_BOUND_BYTES) {
      this.fail(`RSS grew ${(growth / 1048576).toFixed(0)} MiB over the test's start (bound ${RSS_BOUND_BYTES / 1048576} MiB); ` +
        `subscriber images created ${this.b.counters.get(Counter.IMAGES_CREATED)}, active ${this.b.counters.get(Counter.IMAGES_ACTIVE)}`);
    }
    const budget = HOSTILE_ENGINE_OPTIONS.imageLogBudgetBytes;
    const reserved = this.b.counters.get(Counter.IMAGE_LOG_BYTES_RESERVED);
    if (budget !== undefined && (reserved > budget || this.b.counters.get(Counter.IMAGE_LOG_BYTES_ALLOCATED) > reserved)) {
      this.fail(`image log budget broken: reserved ${reserved}, allocated ${this.b.counters.get(Counter.IMAGE_LOG_BYTES_ALLOCATED)}, budget ${budget}`);
    }
  }

  private offer(count: number): void {
    // Bounded: at most `count` messages, fewer when back-pressured.
    for (let k = 0; k < count; k++) {
      const index = this.liveOffered;
      const length = liveMessageLength(index);
      fillLiveMessage(this.message, index, length);
      let result = 0;
      this.guard("offer", 0, () => {
        result = this.publication.offer(this.message, 0, length);
      });
      if (result === ADMIN_ACTION) continue;
      if (result === BACK_PRESSURED || result < 0) return;
      this.liveOffered++;
    }
  }

  /** One turn: both engines run, real datagrams cross, `hostile` hostile datagrams hit them (half each). */
  private turn(hostile: number): void {
    const r = this.prng;
    // Mostly 1 us; now and then up to 50 ms (timers fire under attack), and rarely 1 to 3 s, so
    // that hostile images reach their 10 s liveness timeout and go within a run. 3 s stays below
    // the publication's 5 s connection timeout: the live pair exchanges SMs every turn.
    const roll = r.intBelow(512);
    const step = roll === 0 ? 1_000 + r.intBelow(50_000_000) : roll < 5 ? 1_000_000_000 + r.intBelow(2_000_000_000) : 1_000;
    const now = (this.nowNs += step);
    const a = this.a;
    const b = this.b;
    this.guard("handleTimeout", 0, () => {
      if (a.pollTimeout() <= now) a.handleTimeout(now);
    });
    this.transfer(0, now);
    const toB = hostile >> 1;
    for (let i = 0; i < toB; i++) this.inject(Target.SUBSCRIBER, now);
    this.guard("handleTimeout", 1, () => {
      if (b.pollTimeout() <= now) b.handleTimeout(now);
    });
    this.guard("subscription.poll", 1, () => {
      // Bounded: the subscription drains what has arrived, 64 polls at most.
      for (let k = 0; k < 64 && this.subscription.poll(this.handler, 256) > 0; k++) {
        /* drain */
      }
    });
    if (this.failure !== undefined) this.fail(this.failure);
    this.transfer(1, now);
    for (let i = toB; i < hostile; i++) this.inject(Target.PUBLISHER, now);
    // What the generator knows of the live stream: where the publisher is now.
    const network = a.publications[0];
    if (network !== undefined) {
      const position = network.senderPosition;
      this.live.activeTermId = (network.initialTermId + Math.floor(position / network.termLength)) | 0;
      this.live.termOffset = position & (network.termLength - 1);
    }
  }

  /** Drains one engine's pollTransmit into the other; datagrams for anyone else (attackers) are dropped. */
  private transfer(from: 0 | 1, now: number): void {
    const batch = this.batch;
    const source = from === 0 ? this.a : this.b;
    const destination = from === 0 ? this.b : this.a;
    const toIp = from === 0 ? IP_B : IP_A;
    const toPort = from === 0 ? PORT_B : PORT_A;
    const fromIp = from === 0 ? IP_A : IP_B;
    const fromPort = from === 0 ? PORT_A : PORT_B;
    const toEndpoint = from === 0 ? this.bReceiveEndpoint : this.aSendEndpoint;
    const target = from === 0 ? Target.SUBSCRIBER : Target.PUBLISHER;
    // Bounded: an engine has finitely much due at one instant.
    for (let pass = 0; pass < 10_000; pass++) {
      batch.clear();
      let n = 0;
      this.guard("pollTransmit", from, () => {
        n = source.pollTransmit(now, batch);
      });
      const bytes = batch.bytes;
      for (let slot = 0; slot < batch.count; slot++) {
        if (batch.destinationIps[slot] !== toIp || batch.destinationPorts[slot] !== toPort) continue;
        const offset = batch.slotOffset(slot);
        const length = batch.lengths[slot]!;
        if ((this.prng.nextUint32() & 15) === 0) this.captures.capture(bytes, offset, length, target);
        try {
          destination.handleDatagram(now, fromIp, fromPort, toEndpoint, bytes, offset, length);
        } catch (error) {
          this.guard("handleDatagram (real)", from === 0 ? 1 : 0, () => {
            throw error;
          });
        }
      }
      if (n < batch.capacity) return;
    }
    this.fail(`pollTransmit of the ${from === 0 ? "publisher" : "subscriber"} never drained`);
  }

  private inject(target: Target, now: number): void {
    const r = this.prng;
    // One in four from the live peer's own address (the hardest case for the rule); the rest from
    // third parties, some on the peers' own hosts.
    const fromPeer = r.intBelow(4) === 0;
    let length = this.generator.next(target, fromPeer, PINNED_TRAFFIC);
    // Bounded: a known attack is redrawn at most 16 times (diagnostic exclusion only).
    for (let k = 0; k < 16 && EXCLUDED_ATTACKS.size > 0 && EXCLUDED_ATTACKS.has(knownAttackOf(this.generator.view, 0, length)); k++) {
      length = this.generator.next(target, fromPeer, PINNED_TRAFFIC);
    }
    const engineIndex = target === Target.PUBLISHER ? 0 : 1;
    const engine = engineIndex === 0 ? this.a : this.b;
    let fromIp: number;
    let fromPort: number;
    if (fromPeer) {
      fromIp = target === Target.PUBLISHER ? IP_B : IP_A;
      fromPort = target === Target.PUBLISHER ? PORT_B : PORT_A;
    } else {
      fromIp = THIRD_PARTY_IPS[r.intBelow(THIRD_PARTY_IPS.length)]!;
      fromPort = r.intBelow(4) === 0 ? 1 + r.intBelow(65535) : 50000 + r.intBelow(4);
      // Never the peer's exact address by chance.
      if ((fromIp === IP_A && fromPort === PORT_A) || (fromIp === IP_B && fromPort === PORT_B)) fromPort = 50000;
    }
    const realEndpoint = engineIndex === 0 ? this.aSendEndpoint : this.bReceiveEndpoint;
    const endpointId = r.intBelow(64) === 0 ? (r.intBelow(2) === 0 ? -1 : 999) : realEndpoint;
    this.recent[engineIndex].add(this.generator.scratch, length, fromPeer, this.generator.kind);
    try {
      engine.handleDatagram(now, fromIp, fromPort, endpointId, this.generator.scratch, 0, length);
    } catch (error) {
      this.guard("handleDatagram (hostile)", engineIndex, () => {
        throw error;
      });
    }
    this.hostileSent++;
  }
}

/** The latest 8 hostile datagrams sent to one engine (their first 96 bytes), kept without allocating. */
class RecentRing {
  private readonly bytes = new Uint8Array(8 * 96);
  private readonly lengths = new Int32Array(8);
  private readonly meta = new Int32Array(8);
  private next = 0;
  private count = 0;

  add(source: Uint8Array, length: number, fromPeer: boolean, kind: number): void {
    const slot = this.next;
    this.bytes.set(source.subarray(0, Math.min(length, 96)), slot * 96);
    this.lengths[slot] = length;
    this.meta[slot] = (fromPeer ? 16 : 0) | kind;
    this.next = (slot + 1) & 7;
    if (this.count < 8) this.count++;
  }

  describe(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.next - this.count + i + 8) & 7;
      const meta = this.meta[slot]!;
      out.push(`${(meta & 16) !== 0 ? "peer" : "third party"} ${HOSTILE_KIND_NAMES[meta & 15]}: ` +
        `${hex(this.bytes, slot * 96, this.lengths[slot]!, 96)}`);
    }
    return out;
  }
}

function openedEndpoint(engine: Engine): number {
  const event = engine.pollEndpointEvent();
  if (event?.type !== "open") throw new Error("expected an endpoint to open");
  return event.endpoint.id;
}

/** The counters worth a line in a report. */
export function summarize(result: HostileRunResult): string {
  const p = result.publisher;
  const s = result.subscriber;
  const pick = (c: Record<string, number>, names: string[]) => names.map((n) => `${n} ${c[n] ?? 0}`).join(", ");
  return `seed ${result.seed}: ${result.hostileSent} hostile datagrams (${JSON.stringify(result.byKind)}, ${result.defused} defused), ` +
    `live ${result.liveReceived}/${result.liveOffered}, foreign messages ${result.foreignMessages}, peak RSS growth ` +
    `${(result.peakRssGrowthBytes / 1048576).toFixed(0)} MiB, heap growth ${result.heapGrowthBytes === undefined ? "-" : (result.heapGrowthBytes / 1048576).toFixed(1) + " MiB"}\n` +
    `  publisher: ${pick(p, ["invalid packets", "naks received", "retransmits sent", "retransmitted bytes", "rttm received", "rttm sent", "status messages received", "unknown session frames", "errors"])}\n` +
    `  subscriber: ${pick(s, ["invalid packets", "images created", "images active", "images timed out", "setups received", "flow control over runs", "duplicate data frames", "unknown session frames", "errors"])}`;
}
