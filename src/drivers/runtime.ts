// The runtime agent: the loop that joins an Engine (pure, clock-free) to a Driver (real sockets).
// One duty cycle, in the order the engine's contract asks for:
//   1. read the clock once (nowNs for the whole cycle);
//   2. open and close the sockets the engine asks for (pollEndpointEvent);
//   2b. timers that are due, then transmit what the application appended since the last cycle
//      (transmitFirst, the default):
//      an offer leaves in the next cycle's first system call, not after its receive calls;
//   3. receive: a few driver batches, each datagram handed to handleDatagram;
//   4. handleTimeout when the engine's deadline (pollTimeout) has come;
//   5. transmit: pollTransmit into the driver's batch and send it, until the engine has nothing
//      due (a send the socket could not take stays for the next cycle, ahead of anything new).
// It returns the work done, so that an idle strategy can back off when there was none.
//
// Mode (a), the application's thread: call doWork() yourself between your own offer/poll calls,
// or start() a loop that calls doWork() and an optional application callback, idling by strategy.
// Nothing here allocates per datagram or per cycle.
import type { Engine, EndpointEvent, EndpointInfo } from "../core/engine/engine.js";
import type { TransmitBatch } from "../core/transmitBatch.js";
import type { Driver, OpenedEndpoint } from "./driver.js";
import { DriverError } from "./driverError.js";
import { BusySpinIdleStrategy, type IdleAgent, type IdleStrategy } from "./idleStrategy.js";
import { fitDriverMtu } from "./slots.js";

/**
 * Sees each received datagram before the engine does; returns true to drop it. For fault injection
 * on real links (tests) and for taps. Must not keep the bytes.
 */
export interface DatagramFilter {
  drop(nowNs: number, fromIp: number, fromPort: number, endpointId: number, bytes: Uint8Array, offset: number, length: number): boolean;
}

/**
 * Sees every call the runtime makes into the engine, after the call: src/journal's recorder
 * implements it to record a live run. With a journal the runtime calls pollTransmit only in cycles
 * that had work (a datagram, a timer, an endpoint event, an application command, a send left over),
 * as the simulator does, so that an idle busy-spinning loop records nothing.
 */
export interface RuntimeJournal {
  onDatagram(nowNs: number, fromIp: number, fromPort: number, endpointId: number, bytes: Uint8Array, offset: number, length: number): void;
  onTimeout(nowNs: number): void;
  /** pollTransmit(nowNs, batch) filled slots [0, count) of an emptied batch. */
  onTransmit(nowNs: number, batch: TransmitBatch, count: number): void;
  onEndpointEvent(event: EndpointEvent): void;
  /** The runtime's transport check (slot lengths) refused an add; the add throws `error`. */
  onTransportCheckFailed(channel: string, mtuBytes: number, role: "send" | "receive", error: unknown): void;
  /** True when the application acted on the engine since the last call (and resets it). */
  takeApplicationWork(): boolean;
  /** The end of a duty cycle: the journal may write its block (on its cadence). */
  onCycleEnd(nowNs: number): void;
}

export interface RuntimeOptions {
  readonly idle?: IdleStrategy;
  /** Drops received datagrams before the engine sees them (fault injection). */
  readonly receiveFilter?: DatagramFilter;
  /** Monotonic nanoseconds (default: performance.now() scaled; never goes backwards). */
  readonly clockNs?: () => number;
  /** Receive batches read per duty cycle at most (default 4): bounds a cycle's length. */
  readonly receiveBatchesPerCycle?: number;
  /** Transmit batches sent per duty cycle at most (default 16). */
  readonly transmitBatchesPerCycle?: number;
  /** Called when opening an endpoint fails (default: rethrow from doWork). */
  readonly onEndpointError?: (error: DriverError, endpoint: EndpointInfo) => void;
  /** Records every call into the engine (src/journal: JournalRecorder). Default none. */
  readonly journal?: RuntimeJournal;
  /**
   * Transmit at the start of each duty cycle too, before receiving (default true): what the
   * application offered since the last cycle is sent by the cycle's first system call instead of
   * waiting behind the receive calls (a round trip crosses two such waits). With a journal, only in
   * a cycle after application work. False: transmit only after receiving and timers.
   */
  readonly transmitFirst?: boolean;
}

export function monotonicClockNs(): number {
  return Math.round(performance.now() * 1e6);
}

