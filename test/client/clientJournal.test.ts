// Goal: a run of the client API (Petrel.launch({ journal })) replays bit-exact.
// - One client publishes to and subscribes from itself over UDP loopback (native sockets and
//   node:dgram), messages of 4 B to three MTUs (fragmented), read with poll; close ends the
//   journal, and replayJournal of it (and `petrel replay`) matches every datagram and delivery,
//   with the delivered count the client saw.
// - Two clients, each with its own journal: the subscriber reads with `for await`, the publisher
//   records offers as length + hash and is closed by Symbol.asyncDispose; both replay bit-exact.
// - A subscription whose port is taken rejects its add with a BindError; the journal replays.
// - A channel whose interface= is a subnet search (the client gives its engine resolveInterface)
//   replays with the local address the recording found.
// - The calls a journal cannot record throw a JournalUsageError naming the call (tryClaim,
//   offerv, an offer with a reservedValueSupplier, controlledPoll, blockPoll, Image.poll, the
//   engine and core handles, an offer from inside a poll handler), and the run still replays.
// - Journal options the client cannot use reject the launch with a LaunchOptionError naming the
//   option (payloadHash in worker mode, a missing folder, a bad size, an unknown key...); a launch that fails
//   after the journal was opened ends the journal (its file complete, not left open).
import * as dgram from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { runReplayCommand } from "../../src/cli/replayCommand.js";
import { BindError, BufferClaim, JournalUsageError, LaunchOptionError, Petrel, type PetrelOptions } from "../../src/client/index.js";
import { ConfigurationError } from "../../src/core/errors.js";
import { JournalReader, RecordType, replayJournal } from "../../src/journal/index.js";
import { checkMessage, fillMessage, freeUdpPort, messageLengths } from "../drivers/streamSupport.js";

