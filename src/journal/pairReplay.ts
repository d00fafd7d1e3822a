// Both ends' journals replayed with other faults (`petrel replay a.pjournal b.pjournal --drop ...`):
// the two engines run against each other over a virtual link, so that a fault on what one end sends
// (dir=tx) or receives (dir=rx) is answered by the other end's live engine (a NAK repaired, a window
// reopened), not by a script.
//
// - The journals are paired first (journalPair.ts). Time: the first journal's clock; the second's
//   records are placed on it by the pairing's clock offset. The two replays advance together, the
//   one whose next timed record comes first going next.
// - Up to the first datagram a fault changes, both replays are bit-exact, checked as without
//   faults. Meanwhile the datagrams each engine sends are kept as in flight on the link until the
//   other journal records receiving them.
// - From the first change on, both engines run live: the recorded datagrams are no longer fed; a
//   datagram an engine sends arrives at the other the link's one-way delay later (the pairing's
//   estimate, or `linkDelayNs`), from the address and on the endpoint the recording had for that
//   route; what was in flight at the change arrives likewise. Timers run at their deadlines, the
//   two engines stepping together by at most the link delay (nothing one does can reach the other
//   sooner, so the interleaving is exact). The applications act at their recorded times: polls as
//   recorded; a publisher offers, in order, the messages the recording appended, retrying one the
//   engine refuses at its next offer or step (the message sequence stays the recording's); closes
//   wait until the end. Random draws come from generators seeded with each journal's seed.
// - After both journals end, both engines run `drainNs` (2 s) more, polling and offering.
// - The verdict: each image's messages exactly once and in order (safety); each subscriber
//   delivered at least as many messages as its recording did, and each publisher offered
//   everything its recording appended (liveness).
// Faults apply to datagrams of both ends: dir=tx to what an engine sends, dir=rx to what it
// receives (a datagram on the link is tested as sent, then as received), no dir to the link (each
// datagram tested once, as sent); `t` is time from the pair's first timed record; `to=` is the
// receiving journal's role in the pair (the sending journal's peer).
import type { EngineConfig } from "../core/config/engineConfig.js";
import type { TransmitBatch } from "../core/transmitBatch.js";
import { FrameFault, type FaultEnd, type FaultSpec } from "./frameFilter.js";
import { faultWithTo, pairRoles } from "./faultEnds.js";
import { hashBytes, WordView } from "./hash.js";
import { pairJournals, type JournalPair, type LinkRoute } from "./journalPair.js";
import { DivergenceSignal, Replayer, type Divergence, type ReplayHooks, type ReplayResult } from "./replay.js";

export interface PairFaultOptions {
  readonly faults: ReadonlyArray<FaultSpec>;
  readonly config?: Partial<EngineConfig>;
  /** Simulated time both engines run on after both journals end (default 2 s). */
  readonly drainNs?: number;
  /** The link's one-way delay, ns (default: the pairing's estimate from the recording). */
  readonly linkDelayNs?: number;
  /** Called about once a second (`progressIntervalMs`) during a long replay: records applied (both journals) and pair time covered. */
  readonly onProgress?: (progress: { readonly records: number; readonly pairSeconds: number; readonly live: boolean; readonly wallSeconds: number }) => void;
  readonly progressIntervalMs?: number;
}

export interface PairFaultedResult {
  readonly pair: JournalPair;
  /** Each journal's replay, in the order given (its `faulted` part: its own delivered and recorded messages). */
  readonly results: readonly [ReplayResult, ReplayResult];
  readonly linkDelayNs: number;
  /** Whether any fault changed a datagram; where first (which journal's record, and pair time). */
  readonly changed: boolean;
  readonly firstChange?: { readonly file: string; readonly recordIndex: number; readonly relNs: number };
  readonly dropped: number;
  readonly delayed: number;
  /** Live datagrams with no route the recording knew (sent somewhere the other end never received from). */
  readonly unroutable: number;
  /** The journal that diverged before the first change, if one did. */
  readonly diverged?: string;
  readonly violations: ReadonlyArray<{ readonly kind: "safety" | "liveness"; readonly file: string; readonly message: string }>;
  /** Bit-exact up to the change and no violation. */
  readonly ok: boolean;
}

