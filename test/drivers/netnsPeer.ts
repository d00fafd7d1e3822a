// One side of the network-namespace test, run as its own process (`ip netns exec NS node ...`):
// a publisher or a subscriber on the sockets driver and the runtime agent, with seeded loss on
// receive. It prints one JSON line when ready and one with its results; the publisher runs until it
// reads "stop" on standard input (or its time runs out). Compiled by the test with tsc.
import { Engine } from "../../src/core/engine/engine.js";
import { parseIpv4 } from "../../src/core/address.js";
import { createSocketsDriver } from "../../src/drivers/socketsDriver.js";
import { EngineRuntime } from "../../src/drivers/runtime.js";
import { Prng } from "../../src/sim/prng.js";
import { messageLengths, offerSome, protocolCounters, SeededDropFilter, STREAM_ID, StreamChecker } from "./streamSupport.js";

interface PeerArgs {
  readonly role: "publisher" | "subscriber";
  /** The subscriber's address and port (the channel endpoint). */
  readonly ip: string;
  readonly port: number;
  readonly count: number;
  readonly seed: number;
  readonly lossPerMille: number;
  readonly timeoutMs: number;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as PeerArgs;
  if (parseIpv4(args.ip) < 0) throw new Error(`bad ip ${args.ip}`);
  const channel = `aeron:udp?endpoint=${args.ip}:${args.port}|term-length=1m`;
  const engine = new Engine({ random: new Prng(args.seed).fork(args.role) });
  const filter = new SeededDropFilter(args.seed + (args.role === "publisher" ? 1 : 2), args.lossPerMille, 1000);
  const driver = createSocketsDriver({ prefer: "native" });
  const runtime = new EngineRuntime(engine, driver, args.lossPerMille > 0 ? { receiveFilter: filter } : {});
  const lengths = messageLengths(args.seed, args.count);
  const started = performance.now();
  const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  let stop = false;
  process.stdin.on("data", (data) => {
    if (String(data).includes("stop")) stop = true;
  });
  process.stdin.on("end", () => {
    stop = true;
  });

  if (args.role === "subscriber") {
    const subscription = engine.addSubscription(channel, STREAM_ID);
    runtime.doWork();
    print({ ready: true, kind: driver.kind });
    const checker = new StreamChecker(lengths);
    let cycles = 0;
    while (checker.received < args.count && checker.failures.length === 0 && !stop) {
      runtime.doWork();
      checker.drain(subscription);
      if (++cycles % 256 === 0) {
        if (performance.now() - started > args.timeoutMs) break;
        await yieldToLoop();
      }
    }
    // Linger so that the final status messages reach the publisher.
    const lingerEnd = performance.now() + 200;
    while (performance.now() < lingerEnd) {
      runtime.doWork();
      await yieldToLoop();
    }
    print({ received: checker.received, failures: checker.failures, dropped: filter.dropped, counters: protocolCounters(engine),
      driver: driver.stats(), elapsedMs: performance.now() - started });
  } else {
    const publication = engine.addPublication(channel, STREAM_ID);
    runtime.doWork();
    print({ ready: true, kind: driver.kind });
    const scratch = new Uint8Array(8192);
    let sent = 0;
    let cycles = 0;
    while (!stop && performance.now() - started < args.timeoutMs) {
      sent = offerSome(publication, lengths, sent, args.count, scratch, 256);
      runtime.doWork();
      if (++cycles % 256 === 0) await yieldToLoop();
    }
    print({ sent, dropped: filter.dropped, counters: protocolCounters(engine), driver: driver.stats(), elapsedMs: performance.now() - started });
  }
  engine.close();
  runtime.doWork();
  await runtime.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  print({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exit(1);
});