const dir = mkdtempSync(join(tmpdir(), "petrel-client-journal-"));
const clients: Petrel[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close({ timeoutMs: 200 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function launch(options: PetrelOptions): Promise<Petrel> {
  const client = await Petrel.launch(options);
  clients.push(client);
  return client;
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = performance.now();
  // Bounded by timeoutMs.
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error("timed out waiting");
    await yieldToLoop();
  }
}

function expectBitExact(path: string): ReturnType<typeof replayJournal> {
  const result = replayJournal(path);
  expect(result.divergence, JSON.stringify(result.divergence, null, 2)).toBeUndefined();
  expect(result.ok).toBe(true);
  expect(result.end).toBe("closed");
  expect(result.truncatedTail).toBe(false);
  return result;
}

const COUNT = 300;

describe.each([
  { name: "native sockets", prefer: "native" as const },
  { name: "node:dgram", prefer: "dgram" as const },
])("a journaled client ($name)", ({ prefer }) => {
  it("publishes to itself, reads with poll, and its journal replays bit-exact with the delivered count", async () => {
    const path = join(dir, `self-${prefer}.pjournal`);
    const channel = `aeron:udp?endpoint=127.0.0.1:${await freeUdpPort()}`;
    const petrel = await launch({ journal: { path }, driver: { prefer }, stat: false });
    expect(petrel.journaling).toBe(true);
    const subscription = await petrel.addSubscription(channel, 1001);
    const publication = await petrel.addPublication(channel, 1001);
    await until(() => publication.isConnected);

    const lengths = messageLengths(2207, COUNT);
    const scratch = new Uint8Array(3 * 1376);
    const failures: string[] = [];
    let received = 0;
    const handler = (buffer: Uint8Array, offset: number, length: number): void => {
      const failure = checkMessage(buffer, offset, length, received, lengths[received]!);
      if (failure !== undefined) failures.push(failure);
      received++;
    };
    let sent = 0;
    await until(() => {
      for (let burst = 0; burst < 16 && sent < COUNT; burst++) {
        fillMessage(scratch, lengths[sent]!, sent);
        if (publication.offer(scratch, 0, lengths[sent]!) < 0) break;
        sent++;
      }
      subscription.poll(handler, 10);
      return received === COUNT;
    });
    expect(failures).toEqual([]);
    const report = await petrel.close({ timeoutMs: 5000 });
    expect(report.drained).toBe(true);

    const result = expectBitExact(path);
    expect(result.counts.messages).toBe(COUNT);
    expect(result.counts.offers).toBeGreaterThanOrEqual(COUNT);
    expect(result.counts.datagramsIn).toBeGreaterThan(0);
    expect(result.counts.datagramsOut).toBeGreaterThan(0);
    expect(result.counts.randomDraws).toBeGreaterThan(0);

    // `petrel replay` says the same (exit 0, every message checked).
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = runReplayCommand([path, "--quiet"]);
    } finally {
      write.mockRestore();
    }
    expect(code, out.join("")).toBe(0);
    expect(out.join("")).toContain(`delivering ${COUNT} messages`);
    expect(out.join("")).toContain("result bit-exact");
  });
});

describe("two journaled clients", () => {
  it("a for-await subscriber and a publisher (offers as length + hash, closed by asyncDispose) both replay bit-exact", async () => {
    const subscriberPath = join(dir, "subscriber.pjournal");
    const publisherPath = join(dir, "publisher.pjournal");
    const channel = `aeron:udp?endpoint=127.0.0.1:${await freeUdpPort()}`;
    const subscriber = await launch({ journal: { path: subscriberPath }, seed: 11, stat: false });
    const publisher = await Petrel.launch({ journal: { path: publisherPath, payloadHash: true }, seed: 12, stat: false });
    const subscription = await subscriber.addSubscription(channel, 7);
    const publication = await publisher.addPublication(channel, 7);
    const lengths = messageLengths(3301, COUNT);
    const failures: string[] = [];
    const reading = (async () => {
      let index = 0;
      for await (const message of subscription) {
        const failure = checkMessage(message.data, 0, message.data.length, index, lengths[index]!);
        if (failure !== undefined) failures.push(failure);
        if (++index === COUNT) break;
      }
      return index;
    })();
    await until(() => publication.isConnected);
    const scratch = new Uint8Array(3 * 1376);
    for (let sent = 0; sent < COUNT;) {
      fillMessage(scratch, lengths[sent]!, sent);
      if (publication.offer(scratch, 0, lengths[sent]!) > 0) sent++;
      else await yieldToLoop();
    }
    expect(await reading).toBe(COUNT);
    expect(failures).toEqual([]);
    await publisher[Symbol.asyncDispose]();
    await subscriber.close();

    const sub = expectBitExact(subscriberPath);
    expect(sub.counts.messages).toBe(COUNT);
    const pub = expectBitExact(publisherPath);
    expect(pub.payloadHash).toBe(true);
    expect(pub.counts.offers).toBeGreaterThanOrEqual(COUNT);
  });
});

describe("a bind failure", () => {
  it("rejects its add with a BindError, and the journal (the add, its close, another stream) replays", async () => {
    const path = join(dir, "bind.pjournal");
    const taken = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => taken.bind(0, "127.0.0.1", resolve));
    try {
      const petrel = await launch({ journal: { path }, stat: false });
      await expect(petrel.addSubscription(`aeron:udp?endpoint=127.0.0.1:${taken.address().port}`, 3)).rejects.toBeInstanceOf(BindError);
      const channel = `aeron:udp?endpoint=127.0.0.1:${await freeUdpPort()}`;
      const subscription = await petrel.addSubscription(channel, 4);
      const publication = await petrel.addPublication(channel, 4);
      await until(() => publication.isConnected);
      const message = new Uint8Array(40);
      await until(() => publication.offer(message) > 0);
      let received = 0;
      await until(() => {
        subscription.poll(() => received++, 10);
        return received === 1;
      });
      await petrel.close({ timeoutMs: 2000 });
      expect(expectBitExact(path).counts.messages).toBe(1);
    } finally {
      taken.close();
    }
  });
});

describe("an interface search", () => {
  it("is recorded with the address it found, and replays", async () => {
    const path = join(dir, "interface.pjournal");
    const port = await freeUdpPort();
    const petrel = await launch({ journal: { path }, stat: false });
    const subscription = await petrel.addSubscription(`aeron:udp?endpoint=127.0.0.1:${port}`, 9);
    const publication = await petrel.addPublication(`aeron:udp?endpoint=127.0.0.1:${port}|interface=127.0.0.0/8`, 9);
    await until(() => publication.isConnected);
    const message = new Uint8Array(100);
    await until(() => publication.offer(message) > 0);
    let received = 0;
    await until(() => {
      subscription.poll(() => received++, 10);
      return received === 1;
    });
    await petrel.close({ timeoutMs: 200 });
    const result = expectBitExact(path);
    expect(result.counts.messages).toBe(1);
  });
});

