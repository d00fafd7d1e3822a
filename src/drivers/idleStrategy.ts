// Idle strategies: what an agent does after a duty cycle that found no work. Aeron's trio, adapted
// to Node's single thread, where "sleeping" must also let the event loop turn:
//  - busy-spin: never give up the thread (lowest latency; the loop still yields to the event loop
//    once per time slice so that timers and I/O callbacks run);
//  - yield: give the event loop one turn (setImmediate) after every idle cycle;
//  - backoff: spin a few idle cycles, then yield a few, then sleep with a doubling timeout up to a
//    maximum (lowest CPU when quiet);
//  - park: spin a little, then block in the kernel on the driver's sockets (poll) until a datagram
//    or the engine's next deadline (native driver only).
import { setImmediate as yieldToLoop, setTimeout as sleep } from "node:timers/promises";

/** What an idle strategy may ask of the agent it idles (EngineRuntime implements it). */
export interface IdleAgent {
  /** Blocks in the kernel until a datagram arrives, the engine's next deadline, or maxMs; false if the driver cannot block. */
  waitForWork(maxMs: number): boolean;
}

export interface IdleStrategy {
  readonly name: string;
  /**
   * Called after each duty cycle with the work it did. Returns undefined to run the next cycle at
   * once, or a promise to await first (one event-loop turn, or a sleep).
   */
  idle(workCount: number, agent?: IdleAgent): Promise<unknown> | undefined;
  reset(): void;
}

export class BusySpinIdleStrategy implements IdleStrategy {
  readonly name = "busy-spin";
  private lastYieldMs = performance.now();
  /** Spins at most this long before one event-loop turn (timers, I/O callbacks, other work). */
  constructor(readonly sliceMs = 5) {}

  idle(_workCount: number): Promise<unknown> | undefined {
    const now = performance.now();
    if (now - this.lastYieldMs < this.sliceMs) return undefined;
    this.lastYieldMs = now;
    return yieldToLoop();
  }

  reset(): void {}
}

export class YieldingIdleStrategy implements IdleStrategy {
  readonly name = "yield";
  private readonly busy = new BusySpinIdleStrategy();

  idle(workCount: number): Promise<unknown> | undefined {
    if (workCount > 0) return this.busy.idle(workCount);
    return yieldToLoop();
  }

  reset(): void {}
}

export interface BackoffOptions {
  readonly maxSpins?: number;
  readonly maxYields?: number;
  readonly minSleepMs?: number;
  readonly maxSleepMs?: number;
}

export class BackoffIdleStrategy implements IdleStrategy {
  readonly name = "backoff";
  private readonly maxSpins: number;
  private readonly maxYields: number;
  private readonly minSleepMs: number;
  private readonly maxSleepMs: number;
  private readonly busy = new BusySpinIdleStrategy();
  private spins = 0;
  private yields = 0;
  private sleepMs: number;

  constructor(options: BackoffOptions = {}) {
    this.maxSpins = options.maxSpins ?? 100;
    this.maxYields = options.maxYields ?? 10;
    this.minSleepMs = options.minSleepMs ?? 1;
    this.maxSleepMs = options.maxSleepMs ?? 16;
    this.sleepMs = this.minSleepMs;
  }

  idle(workCount: number): Promise<unknown> | undefined {
    if (workCount > 0) {
      this.reset();
      return this.busy.idle(workCount);
    }
    if (this.spins < this.maxSpins) {
      this.spins++;
      return this.busy.idle(workCount);
    }
    if (this.yields < this.maxYields) {
      this.yields++;
      return yieldToLoop();
    }
    const ms = this.sleepMs;
    this.sleepMs = Math.min(this.maxSleepMs, this.sleepMs * 2);
    return sleep(ms);
  }

  reset(): void {
    this.spins = 0;
    this.yields = 0;
    this.sleepMs = this.minSleepMs;
  }
}

/**
 * Spins a few idle cycles, then parks the thread in the kernel (poll(2) on the driver's sockets)
 * until a datagram arrives or the engine's next deadline, at most maxParkMs. Wakes within
 * microseconds of a datagram without burning a core, and so keeps its latency on a busy machine
 * where a spinning process loses whole scheduler slices. It blocks the event loop while parked
 * (for at most maxParkMs): for a process or worker that runs the agent and little else. Falls back
 * to backoff on a driver that cannot block (node:dgram).
 */
export class ParkingIdleStrategy implements IdleStrategy {
  readonly name = "park";
  private readonly busy = new BusySpinIdleStrategy();
  private readonly fallback = new BackoffIdleStrategy();
  private spins = 0;
  constructor(readonly maxSpins = 200, readonly maxParkMs = 1) {}

  idle(workCount: number, agent?: IdleAgent): Promise<unknown> | undefined {
    if (workCount > 0) {
      this.spins = 0;
      return this.busy.idle(workCount);
    }
    if (this.spins < this.maxSpins) {
      this.spins++;
      return this.busy.idle(workCount);
    }
    if (agent !== undefined && agent.waitForWork(this.maxParkMs)) return this.busy.idle(workCount);
    return this.fallback.idle(workCount);
  }

  reset(): void {
    this.spins = 0;
  }
}

export type IdleStrategyName = "busy-spin" | "yield" | "backoff" | "park";

export function idleStrategy(name: IdleStrategyName): IdleStrategy {
  switch (name) {
    case "busy-spin":
      return new BusySpinIdleStrategy();
    case "yield":
      return new YieldingIdleStrategy();
    case "backoff":
      return new BackoffIdleStrategy();
    case "park":
      return new ParkingIdleStrategy();
  }
}
