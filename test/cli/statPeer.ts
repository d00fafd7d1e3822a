// One live process for test/cli/stat.test.ts: a Petrel client that publishes (role "pub") or
// subscribes (role "sub") over UDP loopback with its statistics in the directory it is given.
// Prints {"ready":...} when its stream is up, then {"count":N} every 1000 messages; stops when
// stdin closes.
import { Petrel } from "../../src/client/index.js";

const { role, port, dir } = JSON.parse(process.argv[2] ?? "{}") as { role: "pub" | "sub"; port: number; dir: string };
const petrel = await Petrel.launch({ stat: { dir, intervalMs: 100 } });
const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
let stopping = false;
process.stdin.on("end", () => {
  stopping = true;
  void petrel.close({ timeoutMs: 200 }).then(() => process.exit(0));
});
process.stdin.resume();
const say = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
if (role === "sub") {
  const subscription = await petrel.addSubscription(channel, 7);
  say({ ready: role, file: petrel.stat?.path });
  let count = 0;
  for await (const message of subscription) {
    if (message.data.length > 0 && ++count % 1000 === 0) say({ count });
    if (stopping) break;
  }
} else {
  const publication = await petrel.addPublication(channel, 7);
  say({ ready: role, file: petrel.stat?.path });
  const message = new Uint8Array(100);
  // Bounded by stdin's end: a steady stream of 100 B messages, paced on the event loop.
  while (!stopping) {
    for (let i = 0; i < 100 && publication.offer(message) > 0; i++);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