describe("calls a journal cannot record", () => {
  it("throw a JournalUsageError naming the call, and leave the journal replayable", async () => {
    const path = join(dir, "refused.pjournal");
    const channel = `aeron:udp?endpoint=127.0.0.1:${await freeUdpPort()}`;
    const petrel = await launch({ journal: { path }, stat: false });
    const subscription = await petrel.addSubscription(channel, 5);
    const publication = await petrel.addPublication(channel, 5);
    await until(() => publication.isConnected && subscription.imageCount === 1);
    const message = new Uint8Array(64);

    const refused = (call: () => unknown, name: string): void => {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(caught, name).toBeInstanceOf(JournalUsageError);
      expect((caught as Error).message).toContain(name);
      expect((caught as Error).message).toContain("journal");
    };
    refused(() => publication.tryClaim(32, new BufferClaim()), "publication.tryClaim");
    refused(() => publication.offerv([{ buffer: message, offset: 0, length: 8 }]), "publication.offerv");
    refused(() => publication.offer(message, 0, 8, () => 42n), "publication.offer with a reservedValueSupplier");
    refused(() => subscription.controlledPoll(() => 1, 10), "subscription.controlledPoll");
    refused(() => subscription.blockPoll(() => undefined, 4096), "subscription.blockPoll");
    const image = subscription.images[0]!;
    expect(image.sessionId).toBe(publication.sessionId);
    refused(() => image.poll(() => undefined, 10), "Image.poll");
    refused(() => image.controlledPoll(() => 1, 10), "Image.controlledPoll");
    refused(() => image.blockPoll(() => undefined, 4096), "Image.blockPoll");
    refused(() => subscription.imageBySessionId(publication.sessionId)!.poll(() => undefined, 10), "Image.poll");
    refused(() => petrel.engine, "petrel.engine");
    refused(() => publication.core, "publication.core");
    refused(() => subscription.core, "subscription.core");

    // An offer from inside a poll handler could not be replayed at the same point either.
    await until(() => publication.offer(message) > 0);
    let inside: unknown;
    await until(() => subscription.poll(() => {
      try {
        publication.offer(message);
      } catch (error) {
        inside = error;
      }
    }, 10) > 0);
    expect(inside).toBeInstanceOf(JournalUsageError);

    // What the recordable calls did is still replayed exactly.
    await until(() => publication.offer(message) > 0);
    let received = 0;
    await until(() => {
      subscription.poll(() => received++, 10);
      return received === 1;
    });
    await petrel.close({ timeoutMs: 2000 });
    expect(expectBitExact(path).counts.messages).toBe(2);
  });
});

describe("journal launch options", () => {
  const bad: Array<{ name: string; options: PetrelOptions; option: string }> = [
    { name: "payloadHash in worker mode", options: { worker: true, journal: { path: join(dir, "w.pjournal"), payloadHash: true } }, option: "journal.payloadHash" },
    { name: "a journal that is not an object", options: { journal: "run.pjournal" as unknown as { path: string } }, option: "journal" },
    { name: "no path", options: { journal: {} as { path: string } }, option: "journal.path" },
    { name: "an empty path", options: { journal: { path: "" } }, option: "journal.path" },
    { name: "a folder that does not exist", options: { journal: { path: join(dir, "missing", "run.pjournal") } }, option: "journal.path" },
    { name: "a path that is a folder", options: { journal: { path: dir } }, option: "journal.path" },
    { name: "a block under 128 KiB", options: { journal: { path: join(dir, "b.pjournal"), blockBytes: 4096 } }, option: "journal.blockBytes" },
    { name: "a negative size limit", options: { journal: { path: join(dir, "m.pjournal"), maxBytes: -1 } }, option: "journal.maxBytes" },
    { name: "a size limit too small for a journal", options: { journal: { path: join(dir, "s.pjournal"), maxBytes: 100 } }, option: "journal.maxBytes" },
    { name: "a fractional segment size", options: { journal: { path: join(dir, "g.pjournal"), segmentBytes: 1.5e6 + 0.5 } }, option: "journal.segmentBytes" },
    { name: "a negative flush interval", options: { journal: { path: join(dir, "f.pjournal"), flushIntervalNs: -1 } }, option: "journal.flushIntervalNs" },
    { name: "a non-boolean payloadHash", options: { journal: { path: join(dir, "p.pjournal"), payloadHash: "yes" as unknown as boolean } }, option: "journal.payloadHash" },
    { name: "an unknown key (a typo)", options: { journal: { path: join(dir, "u.pjournal"), blockbytes: 1 << 20 } as { path: string } }, option: "journal.blockbytes" },
  ];
  it.each(bad)("rejects $name with a LaunchOptionError naming $option", async ({ options, option }) => {
    const failure = await Petrel.launch({ ...options, stat: false }).then((client) => {
      clients.push(client);
      return undefined;
    }, (error: unknown) => error);
    expect(failure).toBeInstanceOf(LaunchOptionError);
    const error = failure as LaunchOptionError;
    expect(error.option).toBe(option);
    expect(error.code).toBe("LAUNCH_OPTION");
    expect(error.message).toContain(`'${option}'`);
  });

  it("a launch that fails after the journal was opened (a bad engine option) still ends the journal", async () => {
    const path = join(dir, "failed-launch.pjournal");
    await expect(Petrel.launch({ journal: { path }, config: { mtuBytes: 1000 }, stat: false })).rejects.toBeInstanceOf(ConfigurationError);
    const reader = new JournalReader(path);
    const types: number[] = [];
    while (reader.next()) types.push(reader.type);
    reader.close();
    expect(types).toEqual([RecordType.ENGINE, RecordType.END]);
  });
});
