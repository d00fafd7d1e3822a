// `petrel replay <journal> [--set name=value]... [--quiet]`: runs a fresh engine over a journal of
// a live run (src/journal) and checks every output against the recording. Prints progress on
// stderr about once a second, then the result; exit 0 bit-exact, 1 a divergence, 2 bad arguments
// or a journal that cannot be read (missing, corrupt, another version).
// `petrel replay <journal> --drop FILTER --delay FILTER:DURATION --schedule FILE [--shrink]`: the
// recorded run with other faults on what the engine received (src/journal/frameFilter.ts), live from
// the first change, and a verdict on the stream; --shrink finds a 1-minimal failing subset.
// --schedule reads Petrel's own schedule file or the simulator's schedule (src/journal/simSchedule.ts).
// `petrel replay <a.pjournal> <b.pjournal>`: both ends' journals of one run, paired
// (src/journal/journalPair.ts) and each replayed bit-exact; exit 1 names the journal that diverged.
// With faults (src/journal/pairReplay.ts) the two engines run live against each other from the
// first change, and the verdict is on both ends' streams.
// `petrel replay <capture.pcap> --as subscriber|publisher --channel ... --stream N`: feeds a capture
// to an engine playing one end (src/journal/pcapReplay.ts) and prints what it would have sent and
// delivered; exit 0, or 2 for bad arguments or an unreadable capture.
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from "../core/config/engineConfig.js";
import { JournalFormatError } from "../journal/format.js";
import { formatSeconds, replayJournal, type Divergence, type ReplayResult } from "../journal/replay.js";
import { PcapReplayError, replayPcap, type PcapReplayResult } from "../journal/pcapReplay.js";
import { formatFault, FrameFilterError, parseDelay, parseFrameFilter, type FaultSpec } from "../journal/frameFilter.js";
import { shrinkFaults, type ReplaySchedule } from "../journal/shrinkFaults.js";
import { parseScheduleText, ScheduleError } from "../journal/simSchedule.js";
import { faultWithTo, journalRole } from "../journal/faultEnds.js";
import { JournalPairError, pairJournals, replayJournalPair, type PairReplayResult } from "../journal/journalPair.js";
import { replayJournalPairWithFaults, replayPairWithFaults, type PairFaultedResult } from "../journal/pairReplay.js";

export const REPLAY_USAGE = `usage: petrel replay JOURNAL [options]
       petrel replay JOURNAL_A JOURNAL_B [options]
       petrel replay CAPTURE.pcap --as subscriber|publisher --channel CHANNEL --stream ID [options]
  JOURNAL: runs a fresh engine over a journal (recorded by JournalRecorder; later segments
  JOURNAL.1, ... follow it) and checks every transmitted datagram and delivered message against
  the recording.
  JOURNAL_A JOURNAL_B: both ends' journals of one run (a publisher's and its subscriber's): checks
  that they pair (a publication of one is an image of the other, the datagrams one sent are the
  ones the other received) and replays each bit-exact. With faults, both engines run live against
  each other over a virtual link from the first changed datagram on (dir=tx works here).
  CAPTURE.pcap: feeds a capture of Aeron traffic to a fresh engine playing one end of CHANNEL
  (a subscriber: the datagrams to the channel's port; a publisher: what its receiver sent it, with
  the session of the capture's first SETUP for the stream) and prints the SMs, NAKs, SETUPs and
  RTT measurements it would send and the messages it would deliver.
options:
  --set NAME=VALUE   an engine configuration field changed (an EngineConfig number, e.g.
                     --set initialReceiverWindowBytes=32768): for a journal, shows where the run departs
  --quiet            no progress on stderr (journal)
  --drop FILTER      drop the datagrams FILTER picks (journal; repeatable)
  --delay FILTER:DURATION
                     deliver them DURATION later (e.g. DATA,every=10:5ms; repeatable)
  --schedule FILE    the faults of a schedule file: JSON {"format":"petrel-replay-faults",
                     "faults":[{"drop":FILTER},{"delay":"FILTER:DURATION"}]}, as --shrink prints,
                     or the simulator's schedule ([{"atNs":N,"action":{"kind":...,"sub":0,...}}] or
                     {"schedule":[...]}): partition/heal, loss and reorder become to=/t=/rate=
                     faults with atNs as t=; duplicate, crash, restart and sub other than 0 are refused
  --shrink           the faults break an invariant: find a smallest subset that still does and
                     print it as a schedule file (progress on stderr)
  FILTER: TYPE[,dir=rx|tx][,to=publisher|subscriber][,t=FROM..TO][,offset=FROM..TO][,every=N][,rate=N/D][,count=N]
    TYPE    DATA, PAD, NAK, SM, ERR, SETUP, RTTM, RES or ANY (a datagram with such a frame)
    dir     rx (received by an engine) or tx (sent by it; two journals only); with two journals
            no dir means the link (each datagram tested once, as sent)
    to      the end the datagram goes to: publisher or subscriber (one journal: its engine's
            role, refused if it both publishes and subscribes; two: the receiving journal's)
    t       recorded time from the journal's first timed record, e.g. t=1.5s.. or t=..200ms
    offset  the frame's term offset, bytes, e.g. offset=0..65535
    every   the Nth, 2Nth, ... datagram that matches; rate: each with probability N/D (a
            generator seeded from the fault's text: the same picks every run); count: at most N
  Up to the first datagram a fault changes the replay is checked bit-exact; then the engine runs
  live on the rest of the recording (the peer's datagrams replayed at their recorded times: they
  no longer react) and the stream is checked: exactly once, in order, and everything the recording
  delivered delivered (exit 1 on a violation). Only received datagrams (dir=rx) can be changed from
  one journal; with both ends' journals the peer is a live engine too and repairs what it can.
  --as ROLE          subscriber or publisher (capture)
  --channel CHANNEL  the Aeron channel, e.g. aeron:udp?endpoint=127.0.0.1:20121 (capture)
  --stream ID        the stream id (capture)
  --seed N           the engine's random seed (capture; default 1)
  --summary          only the totals, not a line per frame and delivery (capture)
  -h, --help         this text
exit codes: 0 bit-exact (a capture: replayed; two journals: both), 1 a divergence (two journals: naming which),
  2 bad arguments, an unreadable file or two journals that are not one run's`;

