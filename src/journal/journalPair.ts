// Both ends' journals of one run (`petrel replay pub.pjournal sub.pjournal`): checks that two
// journals belong together, then replays each one bit-exact.
//
// Two journals are a pair when
// - they are two journals (another journal id), not one file given twice;
// - a publication of one is an image of the other: an ADD_PUBLICATION's stream and session id are
//   an IMAGE_AVAILABLE's of the other journal (a subscriber that never saw an image of the other
//   end's publication did not take part in the same run);
// - the datagrams one sent are datagrams the other received: each TRANSMIT record carries a hash of
//   every datagram sent (hash.ts), so the hash of each DATAGRAM record's bytes is looked up among
//   the other journal's sent hashes; some must match in each direction;
// - where a matched datagram arrived on a socket bound to a known port (a subscription's endpoint,
//   from the ENDPOINT_EVENT records), the sender sent it to that port.
// A pair that fails any of these is refused with a JournalPairError saying which and why.
//
// The matched datagrams also give the link's one-way delay. Each process's runtime clock starts at
// its own origin (performance.now()), so a receiver's DATAGRAM time minus the sender's TRANSMIT time
// is the delay plus the clocks' offset one way and the delay minus it the other way: as NTP does,
// the delay is the mean of the two directions' medians and the offset half their difference
// (assuming the link is as slow one way as the other).
import { RecordType } from "./format.js";
import { hashBytes, WordView } from "./hash.js";
import { JournalReader } from "./reader.js";
import { replayJournal, type ReplayOptions, type ReplayResult } from "./replay.js";

/** What pairing needs from one journal (one pass over it). */
export interface JournalSummary {
  readonly path: string;
  readonly journalId: number;
  /** Publications added (a session id: the add succeeded). */
  readonly publications: ReadonlyArray<{ readonly channel: string; readonly streamId: number; readonly sessionId: number }>;
  /** Images that became available to a subscription, with the subscription's channel. */
  readonly images: ReadonlyArray<{ readonly channel: string; readonly streamId: number; readonly sessionId: number }>;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  /** The first timed record's time (its runtime's clock), ns; 0 when it has none. */
  readonly firstTimeNs: number;
}

/**
 * Where a datagram one end sent arrived at the other: sent from `senderEndpoint` to
 * `destIp:destPort`, it came to `receiverEndpoint` from `fromIp:fromPort` (the sender's socket).
 * Learnt from the matched datagrams; a pair replay with faults routes its live datagrams by it.
 */
export interface LinkRoute {
  readonly senderEndpoint: number;
  readonly destIp: number;
  readonly destPort: number;
  readonly fromIp: number;
  readonly fromPort: number;
  readonly receiverEndpoint: number;
}

/** A session one journal published and the other subscribed to. */
export interface PairedSession {
  /** The journal that published it and the one that had its image. */
  readonly publisher: string;
  readonly subscriber: string;
  readonly streamId: number;
  readonly sessionId: number;
  readonly publicationChannel: string;
  readonly subscriptionChannel: string;
}

export interface JournalPair {
  readonly a: JournalSummary;
  readonly b: JournalSummary;
  readonly sessions: ReadonlyArray<PairedSession>;
  /** How the datagrams a sent reached b, and those b sent reached a. */
  readonly routesAToB: ReadonlyArray<LinkRoute>;
  readonly routesBToA: ReadonlyArray<LinkRoute>;
  /** Of the datagrams a received, how many b sent (by hash), and the other way round. */
  readonly aReceivedFromB: number;
  readonly bReceivedFromA: number;
  /** The link's one-way delay, ns: the mean of the two directions' median (receive time - send time), at least 0. */
  readonly oneWayDelayNs: number;
  /** b's clock minus a's, ns: half the difference of the two directions' medians. */
  readonly clockOffsetNs: number;
}

