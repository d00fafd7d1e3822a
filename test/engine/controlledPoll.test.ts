// Goal: Subscription/Image.controlledPoll follow Aeron's ControlledFragmentHandler semantics
// exactly (ABORT rolls the fragment back and stops, BREAK stops after it, COMMIT moves the position
// at once, CONTINUE goes on; fragmented messages are assembled and a aborted END is redelivered
// whole), checked against a model of Aeron's Image.controlledPoll over any sequence of actions;
// and that blockPoll, Image.poll on its own, imageBySessionId and Image.isClosed/isEndOfStream
// behave as Aeron's.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Engine } from "../../src/core/engine/engine.js";
import { ControlledAction } from "../../src/core/logbuffer/controlledFragmentAssembler.js";
import type { Image, Subscription } from "../../src/core/engine/subscription.js";
import { Prng } from "../../src/sim/prng.js";
import { ADMIN_ACTION } from "../../src/core/engine/networkPublication.js";

const MTU = 128;
const MAX_PAYLOAD = MTU - 32;
const IPC = `aeron:ipc?term-length=64k|mtu=${MTU}`;

function align32(n: number): number {
  return (n + 31) & ~31;
}

function message(index: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (index * 31 + i * 7) & 0xff;
  if (length >= 2) {
    bytes[0] = index & 0xff;
    bytes[1] = (index >> 8) & 0xff;
  }
  return bytes;
}

function setup(lengths: readonly number[]): { engine: Engine; subscription: Subscription; image: Image } {
  const engine = new Engine({ random: new Prng(11) });
  const subscription = engine.addSubscription(IPC, 5);
  const publication = engine.addPublication(IPC, 5);
  lengths.forEach((length, index) => {
    let result = publication.offer(message(index, length));
    if (result === ADMIN_ACTION) result = publication.offer(message(index, length));
    if (result <= 0) throw new Error(`offer ${index} failed: ${result}`);
  });
  return { engine, subscription, image: subscription.images[0]! };
}

/** One frame of the log, as the model sees it. */
interface Frame {
  readonly alignedLength: number;
  /** The message this frame ends, or -1 (BEGIN or middle fragment). */
  readonly endsMessage: number;
}

function framesOf(lengths: readonly number[]): Frame[] {
  const frames: Frame[] = [];
  lengths.forEach((length, index) => {
    if (length <= MAX_PAYLOAD) {
      frames.push({ alignedLength: align32(length + 32), endsMessage: index });
      return;
    }
    let remaining = length;
    while (remaining > 0) {
      const chunk = Math.min(remaining, MAX_PAYLOAD);
      remaining -= chunk;
      frames.push({ alignedLength: align32(chunk + 32), endsMessage: remaining === 0 ? index : -1 });
    }
  });
  return frames;
}

interface Observation {
  /** Per poll: fragments returned and the image position after it. */
  readonly polls: Array<[number, number]>;
  /** Per delivery: message index, its length, and the image position seen inside the handler. */
  readonly deliveries: Array<[number, number, number]>;
}

/** Aeron's Image.controlledPoll (and ControlledFragmentAssembler) over a list of frames in one term. */
function model(lengths: readonly number[], actions: readonly ControlledAction[], limits: readonly number[], pollCount: number): Observation {
  const frames = framesOf(lengths);
  const starts: number[] = [];
  let p = 0;
  for (const frame of frames) {
    starts.push(p);
    p += frame.alignedLength;
  }
  const positionOf = (frameIndex: number): number => (frameIndex < frames.length ? starts[frameIndex]! : p);
  const observation: Observation = { polls: [], deliveries: [] };
  let position = 0; // frame index
  let actionIndex = 0;
  for (let poll = 0; poll < pollCount; poll++) {
    const limit = limits[poll % limits.length]!;
    let initial = position;
    let offset = position;
    let read = 0;
    while (read < limit && offset < frames.length) {
      const frame = frames[offset]!;
      offset++;
      read++;
      let action: ControlledAction = ControlledAction.CONTINUE;
      if (frame.endsMessage >= 0) {
        observation.deliveries.push([frame.endsMessage, lengths[frame.endsMessage]!, positionOf(initial)]);
        action = actions[actionIndex++ % actions.length]!;
      }
      if (action === ControlledAction.ABORT) {
        read--;
        offset--;
        break;
      }
      if (action === ControlledAction.BREAK) break;
      if (action === ControlledAction.COMMIT) initial = offset;
    }
    position = offset;
    observation.polls.push([read, positionOf(position)]);
  }
  return observation;
}