interface InFlight {
  readonly sentNs: number;
  readonly bytes: Uint8Array;
  readonly hash: number;
  readonly senderEndpoint: number;
  readonly destIp: number;
  readonly destPort: number;
}

/** How far back the bit-exact phase keeps sent datagrams that the other end has not recorded receiving (lost, or late). */
const IN_FLIGHT_KEEP_NS = 1e9;
/** The smallest step the live engines take together (a smaller link delay is rounded up to it). */
const MIN_STEP_NS = 10_000;

/** Pairs both ends' journals (a JournalPairError when they are not one run's) and replays them with faults. */
export function replayJournalPairWithFaults(pathA: string, pathB: string, options: PairFaultOptions): PairFaultedResult {
  return replayPairWithFaults(pairJournals(pathA, pathB), options);
}

/** The same for a pair already checked (a shrink replays one pair many times). */
export function replayPairWithFaults(pair: JournalPair, options: PairFaultOptions): PairFaultedResult {
  return new PairReplay(pair, options).run();
}

class PairReplay implements ReplayHooks {
  private readonly replayers: [Replayer, Replayer];
  /** Each journal's clock minus the pair's (the first journal's). */
  private readonly shift: [number, number];
  private readonly startNs: number;
  private readonly linkDelayNs: number;
  private readonly faults: FrameFault[];
  private readonly routes: [ReadonlyArray<LinkRoute>, ReadonlyArray<LinkRoute>];
  private readonly inFlight: [InFlight[], InFlight[]] = [[], []];
  private readonly words = new WordView();
  private live = false;
  private syncedNs = 0;
  private changeSide = -1;
  private changeRelNs = 0;
  private dropped = 0;
  private delayed = 0;
  private unroutable = 0;
  private readonly more: [boolean, boolean] = [true, true];
  /** Each journal's role (a, b), when a fault has to=. */
  private readonly roles: readonly [FaultEnd, FaultEnd] | undefined;

  constructor(private readonly pair: JournalPair, private readonly options: PairFaultOptions) {
    const withTo = faultWithTo(options.faults);
    this.roles = withTo === undefined ? undefined : pairRoles(pair, withTo);
    const replayOptions = options.config === undefined ? {} : { config: options.config };
    this.replayers = [new Replayer(pair.a.path, replayOptions, this), new Replayer(pair.b.path, replayOptions, this)];
    this.shift = [0, pair.clockOffsetNs];
    this.startNs = Math.min(pair.a.firstTimeNs, pair.b.firstTimeNs - pair.clockOffsetNs);
    this.linkDelayNs = Math.max(0, options.linkDelayNs ?? pair.oneWayDelayNs);
    this.faults = options.faults.map((spec) => new FrameFault(spec));
    this.routes = [pair.routesAToB, pair.routesBToA];
  }

