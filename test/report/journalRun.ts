// A short journaled run for the report's tests: a publisher and a subscriber engine in this process,
// each on its own runtime and sockets driver over 127.0.0.1 and each recording a journal (as
// test/journal/segments.test.ts runs them). Part way through, the subscriber's application stops
// polling for `pauseMs` while both runtimes keep working: the receiver's window fills, the
// publisher is back-pressured, and the subscriber position stays flat. The pause's start and end
// are returned in the subscriber journal's recorded time (ns from its first timed record): the
// engine's time in the runtime's cycle after the last poll before the pause and after the first
// poll after it (a poll that read something makes that cycle transmit: a timed record).
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { JournalRecorder, replayJournal } from "../../src/journal/index.js";
import { Prng } from "../../src/sim/prng.js";
import { freeUdpPort, messageLengths, offerSome, STREAM_ID, StreamChecker } from "../drivers/streamSupport.js";

export interface PausedRun {
  readonly publisher: string;
  readonly subscriber: string;
  readonly received: number;
  readonly failures: ReadonlyArray<string>;
  /** When the application stopped and started polling again, ns from the subscriber journal's first timed record. */
  readonly pauseStartNs: number;
  readonly pauseEndNs: number;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Streams `count` messages, the subscriber pausing for `pauseMs` (wall time) once it has read `pauseAfter`; `cc` on the channel if given. */
export async function recordPausedRun(dir: string, name: string, options: { count: number; pauseAfter: number; pauseMs: number; seed: number; cc?: "cubic" }): Promise<PausedRun> {
  const port = await freeUdpPort();
  const channel = `aeron:udp?endpoint=127.0.0.1:${port}|term-length=128k${options.cc === undefined ? "" : `|cc=${options.cc}`}`;
  const prng = new Prng(options.seed);
  const paths = { publisher: `${dir}/${name}-pub.pjournal`, subscriber: `${dir}/${name}-sub.pjournal` };
  const pubJournal = new JournalRecorder({ path: paths.publisher });
  const subJournal = new JournalRecorder({ path: paths.subscriber });
  const pubEngine = pubJournal.createEngine({ random: prng.fork("p") });
  const subEngine = subJournal.createEngine({ random: prng.fork("s") });
  const pub = new EngineRuntime(pubEngine, createSocketsDriver(), { journal: pubJournal });
  const sub = new EngineRuntime(subEngine, createSocketsDriver(), { journal: subJournal });
  const subscription = subJournal.addSubscription(channel, STREAM_ID);
  const publication = pubJournal.addPublication(channel, STREAM_ID);
  const lengths = messageLengths(options.seed, options.count, 1376);
  const checker = new StreamChecker(lengths);
  const scratch = new Uint8Array(2048);
  let sent = 0;
  let pauseStart = -1;
  let pauseEnd = -1;
  let pauseUntilMs = -1;
  let resumed = false;
  const deadline = performance.now() + 60_000;
  // Bounded by the deadline.
  for (let cycle = 0; checker.received < options.count && performance.now() < deadline; cycle++) {
    sent = offerSome(publication, lengths, sent, options.count, scratch, 64);
    pub.doWork();
    sub.doWork();
    if (resumed && pauseEnd < 0) pauseEnd = subEngine.nowNs;
    if (pauseStart < 0 && checker.received >= options.pauseAfter) {
      pauseStart = subEngine.nowNs;
      pauseUntilMs = performance.now() + options.pauseMs;
    }
    const paused = pauseStart >= 0 && !resumed && performance.now() < pauseUntilMs;
    if (!paused) {
      if (pauseStart >= 0) resumed = true;
      subscription.poll(checker.handler, 256);
    }
    if ((cycle & 255) === 0 || paused) await yieldToLoop();
  }
  for (const [journal, runtime] of [[pubJournal, pub], [subJournal, sub]] as const) {
    journal.closeEngine();
    runtime.doWork();
    journal.close();
    await runtime.close();
  }
  let firstNs = -1;
  replayJournal(paths.subscriber, { onRecord: (_engine, _nowNs, firstNowNs) => void (firstNs = firstNowNs) });
  return { ...paths, received: checker.received, failures: checker.failures, pauseStartNs: pauseStart - firstNs, pauseEndNs: pauseEnd - firstNs };
}