/** Two journals that are not both ends of one run. Names both files and says why. */
export class JournalPairError extends Error {
  override readonly name = "JournalPairError";
  constructor(readonly files: readonly [string, string], readonly reason: "same-journal" | "no-shared-session" | "no-shared-datagrams" | "port-mismatch", message: string) {
    super(`${files[0]} and ${files[1]} are not both ends of one run: ${message}`);
  }
}

interface Scan {
  readonly summary: JournalSummary;
  /** Hash of each sent datagram -> the TRANSMIT times and destination ports, in order. */
  readonly sent: Map<number, Array<{ readonly nowNs: number; readonly ip: number; readonly port: number; readonly endpoint: number }>>;
  /** Each received datagram: hash, time, where from, the endpoint it arrived on. */
  readonly received: Array<{ readonly hash: number; readonly nowNs: number; readonly ip: number; readonly port: number; readonly endpoint: number }>;
  /** Bound port of each receive endpoint the runtime opened (0: ephemeral). */
  readonly receivePorts: Map<number, number>;
}

/** Bounds what pairing keeps per journal: a very long journal is matched on its first datagrams. */
const MAX_MATCHED_DATAGRAMS = 1_000_000;

function scan(path: string): Scan {
  const reader = new JournalReader(path);
  const words = new WordView();
  const publications: Array<{ channel: string; streamId: number; sessionId: number }> = [];
  const images: Array<{ channel: string; streamId: number; sessionId: number }> = [];
  const subscriptionChannels = new Map<number, string>();
  const pendingImages: Array<{ h: number; streamId: number; sessionId: number }> = [];
  const sent = new Map<number, Array<{ nowNs: number; ip: number; port: number; endpoint: number }>>();
  const received: Array<{ hash: number; nowNs: number; ip: number; port: number; endpoint: number }> = [];
  let firstTimeNs = -1;
  const receivePorts = new Map<number, number>();
  let datagramsIn = 0;
  let datagramsOut = 0;
  let kept = 0;
  try {
    while (reader.next()) {
      const v = reader.view;
      const at = reader.bodyOffset;
      switch (reader.type) {
        case RecordType.DATAGRAM:
          datagramsIn++;
          if (firstTimeNs < 0) firstTimeNs = v.getFloat64(at, true);
          if (received.length < MAX_MATCHED_DATAGRAMS) {
            received.push({ hash: hashBytes(words, reader.bytes, at + 20, reader.bodyLength - 20), nowNs: v.getFloat64(at, true),
              ip: v.getUint32(at + 8, true), port: v.getUint16(at + 12, true), endpoint: v.getInt32(at + 16, true) });
          }
          break;
        case RecordType.TIMEOUT:
          if (firstTimeNs < 0) firstTimeNs = v.getFloat64(at, true);
          break;
        case RecordType.TRANSMIT: {
          const nowNs = v.getFloat64(at, true);
          if (firstTimeNs < 0) firstTimeNs = nowNs;
          const count = v.getUint16(at + 10, true);
          datagramsOut += count;
          for (let i = 0, p = at + 16; i < count && kept < MAX_MATCHED_DATAGRAMS; i++, p += 16, kept++) {
            const hash = v.getUint32(p + 12, true);
            let list = sent.get(hash);
            if (list === undefined) sent.set(hash, list = []);
            list.push({ nowNs, ip: v.getUint32(p + 4, true), port: v.getUint16(p + 2, true), endpoint: v.getInt32(p + 8, true) });
          }
          break;
        }
        case RecordType.ENDPOINT_EVENT: {
          const event = JSON.parse(reader.text()) as { type: string; endpoint?: { id: number; role: string; bindPort: number } };
          if (event.type === "open" && event.endpoint?.role === "receive") receivePorts.set(event.endpoint.id, event.endpoint.bindPort);
          break;
        }
        case RecordType.ADD_PUBLICATION: {
          const json = JSON.parse(reader.text()) as { channel: string; streamId: number; sessionId?: number };
          if (json.sessionId !== undefined) publications.push({ channel: json.channel, streamId: json.streamId, sessionId: json.sessionId });
          break;
        }
        case RecordType.ADD_SUBSCRIPTION: {
          const json = JSON.parse(reader.text()) as { h: number; channel: string; error?: unknown };
          if (json.error === undefined) subscriptionChannels.set(json.h, json.channel);
          break;
        }
        case RecordType.IMAGE_AVAILABLE: {
          // Written before the call it happened in, which may be the subscription's own add.
          const json = JSON.parse(reader.text()) as { h: number; streamId: number; sessionId: number };
          pendingImages.push({ h: json.h, streamId: json.streamId, sessionId: json.sessionId });
          break;
        }
        default:
          break;
      }
    }
  } finally {
    reader.close();
  }
  for (const image of pendingImages) {
    if (!images.some((i) => i.streamId === image.streamId && i.sessionId === image.sessionId)) {
      images.push({ channel: subscriptionChannels.get(image.h) ?? "?", streamId: image.streamId, sessionId: image.sessionId });
    }
  }
  return {
    summary: { path, journalId: reader.header.journalId, publications, images, datagramsIn, datagramsOut, firstTimeNs: Math.max(0, firstTimeNs) },
    sent, received, receivePorts,
  };
}

