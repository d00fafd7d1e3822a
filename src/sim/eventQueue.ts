// The simulator's event queue: a binary min-heap ordered by (timeNs, sequence). The sequence number
// is assigned when an event is pushed or rescheduled, so events due at the same instant run in the
// order they were scheduled (FIFO) and a run never depends on the heap's internal layout.
//
// Events live in parallel typed arrays indexed by an event id (time, sequence, kind, target,
// payload); the heap itself is an array of ids, and each id knows its heap position so that an
// event can be rescheduled or cancelled in O(log n) without leaving a stale entry behind (a node's
// timer is one event id that moves as its deadline changes). Nothing is allocated per event: ids
// are recycled through a free list, and the arrays double in size up to a hard limit, beyond which
// push() throws. An unbounded queue hides a runaway feedback loop; a limit turns it into an error.
import { assert, assertIntegerInRange } from "./assert.js";

export interface EventQueueOptions {
  /** Events the queue may hold at once; pushing one more throws. Default 1,048,576. */
  readonly maxEvents?: number;
  /** Slots allocated up front. Default 1024 (or maxEvents when smaller). */
  readonly initialCapacity?: number;
}

export class EventQueueFullError extends Error {
  override readonly name = "EventQueueFullError";
}

const NOT_IN_HEAP = -1;

export class EventQueue {
  readonly maxEvents: number;
  private capacity: number;
  private timeNs: Float64Array;
  private sequence: Float64Array;
  private kinds: Int32Array;
  private targets: Int32Array;
  private payloads: Int32Array;
  /** id -> index in `heap`, or NOT_IN_HEAP for a free id. */
  private positions: Int32Array;
  /** heap index -> id. */
  private heap: Int32Array;
  // The ordering key of the event at each heap index (a copy of timeNs/sequence of heap[i]): the
  // sift loops compare these without going through the id (a pop was 22% of the kernel's time).
  private heapTimeNs: Float64Array;
  private heapSequence: Float64Array;
  private freeIds: Int32Array;
  private freeCount = 0;
  private nextSequence = 0;
  /** Ids handed out so far; ids below this are either in the heap or on the free list. */
  private highWater = 0;
  private count = 0;

  /** Fields of the event most recently removed by pop(). */
  poppedTimeNs = 0;
  poppedKind = 0;
  poppedTarget = 0;
  poppedPayload = 0;

  constructor(options: EventQueueOptions = {}) {
    this.maxEvents = options.maxEvents ?? 1 << 20;
    assertIntegerInRange(this.maxEvents, 1, 1 << 28, "maxEvents");
    const initial = Math.min(options.initialCapacity ?? 1024, this.maxEvents);
    assertIntegerInRange(initial, 1, this.maxEvents, "initialCapacity");
    this.capacity = initial;
    this.timeNs = new Float64Array(initial);
    this.sequence = new Float64Array(initial);
    this.kinds = new Int32Array(initial);
    this.targets = new Int32Array(initial);
    this.payloads = new Int32Array(initial);
    this.positions = new Int32Array(initial).fill(NOT_IN_HEAP);
    this.heap = new Int32Array(initial);
    this.heapTimeNs = new Float64Array(initial);
    this.heapSequence = new Float64Array(initial);
    this.freeIds = new Int32Array(initial);
  }

  get size(): number {
    return this.count;
  }

  /** Time of the earliest event, or +Infinity when the queue is empty. */
  peekTimeNs(): number {
    if (this.count === 0) return Number.POSITIVE_INFINITY;
    return this.heapTimeNs[0] as number;
  }

  /** Schedules an event; returns its id (valid until it is popped or cancelled). */
  push(timeNs: number, kind: number, target: number, payload: number): number {
    assert(timeNs === timeNs && timeNs !== Number.POSITIVE_INFINITY, "event time must be a finite number");
    const id = this.allocateId();
    this.timeNs[id] = timeNs;
    this.sequence[id] = this.nextSequence++;
    this.kinds[id] = kind;
    this.targets[id] = target;
    this.payloads[id] = payload;
    const index = this.count++;
    this.siftUp(index, id);
    return id;
  }

  /** True when `id` names an event still waiting in the queue. */
  isScheduled(id: number): boolean {
    return id >= 0 && id < this.highWater && (this.positions[id] ?? NOT_IN_HEAP) !== NOT_IN_HEAP;
  }

  timeOf(id: number): number {
    assert(this.isScheduled(id), "timeOf: event is not scheduled");
    return this.timeNs[id] ?? 0;
  }

  /** Moves a scheduled event to a new time; it queues behind events already due at that time. */
  reschedule(id: number, timeNs: number): void {
    assert(this.isScheduled(id), "reschedule: event is not scheduled");
    assert(timeNs === timeNs && timeNs !== Number.POSITIVE_INFINITY, "event time must be a finite number");
    const oldTimeNs = this.timeNs[id] ?? 0;
    this.timeNs[id] = timeNs;
    this.sequence[id] = this.nextSequence++;
    const index = this.positions[id] ?? 0;
    // A later (time, sequence) can only move down; an earlier time can only move up.
    if (timeNs < oldTimeNs) this.siftUp(index, id);
    else this.siftDown(index, id);
  }

  /** Removes a scheduled event without running it. */
  cancel(id: number): void {
    assert(this.isScheduled(id), "cancel: event is not scheduled");
    this.removeAt(this.positions[id] ?? 0);
    this.releaseId(id);
  }

