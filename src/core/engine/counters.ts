// System counters, named after an Aeron media driver's (PROTOCOL.md section 11). They live in one
// preallocated Float64Array (exact integers up to 2^53) indexed by a fixed id, so incrementing one
// on the hot path is a single store. Names are for reports; ids are for code.

export const Counter = {
  BYTES_SENT: 0,
  BYTES_RECEIVED: 1,
  FRAMES_SENT: 2,
  FRAMES_RECEIVED: 3,
  DATAGRAMS_SENT: 4,
  DATAGRAMS_RECEIVED: 5,
  NAKS_SENT: 6,
  NAKS_RECEIVED: 7,
  STATUS_MESSAGES_SENT: 8,
  STATUS_MESSAGES_RECEIVED: 9,
  HEARTBEATS_SENT: 10,
  HEARTBEATS_RECEIVED: 11,
  RETRANSMITS_SENT: 12,
  RETRANSMITTED_BYTES: 13,
  RETRANSMIT_OVERFLOW: 14,
  FLOW_CONTROL_UNDER_RUNS: 15,
  FLOW_CONTROL_OVER_RUNS: 16,
  INVALID_PACKETS: 17,
  ERRORS: 18,
  SHORT_SENDS: 19,
  SENDER_FLOW_CONTROL_LIMITS: 20,
  LOSS_GAP_FILLS: 21,
  SETUPS_SENT: 22,
  SETUPS_RECEIVED: 23,
  RTTM_SENT: 24,
  RTTM_RECEIVED: 25,
  ERROR_FRAMES_SENT: 26,
  ERROR_FRAMES_RECEIVED: 27,
  UNKNOWN_SESSION_FRAMES: 28,
  UNKNOWN_STREAM_FRAMES: 29,
  PUBLICATIONS_ACTIVE: 30,
  IMAGES_ACTIVE: 31,
  SUBSCRIPTIONS_ACTIVE: 32,
  IMAGES_CREATED: 33,
  IMAGES_TIMED_OUT: 34,
  DATA_FRAMES_SENT: 35,
  DATA_FRAMES_RECEIVED: 36,
  DUPLICATE_DATA_FRAMES: 37,
  STATUS_MESSAGES_SETUP_REQUESTED: 38,
  NAKS_IGNORED: 39,
  DATAGRAMS_DROPPED_NO_ENDPOINT: 40,
  TRANSMIT_BATCH_FULL: 41,
  // Issue #11, hostile networks: retransmit limits, source pinning and RTTM replies.
  RETRANSMITS_OUTSIDE_WINDOW: 42,
  PINNED_CONTROL_MISMATCHES: 43,
  PINNED_DATA_MISMATCHES: 44,
  RTTM_REPLIES_DROPPED: 45,
  // Issue #11, the image memory budget.
  IMAGES_REFUSED_LIMIT: 46,
  IMAGES_REFUSED_SOURCE_LIMIT: 47,
  IMAGES_REFUSED_BUDGET: 48,
  SETUPS_INVALID: 49,
  IMAGE_ALLOCATION_FAILURES: 50,
  IMAGES_EVICTED_UNJOINED: 51,
  IMAGE_LOG_BYTES_RESERVED: 52,
  IMAGE_LOG_BYTES_ALLOCATED: 53,
  IMAGE_LOG_BYTES_CLEANED: 54,
  // Issue #12, sender side (ids from 60; 55-59 are left for other work). Status messages with the
  // EOS flag taken (the receiver closed); error frames dropped (malformed, or for no publication
  // here) and error frames surfaced to the application; receivers a publication could not track
  // (its liveness table was full).
  STATUS_MESSAGES_EOS_RECEIVED: 60,
  ERROR_FRAMES_DROPPED: 61,
  PUBLICATION_ERROR_FRAMES: 62,
  RECEIVER_LIVENESS_OVERFLOW: 63,
  // Issue #12, receiver side (ids from 70; 55-69 are other branches').
  RTTM_REPLIES_OTHER_RECEIVER: 70,
  FRAMES_DROPPED_COOL_DOWN: 71,
} as const;

export type CounterId = (typeof Counter)[keyof typeof Counter];

export const COUNTER_COUNT = 72;

const names: string[] = [];
for (const [name, id] of Object.entries(Counter)) names[id] = name.toLowerCase().replace(/_/g, " ");

/** Human-readable name of each counter, by id ("naks sent"). */
export const COUNTER_NAMES: ReadonlyArray<string> = names;

export class Counters {
  readonly values = new Float64Array(COUNTER_COUNT);

  get(id: CounterId): number {
    return this.values[id] ?? 0;
  }

  /** A snapshot keyed by lower-case counter name, for reports and tests (allocates: cold path). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    // Ids not in use (gaps between the ranges branches own) are left out.
    for (let id = 0; id < COUNTER_COUNT; id++) {
      const name = COUNTER_NAMES[id];
      if (name !== undefined) out[name] = this.values[id] ?? 0;
    }
    return out;
  }
}