  run(): PairFaultedResult {
    const [r0, r1] = this.replayers;
    const more = this.more;
    let current = 0;
    let divergence: Divergence | undefined;
    const started = performance.now();
    let lastProgress = started;
    let records = 0;
    try {
      more[0] = r0.advance();
      more[1] = r1.advance();
      // Bounded: each turn applies one record of a journal (or ends it).
      while (more[0] || more[1]) {
        const t0 = more[0] ? r0.recordTimeNs() : undefined;
        const t1 = more[1] ? r1.recordTimeNs() : undefined;
        let side: number;
        if (more[0] && t0 === undefined) side = 0;
        else if (more[1] && t1 === undefined) side = 1;
        else if (!more[1]) side = 0;
        else if (!more[0]) side = 1;
        else side = t0! - this.shift[0] <= t1! - this.shift[1] ? 0 : 1;
        const t = side === 0 ? t0 : t1;
        if (this.live && t !== undefined) this.syncTo(t - this.shift[side]!);
        current = side;
        this.replayers[side]!.applyCurrent();
        more[side] = this.replayers[side]!.advance();
        if ((++records & 255) === 0 && this.options.onProgress !== undefined) {
          const now = performance.now();
          if (now - lastProgress >= (this.options.progressIntervalMs ?? 1000)) {
            lastProgress = now;
            const pairNs = Math.max(...this.replayers.map((r, i) => r.timeNs - this.shift[i]!));
            this.options.onProgress({ records, pairSeconds: (pairNs - this.startNs) / 1e9, live: this.live, wallSeconds: (now - started) / 1000 });
          }
        }
      }
      if (this.live) this.drain();
    } catch (error) {
      if (!(error instanceof DivergenceSignal)) throw error;
      divergence = this.replayers[current]!.divergenceOf(error);
    }
    const results = [
      r0.finish(current === 0 ? divergence : undefined),
      r1.finish(current === 1 ? divergence : undefined),
    ] as const;
    const violations: Array<{ kind: "safety" | "liveness"; file: string; message: string }> = [];
    if (this.live) {
      for (const [i, result] of results.entries()) {
        for (const v of result.faulted!.violations) violations.push({ ...v, file: result.file });
        const queued = this.replayers[i]!.queuedOffers;
        if (queued > 0) {
          violations.push({ kind: "liveness", file: result.file, message: `${queued} messages the recording appended could not be offered by the end (back pressure)` });
        }
      }
    }
    const diverged = divergence === undefined ? undefined : results[current]!.file;
    return {
      pair: this.pair,
      results,
      linkDelayNs: this.linkDelayNs,
      changed: this.live,
      ...(this.changeSide < 0 ? {} : {
        firstChange: { file: results[this.changeSide]!.file, recordIndex: results[this.changeSide]!.faulted!.firstChangeRecord, relNs: this.changeRelNs },
      }),
      dropped: this.dropped,
      delayed: this.delayed,
      unroutable: this.unroutable,
      ...(diverged === undefined ? {} : { diverged }),
      violations,
      ok: diverged === undefined && violations.length === 0,
    };
  }

  private sideOf(replayer: Replayer): number {
    return replayer === this.replayers[0] ? 0 : 1;
  }

  /** The first fault that picks this datagram, if any; `toSide`: the journal it goes to. */
  private pick(dir: "rx" | "tx", toSide: number, pairNs: number, bytes: Uint8Array, offset: number, length: number): FrameFault | undefined {
    const relNs = pairNs - this.startNs;
    const to = this.roles?.[toSide];
    for (const fault of this.faults) {
      // A fault without a direction acts on the link once: where the datagram is sent.
      if (dir === "rx" && fault.spec.filter.dir === undefined) continue;
      if (fault.test(dir, relNs, bytes, offset, length, to)) return fault;
    }
    return undefined;
  }

  transmitted(replayer: Replayer, nowNs: number, batch: TransmitBatch, count: number): void {
    const side = this.sideOf(replayer);
    const pairNs = nowNs - this.shift[side]!;
    const queue = this.inFlight[side]!;
    if (!this.live) {
      // Bounded: what the other end has not recorded receiving within a second was lost.
      while (queue.length > 0 && queue[0]!.sentNs < pairNs - IN_FLIGHT_KEEP_NS) queue.shift();
    }
    for (let i = 0; i < count; i++) {
      const at = i * batch.slotLength;
      const length = batch.lengths[i]!;
      let sentNs = pairNs;
      const fault = this.faults.length === 0 ? undefined : this.pick("tx", 1 - side, pairNs, batch.bytes, at, length);
      if (fault !== undefined) {
        this.goLive(side, pairNs);
        if (fault.spec.kind === "drop") {
          this.dropped++;
          continue;
        }
        this.delayed++;
        sentNs += fault.spec.delayNs ?? 0;
      }
      const bytes = batch.bytes.slice(at, at + length);
      const endpoint = batch.endpointIds[i]!;
      const ip = batch.destinationIps[i]!;
      const port = batch.destinationPorts[i]!;
      if (this.live) {
        this.send(side, sentNs, bytes, endpoint, ip, port);
      } else {
        queue.push({ sentNs, bytes, hash: hashBytes(this.words, bytes, 0, length), senderEndpoint: endpoint, destIp: ip, destPort: port });
      }
    }
  }