  /**
   * Removes the earliest event and copies its fields into popped*; returns false when empty.
   * The id is recycled at once, so callers read the popped* fields, never the id.
   */
  pop(): boolean {
    if (this.count === 0) return false;
    const id = this.heap[0] ?? 0;
    this.poppedTimeNs = this.timeNs[id] ?? 0;
    this.poppedKind = this.kinds[id] ?? 0;
    this.poppedTarget = this.targets[id] ?? 0;
    this.poppedPayload = this.payloads[id] ?? 0;
    this.removeAt(0);
    this.releaseId(id);
    return true;
  }

  /** Checks the heap property and the id <-> position maps; for tests and debugging (O(n)). */
  verify(): void {
    for (let i = 0; i < this.count; i++) {
      const id = this.heap[i] ?? -1;
      assert(this.positions[id] === i, "verify: position map disagrees with heap");
      assert(this.heapTimeNs[i] === this.timeNs[id] && this.heapSequence[i] === this.sequence[id], "verify: heap keys disagree with events");
      if (i > 0) {
        const parent = this.heap[(i - 1) >> 1] ?? -1;
        assert(!this.before(id, parent), "verify: heap property violated");
      }
    }
    assert(this.count + this.freeCount === this.highWater, "verify: ids leaked");
  }

  private before(a: number, b: number): boolean {
    const ta = this.timeNs[a] ?? 0;
    const tb = this.timeNs[b] ?? 0;
    if (ta !== tb) return ta < tb;
    return (this.sequence[a] ?? 0) < (this.sequence[b] ?? 0);
  }

  private siftUp(start: number, id: number): void {
    const heap = this.heap;
    const positions = this.positions;
    const heapTimeNs = this.heapTimeNs;
    const heapSequence = this.heapSequence;
    const timeNs = this.timeNs[id] as number;
    const sequence = this.sequence[id] as number;
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parentTimeNs = heapTimeNs[parentIndex] as number;
      const parentSequence = heapSequence[parentIndex] as number;
      // Stop when the parent comes first: (time, sequence) pairs are unique, so never equal.
      if (parentTimeNs < timeNs || (parentTimeNs === timeNs && parentSequence < sequence)) break;
      const parent = heap[parentIndex] as number;
      heap[index] = parent;
      heapTimeNs[index] = parentTimeNs;
      heapSequence[index] = parentSequence;
      positions[parent] = index;
      index = parentIndex;
    }
    heap[index] = id;
    heapTimeNs[index] = timeNs;
    heapSequence[index] = sequence;
    positions[id] = index;
  }

  private siftDown(start: number, id: number): void {
    const heap = this.heap;
    const positions = this.positions;
    const heapTimeNs = this.heapTimeNs;
    const heapSequence = this.heapSequence;
    const timeNs = this.timeNs[id] as number;
    const sequence = this.sequence[id] as number;
    const count = this.count;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= count) break;
      let childIndex = left;
      let childTimeNs = heapTimeNs[left] as number;
      let childSequence = heapSequence[left] as number;
      const right = left + 1;
      if (right < count) {
        const rightTimeNs = heapTimeNs[right] as number;
        const rightSequence = heapSequence[right] as number;
        if (rightTimeNs < childTimeNs || (rightTimeNs === childTimeNs && rightSequence < childSequence)) {
          childIndex = right;
          childTimeNs = rightTimeNs;
          childSequence = rightSequence;
        }
      }
      if (timeNs < childTimeNs || (timeNs === childTimeNs && sequence < childSequence)) break;
      const child = heap[childIndex] as number;
      heap[index] = child;
      heapTimeNs[index] = childTimeNs;
      heapSequence[index] = childSequence;
      positions[child] = index;
      index = childIndex;
    }
    heap[index] = id;
    heapTimeNs[index] = timeNs;
    heapSequence[index] = sequence;
    positions[id] = index;
  }

  private removeAt(index: number): void {
    const removed = this.heap[index] ?? 0;
    this.positions[removed] = NOT_IN_HEAP;
    const lastIndex = --this.count;
    if (index === lastIndex) return;
    const last = this.heap[lastIndex] ?? 0;
    // The last element takes the hole; it may need to go either way.
    if (index > 0 && this.before(last, this.heap[(index - 1) >> 1] ?? 0)) this.siftUp(index, last);
    else this.siftDown(index, last);
  }

  private allocateId(): number {
    if (this.freeCount > 0) return this.freeIds[--this.freeCount] ?? 0;
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  private releaseId(id: number): void {
    this.freeIds[this.freeCount++] = id;
  }

  private grow(): void {
    if (this.capacity >= this.maxEvents) {
      throw new EventQueueFullError(
        `event queue full: ${this.maxEvents} events pending (raise maxEvents if the scenario really needs more)`,
      );
    }
    const capacity = Math.min(this.capacity * 2, this.maxEvents);
    const growF64 = (old: Float64Array): Float64Array => {
      const next = new Float64Array(capacity);
      next.set(old);
      return next;
    };
    const growI32 = (old: Int32Array, fill: number): Int32Array => {
      const next = new Int32Array(capacity).fill(fill);
      next.set(old);
      return next;
    };
    this.timeNs = growF64(this.timeNs);
    this.sequence = growF64(this.sequence);
    this.kinds = growI32(this.kinds, 0);
    this.targets = growI32(this.targets, 0);
    this.payloads = growI32(this.payloads, 0);
    this.positions = growI32(this.positions, NOT_IN_HEAP);
    this.heap = growI32(this.heap, 0);
    this.heapTimeNs = growF64(this.heapTimeNs);
    this.heapSequence = growF64(this.heapSequence);
    this.freeIds = growI32(this.freeIds, 0);
    this.capacity = capacity;
  }
}
