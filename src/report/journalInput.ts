// A journal of a live run (docs/JOURNAL.md) as the report's input: replay.ts replays it with a fresh
// engine, checking every output as `petrel replay` does, and its onRecord hook lets this file
// sample that engine (engineSampler.ts, as the simulated input samples its engines) after every
// timed record (a received datagram, a timer call, a pollTransmit), stamped with its recorded time
// (ns from the first timed record); the builder keeps a bucket's latest value. An application's
// poll or offer carries no time: it happened after the latest timed record, which may be long
// before (an idle engine records nothing), and a poll that read something makes the runtime's
// next cycle transmit, a timed record. So a poll's effect is sampled with the next timed record:
// a subscriber that resumes reading after a pause is seen to resume then, not at the last record
// before it. The engine's state changes only at records: nothing between two samples is missed.
//
// RTTs are this end's own measurements: the RTTM replies among the received datagrams (a
// subscriber under cc=cubic or bbr asks for them), each the reply's arrival less its echo timestamp
// (this engine's clock when it asked) and the peer's reception delta, as the engine computes them.
//
// A journal is one end of a run. What that end cannot know is declared absent (no series, no
// totals, a note on the page), not drawn as zeros: drops (on the network, or by the runtime's
// receive filter before the journal saw anything), the RTT when this end measured none (a
// publisher's RTT is measured by its peer), the sender's series in a journal with no publication
// and the receiver's in one with no image. The stall detector watches the application's read position (the subscriber
// position) against the receiver's high-water mark and any local sender, so a subscriber's
// journal alone shows a stall, a lost datagram's or an application that stopped polling.
//
// A journal is recognized by its magic (PETRELJ1), not by its name. A corrupt journal (a
// JournalFormatError) or one whose replay diverges is a ReportInputError: the page would not be
// the recorded run.
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { basename } from "node:path";
import { Counter, type Engine } from "../core/engine/index.js";
import { FILE_MAGIC, JournalFormatError } from "../journal/format.js";
import { formatSeconds, replayJournal, type ReplayResult } from "../journal/replay.js";
import { AeronFrameSamples } from "./aeronFrameSamples.js";
import { counter, CountDeltas, engineCountTotals, sampleImages, samplePublications } from "./engineSampler.js";
import { ProgressMeter, type ReportProgress } from "./progress.js";
import { ReportInputError } from "./reportErrors.js";
import { ReportSeriesBuilder, type CountName, type GaugeName, type ReportSeries, type ReportSeriesOptions, type StreamSeriesBuilder } from "./reportSeries.js";

export interface JournalReportOptions extends Partial<Omit<ReportSeriesOptions, "stallReceiver">> {
  /** Where progress goes on a long journal (a bar on a terminal, a line every 2 s otherwise). */
  readonly progress?: ReportProgress | null;
  /** How often (wall time) the replay reports its progress to the meter (default 200 ms). */
  readonly progressIntervalMs?: number;
}

/** Whether the file at `path` starts with a journal's magic, PETRELJ1 (false for a missing or short file). */
export function isJournalFile(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  const head = new Uint8Array(FILE_MAGIC.length);
  const fd = openSync(path, "r");
  try {
    if (readSync(fd, head, 0, head.length, 0) !== head.length) return false;
  } finally {
    closeSync(fd);
  }
  return head.every((b, i) => b === FILE_MAGIC[i]);
}

const SENDER_SIDE: ReadonlyArray<GaugeName | CountName> = ["publisherPosition", "senderPosition", "senderLimit", "retransmits", "dataFrames", "heartbeats", "setups"];
const RECEIVER_SIDE: ReadonlyArray<GaugeName | CountName> = ["receiverPosition", "subscriberPosition", "receiverHwm", "receiverWindowBytes", "messages", "statusMessages"];

