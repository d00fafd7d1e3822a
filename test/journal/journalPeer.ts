// One side of the journal tests' live run, as its own process: a publisher or a subscriber on the
// native sockets driver over 127.0.0.1, on the runtime agent, with seeded loss on receive, and
// every call into its engine recorded to a journal. It prints one JSON line when ready and one with
// its results; the publisher runs until it reads "stop" (or times out).
import { Prng } from "../../src/sim/prng.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { JournalRecorder } from "../../src/journal/recorder.js";
import { fillMessage, messageLengths, SeededDropFilter, STREAM_ID, StreamChecker } from "../drivers/streamSupport.js";

export interface JournalPeerArgs {
  readonly role: "publisher" | "subscriber";
  readonly port: number;
  readonly count: number;
  readonly seed: number;
  readonly lossPerMille: number;
  readonly journal: string;
  readonly timeoutMs: number;
  readonly payloadHash?: boolean;
  /** Write the journal's blocks from a worker thread. */
  readonly writerThread?: boolean;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as JournalPeerArgs;
  const channel = `aeron:udp?endpoint=127.0.0.1:${args.port}|term-length=128k`;
  const recorder = new JournalRecorder({ path: args.journal, payloadHash: args.payloadHash === true, writerThread: args.writerThread === true });
  const engine = recorder.createEngine({ random: new Prng(args.seed).fork(args.role) });
  const driver = createSocketsDriver({ prefer: "native" });
  const filter = new SeededDropFilter(args.seed + (args.role === "publisher" ? 1 : 2), args.lossPerMille, 1000);
  const runtime = new EngineRuntime(engine, driver, { receiveFilter: filter, journal: recorder });
  const lengths = messageLengths(args.seed, args.count, 1376);
  const started = performance.now();
  const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  let stop = false;
  process.stdin.on("data", (data) => {
    if (String(data).includes("stop")) stop = true;
  });
  process.stdin.on("end", () => {
    stop = true;
  });
  let summary: Record<string, unknown>;
  if (args.role === "subscriber") {
    const subscription = recorder.addSubscription(channel, STREAM_ID);
    runtime.doWork();
    print({ ready: true, kind: driver.kind });
    const checker = new StreamChecker(lengths);
    let cycles = 0;
    while (checker.received < args.count && checker.failures.length === 0 && !stop) {
      runtime.doWork();
      for (let k = 0; k < 16 && subscription.poll(checker.handler, 256) > 0; k++);
      if (++cycles % 256 === 0) {
        if (performance.now() - started > args.timeoutMs) break;
        await yieldToLoop();
      }
    }
    // Linger so that the final status messages reach the publisher.
    const lingerEnd = performance.now() + 200;
    while (performance.now() < lingerEnd) {
      runtime.doWork();
      subscription.poll(checker.handler, 256);
      await yieldToLoop();
    }
    summary = { received: checker.received, failures: checker.failures };
  } else {
    const publication = recorder.addPublication(channel, STREAM_ID);
    runtime.doWork();
    print({ ready: true, kind: driver.kind });
    const scratch = new Uint8Array(2048);
    let sent = 0;
    let cycles = 0;
    while (!stop && performance.now() - started < args.timeoutMs) {
      for (let k = 0; k < 64 && sent < args.count; k++) {
        const length = lengths[sent]!;
        fillMessage(scratch, length, sent);
        const result = publication.offer(scratch, 0, length);
        if (result === -3) continue;
        if (result < 0) break;
        sent++;
      }
      runtime.doWork();
      if (++cycles % 256 === 0) await yieldToLoop();
    }
    summary = { sent };
  }
  recorder.closeEngine();
  runtime.doWork();
  recorder.close();
  print({ ...summary, dropped: filter.dropped, journal: recorder.writer.stats(), counters: runtime.counters });
  await runtime.close();
}

main().then(() => process.exit(0), (error: unknown) => {
  print({ error: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error) });
  process.exit(1);
});
