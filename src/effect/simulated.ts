// A user's Effect program on a simulated host, in simulated time. The program's Clock is the host's
// local clock (Effect.sleep, Schedule, timeouts and Clock.currentTimeMillis all read or wait on it),
// and its fibers run on a scheduler whose tasks run inside the host's ticks. Nothing waits on a
// real timer, a microtask or setImmediate, so a run is as deterministic as the simulation itself:
// the same seed gives the same timeline, and 10 simulated seconds take a fraction of a second.
//
//   sim.host("pub", (host) => {
//     const node = attachEngine(host);
//     const publication = node.engine.addPublication(channel, 10);
//     const effects = new SimulatedEffects(node);
//     effects.fork(Effect.gen(function* () {
//       for (let i = 0; i < 100; i++) {
//         while (publication.offer(tick(i)) < 0) yield* Effect.sleep("1 millis");
//         yield* Effect.sleep("10 millis");       // simulated: costs no wall time
//       }
//     }));
//   });
//
// What runs here: pure Effects, fibers, Effect.sleep/Schedule/timeouts, Queue, Ref, Stream of
// them, and plain calls on the simulated engine (offer, poll). What does not: Effects that wait on
// the real world (Effect.promise over real I/O, real timers); they never resume inside a
// simulation, which runs synchronously.
import { Clock, Duration, Effect, Exit, type Fiber, Option } from "effect";
import { MixedScheduler, Scheduler } from "effect/Scheduler";
import type { EngineHost } from "../sim/engineHost.js";

interface Timer {
  readonly atNs: number;
  readonly seq: number;
  readonly resume: () => void;
  cancelled: boolean;
}

/** Task rounds run per tick before the rest waits for another tick at the same instant. */
const MAX_ROUNDS_PER_TICK = 100_000;

export interface SimulatedEffectsOptions {
  /** Wall-clock epoch (ms since 1970) that simulated time 0 maps to (default: 0). */
  readonly epochMs?: number;
}

/** Runs Effect programs on one simulated host, with the host's local time as their Clock. */
export class SimulatedEffects {
  private readonly tasks: Array<() => void> = [];
  private readonly timers: Timer[] = [];
  private timerSeq = 0;
  private readonly scheduler: MixedScheduler;
  private readonly clock: Clock.Clock;

  constructor(private readonly node: EngineHost, options: SimulatedEffectsOptions = {}) {
    const epochMs = options.epochMs ?? 0;
    this.scheduler = new MixedScheduler("async", (task) => this.schedule(task));
    const nowNs = (): number => node.nowNs();
    const sleep = (duration: Duration.Input): Effect.Effect<void> => {
      const nanos = Duration.toNanos(duration);
      if (Option.isNone(nanos)) return Effect.never;
      const delayNs = Number(nanos.value);
      if (delayNs <= 0) return Effect.yieldNow;
      return Effect.callback<void>((resume) => {
        const timer = this.addTimer(nowNs() + delayNs, () => resume(Effect.void));
        return Effect.sync(() => {
          timer.cancelled = true;
        });
      });
    };
    this.clock = {
      currentTimeMillisUnsafe: () => epochMs + Math.floor(nowNs() / 1e6),
      currentTimeMillis: Effect.sync(() => epochMs + Math.floor(nowNs() / 1e6)),
      currentTimeNanosUnsafe: () => BigInt(epochMs) * 1_000_000n + BigInt(nowNs()),
      currentTimeNanos: Effect.sync(() => BigInt(epochMs) * 1_000_000n + BigInt(nowNs())),
      monotonicTimeNanosUnsafe: () => BigInt(nowNs()),
      monotonicTimeNanos: Effect.sync(() => BigInt(nowNs())),
      sleep,
    };
    node.onTick((now) => this.tick(now));
  }

  /**
   * Starts `program` on this host (it begins at the host's next tick). The returned fiber can be
   * observed (`fiber.pollUnsafe()`, `exitOf`) or interrupted like any other.
   */
  fork<A, E>(program: Effect.Effect<A, E>): Fiber.Fiber<A, E> {
    const provided = program.pipe(Effect.provideService(Clock.Clock, this.clock), Effect.provideService(Scheduler, this.scheduler));
    const fiber = Effect.runFork(provided, { scheduler: this.scheduler });
    this.node.wakeAt(this.node.nowNs());
    return fiber;
  }

  /** The fiber's exit if it has finished, else undefined. */
  static exitOf<A, E>(fiber: Fiber.Fiber<A, E>): Exit.Exit<A, E> | undefined {
    return fiber.pollUnsafe();
  }

  /** Timers and tasks still waiting (0 once every program finished). */
  get pending(): number {
    return this.tasks.length + this.timers.filter((t) => !t.cancelled).length;
  }

  private schedule(task: () => void): () => void {
    let cancelled = false;
    this.tasks.push(() => {
      if (!cancelled) task();
    });
    this.node.wakeAt(this.node.nowNs());
    return () => {
      cancelled = true;
    };
  }

  private addTimer(atNs: number, resume: () => void): Timer {
    const timer: Timer = { atNs, seq: this.timerSeq++, resume, cancelled: false };
    // Sorted by time, then by creation: timers due at one instant fire in the order they were set.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.atNs > atNs) i--;
    this.timers.splice(i, 0, timer);
    this.node.wakeAt(atNs);
    return timer;
  }

  private tick(nowNs: number): void {
    const timers = this.timers;
    while (timers.length > 0 && timers[0]!.atNs <= nowNs) {
      const timer = timers.shift()!;
      if (!timer.cancelled) timer.resume();
    }
    for (let round = 0; this.tasks.length > 0; round++) {
      if (round === MAX_ROUNDS_PER_TICK) {
        this.node.wakeAt(nowNs); // a busy program: the rest runs at the next tick, same instant
        break;
      }
      const batch = this.tasks.splice(0, this.tasks.length);
      for (let i = 0; i < batch.length; i++) batch[i]!();
    }
    if (timers.length > 0) this.node.wakeAt(timers[0]!.atNs);
  }
}