interface Matching {
  readonly matched: number;
  readonly delaysNs: number[];
  readonly routes: LinkRoute[];
  readonly badPort?: string;
}

/** How many of `to`'s received datagrams `from` sent (each sent datagram matched at most once, in order). */
function match(from: Scan, to: Scan): Matching {
  const used = new Map<number, number>();
  const delaysNs: number[] = [];
  let matched = 0;
  let badPort: string | undefined;
  const routes = new Map<string, LinkRoute>();
  for (const datagram of to.received) {
    const list = from.sent.get(datagram.hash);
    if (list === undefined) continue;
    const next = used.get(datagram.hash) ?? 0;
    if (next >= list.length) continue;
    used.set(datagram.hash, next + 1);
    matched++;
    const sent = list[next]!;
    delaysNs.push(datagram.nowNs - sent.nowNs);
    const key = `${sent.endpoint}/${sent.ip}/${sent.port}`;
    if (!routes.has(key) && routes.size < 1024) {
      routes.set(key, { senderEndpoint: sent.endpoint, destIp: sent.ip, destPort: sent.port, fromIp: datagram.ip, fromPort: datagram.port, receiverEndpoint: datagram.endpoint });
    }
    const boundPort = to.receivePorts.get(datagram.endpoint);
    if (badPort === undefined && boundPort !== undefined && boundPort !== 0 && boundPort !== sent.port) {
      badPort = `${from.summary.path} sent a datagram to port ${sent.port} that ${to.summary.path} received on endpoint ${datagram.endpoint}, bound to port ${boundPort}`;
    }
  }
  return { matched, delaysNs, routes: [...routes.values()], ...(badPort === undefined ? {} : { badPort }) };
}

function sessionsBetween(publisher: JournalSummary, subscriber: JournalSummary): PairedSession[] {
  const sessions: PairedSession[] = [];
  for (const p of publisher.publications) {
    const image = subscriber.images.find((i) => i.streamId === p.streamId && i.sessionId === p.sessionId);
    if (image === undefined) continue;
    sessions.push({ publisher: publisher.path, subscriber: subscriber.path, streamId: p.streamId, sessionId: p.sessionId,
      publicationChannel: p.channel, subscriptionChannel: image.channel });
  }
  return sessions;
}

function describeSide(s: JournalSummary): string {
  const pubs = s.publications.map((p) => `stream ${p.streamId} session ${p.sessionId}`).join(", ") || "none";
  const images = s.images.map((i) => `stream ${i.streamId} session ${i.sessionId}`).join(", ") || "none";
  return `${s.path} publishes ${pubs}; has images of ${images}`;
}