export interface RuntimeCounters {
  cycles: number;
  datagramsReceived: number;
  datagramsFiltered: number;
  datagramsSent: number;
  /** Cycles that ended with datagrams left in the transmit batch (socket buffer full). */
  sendsDeferred: number;
}

export class EngineRuntime implements IdleAgent {
  readonly engine: Engine;
  readonly driver: Driver;
  readonly counters: RuntimeCounters = { cycles: 0, datagramsReceived: 0, datagramsFiltered: 0, datagramsSent: 0, sendsDeferred: 0 };
  private readonly idle: IdleStrategy;
  private readonly filter: DatagramFilter | undefined;
  private readonly clockNs: () => number;
  private readonly receiveBatches: number;
  private readonly transmitBatches: number;
  private readonly onEndpointError: ((error: DriverError, endpoint: EndpointInfo) => void) | undefined;
  private readonly journal: RuntimeJournal | undefined;
  private readonly transmitFirst: boolean;
  private readonly opened = new Map<number, OpenedEndpoint>();
  /** Slots [pendingStart, transmit.count) of the transmit batch still to send. */
  private pendingStart = 0;
  private lastNowNs = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(engine: Engine, driver: Driver, options: RuntimeOptions = {}) {
    this.engine = engine;
    this.driver = driver;
    this.idle = options.idle ?? new BusySpinIdleStrategy();
    this.filter = options.receiveFilter;
    this.clockNs = options.clockNs ?? monotonicClockNs;
    this.receiveBatches = options.receiveBatchesPerCycle ?? 4;
    this.transmitBatches = options.transmitBatchesPerCycle ?? 16;
    this.onEndpointError = options.onEndpointError;
    this.transmitFirst = options.transmitFirst ?? true;
    const journal = (this.journal = options.journal);
    driver.transmit.clear();
    // Slots follow the channel: every publication and subscription added from now on is checked
    // against the driver's slots at add time (they grow, or the add throws SlotTooSmallError), and
    // so are the publications the engine already has. Nothing is truncated later, and doWork never
    // meets a datagram longer than a slot.
    for (const publication of engine.publications) fitDriverMtu(driver, publication.channel, publication.mtu, "send");
    engine.setTransportCheck(journal === undefined
      ? (channel, mtuBytes, role) => fitDriverMtu(this.driver, channel, mtuBytes, role)
      : (channel, mtuBytes, role) => {
        try {
          fitDriverMtu(this.driver, channel, mtuBytes, role);
        } catch (error) {
          journal.onTransportCheckFailed(channel, mtuBytes, role, error);
          throw error;
        }
      });
  }

  /** The socket opened for an engine endpoint (its ephemeral port, buffer sizes), if open. */
  endpoint(endpointId: number): OpenedEndpoint | undefined {
    return this.opened.get(endpointId);
  }

  /** One duty cycle. Returns the work done (datagrams moved, timers run, endpoints changed). */
  doWork(): number {
    let nowNs = this.clockNs();
    // The engine refuses time that goes backwards; a clock that rounds can repeat, never regress.
    if (nowNs < this.lastNowNs) nowNs = this.lastNowNs;
    this.lastNowNs = nowNs;
    this.counters.cycles++;
    const engine = this.engine;
    let work = this.handleEndpointEvents();

    const driver = this.driver;
    const rx = driver.receive;
    const filter = this.filter;
    const journal = this.journal;
    // What the application offered since the last cycle leaves first (see RuntimeOptions).
    // With a journal this consumes the application-work flag, so the cycle's end transmits again
    // only for a datagram, a timer or a send left over.
    // Timers that are due run before it, as before every pollTransmit: a send can move the
    // deadline that asked for a timer (an image's status message does), which would skip it.
    if (this.transmitFirst && (journal === undefined || journal.takeApplicationWork())) {
      work += this.runTimers(nowNs);
      work += this.transmit(nowNs);
    }
    for (let b = 0; b < this.receiveBatches; b++) {
      const count = driver.pollBatch(rx);
      if (count === 0) break;
      const slotLength = rx.slotLength;
      for (let i = 0; i < count; i++) {
        const offset = i * slotLength;
        const length = rx.lengths[i]!;
        const ip = rx.sourceIps[i]!;
        const port = rx.sourcePorts[i]!;
        const endpointId = rx.endpointIds[i]!;
        if (filter !== undefined && filter.drop(nowNs, ip, port, endpointId, rx.bytes, offset, length)) {
          this.counters.datagramsFiltered++;
          continue;
        }
        engine.handleDatagram(nowNs, ip, port, endpointId, rx.bytes, offset, length);
        if (journal !== undefined) journal.onDatagram(nowNs, ip, port, endpointId, rx.bytes, offset, length);
      }
      this.counters.datagramsReceived += count;
      work += count;
      if (count < rx.capacity) break;
    }

    work += this.runTimers(nowNs);
    if (journal === undefined) return work + this.transmit(nowNs);
    // Journaling: poll the engine's output only when something happened (see RuntimeJournal).
    if (journal.takeApplicationWork() || work > 0 || this.pendingStart < driver.transmit.count) work += this.transmit(nowNs);
    journal.onCycleEnd(nowNs);
    return work;
  }