function real(lengths: readonly number[], actions: readonly ControlledAction[], limits: readonly number[], pollCount: number,
  viaSubscription: readonly boolean[]): Observation {
  const { subscription, image } = setup(lengths);
  const observation: Observation = { polls: [], deliveries: [] };
  let actionIndex = 0;
  const handler = (buffer: Uint8Array, offset: number, length: number): ControlledAction => {
    const index = length >= 2 ? buffer[offset]! | (buffer[offset + 1]! << 8) : -1;
    const want = message(index, length);
    for (let i = 0; i < length; i++) {
      if (buffer[offset + i] !== want[i]) throw new Error(`message ${index} differs at byte ${i}`);
    }
    observation.deliveries.push([index, length, image.position]);
    return actions[actionIndex++ % actions.length]!;
  };
  for (let poll = 0; poll < pollCount; poll++) {
    const limit = limits[poll % limits.length]!;
    const read = viaSubscription[poll % viaSubscription.length]! ? subscription.controlledPoll(handler, limit) : image.controlledPoll(handler, limit);
    observation.polls.push([read, image.position]);
  }
  return observation;
}

const actionArb = fc.constantFrom<ControlledAction>(ControlledAction.ABORT, ControlledAction.BREAK, ControlledAction.COMMIT, ControlledAction.CONTINUE);

