// Goal: an error frame a receiver sends a publication (it rejected the image, Aeron's
// Image.reject) reaches the publishing client as a "publicationError" event carrying Aeron's code
// (IMAGE_REJECTED, 13), the receiver's reason and the publication's handle (issue #12, the client
// API: "error frames surfaced to the publication"), once per receiver.
import { afterEach, describe, expect, it } from "vitest";
import { Petrel, type PublicationErrorEvent } from "../../src/client/index.js";
import { IMAGE_REJECTED_ERROR_CODE } from "../../src/core/engine/errorFrames.js";
import { freeUdpPort } from "../drivers/streamSupport.js";

const clients: Petrel[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close({ timeoutMs: 200 });
});

describe("publication error frames in the client", () => {
  it("a receiver's rejection arrives as a publicationError event with its code, reason and publication", async () => {
    const port = await freeUdpPort();
    const channel = `aeron:udp?endpoint=127.0.0.1:${port}`;
    const subscriber = await Petrel.launch({ stat: false });
    const publisher = await Petrel.launch({ stat: false });
    clients.push(subscriber, publisher);
    await subscriber.addSubscription(channel, 3, {
      onAvailableImage: () => {
        const image = subscriber.engine.images.find((i) => i.streamId === 3);
        if (image !== undefined) subscriber.engine.rejectImage(image, "not for this desk");
      },
    });
    const publication = await publisher.addPublication(channel, 3);
    const events: PublicationErrorEvent[] = [];
    publisher.on("publicationError", (event) => events.push(event));
    const started = performance.now();
    // Bounded: 10 s of wall clock; offers make the image appear, the rejection follows.
    while (events.length === 0 && performance.now() - started < 10_000) {
      publication.offer(new Uint8Array(16));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.errorCode).toBe(IMAGE_REJECTED_ERROR_CODE);
    expect(event.errorMessage).toBe("not for this desk");
    expect(event.publication).toBe(publication);
    expect(event.sessionId).toBe(publication.sessionId);
    expect(event.streamId).toBe(3);
    // Surfaced once while that receiver is known, though its image repeats the frame every 200 ms.
    await new Promise((r) => setTimeout(r, 600));
    expect(events).toHaveLength(1);
  });
});