/**
 * Reads both journals and checks that they are both ends of one run (see the file's comment).
 * Throws a JournalPairError saying why not, or a JournalFormatError naming a journal that cannot be read.
 */
export function pairJournals(pathA: string, pathB: string): JournalPair {
  const a = scan(pathA);
  const b = scan(pathB);
  const files = [pathA, pathB] as const;
  if (a.summary.journalId === b.summary.journalId) {
    throw new JournalPairError(files, "same-journal", `both are journal id ${a.summary.journalId} (one journal given twice)`);
  }
  const sessions = [...sessionsBetween(a.summary, b.summary), ...sessionsBetween(b.summary, a.summary)];
  if (sessions.length === 0) {
    throw new JournalPairError(files, "no-shared-session",
      `no publication of one is an image of the other (same stream and session id): ${describeSide(a.summary)}; ${describeSide(b.summary)}`);
  }
  const toB = match(a, b);
  const toA = match(b, a);
  if (toB.matched === 0 || toA.matched === 0) {
    const which = toB.matched === 0 ? { from: a, to: b } : { from: b, to: a };
    throw new JournalPairError(files, "no-shared-datagrams",
      `none of the ${which.to.summary.datagramsIn} datagrams ${which.to.summary.path} received is one of the ${which.from.summary.datagramsOut} ${which.from.summary.path} sent (by hash)`);
  }
  const badPort = toB.badPort ?? toA.badPort;
  if (badPort !== undefined) throw new JournalPairError(files, "port-mismatch", badPort);
  const medianNs = (values: number[]): number => {
    values.sort((x, y) => x - y);
    const mid = values.length >> 1;
    return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
  };
  const aToBNs = medianNs(toB.delaysNs);
  const bToANs = medianNs(toA.delaysNs);
  return {
    a: a.summary,
    b: b.summary,
    sessions,
    routesAToB: toB.routes,
    routesBToA: toA.routes,
    aReceivedFromB: toA.matched,
    bReceivedFromA: toB.matched,
    oneWayDelayNs: Math.max(0, Math.round((aToBNs + bToANs) / 2)),
    clockOffsetNs: Math.round((aToBNs - bToANs) / 2),
  };
}

export interface PairReplayResult {
  readonly pair: JournalPair;
  /** Each journal's bit-exact replay, in the order given. */
  readonly results: readonly [ReplayResult, ReplayResult];
  /** Both replays bit-exact. */
  readonly ok: boolean;
  /** The journals whose replay diverged. */
  readonly diverged: readonly string[];
}

/** Faults with two journals: replayJournalPairWithFaults (pairReplay.ts). */
export interface PairReplayOptions extends Omit<ReplayOptions, "faults" | "onProgress"> {
  readonly onProgress?: (file: string, progress: Parameters<NonNullable<ReplayOptions["onProgress"]>>[0]) => void;
}

/**
 * Both ends' journals: checks that they pair (pairJournals), then replays each one bit-exact.
 * A journal that cannot be read is a JournalFormatError naming it.
 */
export function replayJournalPair(pathA: string, pathB: string, options: PairReplayOptions = {}): PairReplayResult {
  const pair = pairJournals(pathA, pathB);
  const replay = (path: string): ReplayResult => {
    const onProgress = options.onProgress;
    return replayJournal(path, {
      ...(options.config === undefined ? {} : { config: options.config }),
      ...(options.progressIntervalMs === undefined ? {} : { progressIntervalMs: options.progressIntervalMs }),
      ...(onProgress === undefined ? {} : { onProgress: (p) => onProgress(path, p) }),
    });
  };
  const results = [replay(pathA), replay(pathB)] as const;
  const diverged = results.filter((r) => !r.ok).map((r) => r.file);
  return { pair, results, ok: diverged.length === 0, diverged };
}