export function runReplayCommand(argv: ReadonlyArray<string>): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        set: { type: "string", multiple: true }, quiet: { type: "boolean" },
        drop: { type: "string", multiple: true }, delay: { type: "string", multiple: true }, schedule: { type: "string" }, shrink: { type: "boolean" }, help: { type: "boolean", short: "h" },
        as: { type: "string" }, channel: { type: "string" }, stream: { type: "string" }, seed: { type: "string" }, summary: { type: "boolean" },
      },
    });
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help === true) {
    process.stdout.write(`${REPLAY_USAGE}\n`);
    return 0;
  }
  if (parsed.positionals.length !== 1 && parsed.positionals.length !== 2) {
    return usage(`replay takes one journal file, or both ends' journals of one run, got ${parsed.positionals.length} files`);
  }
  const path = parsed.positionals[0]!;
  const config: Record<string, number> = {};
  for (const setting of parsed.values.set ?? []) {
    const match = /^([A-Za-z]+)=(-?\d+(?:\.\d+)?)$/.exec(setting);
    if (match === null) return usage(`--set '${setting}': expected NAME=NUMBER`);
    const name = match[1]!;
    if (!(name in DEFAULT_ENGINE_CONFIG) || typeof (DEFAULT_ENGINE_CONFIG as unknown as Record<string, unknown>)[name] !== "number") {
      return usage(`--set '${setting}': ${name} is not a numeric engine configuration field`);
    }
    config[name] = Number(match[2]);
  }
  const capture = parsed.values.as !== undefined || parsed.positionals.some((file) => /\.pcap$/i.test(file));
  if (capture && parsed.positionals.length === 2) return usage("a capture is replayed alone: give one .pcap file");
  if (capture) return replayCapture(path, parsed.values, config as Partial<EngineConfig>);
  const stderr = process.stderr;
  const quiet = parsed.values.quiet === true;
  const withFaults = parsed.values.drop !== undefined || parsed.values.delay !== undefined || parsed.values.schedule !== undefined;
  const other = parsed.positionals[1];
  if (other !== undefined && !withFaults && parsed.values.shrink !== true) return pairCommand(path, other, config as Partial<EngineConfig>, quiet);
  if (withFaults || parsed.values.shrink === true) {
    let faults: FaultSpec[];
    try {
      faults = [
        ...(parsed.values.schedule === undefined ? [] : readSchedule(parsed.values.schedule)),
        ...(parsed.values.drop ?? []).map((text): FaultSpec => ({ kind: "drop", filter: parseFrameFilter(text) })),
        ...(parsed.values.delay ?? []).map(parseDelay),
      ];
    } catch (error) {
      if (error instanceof FrameFilterError) return usage(error.message);
      throw error;
    }
    if (faults.length === 0) return usage("--shrink needs faults (--drop, --delay or --schedule)");
    const tx = faults.find((f) => f.filter.dir === "tx");
    if (tx !== undefined && other === undefined) {
      return usage(`'${formatFault(tx)}': dir=tx needs the peer live, re-simulated from its own journal: give both ends' journals (petrel replay A B ...); one journal can change only received datagrams (dir=rx)`);
    }
    for (const file of other === undefined ? [path] : [path, other]) {
      if (!existsSync(file)) {
        stderr.write(`petrel replay: ${file}: no such journal file\n`);
        return 2;
      }
    }
    try {
      if (other !== undefined) {
        return parsed.values.shrink === true
          ? pairShrinkCommand(path, other, faults, config as Partial<EngineConfig>, quiet)
          : pairFaultedCommand(path, other, faults, config as Partial<EngineConfig>, quiet);
      }
      noteUnreachable(path, faults);
      return parsed.values.shrink === true ? shrinkCommand(path, faults, config as Partial<EngineConfig>, quiet) : faultedCommand(path, faults, config as Partial<EngineConfig>);
    } catch (error) {
      if (error instanceof JournalFormatError || error instanceof JournalPairError || error instanceof FrameFilterError) {
        stderr.write(`petrel replay: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
  }
  let result: ReplayResult;
  try {
    result = replayJournal(path, {
      config: config as Partial<EngineConfig>,
      ...(quiet ? {} : {
        onProgress: (p) => {
          const percent = p.totalBytes > 0 ? ` (${((100 * p.bytesRead) / p.totalBytes).toFixed(0)}%)` : "";
          stderr.write(`petrel replay: ${p.records.toLocaleString("en-US")} records${percent}, ${p.recordedSeconds.toFixed(3)} s recorded in ${p.wallSeconds.toFixed(1)} s\n`);
        },
      }),
    });
  } catch (error) {
    if (error instanceof JournalFormatError) {
      stderr.write(`petrel replay: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  process.stdout.write(`${formatReplayResult(result)}\n`);
  return result.ok ? 0 : 1;
}

/** One journal: a fault with to= the other end's role picks only datagrams the journal sent, which it cannot change; says so on stderr. */
function noteUnreachable(path: string, faults: ReadonlyArray<FaultSpec>): void {
  const withTo = faultWithTo(faults);
  if (withTo === undefined) return;
  const role = journalRole(path, withTo);
  for (const fault of faults) {
    if (fault.filter.to === undefined || fault.filter.to === role) continue;
    process.stderr.write(`petrel replay: note: '${formatFault(fault)}' acts on datagrams to the ${fault.filter.to}, which ${path} (the ${role}'s journal) only sent: ` +
      "one journal can change only what it received; give both ends' journals for this fault to act\n");
  }
}

function readSchedule(file: string): FaultSpec[] {
  if (!existsSync(file)) throw new ScheduleError(`--schedule ${file}: no such file`);
  return parseScheduleText(readFileSync(file, "utf8"), file);
}

export function scheduleOf(faults: ReadonlyArray<FaultSpec>): ReplaySchedule {
  return { format: "petrel-replay-faults", faults: faults.map((f) => f.kind === "drop" ? { drop: formatFault(f) } : { delay: formatFault(f) }) };
}

function pairCommand(pathA: string, pathB: string, config: Partial<EngineConfig>, quiet: boolean): number {
  const stderr = process.stderr;
  for (const file of [pathA, pathB]) {
    if (!existsSync(file)) {
      stderr.write(`petrel replay: ${file}: no such journal file\n`);
      return 2;
    }
  }
  let result: PairReplayResult;
  try {
    if (!quiet) stderr.write(`petrel replay: pairing ${pathA} and ${pathB}\n`);
    result = replayJournalPair(pathA, pathB, {
      config,
      ...(quiet ? {} : {
        onProgress: (file, p) => {
          const percent = p.totalBytes > 0 ? ` (${((100 * p.bytesRead) / p.totalBytes).toFixed(0)}%)` : "";
          stderr.write(`petrel replay: ${file}: ${p.records.toLocaleString("en-US")} records${percent}, ${p.recordedSeconds.toFixed(3)} s recorded in ${p.wallSeconds.toFixed(1)} s\n`);
        },
      }),
    });
  } catch (error) {
    if (error instanceof JournalFormatError || error instanceof JournalPairError) {
      stderr.write(`petrel replay: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  process.stdout.write(`${formatPairResult(result)}\n`);
  return result.ok ? 0 : 1;
}

export function formatPairResult(r: PairReplayResult): string {
  const p = r.pair;
  const lines = [`petrel replay: ${p.a.path} and ${p.b.path} are both ends of one run`];
  for (const s of p.sessions) {
    lines.push(`  session ${s.sessionId} stream ${s.streamId}: published by ${s.publisher} (${s.publicationChannel}), image at ${s.subscriber} (${s.subscriptionChannel})`);
  }
  lines.push(`  datagrams: ${fmt(p.bReceivedFromA)} of the ${fmt(p.b.datagramsIn)} ${p.b.path} received were sent by ${p.a.path}, ` +
    `${fmt(p.aReceivedFromB)} of the ${fmt(p.a.datagramsIn)} ${p.a.path} received by ${p.b.path}` +
    `; one-way delay ${formatSeconds(p.oneWayDelayNs)} (${p.b.path}'s clock ${formatSeconds(p.clockOffsetNs)} ahead)`);
  for (const result of r.results) lines.push(formatReplayResult(result));
  lines.push(r.ok ? "both journals replayed bit-exact" : `DIVERGENCE in ${r.diverged.join(" and ")}`);
  return lines.join("\n");
}

function pairFaultedCommand(pathA: string, pathB: string, faults: ReadonlyArray<FaultSpec>, config: Partial<EngineConfig>, quiet: boolean): number {
  const stderr = process.stderr;
  const result = replayJournalPairWithFaults(pathA, pathB, {
    faults, config,
    ...(quiet ? {} : {
      onProgress: (p) => stderr.write(`petrel replay: ${p.records.toLocaleString("en-US")} records of both journals, ${p.pairSeconds.toFixed(3)} s recorded` +
        `${p.live ? " (live)" : ""} in ${p.wallSeconds.toFixed(1)} s\n`),
    }),
  });
  process.stdout.write(`${formatPairFaultedResult(result)}\n`);
  return result.ok ? 0 : 1;
}

function pairShrinkCommand(pathA: string, pathB: string, faults: ReadonlyArray<FaultSpec>, config: Partial<EngineConfig>, quiet: boolean): number {
  const pair = pairJournals(pathA, pathB);
  return shrinkWith(faults, quiet, (subset) => !replayPairWithFaults(pair, { faults: subset, config }).ok);
}

export function formatPairFaultedResult(r: PairFaultedResult): string {
  const p = r.pair;
  const lines = [`petrel replay: ${p.a.path} and ${p.b.path} are both ends of one run; the two engines live against each other over a link of ` +
    `${formatSeconds(r.linkDelayNs)} one way from the first change`];
  for (const result of r.results) {
    lines.push(...formatReplayHead(result));
    if (result.divergence !== undefined) lines.push(...formatDivergence(result.divergence));
    else if (r.changed) lines.push(`  bit-exact up to record ${result.faulted!.firstChangeRecord}, live from there; delivered ${fmt(result.faulted!.deliveredFragments)} messages (the recording: ${fmt(result.faulted!.recordedFragments)})`);
  }
  if (r.diverged !== undefined) {
    lines.push(`DIVERGENCE in ${r.diverged} (before any fault changed a datagram)`);
    return lines.join("\n");
  }
  if (r.firstChange === undefined) {
    lines.push("faults: none of them picked a datagram; the run is the recording, both journals bit-exact");
  } else {
    lines.push(`faults: ${fmt(r.dropped)} datagrams dropped, ${fmt(r.delayed)} delayed; first change at record ${r.firstChange.recordIndex} of ${r.firstChange.file} ` +
      `(t=${formatSeconds(r.firstChange.relNs)})` + (r.unroutable > 0 ? `; ${fmt(r.unroutable)} live datagrams had no route in the recording and were lost` : ""));
  }
  if (r.violations.length === 0) lines.push("VERDICT ok: exactly once, in order, and everything the recording delivered was delivered");
  for (const v of r.violations) lines.push(`VERDICT ${v.kind} violation in ${v.file}: ${v.message}`);
  return lines.join("\n");
}

function faultedCommand(path: string, faults: ReadonlyArray<FaultSpec>, config: Partial<EngineConfig>): number {
  const result = replayJournal(path, { config, faults });
  process.stdout.write(`${formatReplayResult(result)}\n`);
  return result.ok && result.faulted!.violations.length === 0 ? 0 : 1;
}

function shrinkCommand(path: string, faults: ReadonlyArray<FaultSpec>, config: Partial<EngineConfig>, quiet: boolean): number {
  return shrinkWith(faults, quiet, (subset) => {
    const result = replayJournal(path, { config, faults: subset });
    return !result.ok || result.faulted!.violations.length > 0;
  });
}

function shrinkWith(faults: ReadonlyArray<FaultSpec>, quiet: boolean, fails: (subset: ReadonlyArray<FaultSpec>) => boolean): number {
  const stderr = process.stderr;
  const started = performance.now();
  const shrunk = shrinkFaults(faults, fails, quiet ? undefined : (p) => stderr.write(`petrel replay --shrink: try ${p.tries}, ${p.remaining} faults left, leaving out fault ${p.index + 1}` +
    ` (${((performance.now() - started) / 1000).toFixed(1)} s)\n`));
  if (shrunk === undefined) {
    process.stdout.write(`petrel replay --shrink: the ${faults.length} faults break no invariant: nothing to shrink\n`);
    return 0;
  }
  stderr.write(`petrel replay --shrink: ${faults.length} faults -> ${shrunk.faults.length} in ${shrunk.tries} replays; removing any one of them makes the run pass\n`);
  process.stdout.write(`${JSON.stringify(scheduleOf(shrunk.faults), null, 2)}\n`);
  return 1;
}

interface CaptureArgs {
  readonly as?: string | undefined;
  readonly channel?: string | undefined;
  readonly stream?: string | undefined;
  readonly seed?: string | undefined;
  readonly summary?: boolean | undefined;
}

function replayCapture(path: string, args: CaptureArgs, config: Partial<EngineConfig>): number {
  if (args.as !== "subscriber" && args.as !== "publisher") return usage(`a capture needs --as subscriber or --as publisher${args.as === undefined ? "" : ` (got '${args.as}')`}`);
  if (args.channel === undefined) return usage("a capture needs --channel, e.g. aeron:udp?endpoint=127.0.0.1:20121");
  const streamId = Number(args.stream);
  if (args.stream === undefined || !Number.isInteger(streamId)) return usage(`a capture needs --stream ID, an integer${args.stream === undefined ? "" : ` (got '${args.stream}')`}`);
  const seed = args.seed === undefined ? 1 : Number(args.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) return usage(`--seed '${args.seed}': expected an integer 0..2^53-1`);
  if (!existsSync(path)) {
    process.stderr.write(`petrel replay: ${path}: no such capture file\n`);
    return 2;
  }
  const out = process.stdout;
  let result: PcapReplayResult;
  try {
    result = replayPcap(path, new Uint8Array(readFileSync(path)), {
      as: args.as, channel: args.channel, streamId, seed, config,
      ...(args.summary === true ? {} : { onLine: (text: string) => void out.write(`${text}\n`) }),
    });
  } catch (error) {
    if (error instanceof PcapReplayError || (error instanceof Error && /Channel|Unsupported|InvalidArgument/.test(error.name))) {
      process.stderr.write(`petrel replay: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const s = result.sent;
  const r = result.received;
  const session = result.session === undefined ? "" : `, as session ${result.session.sessionId} (initial term ${result.session.initialTermId}, term length ${result.session.termLength})`;
  out.write(`petrel replay ${path} as ${args.as} of ${args.channel} stream ${streamId}${session}: ${fmt(result.packets)} packets, ` +
    `${fmt(result.fed)} handed to the engine over ${result.capturedSeconds.toFixed(3)} s\n` +
    `  sent      ${fmt(s.sm)} SMs, ${fmt(s.nak)} NAKs, ${fmt(s.setup)} SETUPs, ${fmt(s.rttm)} RTTMs, ${fmt(s.data)} data/heartbeat datagrams, ${fmt(s.other)} other\n` +
    `  received  ${fmt(r.sm)} SMs, ${fmt(r.nak)} NAKs, ${fmt(r.setup)} SETUPs, ${fmt(r.rttm)} RTTMs, ${fmt(r.data)} new data frames\n` +
    (args.as === "publisher" ? `  resent    ${fmt(result.retransmitsSent)} NAKed ranges (its log is empty: a NAK past its position is ignored)\n` : "") +
    `  delivered ${fmt(result.messages)} messages, ${fmt(result.messageBytes)} B\n`);
  return 0;
}

function usage(message: string): number {
  process.stderr.write(`petrel replay: ${message}\n\n${REPLAY_USAGE}\n`);
  return 2;
}

const fmt = (n: number): string => n.toLocaleString("en-US");

/** A replay's first lines: the file, seed, what went in and out. */
function formatReplayHead(r: ReplayResult): string[] {
  const speed = r.wallSeconds > 0 ? r.recordedSeconds / r.wallSeconds : 0;
  const c = r.counts;
  const lines = [
    `petrel replay ${r.file}: ${fmt(r.records)} records (${fmt(r.bytes)} bytes), ${r.recordedSeconds.toFixed(3)} s recorded, ` +
      `replayed in ${r.wallSeconds.toFixed(3)} s (${speed.toFixed(1)}x recorded speed)`,
    `  seed ${r.seed ?? "not recorded (the draws are)"}; payloads ${r.payloadHash ? "recorded as length + hash: datagrams and deliveries checked by length" : "recorded in full"}`,
    `  in   ${fmt(c.datagramsIn)} datagrams, ${fmt(c.timeouts)} timer calls, ${fmt(c.randomDraws)} random draws`,
    c.appends + c.subscriberMoves === 0
      ? `  app  ${fmt(c.commands)} commands, ${fmt(c.offers)} offers, ${fmt(c.polls)} polls delivering ${fmt(c.messages)} messages`
      : `  app  ${fmt(c.commands)} commands, ${fmt(c.offers)} offers, ${fmt(c.polls)} polls; worker mode: ${fmt(c.appends)} appends, ` +
        `${fmt(c.subscriberMoves)} reads delivering ${fmt(c.messages)} messages`,
    `  out  ${fmt(c.transmitPolls)} transmit polls, ${fmt(c.datagramsOut)} datagrams checked`,
  ];
  const frames = Object.entries(r.framesOut).map(([name, n]) => `${fmt(n)} ${name}`).join(", ");
  if (frames !== "") lines.push(`  sent ${frames} (datagrams by first frame)`);
  return lines;
}

function formatDivergence(d: Divergence): string[] {
  const lines = [
    `  DIVERGENCE at record ${d.recordIndex} (${d.recordType}, t=${formatSeconds(d.nowNs)}): ${d.what}`,
    `    expected ${d.expected}`,
    `    got      ${d.got}`,
  ];
  if (d.context.length > 0) lines.push(`    after    ${d.context.join("\n             ")}`);
  return lines;
}

export function formatReplayResult(r: ReplayResult): string {
  const lines = formatReplayHead(r);
  const ending = r.end === "closed" ? "" : r.end === "limit" ? " (the journal stops at its size limit)" : " (no END record: the recording process did not close the journal)";
  const tail = r.truncatedTail ? "; its last block was incomplete and was left out" : "";
  if (r.faulted !== undefined && r.divergence === undefined) {
    const f = r.faulted;
    if (!f.changed) {
      lines.push("  faults: none of them picked a datagram; the run is the recording");
    } else {
      lines.push(`  faults: ${fmt(f.dropped)} datagrams dropped, ${fmt(f.delayed)} delayed; bit-exact up to record ${f.firstChangeRecord} ` +
        `(t=${formatSeconds(f.firstChangeNs)}), live from there`);
    }
    lines.push(`  delivered ${fmt(f.deliveredFragments)} messages (the recording: ${fmt(f.recordedFragments)})`);
    if (f.violations.length === 0) lines.push("  VERDICT ok: exactly once, in order, and everything the recording delivered was delivered");
    for (const v of f.violations) lines.push(`  VERDICT ${v.kind} violation: ${v.message}`);
    return lines.join("\n");
  }
  if (r.divergence === undefined) {
    lines.push(`  result bit-exact: every transmitted datagram and delivered message matches the recording${ending}${tail}`);
  } else {
    lines.push(...formatDivergence(r.divergence));
  }
  return lines.join("\n");
}