/** Replays the journal at `path` and returns its report series; a corrupt or diverging journal fails with a ReportInputError. */
export function journalReportSeries(path: string, options: JournalReportOptions = {}): ReportSeries {
  const name = basename(path);
  const builder = new ReportSeriesBuilder(
    {
      kind: "journal",
      name,
      details: [],
      notes: [
        "A journal records one end of a run: its engine is replayed (every output checked against the recording, as petrel replay does) and sampled as the recorded time passes.",
        "NAKs are those this engine sent (as a receiver) or received (as a sender); retransmits, frames and RTT measurements are those it sent; messages are those its application read.",
        "RTTs are this end's own measurements, from the RTTM replies it received (a subscriber asks for them under cc=cubic or bbr).",
        "A stall here: the application's read position (the subscriber position) flat while the receiver's high-water mark (or a local sender) was ahead of it.",
      ],
    },
    { ...options, stallReceiver: "subscriberPosition" },
  );
  const stepNs = builder.options.bucketNs;
  const deltas = new CountDeltas();
  let sending: StreamSeriesBuilder | null = null;
  let receiving: StreamSeriesBuilder | null = null;
  let hadPublications = false;
  let hadImages = false;
  let last: { engine: Engine; relNs: number; messages: number } | null = null;
  let rtt: AeronFrameSamples | null = null;
  const ZERO_ADDRESS = { sourceAddress: 0, sourcePort: 0, destinationAddress: 0, destinationPort: 0 };

  const sample = (engine: Engine, relNs: number, messages: number): void => {
    const label = (sessionId: number, streamId: number): string => `stream ${streamId}, session ${sessionId}`;
    sending = samplePublications(builder, engine, relNs, label) ?? sending;
    receiving = sampleImages(builder, engine, relNs, label) ?? receiving;
    hadPublications ||= engine.publications.length > 0;
    hadImages ||= engine.images.length > 0;
    const target = sending ?? receiving;
    if (target !== null) {
      const totals = engineCountTotals([engine], [engine]);
      deltas.emit(target, relNs, { ...totals, naks: totals.naks + counter(engine, Counter.NAKS_RECEIVED), messages });
    }
    builder.advance(relNs);
  };

  const meter = new ProgressMeter(options.progress ?? null, "journal records");
  let result: ReplayResult;
  try {
    result = replayJournal(path, {
      progressIntervalMs: options.progressIntervalMs ?? 200,
      onProgress: (p) => meter.update(p.totalBytes > 0 ? p.bytesRead / p.totalBytes : 0, `${p.records} records, ${p.recordedSeconds.toFixed(3)} s recorded`),
      onDatagram: (nowNs, firstNowNs, bytes, offset, length) => {
        rtt ??= new AeronFrameSamples(builder, { rttOnly: true, rttFromEcho: true, echoClockOffsetNs: firstNowNs });
        rtt.onDatagram(nowNs - firstNowNs, ZERO_ADDRESS, bytes, offset, length);
      },
      onRecord: (engine, nowNs, firstNowNs, messages, timed) => {
        last = { engine, relNs: nowNs - firstNowNs, messages };
        if (timed) sample(engine, nowNs - firstNowNs, messages);
      },
    });
  } catch (error) {
    if (error instanceof JournalFormatError) throw new ReportInputError("bad-journal", `'${path}' cannot be read as a journal: ${error.message}`);
    throw error;
  } finally {
    meter.done();
  }
  const d = result.divergence;
  if (d !== undefined) {
    throw new ReportInputError("diverged",
      `'${path}' diverged on replay at record ${d.recordIndex} (${d.recordType}, t=${formatSeconds(d.nowNs)}): ${d.what}: expected ${d.expected}, got ${d.got}` +
      " (the engine replayed is not the one recorded: the report would not show the recorded run; petrel replay shows the context)");
  }
  const end = last as { engine: Engine; relNs: number; messages: number } | null;
  if (end !== null) sample(end.engine, end.relNs, end.messages); // what the records after the last timed one did
  const endNs = end?.relNs ?? 0;

  builder.absent("drops", "datagrams dropped on the network (or by the runtime's receive filter) never reached the engine, so a journal does not have them");
  if (!builder.hasGauge("rttUs")) {
    builder.absent("rttUs", "this end measured none: no RTTM reply reached it (a subscriber asks for them under cc=cubic or bbr; a publisher's RTT is measured by its peer)");
  }
  const other = "the other end's: report on that end's journal";
  if (!hadPublications) for (const q of SENDER_SIDE) builder.absent(q, `sender side: this engine had no publication (${other})`);
  if (!hadImages) for (const q of RECEIVER_SIDE) builder.absent(q, `receiver side: this engine had no image (${other})`);

  const details = [
    `${result.records} records, ${result.recordedSeconds.toFixed(3)} s recorded, replayed bit-exact in ${result.wallSeconds.toFixed(1)} s` +
      `; the journal ${result.end === "closed" ? "was closed" : result.end === "limit" ? "stopped at its size limit" : "ends uncleanly (no END record)"}${result.truncatedTail ? ", its last block incomplete" : ""}`,
    `${result.counts.datagramsIn} datagrams in, ${result.counts.datagramsOut} out, ${result.counts.offers} offers, ${result.counts.messages} messages read; seed ${result.seed ?? "not recorded"}` +
      (result.payloadHash ? "; payloads recorded as length + hash" : ""),
    `sampled after every timed record, in buckets of ${(stepNs / 1e6).toFixed(3)} ms of recorded time`,
  ];
  const series = builder.finish(endNs);
  return { ...series, source: { ...series.source, details } };
}
