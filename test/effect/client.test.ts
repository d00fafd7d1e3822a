// Goal: the Effect shell keeps expected failures typed. With the client provided by petrelLayer, a
// subscription on a taken port fails in the error channel with a BindError (a defect would make
// runPromise reject instead of Effect.flip resolving); an offer that is refused fails with
// OfferRefused carrying Aeron's code, which Effect.retry can wait out; poll on a closed
// subscription fails with ClosedError; messages arrive as a Stream; the layer's release drains.
import * as dgram from "node:dgram";
import { Effect, Schedule, Stream } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { BindError, ClosedError, type PetrelPublication } from "../../src/client/index.js";
import { NOT_CONNECTED } from "../../src/core/engine/networkPublication.js";
import {
  addPublication,
  addSubscription,
  closePublication,
  closeSubscription,
  messages,
  offer,
  OfferRefused,
  petrelLayer,
  poll,
  PetrelClient,
} from "../../src/effect/index.js";
import { freeUdpPort } from "../drivers/streamSupport.js";

const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

async function takePort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return socket.address().port;
}

/** Offers until accepted, retrying while the code says a later offer can pass. */
function offerUntilAccepted(publication: PetrelPublication, bytes: Uint8Array): Effect.Effect<number, unknown> {
  return offer(publication, bytes).pipe(
    Effect.retry({ while: (error) => error instanceof OfferRefused && error.retryable, schedule: Schedule.spaced("1 millis"), times: 5000 }),
  );
}

describe("petrel/effect: the client as Effects", () => {
  it("a bind failure is a typed failure (BindError), not a defect", async () => {
    const taken = await takePort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${taken}`;
    const error = await Effect.runPromise(Effect.flip(addSubscription(channel, 1)).pipe(Effect.provide(petrelLayer())));
    expect(error).toBeInstanceOf(BindError);
    expect((error as BindError).code).toBe("EADDRINUSE");
    expect((error as BindError).address).toBe(`127.0.0.1:${taken}`);
  });

  it("offer fails with OfferRefused(NOT_CONNECTED) before a receiver; retried, it passes; messages arrive as a Stream", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
    const program = Effect.gen(function* () {
      const publication = yield* addPublication(channel, 2);
      const refused = yield* Effect.flip(offer(publication, new Uint8Array(8)));
      expect(refused).toBeInstanceOf(OfferRefused);
      expect((refused as OfferRefused).result).toBe(NOT_CONNECTED);
      expect((refused as OfferRefused).code).toBe("NOT_CONNECTED");
      expect((refused as OfferRefused).retryable).toBe(true);

      const subscription = yield* addSubscription(channel, 2);
      const encoder = new TextEncoder();
      for (let i = 0; i < 50; i++) yield* offerUntilAccepted(publication, encoder.encode(`m${i}`));
      const received = yield* Stream.runCollect(Stream.take(messages(subscription), 50));
      const report = yield* closePublication(publication);
      yield* closeSubscription(subscription);
      const closed = yield* Effect.flip(poll(subscription, () => undefined, 10));
      const petrel = yield* PetrelClient;
      return { texts: received.map((m) => new TextDecoder().decode(m.data)), report, closed, petrel };
    });
    const { texts, report, closed, petrel } = await Effect.runPromise(program.pipe(Effect.provide(petrelLayer())));
    expect(texts).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    expect(report.outcome).toBe("acknowledged");
    expect(closed).toBeInstanceOf(ClosedError);
    // The layer's scope ended with the program: the client is closed.
    expect(petrel.isClosed).toBe(true);
  });
});
