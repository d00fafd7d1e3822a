// Which end of a stream a journal recorded, for the `to=publisher|subscriber` frame filter: the end a
// datagram goes to is the journal's own for what it received, the other end for what it sent.
// - One journal: a publisher's engine added publications and no subscription; a subscriber's added
//   subscriptions (and had images) and no publication. An engine with both, or neither, has no one
//   role: a fault with to= is refused (FrameFilterError) rather than guessed.
// - Both ends' journals: each journal's role in the pair's sessions (journalPair.ts); a journal that
//   both publishes and subscribes in the pair is refused likewise.
import { FrameFilterError, formatFault, type FaultEnd, type FaultSpec } from "./frameFilter.js";
import { RecordType } from "./format.js";
import type { JournalPair } from "./journalPair.js";
import { JournalReader } from "./reader.js";

/** The fault that needs to know which end a datagram goes to, if any. */
export function faultWithTo(faults: ReadonlyArray<FaultSpec>): FaultSpec | undefined {
  return faults.find((f) => f.filter.to !== undefined);
}

/** The role of the engine `path` recorded (one pass over its command records). */
export function journalRole(path: string, fault: FaultSpec): FaultEnd {
  const reader = new JournalReader(path);
  let publications = 0;
  let subscriptions = 0;
  let images = 0;
  try {
    while (reader.next()) {
      switch (reader.type) {
        case RecordType.ADD_PUBLICATION:
          if ((JSON.parse(reader.text()) as { sessionId?: number }).sessionId !== undefined) publications++;
          break;
        case RecordType.ADD_SUBSCRIPTION:
          if ((JSON.parse(reader.text()) as { error?: unknown }).error === undefined) subscriptions++;
          break;
        case RecordType.IMAGE_AVAILABLE:
          images++;
          break;
        default:
          break;
      }
    }
  } finally {
    reader.close();
  }
  if (publications > 0 && subscriptions === 0) return "publisher";
  if (subscriptions > 0 && publications === 0) return "subscriber";
  throw new FrameFilterError(`'${formatFault(fault)}': to= needs the journal's role, and ${path} has none: its engine added ` +
    `${publications} publications, ${subscriptions} subscriptions (${images} images); to= works on a journal of a publisher only or a subscriber only`);
}

/** Each journal's role in a pair, in the pair's order (a, b). */
export function pairRoles(pair: JournalPair, fault: FaultSpec): [FaultEnd, FaultEnd] {
  const roleOf = (path: string): FaultEnd => {
    const publishes = pair.sessions.some((s) => s.publisher === path);
    const subscribes = pair.sessions.some((s) => s.subscriber === path);
    if (publishes !== subscribes) return publishes ? "publisher" : "subscriber";
    throw new FrameFilterError(`'${formatFault(fault)}': to= needs each journal's role, and ${path} both publishes and subscribes in this pair's sessions`);
  };
  return [roleOf(pair.a.path), roleOf(pair.b.path)];
}