  received(replayer: Replayer, nowNs: number, ip: number, port: number, endpoint: number, bytes: Uint8Array, offset: number, length: number): boolean {
    // Live: the link carries the datagrams; the recorded ones are the old run's.
    if (this.live) return true;
    const side = this.sideOf(replayer);
    const pairNs = nowNs - this.shift[side]!;
    // No longer in flight: the recording received it (search bounded to the oldest 512).
    const hash = hashBytes(this.words, bytes, offset, length);
    const queue = this.inFlight[1 - side]!;
    for (let k = 0; k < queue.length && k < 512; k++) {
      if (queue[k]!.hash === hash) {
        queue.splice(k, 1);
        break;
      }
    }
    const fault = this.faults.length === 0 ? undefined : this.pick("rx", side, pairNs, bytes, offset, length);
    if (fault === undefined) return false;
    this.goLive(side, pairNs);
    if (fault.spec.kind === "drop") {
      this.dropped++;
    } else {
      this.delayed++;
      replayer.deliver(nowNs + (fault.spec.delayNs ?? 0), bytes.slice(offset, offset + length), ip, port, endpoint);
    }
    return true;
  }

  /** The first change: both engines live from here; what was in flight arrives over the link. */
  private goLive(side: number, pairNs: number): void {
    if (this.live) return;
    this.live = true;
    this.changeSide = side;
    this.changeRelNs = pairNs - this.startNs;
    this.syncedNs = pairNs;
    this.replayers[0].goLive(this.changeRelNs);
    this.replayers[1].goLive(this.changeRelNs);
    for (const from of [0, 1]) {
      const queue = this.inFlight[from]!;
      for (const d of queue) {
        if (d.sentNs + this.linkDelayNs >= pairNs) this.send(from, d.sentNs, d.bytes, d.senderEndpoint, d.destIp, d.destPort);
      }
      queue.length = 0;
    }
  }

  /** A live datagram from `from` onto the link: to the other engine a link delay later, by the recording's route. */
  private send(from: number, sentNs: number, bytes: Uint8Array, senderEndpoint: number, destIp: number, destPort: number): void {
    const routes = this.routes[from]!;
    const route = routes.find((r) => r.senderEndpoint === senderEndpoint && r.destIp === destIp && r.destPort === destPort)
      ?? routes.find((r) => r.destIp === destIp && r.destPort === destPort)
      ?? routes.find((r) => r.senderEndpoint === senderEndpoint);
    if (route === undefined) {
      this.unroutable++;
      return;
    }
    let arrivalNs = sentNs + this.linkDelayNs;
    const fault = this.faults.length === 0 ? undefined : this.pick("rx", 1 - from, arrivalNs, bytes, 0, bytes.length);
    if (fault !== undefined) {
      if (fault.spec.kind === "drop") {
        this.dropped++;
        return;
      }
      this.delayed++;
      arrivalNs += fault.spec.delayNs ?? 0;
    }
    const to = 1 - from;
    this.replayers[to]!.deliver(arrivalNs + this.shift[to]!, bytes, route.fromIp, route.fromPort, route.receiverEndpoint);
  }

  /** Live: both engines step together to `pairNs`, by at most the link delay at a time. */
  private syncTo(pairNs: number): void {
    const step = Math.max(MIN_STEP_NS, this.linkDelayNs);
    // Bounded: each turn moves the pair's time forward by at least MIN_STEP_NS.
    while (this.syncedNs < pairNs) {
      this.syncedNs = Math.min(pairNs, this.syncedNs + step);
      for (const side of [0, 1]) {
        // A journal that has ended: its application keeps polling (it would, until its stream is done).
        this.replayers[side]!.runUntil(this.syncedNs + this.shift[side]!, !this.more[side]);
      }
    }
  }

  private drain(): void {
    const endNs = Math.max(this.syncedNs, ...this.replayers.map((r, side) => r.timeNs - this.shift[side]!)) + (this.options.drainNs ?? 2e9);
    this.syncTo(endNs);
  }
}
