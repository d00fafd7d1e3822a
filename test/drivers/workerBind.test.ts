// Goal: in worker mode a socket that cannot be bound rejects the add call that asked for it with a
// BindError (channel, address, errno), and the worker and its other streams keep running. Before
// issue #13 the worker's doWork threw EADDRINUSE, the worker exited with code 0 and every other
// stream died with it.
import * as dgram from "node:dgram";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BindError } from "../../src/drivers/bindError.js";
import { WorkerClient } from "../../src/drivers/worker/workerClient.js";
import { freeUdpPort } from "./streamSupport.js";

const root = join(import.meta.dirname, "..", "..");
let buildDir = "";
let workerUrl: URL;

beforeAll(() => {
  // The worker runs compiled JavaScript (Node 20 cannot load TypeScript in a worker thread).
  buildDir = mkdtempSync(join(tmpdir(), "petrel-worker-bind-"));
  const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["--ignoreConfig", "--outDir", buildDir, "--rootDir", root,
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", "--strict",
    join(root, "src", "drivers", "worker", "engineWorker.ts")], { encoding: "utf8", cwd: root });
  if (tsc.status !== 0) throw new Error(`compiling the worker failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(buildDir, "package.json"), '{"type":"module"}\n');
  workerUrl = pathToFileURL(join(buildDir, "src", "drivers", "worker", "engineWorker.js"));
  const addon = join(root, "build", "Release", "petrel.node");
  if (process.env["PETREL_NATIVE_ADDON"] === undefined && existsSync(addon)) process.env["PETREL_NATIVE_ADDON"] = addon;
}, 60_000);

afterAll(() => {
  if (buildDir !== "") rmSync(buildDir, { recursive: true, force: true });
});

describe("worker mode: a bind failure stays with its stream", () => {
  it("rejects addSubscription with a BindError, and the worker's other streams still deliver", async () => {
    const taker = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => taker.bind(0, "127.0.0.1", resolve));
    const taken = taker.address().port;
    const client = new WorkerClient({ workerUrl, driver: { prefer: "native" } });
    try {
      const channel = `aeron:udp?endpoint=127.0.0.1:${taken}`;
      const failure = await client.addSubscription(channel, 5).then(() => undefined, (error: unknown) => error);
      expect(failure).toBeInstanceOf(BindError);
      const bind = failure as BindError;
      expect(bind.code).toBe("EADDRINUSE");
      expect(bind.channel).toBe(channel);
      expect(bind.address).toBe(`127.0.0.1:${taken}`);
      expect(bind.streamId).toBe(5);

      const port = await freeUdpPort();
      const good = `aeron:udp?endpoint=127.0.0.1:${port}`;
      const subscription = await client.addSubscription(good, 6);
      const publication = await client.addPublication(good, 6);
      const message = new Uint8Array(16);
      let offered = 0;
      let received = 0;
      const start = performance.now();
      // Bounded: 10 s.
      while (received < 20 && performance.now() - start < 10_000) {
        client.doWork();
        if (offered < 20 && publication.offer(message) > 0) offered++;
        received += subscription.poll(() => undefined, 10);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(received).toBe(20);
    } finally {
      await client.close();
      taker.close();
    }
  });
});
