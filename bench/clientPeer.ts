// The echoing side of `npm run bench client` (bench/client.ts spawns it): a Petrel client with the
// idle strategy it is given, subscribed to the ping stream and echoing every message on the pong
// stream. Prints {"ready":true} once launched, and stops when stdin closes.
import { Petrel, type ClientIdleStrategy } from "../src/client/index.js";

const { idle, pingPort, pongPort } = JSON.parse(process.argv[2] ?? "{}") as { idle: ClientIdleStrategy; pingPort: number; pongPort: number };
const petrel = await Petrel.launch({ idle });
const pings = await petrel.addSubscription(`aeron:udp?endpoint=127.0.0.1:${pingPort}`, 1);
const pongs = await petrel.addPublication(`aeron:udp?endpoint=127.0.0.1:${pongPort}`, 2);
let stopped = false;
process.stdin.on("end", () => {
  stopped = true;
  void petrel.close({ timeoutMs: 100 }).then(() => process.exit(0));
});
process.stdin.resume();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const message of pings) {
  // Bounded by the stream: back-pressure on a 2-message ping-pong clears within a few cycles.
  while (!stopped && pongs.offer(message.data) < 0) await new Promise((resolve) => setImmediate(resolve));
  if (stopped) break;
}
