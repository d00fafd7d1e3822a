// Checkers that run during a simulation, at every message and every event, and fail fast: the first
// violation is recorded with the stream, the message index and the simulated time, and the runner
// stops there.
//  - StreamChecker (safety, per subscriber incarnation): messages arrive exactly once, in order,
//    byte-identical, contiguous. A subscriber that has been there from the start must begin at
//    message 0; one that restarted joins mid-stream (Aeron: a late joiner reads from its join
//    position), so it must be contiguous from its first message on. A message index embedded in
//    every payload is what makes both checkable.
//  - bounds: queues and memory stay bounded (datagrams in flight, pending events, images and
//    publications per engine).
// Liveness (every live stream completes within a bound once faults stop) is the runner's job: it
// needs to know when faults stop (scenario.ts).
import { StreamContent } from "./workloadStream.js";

export type ViolationKind = "safety" | "liveness" | "bound" | "exception";

export interface Violation {
  readonly kind: ViolationKind;
  /** Simulated (true) time of the check that failed. */
  readonly timeNs: number;
  /** Which stream (subscriber index), or -1 when the violation is not about one stream. */
  readonly stream: number;
  /** The message index concerned, or -1. */
  readonly messageIndex: number;
  readonly message: string;
}

export function formatViolation(violation: Violation): string {
  const where = violation.stream >= 0 ? ` stream ${violation.stream}` : "";
  const index = violation.messageIndex >= 0 ? ` message ${violation.messageIndex}` : "";
  return `${violation.kind} violation at ${violation.timeNs} ns${where}${index}: ${violation.message}`;
}

/** Where violations go: the first one is kept; later ones are ignored (fail fast). */
export class ViolationLog {
  first: Violation | null = null;

  report(violation: Violation): void {
    if (this.first === null) this.first = violation;
  }

  get failed(): boolean {
    return this.first !== null;
  }
}

/** Checks one subscriber incarnation's view of one stream as messages arrive. */
export class StreamChecker {
  /** The next message index expected, or -1 before the first message. */
  nextIndex: number;
  firstIndex = -1;
  received = 0;
  /** Images that became available to this subscription (a second one means the stream broke). */
  images = 0;

  constructor(
    readonly stream: number,
    readonly content: StreamContent,
    /** True for a subscriber there from the start: it must begin at message 0. */
    readonly fromStart: boolean,
    readonly incarnation: number,
    private readonly log: ViolationLog,
    private readonly clock: () => number,
  ) {
    this.nextIndex = fromStart ? 0 : -1;
  }

  /** A whole message arrived (the subscription's handler). Returns false once a violation was found. */
  onMessage(bytes: Uint8Array, offset: number, length: number): boolean {
    const index = StreamContent.indexOf(bytes, offset, length);
    const content = this.content;
    if (index < 0 || index >= content.count) {
      this.fail(index, `a message of ${length} bytes that is none of the ${content.count} sent (index field ${index})`);
      return false;
    }
    if (this.nextIndex >= 0 && index !== this.nextIndex) {
      const what = index < this.nextIndex ? "a duplicate or out-of-order message" : `a gap of ${index - this.nextIndex} message(s)`;
      this.fail(index, `${what}: expected message ${this.nextIndex}`);
      return false;
    }
    const difference = content.compare(bytes, offset, length, index);
    if (difference !== -1) {
      this.fail(index, difference === -2 ? `length ${length}, expected ${content.lengthOf(index)}` : `byte ${difference} differs`);
      return false;
    }
    if (this.firstIndex < 0) this.firstIndex = index;
    this.nextIndex = index + 1;
    this.received++;
    return true;
  }

  onImageAvailable(): void {
    this.images++;
    if (this.images > 1) this.fail(-1, `image number ${this.images} for one subscription: the stream was interrupted`);
  }

  private fail(index: number, message: string): void {
    this.log.report({
      kind: "safety",
      timeNs: this.clock(),
      stream: this.stream,
      messageIndex: index,
      message: `subscriber incarnation ${this.incarnation}${this.fromStart ? "" : " (joined late)"}: ${message}`,
    });
  }
}

/** Limits that must hold at every event. */
export interface Bounds {
  readonly inFlightDatagramsMax: number;
  readonly pendingEventsMax: number;
  readonly imagesPerEngineMax: number;
  readonly publicationsPerEngineMax: number;
}

/** Peaks observed, for reports and for tests that assert the bounds have headroom. */
export class Peaks {
  inFlightDatagrams = 0;
  pendingEvents = 0;
  imagesPerEngine = 0;
  publicationsPerEngine = 0;
}