describe("controlledPoll", () => {
  it("gives Aeron's fragments, positions and deliveries for any sequence of actions (property)", () => {
    fc.assert(
      fc.property(
        // Up to 60 messages of up to 400 bytes (fragmented above 96) stay inside one 64 KiB term's window.
        fc.array(fc.integer({ min: 2, max: 400 }), { minLength: 1, maxLength: 60 }),
        fc.array(actionArb, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
        (lengths, actions, limits, viaSubscription) => {
          const pollCount = framesOf(lengths).length * 2 + 8;
          expect(real(lengths, actions, limits, pollCount, viaSubscription)).toEqual(model(lengths, actions, limits, pollCount));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("ABORT rolls the message back and stops; the next poll delivers it again", () => {
    const { image } = setup([10, 10]);
    const seen: number[] = [];
    let abortNext = true;
    const read = image.controlledPoll((buffer, offset) => {
      seen.push(buffer[offset]!);
      if (abortNext) {
        abortNext = false;
        return ControlledAction.ABORT;
      }
      return ControlledAction.CONTINUE;
    }, 10);
    expect(read).toBe(0);
    expect(image.position).toBe(0);
    expect(image.controlledPoll((buffer, offset) => (seen.push(buffer[offset]!), ControlledAction.CONTINUE), 10)).toBe(2);
    expect(seen).toEqual([0, 0, 1]);
    expect(image.position).toBe(2 * 64);
  });

  it("BREAK stops after the message; COMMIT moves the position before the poll ends", () => {
    const { image } = setup([10, 10, 10]);
    expect(image.controlledPoll(() => ControlledAction.BREAK, 10)).toBe(1);
    expect(image.position).toBe(64);
    const inside: number[] = [];
    expect(image.controlledPoll(() => (inside.push(image.position), ControlledAction.COMMIT), 10)).toBe(2);
    expect(inside).toEqual([64, 128]);
    expect(image.position).toBe(192);
  });

  it("an aborted fragmented message is assembled and delivered whole again", () => {
    const length = 3 * MAX_PAYLOAD + 5;
    const { image } = setup([length]);
    const lengths: number[] = [];
    expect(image.controlledPoll((_b, _o, l) => (lengths.push(l), ControlledAction.ABORT), 10)).toBe(3);
    // BEGIN and the two middle fragments were read; the END fragment was rolled back.
    expect(image.position).toBe(3 * MTU);
    expect(image.controlledPoll((_b, _o, l) => (lengths.push(l), ControlledAction.CONTINUE), 10)).toBe(1);
    expect(lengths).toEqual([length, length]);
    expect(image.position).toBe(3 * MTU + align32(5 + 32));
  });

  it("a handler that throws moves the position past its fragment, as Aeron's does, and the error propagates", () => {
    const { image } = setup([10, 10]);
    expect(() => image.controlledPoll(() => {
      throw new Error("boom");
    }, 10)).toThrow("boom");
    expect(image.position).toBe(64);
  });

  it("never crosses a term end in one call, as Aeron's: the PAD frame is skipped, then the next term is read", () => {
    const engine = new Engine({ random: new Prng(3) });
    const subscription = engine.addSubscription(IPC, 5);
    const publication = engine.addPublication(IPC, 5);
    const image = subscription.images[0]!;
    publication.offer(new Uint8Array(10)); // the term then ends with a 64-byte gap the rotation pads
    let rotated = false;
    // Bounded: 64 KiB / 128-byte frames = 512 offers to fill a term.
    for (let i = 0; i < 600 && !rotated; i++) {
      if (publication.offer(new Uint8Array(MAX_PAYLOAD)) === ADMIN_ACTION) rotated = true;
      if (i % 100 === 99) image.controlledPoll(() => ControlledAction.CONTINUE, 1000);
    }
    expect(rotated).toBe(true);
    expect(publication.offer(new Uint8Array(10))).toBeGreaterThan(65536);
    let delivered = 0;
    const count = (): ControlledAction => (delivered++, ControlledAction.CONTINUE);
    const beforeEnd = (65536 - 64 - image.position) / MTU;
    expect(image.controlledPoll(count, 10_000)).toBe(beforeEnd);
    expect(image.position).toBe(65536);
    expect(image.controlledPoll(count, 10_000)).toBe(1);
    expect(image.position).toBe(65536 + 64);
    expect(delivered).toBe(beforeEnd + 1);
  });

  it("rejects a fragment limit below 1", () => {
    const { subscription, image } = setup([10]);
    expect(() => subscription.controlledPoll(() => ControlledAction.CONTINUE, 0)).toThrow(/fragmentLimit/);
    expect(() => image.controlledPoll(() => ControlledAction.CONTINUE, 1.5)).toThrow(/fragmentLimit/);
  });
});

describe("blockPoll", () => {
  it("hands over whole frames up to the byte limit and moves the position by the block", () => {
    const { subscription, image } = setup([10, 10, 10]);
    const blocks: Array<[number, number, number, number]> = [];
    const handler = (_buffer: Uint8Array, offset: number, length: number, sessionId: number, termId: number): void => {
      blocks.push([offset, length, sessionId, termId]);
    };
    // 64-byte frames: a 100-byte limit takes one frame only (a frame is never split).
    expect(image.blockPoll(handler, 100)).toBe(64);
    expect(subscription.blockPoll(handler, 4096)).toBe(128);
    expect(image.blockPoll(handler, 4096)).toBe(0);
    expect(blocks).toEqual([
      [0, 64, image.sessionId, image.initialTermId],
      [64, 128, image.sessionId, image.initialTermId],
    ]);
    expect(image.position).toBe(192);
  });

  it("returns 0 when the next frame is longer than the limit", () => {
    const { image } = setup([200]);
    expect(image.blockPoll(() => undefined, 32)).toBe(0);
    expect(image.position).toBe(0);
  });

  it("a PAD frame at the position is a block of its own that moves to the next term", () => {
    const engine = new Engine({ random: new Prng(3) });
    const subscription = engine.addSubscription(IPC, 5);
    const publication = engine.addPublication(IPC, 5);
    const image = subscription.images[0]!;
    const payload = new Uint8Array(MAX_PAYLOAD);
    // One 64-byte frame first: the term then ends with a 64-byte gap the rotation pads.
    publication.offer(new Uint8Array(10));
    let rotated = false;
    // Bounded: 64 KiB / 128-byte frames = 512 offers to fill a term.
    for (let i = 0; i < 600 && !rotated; i++) {
      const result = publication.offer(payload);
      if (result === ADMIN_ACTION) rotated = true;
      if (i % 100 === 99) image.poll(() => undefined, 1000);
    }
    expect(rotated).toBe(true);
    const blocks: number[] = [];
    // The data block stops before the PAD frame; the PAD frame then comes as a block of its own.
    const dataBlock = 65536 - 64 - image.position;
    expect(image.blockPoll((_b, _o, length) => blocks.push(length), 1 << 20)).toBe(dataBlock);
    expect(image.position).toBe(65536 - 64);
    expect(image.blockPoll((_b, _o, length) => blocks.push(length), 1 << 20)).toBe(64);
    expect(blocks).toEqual([dataBlock, 64]);
    expect(image.position).toBe(65536);
  });
});

describe("Image on its own", () => {
  it("poll(handler, limit) reads one image without the subscription, and imageBySessionId finds it", () => {
    const { subscription, image } = setup([10, 20, 30]);
    expect(subscription.imageBySessionId(image.sessionId)).toBe(image);
    expect(subscription.imageBySessionId(image.sessionId + 1)).toBeUndefined();
    expect(subscription.imageCount).toBe(1);
    const lengths: number[] = [];
    expect(image.poll((_b, _o, length) => lengths.push(length), 2)).toBe(2);
    expect(image.poll((_b, _o, length) => lengths.push(length), 10)).toBe(1);
    expect(lengths).toEqual([10, 20, 30]);
    expect(image.position).toBe(64 + 64 + 64);
  });

  it("is closed and reads nothing once its subscription closes; reports end of stream", () => {
    const engine = new Engine({ random: new Prng(5) });
    const subscription = engine.addSubscription(IPC, 5);
    const publication = engine.addPublication(IPC, 5);
    publication.offer(new Uint8Array(10));
    const image = subscription.images[0]!;
    expect(image.isEndOfStream).toBe(false);
    publication.close();
    expect(image.endOfStreamPosition).toBe(64);
    expect(image.poll(() => undefined, 10)).toBe(1);
    expect(image.isEndOfStream).toBe(true);
    subscription.close();
    expect(image.isClosed).toBe(true);
    expect(image.poll(() => undefined, 10)).toBe(0);
    expect(image.controlledPoll(() => ControlledAction.CONTINUE, 10)).toBe(0);
    expect(image.blockPoll(() => undefined, 100)).toBe(0);
  });
});