  /** handleTimeout when the engine's deadline has come; 1 if it ran. */
  private runTimers(nowNs: number): number {
    if (this.engine.pollTimeout() > nowNs) return 0;
    this.engine.handleTimeout(nowNs);
    if (this.journal !== undefined) this.journal.onTimeout(nowNs);
    return 1;
  }

  private transmit(nowNs: number): number {
    const driver = this.driver;
    const tx = driver.transmit;
    let sent = 0;
    if (this.pendingStart < tx.count) {
      const n = driver.transmitBatch(tx, this.pendingStart);
      this.pendingStart += n;
      sent += n;
      if (this.pendingStart < tx.count) {
        this.counters.sendsDeferred++;
        this.counters.datagramsSent += sent;
        return sent;
      }
    }
    for (let b = 0; b < this.transmitBatches; b++) {
      tx.clear();
      this.pendingStart = 0;
      const count = this.engine.pollTransmit(nowNs, tx);
      if (this.journal !== undefined) this.journal.onTransmit(nowNs, tx, count);
      if (count === 0) break;
      const n = driver.transmitBatch(tx, 0);
      this.pendingStart = n;
      sent += n;
      if (n < count) {
        this.counters.sendsDeferred++;
        break;
      }
      if (count < tx.capacity) break;
    }
    this.counters.datagramsSent += sent;
    return sent;
  }

  private handleEndpointEvents(): number {
    let work = 0;
    for (let event = this.engine.pollEndpointEvent(); event !== undefined; event = this.engine.pollEndpointEvent()) {
      work++;
      this.journal?.onEndpointEvent(event);
      if (event.type === "close") {
        this.driver.close(event.endpointId);
        this.opened.delete(event.endpointId);
        continue;
      }
      try {
        this.opened.set(event.endpoint.id, this.driver.open(event.endpoint));
      } catch (error) {
        if (!(error instanceof DriverError) || this.onEndpointError === undefined) throw error;
        this.onEndpointError(error, event.endpoint);
      }
    }
    return work;
  }

  /**
   * Blocks (native driver only) until a datagram can be read, the engine's next deadline comes, or
   * maxMs passes. Returns false at once when the driver cannot block or the deadline is now.
   */
  waitForWork(maxMs: number): boolean {
    const driver = this.driver;
    if (driver.waitForReceive === undefined) return false;
    const deadlineNs = this.engine.pollTimeout();
    const untilDeadlineMs = Math.floor((deadlineNs - this.clockNs()) / 1e6);
    const timeoutMs = Math.max(0, Math.min(maxMs, 1000, untilDeadlineMs));
    if (timeoutMs <= 0) return true;
    driver.waitForReceive(timeoutMs);
    return true;
  }

  /**
   * Runs duty cycles until stop(): each cycle calls doWork(), then `application` (the app's own
   * offers and polls, returning its work count), then idles by the strategy. Resolves when stopped;
   * rejects if a cycle throws.
   */
  start(application?: () => number): Promise<void> {
    if (this.running) throw new Error("EngineRuntime already started");
    this.running = true;
    const idle = this.idle;
    const run = async (): Promise<void> => {
      while (this.running) {
        let work = this.doWork();
        if (application !== undefined) work += application();
        const wait = idle.idle(work, this);
        if (wait !== undefined) await wait;
      }
    };
    this.loop = run().finally(() => {
      this.running = false;
    });
    return this.loop;
  }

  /** Stops the start() loop after its current cycle; resolves when it has stopped. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.loop !== undefined) await this.loop.catch(() => undefined);
    this.loop = undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Stops, closes the engine's endpoints in the driver and disposes of the driver. */
  async close(): Promise<void> {
    await this.stop();
    this.engine.setTransportCheck(undefined);
    this.driver.dispose();
    this.opened.clear();
  }
}
